"""A strict stand-in for cupy, so the CUDA code paths run in tests on a machine without a GPU.

It keeps cupy's rules that matter for finding host leaks, and nothing more:

- ``ndarray`` wraps a numpy array that stays "on the device": ``numpy.asarray(a)`` / ``numpy.array(a)`` raise
  cupy's TypeError ("Implicit conversion to a NumPy array is not allowed..."), so h5py, matplotlib or a numpy
  function fed a device array fail as they do with cupy;
- the explicit transfers are ``a.get()``, ``asnumpy(a)`` (device to host) and ``asarray``/``array`` of host data
  (host to device); ``float(a)``, ``int(a)``, ``bool(a)``, ``a.item()``, ``a.tolist()``, ``repr(a)`` work on
  size-1 / any arrays as cupy's do, each a device-to-host copy; ``operator.index(a)`` is refused (cupy has no
  ``__index__``); ``dev[...] = host_array`` and indexing with a host index array are allowed, as in cupy (each
  a host-to-device copy);
- a ufunc or array function given a numpy array raises ``TypeError: Unsupported type <class 'numpy.ndarray'>``
  (numpy and Python scalars are fine; lists are refused by ufuncs), whichever side the numpy array is on:
  ``np.add(dev, host)`` and ``host + dev`` reach this module through ``__array_ufunc__``, ``np.sum(dev)``
  through ``__array_function__``, as with cupy;
- array results are device arrays, reductions included (a 0-d array, never a numpy scalar);
- ``random`` has its own generator (seeded like cupy's ``RandomState``; it does not draw numpy's numbers),
  ``cuda`` has the ``Device``, ``runtime``, ``Stream``/``Event`` and memory-pool pieces the engine touches,
  ``cupyx.scipy.special`` the special functions.

``transfers`` counts every copy in each direction, so a test can assert "one transfer per display" or "none on
the hot path". The module does not compute anything itself: every operation is numpy's on the wrapped arrays.
"""

from __future__ import annotations

import contextlib
import numbers
import sys
import types

import numpy as np

IMPLICIT_CONVERSION = (
    "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy array explicitly."
)


class Transfers:
    """How many copies went device-to-host (``to_host``) and host-to-device (``to_device``)."""

    def __init__(self):
        self.to_host = 0
        self.to_device = 0

    def reset(self) -> None:
        self.to_host = 0
        self.to_device = 0

    @property
    def total(self) -> int:
        return self.to_host + self.to_device

    @contextlib.contextmanager
    def none_allowed(self, what: str = "this block"):
        """Fail when anything inside the block copies between host and device."""
        before = (self.to_host, self.to_device)
        yield
        after = (self.to_host, self.to_device)
        if after != before:
            raise AssertionError(
                f"{what} copied between host and device: {after[0] - before[0]} to host, "
                f"{after[1] - before[1]} to device"
            )

    def __repr__(self) -> str:
        return f"Transfers(to_host={self.to_host}, to_device={self.to_device})"


transfers = Transfers()


def _host_value(x):
    """``x`` as an operand for numpy: device arrays unwrapped; numpy arrays refused as cupy refuses them."""
    if type(x) is ndarray:
        return x._a
    if isinstance(x, np.ndarray):
        raise TypeError(f"Unsupported type {type(x)}")
    return x


def _unwrap(x):
    """Arguments of an array function: device arrays unwrapped, inside lists and tuples too; numpy ones refused."""
    if type(x) is ndarray:
        return x._a
    if isinstance(x, np.ndarray):
        raise TypeError(f"Unsupported type {type(x)}")
    if type(x) in (list, tuple):
        return type(x)(_unwrap(v) for v in x)
    return x


def _wrap(r):
    """Results on the device: numpy arrays and numpy scalars become device arrays (0-d for a scalar)."""
    if isinstance(r, np.ndarray):
        return ndarray._of(r)
    if isinstance(r, np.generic):
        return ndarray._of(np.asarray(r))
    if type(r) in (list, tuple):
        return type(r)(_wrap(v) for v in r)
    if isinstance(r, tuple) and hasattr(r, "_fields"):  # named tuples (slogdet, eigh, ...)
        return type(r)(*(_wrap(v) for v in r))
    return r


def _call(fn, args, kwargs):
    return _wrap(fn(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))


class ufunc:
    """A ufunc on device arrays: operands are device arrays or scalars (numpy arrays and lists are refused)."""

    def __init__(self, np_ufunc):
        self._u = np_ufunc
        self.__name__ = np_ufunc.__name__
        self.nin, self.nout = np_ufunc.nin, np_ufunc.nout

    @staticmethod
    def _operand(x):
        if type(x) is ndarray:
            return x._a
        if isinstance(x, (numbers.Number, np.generic)) or x is None:
            return x
        raise TypeError(f"Unsupported type {type(x)}")

    def _kwargs(self, kwargs):
        kw = dict(kwargs)
        if "out" in kw:
            out = kw["out"]
            kw["out"] = tuple(self._operand(o) for o in out) if isinstance(out, tuple) else self._operand(out)
        return kw

    def __call__(self, *args, **kwargs):
        return _wrap(self._u(*(self._operand(a) for a in args), **self._kwargs(kwargs)))

    def reduce(self, a, *args, **kwargs):
        return _wrap(self._u.reduce(self._operand(a), *_unwrap(args), **self._kwargs(kwargs)))

    def accumulate(self, a, *args, **kwargs):
        if self.__name__ not in ("add", "multiply"):  # cupy has only these two (cumsum, cumprod)
            raise NotImplementedError(f"`{self.__name__}.accumulate` is not supported yet")
        return _wrap(self._u.accumulate(self._operand(a), *_unwrap(args), **self._kwargs(kwargs)))

    def reduceat(self, a, indices, axis=0, dtype=None, out=None):
        if self.__name__ != "add":  # cupy has only add's
            raise NotImplementedError(f"`{self.__name__}.reduceat` is not supported yet")
        return _wrap(self._u.reduceat(self._operand(a), _unwrap(indices), axis, dtype, self._operand(out)))

    def outer(self, a, b, **kwargs):
        return _wrap(self._u.outer(self._operand(a), self._operand(b), **self._kwargs(kwargs)))

    def at(self, a, indices, b=None):
        args = (_unwrap(indices),) if b is None else (_unwrap(indices), self._operand(b))
        self._u.at(self._operand(a), *args)

    def __repr__(self) -> str:
        return f"<device ufunc '{self.__name__}'>"


def _ufunc_of(np_ufunc) -> ufunc:
    mine = getattr(_this, np_ufunc.__name__, None)
    return mine if isinstance(mine, ufunc) else ufunc(np_ufunc)  # e.g. scipy.special's ufuncs


# ndarray methods that cupy's ndarray has (each is numpy's on the wrapped array, results on the device)
_METHODS = (
    "all any argmax argmin argpartition argsort astype choose clip compress conj conjugate copy cumprod cumsum "
    "diagonal dot fill flatten max mean min nonzero partition prod ptp put ravel repeat reshape round "
    "searchsorted sort squeeze std sum swapaxes take trace transpose var view"
).split()


class ndarray:
    """An array "on the device": a numpy array that numpy may not read implicitly."""

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 100

    def __init__(self, shape, dtype=float, order="C"):
        self._a = np.empty(shape, dtype, order=order)

    @classmethod
    def _of(cls, a: np.ndarray) -> ndarray:
        d = cls.__new__(cls)
        d._a = a
        return d

    # -- explicit transfer -----------------------------------------------------------------------
    def get(self, stream=None, order="C", out=None, blocking=True):
        """A host (numpy) copy: the one device-to-host transfer."""
        transfers.to_host += 1
        if out is not None:
            out[...] = self._a
            return out
        return self._a.copy(order=order)

    def set(self, arr, stream=None):
        """Copy the host array ``arr`` into this array (a host-to-device transfer)."""
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"Only numpy.ndarray can be set to cupy.ndarray, got {type(arr)}")
        transfers.to_device += 1
        self._a[...] = arr

    # -- numpy interop: refused implicit conversion, dispatch to this module ------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError(IMPLICIT_CONVERSION)

    def __array_ufunc__(self, np_ufunc, method, *inputs, **kwargs):
        u = _ufunc_of(np_ufunc)
        return u(*inputs, **kwargs) if method == "__call__" else getattr(u, method)(*inputs, **kwargs)

    def __array_function__(self, func, types_, args, kwargs):
        mine = getattr(_this, func.__name__, None)
        if mine is None:
            return NotImplemented
        return mine(*args, **kwargs)

    # -- attributes ------------------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: ndarray._of(self._a.T))
    real = property(lambda self: ndarray._of(self._a.real))
    imag = property(lambda self: ndarray._of(self._a.imag))
    device = property(lambda self: cuda.Device(0))

    @property
    def base(self):
        return None if self._a.base is None else ndarray._of(self._a.base)

    # -- Python protocols: each reading of a value is a device-to-host copy, as in cupy -------------
    def _scalar(self):
        if self._a.size != 1:
            raise TypeError("only size-1 arrays can be converted to Python scalars")
        transfers.to_host += 1
        return self._a.reshape(()).item()

    def __bool__(self):
        if self._a.size != 1:
            raise ValueError(
                "The truth value of an array with more than one element is ambiguous. Use a.any() or a.all()"
            )
        return bool(self._scalar())

    def __int__(self):
        return int(self._scalar())

    def __float__(self):
        return float(self._scalar())

    def __complex__(self):
        return complex(self._scalar())

    def item(self):
        return self._scalar()

    def tolist(self):
        transfers.to_host += 1
        return self._a.tolist()

    def tobytes(self, order="C"):
        transfers.to_host += 1
        return self._a.tobytes(order)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (ndarray._of(self._a[i]) for i in range(len(self._a)))

    def __repr__(self):
        transfers.to_host += 1
        return repr(self._a)

    def __str__(self):
        transfers.to_host += 1
        return str(self._a)

    def __format__(self, spec):
        if self._a.ndim == 0 and spec:
            return format(self._scalar(), spec)
        return str(self)

    # -- indexing ----------------------------------------------------------------------------------
    @staticmethod
    def _index(key):
        if type(key) is ndarray:
            return key._a
        if isinstance(key, np.ndarray):  # cupy copies a host index array to the device
            transfers.to_device += 1
            return key
        if type(key) is tuple:
            return tuple(ndarray._index(k) for k in key)
        return key

    def __getitem__(self, key):
        return ndarray._of(self._a[self._index(key)])

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray):  # cupy copies a host value to the device
            transfers.to_device += 1
        elif type(value) is ndarray:
            value = value._a
        elif not isinstance(value, (numbers.Number, np.generic)):
            raise TypeError(f"Unsupported type {type(value)}")
        self._a[self._index(key)] = value

    def __getstate__(self):
        raise TypeError("device arrays are not pickled here: use .get()")

    def __deepcopy__(self, memo):
        return ndarray._of(self._a.copy())

    def __copy__(self):
        return ndarray._of(self._a.copy())

    def __dlpack__(self, *a, **k):
        raise TypeError(IMPLICIT_CONVERSION)


def _method(name):
    def method(self, *args, **kwargs):
        if name == "fill" and args and type(args[0]) is ndarray:
            args = (args[0]._scalar(),)
        return _call(getattr(self._a, name), args, kwargs)

    method.__name__ = name
    return method


for _name in _METHODS:
    setattr(ndarray, _name, _method(_name))


def _operator(np_ufunc, reflected=False, inplace=False):
    def op(self, other):
        u = _ufunc_of(np_ufunc)
        if inplace:
            u(self, other, out=self)
            return self
        return u(other, self) if reflected else u(self, other)

    return op


_OPERATORS = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "truediv": np.true_divide,
    "floordiv": np.floor_divide,
    "mod": np.remainder,
    "pow": np.power,
    "matmul": np.matmul,
    "and": np.bitwise_and,
    "or": np.bitwise_or,
    "xor": np.bitwise_xor,
    "lshift": np.left_shift,
    "rshift": np.right_shift,
}
for _name, _u in _OPERATORS.items():
    setattr(ndarray, f"__{_name}__", _operator(_u))
    setattr(ndarray, f"__r{_name}__", _operator(_u, reflected=True))
    setattr(ndarray, f"__i{_name}__", _operator(_u, inplace=True))
for _name, _u in {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal}.items():
    setattr(ndarray, f"__{_name}__", _operator(_u))
ndarray.__eq__ = _operator(np.equal)
ndarray.__ne__ = _operator(np.not_equal)
ndarray.__hash__ = None
ndarray.__neg__ = lambda self: _ufunc_of(np.negative)(self)
ndarray.__pos__ = lambda self: ndarray._of(+self._a)
ndarray.__abs__ = lambda self: _ufunc_of(np.absolute)(self)
ndarray.__invert__ = lambda self: _ufunc_of(np.invert)(self)


# -- the module's functions -----------------------------------------------------------------------

# names that are the same objects in cupy and numpy (types, constants, dtype helpers): no arrays involved
_SHARED = set(
    "bool_ int8 int16 int32 int64 uint8 uint16 uint32 uint64 float16 float32 float64 complex64 complex128 "
    "intp uintp byte short intc longlong ubyte ushort uintc ulonglong half single double "
    "number integer signedinteger unsignedinteger inexact floating complexfloating generic "
    "dtype finfo iinfo result_type promote_types can_cast issubdtype isscalar min_scalar_type "
    "inf nan pi e euler_gamma newaxis ndim".split()
)


def asarray(a, dtype=None, order=None, blocking=False):
    """``a`` on the device: a device array as is (cast if asked), host data copied over (one transfer)."""
    if type(a) is ndarray:
        return a if dtype is None or a.dtype == np.dtype(dtype) else a.astype(dtype)
    if isinstance(a, (list, tuple)) and any(type(v) is ndarray for v in a):
        return _this.stack([asarray(v, dtype) for v in a])
    transfers.to_device += 1
    return ndarray._of(np.array(a, dtype=dtype, order=order or "K"))


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, blocking=False):
    """A new device array (a host-to-device transfer for host data)."""
    if type(obj) is ndarray:
        out = np.array(obj._a, dtype=dtype, copy=copy or None, order=order, ndmin=ndmin)
        return ndarray._of(out)
    if isinstance(obj, (list, tuple)) and any(type(v) is ndarray for v in obj):
        return _this.stack([array(v, dtype) for v in obj])
    transfers.to_device += 1
    return ndarray._of(np.array(obj, dtype=dtype, order=order, ndmin=ndmin))


def ascontiguousarray(a, dtype=None):
    if type(a) is not ndarray:
        return asarray(np.ascontiguousarray(a, dtype=dtype))
    return ndarray._of(np.ascontiguousarray(a._a, dtype=dtype))


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    """A host copy of a device array (one transfer); host data is returned as numpy."""
    if type(a) is ndarray:
        return a.get(order=order, out=out)
    return np.asarray(a, order=order)


def get_array_module(*args):
    return _this if any(type(a) is ndarray for a in args) else np


def _function(np_fn):
    def fn(*args, **kwargs):
        return _call(np_fn, args, kwargs)

    fn.__name__ = getattr(np_fn, "__name__", "function")
    fn.__doc__ = f"numpy's {fn.__name__} on device arrays (host arrays refused)."
    return fn


def _submodule(name: str, np_module, extra=None) -> types.ModuleType:
    mod = types.ModuleType(f"{__name__}.{name}")

    def __getattr__(attr):
        target = getattr(np_module, attr)  # AttributeError for names numpy lacks
        value = _function(target) if callable(target) and not isinstance(target, type) else target
        setattr(mod, attr, value)
        return value

    mod.__getattr__ = __getattr__
    for k, v in (extra or {}).items():
        setattr(mod, k, v)
    return mod


linalg = _submodule("linalg", np.linalg, {"LinAlgError": np.linalg.LinAlgError})
fft = _submodule("fft", np.fft)
lib = types.ModuleType(f"{__name__}.lib")
lib.stride_tricks = _submodule("lib.stride_tricks", np.lib.stride_tricks)


def __getattr__(name):
    """numpy's function or ufunc of that name, working on device arrays (made once, then kept)."""
    if name.startswith("__"):
        raise AttributeError(name)
    target = getattr(np, name)  # AttributeError for names numpy lacks
    if isinstance(target, np.ufunc):
        value = ufunc(target)
    elif name in _SHARED or isinstance(target, (type, float, int)) or not callable(target):
        value = target
    else:
        value = _function(target)
    setattr(_this, name, value)
    return value


_this = sys.modules[__name__]


# -- random: its own generator ----------------------------------------------------------------------
class RandomState:
    """cupy.random.RandomState: draws on the device from its own stream (not numpy's for the same seed)."""

    def __init__(self, seed=None):
        self.seed(seed)

    def seed(self, seed=None):
        entropy = None if seed is None else [int(seed), 0xC0FFEE]
        self._g = np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))

    @staticmethod
    def _size(size):
        return () if size is None else size

    def _out(self, values, dtype):
        return ndarray._of(np.asarray(values, dtype=dtype))

    def normal(self, loc=0.0, scale=1.0, size=None, dtype=float):
        return self._out(self._g.normal(_unwrap(loc), _unwrap(scale), size), dtype)

    def standard_normal(self, size=None, dtype=float):
        return self._out(self._g.standard_normal(size), dtype)

    def randn(self, *size, dtype=float):
        return self.standard_normal(size, dtype)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=float):
        return self._out(self._g.uniform(_unwrap(low), _unwrap(high), size), dtype)

    def random_sample(self, size=None, dtype=float):
        return self._out(self._g.random(size), dtype)

    random = random_sample

    def rand(self, *size, dtype=float):
        return self.random_sample(size, dtype)

    def randint(self, low, high=None, size=None, dtype="l"):
        return self._out(self._g.integers(low, high, size), dtype)

    def binomial(self, n, p, size=None, dtype=int):
        return self._out(self._g.binomial(_unwrap(n), _unwrap(p), size), dtype)

    def beta(self, a, b, size=None, dtype=float):
        return self._out(self._g.beta(_unwrap(a), _unwrap(b), size), dtype)

    def gamma(self, shape, scale=1.0, size=None, dtype=float):
        return self._out(self._g.gamma(_unwrap(shape), _unwrap(scale), size), dtype)

    def exponential(self, scale=1.0, size=None, dtype=float):
        return self._out(self._g.exponential(_unwrap(scale), size), dtype)

    def poisson(self, lam=1.0, size=None, dtype=int):
        return self._out(self._g.poisson(_unwrap(lam), size), dtype)

    def lognormal(self, mean=0.0, sigma=1.0, size=None, dtype=float):
        return self._out(self._g.lognormal(_unwrap(mean), _unwrap(sigma), size), dtype)

    def choice(self, a, size=None, replace=True, p=None):
        return _wrap(self._g.choice(_unwrap(a), size, replace, _unwrap(p)))

    def permutation(self, a):
        return _wrap(self._g.permutation(_unwrap(a)))

    def shuffle(self, a):
        if type(a) is not ndarray:
            raise TypeError(f"The array must be cupy.ndarray, got {type(a)}")
        self._g.shuffle(a._a)


random = types.ModuleType(f"{__name__}.random")
random.RandomState = RandomState
random._state = [RandomState()]
random.get_random_state = lambda: random._state[0]


def _set_random_state(rs):
    random._state[0] = rs


def _seed(seed=None):
    random._state[0].seed(seed)


random.set_random_state = _set_random_state
random.seed = _seed
for _name in (
    "normal standard_normal randn uniform random_sample random rand randint binomial beta gamma exponential "
    "poisson lognormal choice permutation shuffle"
).split():
    setattr(random, _name, (lambda n: lambda *a, **k: getattr(random._state[0], n)(*a, **k))(_name))


# -- cuda: devices, streams, events, memory pools ---------------------------------------------------
class _CudaRuntimeError(RuntimeError):
    pass


class Device:
    """cupy.cuda.Device(id): selecting and synchronizing a GPU of the double's ``device_count``."""

    def __init__(self, device=None):
        self.id = cuda._current[0] if device is None else int(device)

    def _check(self):
        if not 0 <= self.id < cuda.runtime.getDeviceCount():
            raise _CudaRuntimeError("cudaErrorInvalidDevice: invalid device ordinal")

    def use(self):
        self._check()
        cuda._current[0] = self.id

    def synchronize(self):
        self._check()
        cuda.synchronized[0] += 1

    def __enter__(self):
        self._previous = cuda._current[0]
        self.use()
        return self

    def __exit__(self, *exc):
        cuda._current[0] = self._previous

    def __int__(self):
        return self.id

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


class Stream:
    """cupy.cuda.Stream: work on the double is done at once, so a stream only records being waited on."""

    null = None

    def __init__(self, null=False, non_blocking=False, ptds=False):
        self.done = True

    def synchronize(self):
        cuda.synchronized[0] += 1

    def use(self):
        cuda._stream[0] = self
        return self

    def record(self, event=None):
        event = event or Event()
        event.record(self)
        return event

    def wait_event(self, event):
        pass

    def __enter__(self):
        self._previous = cuda._stream[0]
        return self.use()

    def __exit__(self, *exc):
        cuda._stream[0] = self._previous


class Event:
    """cupy.cuda.Event: recorded on a stream; the double's work is always complete."""

    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self.recorded = False

    def record(self, stream=None):
        self.recorded = True

    def synchronize(self):
        cuda.synchronized[0] += 1

    @property
    def done(self):
        return True


class MemoryPool:
    """cupy's memory pool: counts ``free_all_blocks`` calls."""

    def __init__(self):
        self.freed = 0

    def free_all_blocks(self, stream=None):
        self.freed += 1

    def used_bytes(self):
        return 0

    def total_bytes(self):
        return 0


cuda = types.ModuleType(f"{__name__}.cuda")
cuda._current = [0]
cuda.synchronized = [0]
cuda.Device = Device
cuda.Stream = Stream
cuda.Event = Event
cuda.MemoryPool = MemoryPool
Stream.null = Stream(null=True)
cuda._stream = [Stream.null]
cuda.get_current_stream = lambda device_id=-1: cuda._stream[0]
cuda.runtime = types.ModuleType(f"{__name__}.cuda.runtime")
cuda.runtime.device_count = 1
cuda.runtime.getDeviceCount = lambda: cuda.runtime.device_count
cuda.runtime.getDevice = lambda: cuda._current[0]
cuda.runtime.deviceSynchronize = lambda: cuda.synchronized.__setitem__(0, cuda.synchronized[0] + 1)
cuda.runtime.CUDARuntimeError = _CudaRuntimeError
cuda.runtime.memGetInfo = lambda: (8 << 30, 16 << 30)
cuda.get_elapsed_time = lambda start, end: 0.0
_pools = (MemoryPool(), MemoryPool())


def get_default_memory_pool():
    return _pools[0]


def get_default_pinned_memory_pool():
    return _pools[1]


# -- cupyx.scipy.special -----------------------------------------------------------------------------
def _special():
    import scipy.special

    return scipy.special


cupyx = types.ModuleType("cupyx")
cupyx.scipy = types.ModuleType("cupyx.scipy")
cupyx.scipy.special = types.ModuleType("cupyx.scipy.special")
cupyx.scipy.special.__getattr__ = lambda name: (
    ufunc(getattr(_special(), name))
    if isinstance(getattr(_special(), name), np.ufunc)
    else _function(getattr(_special(), name))
)
CUPYX_MODULES = {"cupyx": cupyx, "cupyx.scipy": cupyx.scipy, "cupyx.scipy.special": cupyx.scipy.special}
