"""NdArray, the engine's data container, and the array-module seam (numpy on the CPU, cupy on CUDA).

An NdArray holds one backend array (or none yet). ``fill``/``zero`` are lazy: they are recorded and carried out
when the data is next read, in place when a buffer exists (so views into a solver's flat buffer stay valid).

Like NNabla's synced arrays, an NdArray keeps the conversion of its buffer to a function's compute dtype (a
float64 input batch read by float32 functions is converted once for forward and backward) until the buffer is
next written through its accessor: reading or assigning ``.data`` (``Variable.d``), ``fill``, ``zero``,
``copy_from``, ``cast``, or replacing the buffer. Writing later through a numpy array obtained earlier from
``.data`` is not noticed, as in NNabla. Views made with ``view`` share the counter of such writes.

Host and device (NNabla's synced arrays): the buffer (the "head") lives where it was last used. A function of a
'cuda'/'cudnn' context reading an NdArray whose head is on the host moves the head to the device, and a 'cpu'
function moves it back; ``.data`` (``Variable.d``/``.g``) always gives a numpy array, so reading it moves the head
to the host, and its writes are what the next device use syncs. Each move is one explicit transfer, into the
buffer the head left on the other side when it fits (so a solver's views of its flat device buffers stay
valid). ``get_data('r')`` reads a host copy and leaves the head where it is. ``fill``, ``zero`` and
``cast(dtype, ctx)`` act where the data lives.

The seam: the engine knows the device module only through ``use_device_module`` (cupy registers itself when a
CUDA context is first resolved; tests register a stand-in with cupy's rules), and asks ``get_array_module``,
``is_device_array``, ``to_numpy`` and ``to_device`` to tell host from device arrays.
"""

from __future__ import annotations

import numpy as np

from . import _state
from ._operators import OperatorMixin

# The device backend: (array module, its array type), None until a CUDA context is first used. cupy registers
# itself there on first use; tests register a stand-in with the same rules (``use_device_module``).
_device = [None]


def use_device_module(module):
    """Make ``module`` (cupy, or a module with cupy's API) the array module of 'cuda'/'cudnn' contexts.

    Returns the previous registration, to restore; ``None`` goes back to importing cupy on first use.
    """
    previous = _device[0]
    _device[0] = None if module is None else (module, module.ndarray)
    return previous


def cupy_module(device_id="0"):
    """The device array module (cupy) with ``device_id`` selected, or a clear error when CUDA is not usable here."""
    if _device[0] is None:
        try:
            import cupy
        except ImportError as e:
            raise RuntimeError(
                "The 'cuda'/'cudnn' context needs cupy and an NVIDIA GPU: install the 'cuda12' or 'cuda13' extra "
                "(pip install 'nnabla-nb[cuda12]' for CUDA 12.x, 'nnabla-nb[cuda13]' for CUDA 13.x), "
                "or use the 'cpu' context."
            ) from e
        module = cupy
    else:
        module = _device[0][0]
    try:
        count = module.cuda.runtime.getDeviceCount()
    except Exception as e:  # cupy installed but no driver / no GPU
        raise RuntimeError(f"The 'cuda' context found no usable GPU: {e}") from e
    if int(device_id or 0) >= count:
        raise RuntimeError(f"The 'cuda' context asks for device_id={device_id!r} but only {count} GPU(s) exist")
    module.cuda.Device(int(device_id or 0)).use()
    if _device[0] is None:
        use_device_module(module)
    return module


def device_module():
    """The registered device array module, or None when no CUDA context was used yet."""
    return None if _device[0] is None else _device[0][0]


def is_device_array(a) -> bool:
    """Whether ``a`` is an array of the device module (a cupy array)."""
    d = _device[0]
    return d is not None and isinstance(a, d[1])


def get_array_module(*arrays):
    """numpy, or the device module when any of ``arrays`` lives on the GPU (Chainer's ``get_array_module``)."""
    d = _device[0]
    if d is not None:
        for a in arrays:
            if isinstance(a, d[1]):
                return d[0]
    return np


def to_numpy(a):
    """A numpy array of ``a``: itself when it is one, an explicit host copy of a device array."""
    if isinstance(a, np.ndarray):
        return a
    d = _device[0]
    if d is not None and isinstance(a, d[1]):
        return d[0].asnumpy(a)
    return np.asarray(a)


def to_device(a, xp):
    """``a`` as an array of module ``xp`` (numpy or the device module), copying between host and device if needed."""
    if xp is np:
        return to_numpy(a)
    if isinstance(a, xp.ndarray):
        return a
    return xp.asarray(a)


def _device_key(key, xp):
    """An index for a device array: host index arrays copied to the device."""
    if isinstance(key, np.ndarray):
        return xp.asarray(key)
    if type(key) is tuple:
        return tuple(_device_key(k, xp) for k in key)
    return key


def _dtype_of(dtype):
    return np.dtype(dtype).type


def checked_shape(shape, owner: str) -> tuple:
    """``shape`` (an int or a sequence of them) as a tuple of ints, refusing negative and fractional sizes."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"{owner}: shape must be a tuple of ints, got {shape!r}") from None
    out = []
    for axis, d in enumerate(dims):
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer, float, np.floating)):
            raise TypeError(f"{owner}: shape {shape!r} must hold ints, got {d!r} ({type(d).__name__}) at axis {axis}")
        if isinstance(d, (float, np.floating)) and not float(d).is_integer():
            raise TypeError(f"{owner}: shape {shape!r} must hold ints, got {d!r} at axis {axis}")
        if d < 0:
            raise ValueError(f"{owner}: shape {shape!r} has a negative size {d} at axis {axis}")
        out.append(int(d))
    return tuple(out)


class _Zero(float):
    """The pending fill ``zero()`` leaves: 0.0, told apart from ``fill(0)`` by identity (NNabla's ``zeroing`` is
    true after ``zero()`` only; solvers skip a parameter whose gradient is still so)."""

    __slots__ = ()

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        return (_zero_fill, ())


def _zero_fill():
    return ZERO_FILL


ZERO_FILL = _Zero(0.0)


class NdArray(OperatorMixin):
    """``nn.NdArray(shape)``: a multi-dimensional array, float32 unless told otherwise.

    ``.data`` is a numpy array that shares memory with the NdArray (slice assignment writes through);
    assigning to ``.data`` copies, adopting the assigned array's dtype as NNabla does.
    """

    # _cast: (source array, dtype, converted array, the count of writes when converted) or None; _mod: None
    # until the first write through an accessor or the first view, then a one-element list counting those
    # writes, shared with views (most NdArrays, gradients and outputs, are never written so: no list to make)
    # _other: the buffer the head left on the other side (host or device), reused by the next move back; set
    # only once the head has moved (read it with getattr), so creating NdArrays costs nothing more
    # _cleared: clear() (or the engine's clearing of buffers) was called; with no buffer since, ``clear_called``
    __slots__ = (
        "_array",
        "_shape",
        "_dtype",
        "_fill",
        "_watched",
        "_cast",
        "_mod",
        "_other",
        "_cleared",
        "__weakref__",
    )

    def __init__(self, shape=()):
        self._shape = (
            shape
            if type(shape) is tuple and all(type(d) is int and d >= 0 for d in shape)
            else (checked_shape(shape, "NdArray"))
        )
        self._dtype = np.float32
        self._array = None
        self._fill = None
        self._watched = False  # a solver holds a view of the buffer: replacing it bumps param_version
        self._cast = None
        self._mod = None
        self._cleared = False

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_numpy_array(cls, nparr) -> NdArray:
        """A new NdArray holding a copy of ``nparr`` in its own dtype."""
        arr = np.array(nparr, copy=True)
        a = cls(arr.shape)
        a._set_array(arr)
        a._mod = [1]  # written once, as NNabla counts it
        return a

    @classmethod
    def _of_shape(cls, shape: tuple) -> NdArray:
        """An unallocated float32 NdArray of ``shape``, a tuple of ints already (engine internal)."""
        a = cls.__new__(cls)
        a._shape = shape
        a._dtype = np.float32
        a._array = None
        a._fill = None
        a._watched = False
        a._cast = None
        a._mod = None
        a._cleared = False
        return a

    @classmethod
    def _wrap(cls, arr) -> NdArray:
        """Adopt ``arr`` without copying (engine internal)."""
        a = cls.__new__(cls)
        a._shape = arr.shape
        a._dtype = arr.dtype.type
        a._array = arr
        a._fill = None
        a._watched = False
        a._cast = None
        a._mod = None
        a._cleared = False
        return a

    # -- engine access ------------------------------------------------------------------------
    def _get(self):
        """The backend array, materializing a pending fill or an unallocated buffer."""
        if self._fill is not None:
            self._materialize_fill()
        elif self._array is None:
            self._array = np.zeros(self._shape, self._dtype)
        return self._array

    def _materialize_fill(self):
        value, self._fill = self._fill, None
        if self._array is not None and self._array.shape == self._shape:
            self._array.fill(value)  # where the data lives
        else:
            self._array = np.full(self._shape, value, self._dtype)

    def _on(self, xp):
        """The buffer as an array of ``xp`` (numpy or the device module), moving the head there if needed.

        The move is one explicit transfer, into the buffer the head left there before when it still fits. A
        pending fill or an unallocated buffer is made on ``xp``'s side directly, with no transfer.
        """
        a = self._array
        if a is not None and (type(a) is np.ndarray if xp is np else isinstance(a, xp.ndarray)):
            if self._fill is not None:
                self._materialize_fill()
            return self._array
        other = getattr(self, "_other", None)
        dtype = a.dtype if a is not None else np.dtype(self._dtype)
        fits = (
            other is not None
            and (type(other) is np.ndarray if xp is np else isinstance(other, xp.ndarray))
            and other.shape == self._shape
            and other.dtype == dtype
        )
        if self._fill is not None or a is None:
            value, self._fill = (0 if self._fill is None else self._fill), None
            if fits:
                other.fill(value)
                moved = other
            else:
                moved = xp.full(self._shape, value, dtype)
        elif xp is np:
            moved = a.get(out=other) if fits and other.flags.c_contiguous else to_numpy(a)
        elif fits and other.flags.c_contiguous:
            other.set(np.ascontiguousarray(a))
            moved = other
        else:
            moved = xp.asarray(a)
        self._other = a
        self._array = moved
        if self._watched:  # a solver holding views of the buffer must look again
            _state.param_version[0] += 1
        return moved

    def _host_copy(self) -> np.ndarray:
        """The values as numpy without moving the head (a copy when they are on the device); for saving."""
        return to_numpy(self._get())

    def _set_array(self, arr) -> None:
        """Adopt ``arr`` as the buffer (engine internal: no copy)."""
        self._array = arr
        self._shape = arr.shape
        self._dtype = arr.dtype.type
        self._fill = None
        if self._watched:
            _state.param_version[0] += 1

    def _written(self) -> None:
        """Count a write through an accessor (conversions of the old values are stale)."""
        m = self._mod
        if m is None:
            self._mod = [1]
        else:
            m[0] += 1

    def _shared_count(self) -> list:
        """The list counting writes, made to be shared with a view."""
        m = self._mod
        if m is None:
            m = self._mod = [0]
        return m

    def _is_allocated(self) -> bool:
        return self._array is not None or self._fill is not None

    # -- public API ---------------------------------------------------------------------------
    @property
    def data(self) -> np.ndarray:
        """The values as a numpy array sharing memory with this NdArray."""
        arr = self._get()
        self._written()  # the caller may write through it
        if type(arr) is not np.ndarray:
            return self._on(np)  # the host copy becomes the head: the next device use syncs its writes
        return arr

    @data.setter
    def data(self, value) -> None:
        self._written()
        current = self._array
        if is_device_array(value):  # a device array assigned stays on the device
            return self._assign_on_device(value)
        if current is not None and type(current) is not np.ndarray:
            current = self._to_host_for_overwrite()
        if type(value) is np.ndarray and current is not None and value.shape == self._shape and value.ndim:
            if current.dtype == value.dtype:  # the common case, e.g. a new batch into an input Variable
                current[...] = value  # in place, also over a pending fill: views of the buffer stay valid
                self._fill = None
                return
        if isinstance(value, NdArray):
            value = value._get()
        if isinstance(value, np.ndarray) and value.ndim > 0:
            if value.shape != self._shape:
                try:
                    value = np.broadcast_to(value, self._shape)
                except ValueError:
                    raise ValueError(
                        f"NdArray.data: cannot assign an array of shape {value.shape} "
                        f"to an NdArray of shape {self._shape}"
                    ) from None
            current = self._array
            if current is not None and current.dtype == value.dtype and current.shape == self._shape:
                current[...] = value  # in place, also over a pending fill: views of the buffer stay valid
                self._fill = None
            else:
                self._set_array(np.array(value, copy=True))
            return
        # scalars and 0-d arrays: a zero is zero() (as NNabla's), others are assigned in place, keeping the dtype
        if isinstance(value, (int, float, np.number, np.bool_)) and value == 0:
            self.zero()
            return
        arr = self._get()
        try:
            arr[...] = value
        except (ValueError, TypeError) as e:
            shown = repr(value) if len(repr(value)) < 60 else f"a {type(value).__name__}"
            raise type(e)(
                f"NdArray.data: cannot assign {shown} to an NdArray of shape {self._shape} ({arr.dtype}): {e}"
            ) from None

    def _assign_on_device(self, value) -> None:
        """``.data = device_array``: copied on the device (in place when the buffer there fits)."""
        xp = get_array_module(value)
        if value.shape != self._shape:
            try:
                value = xp.broadcast_to(value, self._shape)
            except ValueError:
                raise ValueError(
                    f"NdArray.data: cannot assign an array of shape {value.shape} to an NdArray of shape {self._shape}"
                ) from None
        current = self._array
        if isinstance(current, xp.ndarray) and current.dtype == value.dtype and self._fill is None:
            current[...] = value
        else:
            self._set_array(value.copy())

    def _to_host_for_overwrite(self):
        """Make the host the head before every value is written (no transfer); the host buffer or None."""
        other = getattr(self, "_other", None)
        a = self._array
        self._other = a
        if type(other) is np.ndarray and other.shape == self._shape and other.dtype == a.dtype:
            self._array = other
        else:
            self._array = None
            self._dtype = a.dtype.type
        self._fill = None
        if self._watched:
            _state.param_version[0] += 1
        return self._array

    def get_data(self, mode: str = "rw", dtype=None):
        """The values as numpy for NNabla's access ``mode``, optionally cast to ``dtype`` first (the NdArray then
        holds that dtype).

        'rw' is ``.data``; 'r' only reads: data on the device stays there and this is a host copy of it; 'w' only
        writes every value: the host becomes the head without copying the device's values.
        """
        if mode not in ("r", "w", "rw"):
            raise ValueError(f"NdArray.get_data: mode must be 'r', 'w' or 'rw', got {mode!r}")
        if dtype is not None and np.dtype(dtype) != np.dtype(self.dtype):
            self.cast(dtype)
        if mode == "r":
            return self._host_copy()
        if mode == "w":
            if self._array is not None and type(self._array) is not np.ndarray:
                self._to_host_for_overwrite()
            self._written()
            return self._get()
        return self.data

    def cast(self, dtype, ctx=None):
        """Convert the buffer to ``dtype`` in place; returns it as numpy, or, given ``ctx``, None (NNabla's).

        With ``ctx`` the data moves to that context's device (the host for 'cpu') and is converted there.
        """
        dt = _dtype_of(dtype)
        if ctx is not None:
            arr = self._on(ctx.resolve()[0])
            if arr.dtype.type is not dt:
                self._set_array(arr.astype(dt))
            self._written()
            return None
        if self._array is None and self._fill is None:
            self._dtype = dt
        elif self._fill is not None and self._array is None:
            self._dtype = dt
        else:
            arr = self._get()
            if arr.dtype.type is not dt:
                self._set_array(arr.astype(dt))
        return self.data

    def data_ptr(self, dtype, ctx=None, write_only=False) -> int:
        """The address of the buffer as ``dtype`` on ``ctx``'s device (the current context's without ``ctx``), made
        C-contiguous there, as NNabla's: for code outside Python that reads or writes it in place. With
        ``write_only`` the old values are not kept (nothing is converted or moved: the buffer is new where it
        does not fit)."""
        if ctx is None:
            from .context import get_current_context

            ctx = get_current_context()
        xp = ctx.resolve()[0]
        dt = _dtype_of(dtype)
        arr = self._array
        fits = arr is not None and isinstance(arr, xp.ndarray) and arr.dtype.type is dt and arr.flags.c_contiguous
        if write_only and not fits:
            self._set_array(xp.empty(self._shape, dt))
        elif not write_only:
            self.cast(dt, ctx)
            if not self._array.flags.c_contiguous:
                self._set_array(xp.ascontiguousarray(self._array))
        self._fill = None
        self._written()
        arr = self._array
        return int(arr.ctypes.data) if type(arr) is np.ndarray else int(arr.data.ptr)

    def fill(self, value) -> None:
        """Set every element to ``value`` when the data is next read (lazy)."""
        self._fill = value
        self._written()
        if self._watched:
            _state.param_version[0] += 1

    def zero(self) -> None:
        """Set every element to zero when the data is next read (lazy)."""
        self._fill = ZERO_FILL
        self._cleared = False
        self._written()
        if self._watched:
            _state.param_version[0] += 1

    @property
    def zeroing(self) -> bool:
        """Whether ``zero()`` was the last thing done to the values (not ``fill(0)``, nor any read or write since)."""
        return self._fill is ZERO_FILL

    @property
    def clear_called(self) -> bool:
        """Whether the buffer was released (``clear()``, or a forward or backward clearing buffers) and nothing has
        been read, written or filled since."""
        return self._cleared and self._array is None and (self._fill is None or self._fill is ZERO_FILL)

    def clear(self) -> None:
        """Release the buffer; the next read allocates a fresh one (of zeros, where ``zero()`` came last: as in
        NNabla, the array stays ``zeroing``)."""
        self._cleared = True
        self._array = None
        self._other = None
        self._fill = ZERO_FILL if self._fill is ZERO_FILL else None
        self._cast = None
        self._mod = None
        if self._watched:
            _state.param_version[0] += 1
        if _state.clear_recorder[0] is not None:
            _state.clear_recorder[0].cleared.add(self)

    def copy_from(self, src: NdArray, use_current_context: bool = True) -> NdArray:
        """Copy ``src``'s values into this array, which takes ``src``'s dtype (as NNabla's); returns self.

        ``use_current_context``: the copy lives on the current context's device (numpy or cupy); otherwise on
        the source's.
        """
        values = src._get() if isinstance(src, NdArray) else src if is_device_array(src) else np.asarray(src)
        if values.shape != self._shape:
            raise ValueError(f"NdArray.copy_from: source shape {values.shape} differs from {self._shape}")
        if use_current_context:
            from .context import get_current_context

            values = to_device(values, get_current_context().resolve()[0])
        current = self._array
        if current is not None and current.dtype == values.dtype and type(current) is type(values):
            current[...] = values  # in place: views of the buffer stay valid
            self._fill = None
            self._written()
        else:
            self._set_array(values.copy())
            self._written()
        return self

    def __setitem__(self, key, value) -> None:
        """``a[key] = value`` writes into the array in place (numpy's indexing rules)."""
        if isinstance(value, NdArray):
            value = value._get()
        arr = self._get()
        self._written()
        xp = get_array_module(arr)
        if xp is not np:  # written where the data lives
            value, key = to_device(value, xp) if hasattr(value, "shape") else value, _device_key(key, xp)
        elif is_device_array(value):
            value = to_numpy(value)
        arr[key] = value

    @property
    def modification_count(self) -> int:
        """How many times the data was written (assignments, fills, copies, writable reads); 0 when cleared."""
        m = self._mod
        return m[0] if m is not None else 0

    def masked_fill(self, mask, value) -> NdArray:
        """Set the elements where ``mask`` (broadcast to this shape) is nonzero to ``value``, in place; returns self."""
        m = mask._get() if isinstance(mask, NdArray) else mask if is_device_array(mask) else np.asarray(mask)
        arr = self._get()
        self._written()
        xp = get_array_module(arr)
        arr[xp.broadcast_to(to_device(m, xp) != 0, self._shape)] = value
        return self

    bool_fill = masked_fill

    def narrow(self, dim: int, start: int, length: int) -> NdArray:
        """The part ``[start, start + length)`` along ``dim`` (only 0, as NNabla), sharing this array's memory."""
        if dim != 0:
            raise ValueError(f"NdArray.narrow: dim is out of range (expected to be 0, but got {dim})")
        if not self._shape:
            raise ValueError("NdArray.narrow: a 0-d array has no dimension 0")
        if start < 0 or length < 0 or start + length > self._shape[0]:
            raise ValueError(
                f"NdArray.narrow: start={start}, length={length} do not fit dimension 0 of size {self._shape[0]}"
            )
        part = NdArray._wrap(self._get()[start : start + length])
        part._mod = self._shared_count()
        return part

    @property
    def dtype(self) -> np.dtype:
        """The element type, a ``numpy.dtype`` (as NNabla's)."""
        return self._array.dtype if self._array is not None else np.dtype(self._dtype)

    @property
    def shape(self) -> tuple:
        return self._shape

    @property
    def size(self) -> int:
        return int(np.prod(self._shape, dtype=np.int64))

    @property
    def ndim(self) -> int:
        return len(self._shape)

    def size_from_axis(self, axis: int = -1) -> int:
        if axis < 0:
            axis += len(self._shape)
        return int(np.prod(self._shape[axis:], dtype=np.int64))

    @property
    def strides(self) -> tuple:
        return tuple(int(np.prod(self._shape[i + 1 :], dtype=np.int64)) for i in range(len(self._shape)))

    def view(self, shape=None) -> NdArray:
        arr = self._get()
        v = NdArray._wrap(arr if shape is None else arr.reshape(shape))
        v._mod = self._shared_count()  # writes through either invalidate conversions of both
        return v

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of a 0-d NdArray")
        return self._shape[0]

    def __array__(self, dtype=None, copy=None):
        a = self.data
        return a.astype(dtype) if dtype is not None else a

    def __repr__(self) -> str:
        return f"<NdArray({self._shape}) at {hex(id(self))}>"
