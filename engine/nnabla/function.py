"""Functions: the registry of ops and NNabla's Function protocol.

Every op is one subclass of ``Function`` registered under NNabla's type name. It declares its inputs, its
arguments with their defaults, and writes, once for numpy and cupy alike (``xp`` is the array module):

- ``output_shapes(*shapes)``: output shapes from input shapes, raising a clear error for bad input;
- ``compute(xp, *xs)``: the forward pass on arrays, returning an array or a tuple of arrays;
- ``grad(xp, xs, ys, gys, need)``: input gradients from output gradients (``None`` where not needed).
``grad_uses`` says which data backward reads ("x", "y", "xy" or ""), so buffer clearing can free the rest.
An op with ``grad_into = True`` also takes ``outs`` in ``grad``: arrays it may write input gradients into.

Higher-order gradients: one definition serves both. ``backward()`` runs ``grad`` on arrays (the fast path,
untouched); ``nn.grad`` asks ``grad_graph(xs, ys, gys, need)`` for the same gradients as Variables of registered
functions, which can be differentiated again to any order (``nnabla.grad``, ``_grad_graph``). By default
``grad_graph`` runs the op's own ``grad`` with the graph namespace in place of ``xp`` and Variables
(``_grad_graph.Sym``) in place of arrays, so ``xp.tanh``, ``xp.where``, ``.sum(axis, keepdims)`` and the operators
build F nodes. Three declarations in the op's class cover what that cannot run (in-place writes, fancy indexing):
``linear_inputs`` (with ``bilinear``, ``additive_inputs``): the op is linear in those inputs, so a gradient is
A^T gy, carried by a ``LinearGrad`` node (NNabla's <Op>DataGrad/FilterGrad) whose own gradient is the op again;
``select(xp, xs, u)``: the op picks from its input (max pooling, max, dropout), P(x) u, and ``SelectGrad`` nodes
carry P^T gy and P u, each the other's gradient; ``double_backward = False`` where NNabla has none: first-order
``nn.grad`` still works, differentiating its result raises a FunctionError naming the op. An op may also write
``grad_graph`` itself from F calls (the cross-entropy losses do), as NNabla's ``backward_functions/<op>.py``,
or differentiate its forward rebuilt from them (the recurrent ops, through ``grad.grad_within``).

An instance is the graph node that ``v.parent`` returns; ``nnabla.function.Affine(ctx, base_axis=1)`` makes one,
calling it on Variables links it into a graph, and ``setup``/``forward``/``backward`` run it on explicit
inputs and outputs, as NNabla's own tests do.
"""

from __future__ import annotations

import functools
import linecache
import numbers
import os
import sys
import weakref

import numpy as np

from . import _state
from ._array import NdArray, get_array_module, to_device
from .context import _current as _contexts

_REGISTRY: dict[str, type] = {}
_weakref = weakref.ref


def register(cls):
    """Class decorator: add an op to the registry under its class name (NNabla's type name)."""
    cls.type_name = cls.__name__
    if "name" not in cls.__dict__:
        cls.name = cls.__name__
    _REGISTRY[cls.__name__] = cls
    globals()[cls.__name__] = cls
    return cls


def registry() -> dict[str, type]:
    """Type name -> Function class, for every registered op."""
    return dict(_REGISTRY)


class _AllInputs(tuple):
    """``linear_inputs`` of an op linear in all its inputs, however many (Stack)."""

    def __contains__(self, i) -> bool:
        return True

    def __bool__(self) -> bool:
        return True


ALL_INPUTS = _AllInputs()


class FunctionInfo:
    __slots__ = ("type_name", "args", "tags")

    def __init__(self, type_name, args, tags=None):
        self.type_name = type_name
        self.args = args
        self.tags = tags or {}

    def __repr__(self):
        return f"FunctionInfo(type_name={self.type_name!r}, args={self.args!r})"


class FunctionError(ValueError):
    """Bad input to a function, raised when the graph is built (or at forward, for values only data shows)."""


class FunctionTypeError(FunctionError, TypeError):
    """An argument or input of the wrong type (a string where a number goes, a list where a Variable goes)."""


class FunctionIndexError(FunctionError, IndexError):
    """An index or label in the data outside the range it addresses (seen at forward)."""


REQUIRED = type("Required", (), {"__repr__": lambda self: "REQUIRED"})()  # an F argument without a default


def keeps_shape(output_shapes):
    """Mark an ``output_shapes`` that, given inputs all of one shape, returns that one shape: ``apply`` then skips it
    for such inputs (a class overriding it unmarked, or overriding ``_shapes_checked``, is always asked)."""
    output_shapes.keeps_shape = True
    return output_shapes


class Function:
    """Base of all ops; an instance is one node of a computation graph."""

    inputs_spec: tuple = ("x",)  # names; "name?" optional, "*name" variadic
    args_spec: dict = {}  # argument name -> default, in NNabla's order
    # where ``F.<name>``'s signature differs from args_spec: REQUIRED, None (for the default) or the value shown
    signature_defaults: dict = {}
    grad_uses = "x"  # what backward reads: "x" (inputs), "y" (outputs), "xy", "" (neither)
    differentiable = True  # False: outputs never need a gradient (comparisons, indices, random)
    prohibit_clear_input_buffers = False  # True: clearing never frees this function's inputs (Sink, as in NNabla)
    keep_dtype: tuple = ()  # input indices kept in their own dtype (labels, indices, conditions)
    # grad takes ``outs`` (an array or None per input) and may write an input's gradient into the array given,
    # returning that array: the graph walk offers leaves' gradient buffers, saving a copy per parameter
    grad_into = False
    n_outputs = 1
    stochastic = False
    _plain_forward = True  # the graph walk may inline _compute_outputs (False where a class overrides it)
    _plain_backward = True  # likewise for _input_grads
    type_name = "Function"
    name = "Function"

    def __init__(self, ctx=None, **args):
        spec = self.args_spec
        if args:
            for key, value in args.items():
                if key not in spec:
                    raise FunctionTypeError(
                        f"{self.type_name}: unexpected argument {key!r} (takes {list(spec) or 'none'})"
                    )
                default = spec[key]
                if value is not default and type(value) is not type(default) and default is not None:
                    _check_arg_type(self, key, value, default)
            self.args = {**spec, **args}
        else:
            self.args = dict(spec)
        self._start(ctx)
        if self._has_init:
            self._init_checked()

    def _init_checked(self) -> None:
        """Run ``init``, turning what an op's own code raises on bad arguments into a FunctionError naming it."""
        try:
            self.init()
        except FunctionError:
            raise
        except _BAD_ARGUMENT as e:
            raise _argument_error(self, e) from None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        same = lambda name: getattr(cls, name) is getattr(Function, name)  # noqa: E731
        cls._plain_forward = same("_compute_outputs") and same("_arrays_of") and same("_as_outputs")
        cls._plain_backward = same("_input_grads") and same("_arrays_of")
        cls._has_init = not same("init")
        # all inputs of one shape make one output of that shape (see ``keeps_shape``): apply needs no shape rule
        cls._keeps_shape = getattr(cls.output_shapes, "keeps_shape", False) and same("_shapes_checked")
        # backward reads every input's data whenever it reads any (the plan then needs no per-input check)
        cls._reads_all_inputs = same("grad_depends_input_data")

    _has_init = False
    _keeps_shape = True
    _reads_all_inputs = True
    # unlinked: apply sets these when it links the function into a graph
    _outputs: tuple = ()
    rank = 0

    def _start(self, ctx) -> None:
        """Bind the context (array module and compute dtype), unlinked from any graph."""
        if ctx is None:
            ctx = _contexts[-1]  # get_current_context(), read directly: every function asks
        self.context = ctx
        resolved = ctx._resolved
        self.xp, self.dtype = resolved if resolved is not None else ctx.resolve()
        self.inputs = []

    def init(self) -> None:
        """Hook: validate and precompute from ``self.args`` (no shapes known yet)."""

    @functools.cached_property
    def tags(self) -> dict:
        return {}  # made when first asked: most functions never carry tags

    # -- what each op writes ----------------------------------------------------------------------
    @keeps_shape
    def output_shapes(self, *shapes):
        return [shapes[0]]

    def compute(self, xp, *xs):
        raise NotImplementedError(f"{self.type_name}.compute")

    def grad(self, xp, xs, ys, gys, need):
        raise NotImplementedError(f"{self.type_name} has no gradient")

    # -- the gradient as a graph (nn.grad; see nnabla._grad_graph) ---------------------------------------------------
    double_backward = True  # False where NNabla has none: the gradient nn.grad builds cannot be differentiated
    linear_inputs: tuple = ()  # inputs the op is linear in: jointly, or each separately where ``bilinear``
    bilinear = False
    additive_inputs: tuple = ()  # a bilinear op's inputs added to its output (a bias)

    def grad_graph(self, xs, ys, gys, need) -> list:
        """Input gradients as Variables built from registered functions, differentiable again."""
        from ._grad_graph import default_grad_graph

        return default_grad_graph(self, xs, ys, gys, need)

    # -- descriptions ---------------------------------------------------------------------------
    @property
    def info(self) -> FunctionInfo:
        return FunctionInfo(self.type_name, dict(self.args), self.tags)

    @property
    def arguments(self) -> dict:
        """The function's arguments, name -> value (NNabla's ``Function.arguments``, the same as ``info.args``)."""
        return dict(self.args)

    @property
    def outputs(self) -> list:
        return [r() for r in self._outputs]

    @property
    def need_grad(self) -> bool:
        return any(o is not None and o._need_grad for o in self.outputs)

    def min_outputs(self) -> int:
        return self.n_outputs if self.n_outputs > 0 else 1

    def grad_depends_input_data(self, i: int, j: int) -> bool:
        return "x" in self.grad_uses

    def grad_depends_output_data(self, i: int, o: int) -> bool:
        return "y" in self.grad_uses

    def inplace_data(self, i: int) -> int:
        return 0

    def need_setup_recompute(self, i: int) -> bool:
        return self.stochastic

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(f'{k}={v!r}' for k, v in self.args.items())})"

    @property
    def creation_site(self) -> tuple | None:
        """(file name, line number) of the code outside the engine that linked this function into a graph."""
        code = getattr(self, "_site", None)
        if code is None:
            return None
        offset = self._site_offset
        lineno = code.co_firstlineno
        for start, end, line in code.co_lines():
            if start <= offset < end and line is not None:
                lineno = line
                break
        return code.co_filename, lineno

    # -- internal array plumbing ----------------------------------------------------------------
    def _arrays_of(self, variables):
        """Input arrays (of Variables or NdArrays) in the compute dtype, except inputs listed in ``keep_dtype``."""
        dt = self.dtype
        arrays = []
        same = self.xp is np  # a device function's inputs are moved (and converted) by _cast
        for v in variables:
            nd = v._data if type(v) is not NdArray else v
            a = nd._array
            if a is None or nd._fill is not None:
                a = nd._get()
            if a.dtype.type is not dt or type(a) is not _ndarray:
                same = False
            arrays.append(a)
        return arrays if same else self._cast(arrays, variables)

    def _cast(self, arrays, variables):
        dt = self.dtype
        keep = self.keep_dtype
        xp = self.xp
        if xp is not np or any(type(a) is not np.ndarray for a in arrays):  # moved to the context's side first
            arrays = [
                a if get_array_module(a) is xp else (v._data if type(v) is not NdArray else v)._on(xp)
                for v, a in zip(variables, arrays)
            ]
        if not keep:
            return [a if a.dtype.type is dt else a.astype(dt) for a in arrays]
        return [a if a.dtype.type is dt or i in keep else a.astype(dt) for i, a in enumerate(arrays)]

    def _cast_input(self, a, i):
        """Input ``i``'s array in the compute dtype, unless ``keep_dtype`` lists it."""
        return a if a.dtype.type is self.dtype or i in self.keep_dtype else a.astype(self.dtype)

    def _as_outputs(self, ys):
        if type(ys) is not tuple:
            if type(ys) is np.ndarray and ys.dtype.type is self.dtype:
                return (ys,)  # the common case: one array already in the compute dtype
            ys = (ys,)
        dt = self.dtype
        out = []
        xp = self.xp
        for y in ys:
            if type(y) is not np.ndarray or xp is not np:
                y = to_device(y, xp)
            if y.dtype.kind == "f" and y.dtype.type is not dt:
                y = y.astype(dt)
            out.append(y)
        return out

    def _shapes_checked(self, shapes):
        try:
            n = len(shapes)  # (passed one by one where few: a call with *shapes is not inlined)
            if n == 1:
                result = self.output_shapes(shapes[0])
            elif n == 2:
                result = self.output_shapes(shapes[0], shapes[1])
            elif n == 3:
                result = self.output_shapes(shapes[0], shapes[1], shapes[2])
            else:
                result = self.output_shapes(*shapes)
            if type(result) is not list:
                result = list(result)
        except FunctionError as e:
            if not str(e).startswith(self.type_name):  # raised by a function this one is composed of
                raise type(e)(f"{self.type_name}: {e}") from None
            raise
        except _BAD_ARGUMENT as e:
            raise self._invalid_inputs(shapes, e) from None
        for s in result:  # the common case in one pass: tuples of non-negative ints
            if type(s) is not tuple:
                break
            for d in s:
                if type(d) is not int or d < 0:
                    break
            else:
                continue
            break
        else:
            return result
        return self._shapes_normalized(shapes, result)

    def _invalid_inputs(self, shapes, error: Exception) -> FunctionError:
        """The named error for inputs or arguments that ``output_shapes`` refused (``error``)."""
        kind = FunctionTypeError if isinstance(error, TypeError) else FunctionError
        return kind(
            f"{self.type_name}: invalid inputs of shapes {', '.join(map(str, shapes)) or '(none)'} "
            f"with args {self.args}: {error}"
        )

    def _shapes_normalized(self, shapes, result):
        """Output shapes as tuples of ints, refusing fractional and negative sizes."""
        try:
            result = [_as_shape(s) for s in result]
        except _BAD_ARGUMENT as e:
            raise self._invalid_inputs(shapes, e) from None
        for s in result:
            for d in s:
                if d < 0:
                    raise FunctionError(
                        f"{self.type_name}: inputs of shapes {', '.join(map(str, shapes)) or '(none)'} with args "
                        f"{self.args} give an output of shape {s}, with a negative size"
                    )
        return result

    def _compute_outputs(self, variables):
        """Forward on the inputs' arrays: the output arrays, floats in the compute dtype."""
        xs = self._arrays_of(variables)
        n = len(xs)
        if n == 1:  # one or two inputs passed one by one: a call with *xs is not inlined by the interpreter
            ys = self.compute(self.xp, xs[0])
        elif n == 2:
            ys = self.compute(self.xp, xs[0], xs[1])
        else:
            ys = self.compute(self.xp, *xs)
        if type(ys) is np.ndarray and ys.dtype.type is self.dtype:
            return (ys,)  # the common case: one array already in the compute dtype
        return self._as_outputs(ys)

    def _input_grads(self, inputs, outputs, need):
        """Gradients for ``inputs`` from the outputs' gradients (``None`` where an output has none)."""
        uses = self.grad_uses
        if "x" in uses:
            xs = self._arrays_of(inputs)
        else:
            xs = [_Shaped(v._data._shape) for v in inputs]
        xp = self.xp
        if xp is np:
            ys = [o._data._get() if o is not None else None for o in outputs] if "y" in uses else None
            gys = [o._grad._get() if o is not None and o._grad is not None else None for o in outputs]
        else:  # on the device, also when read on the host since forward
            ys = [o._data._on(xp) if o is not None else None for o in outputs] if "y" in uses else None
            gys = [o._grad._on(xp) if o is not None and o._grad is not None else None for o in outputs]
        return self.grad(xp, xs, ys, gys, need)

    # -- NNabla's Function protocol on explicit variables ----------------------------------------
    def setup(self, inputs, outputs) -> None:
        shapes = self._shapes_checked([v.shape for v in inputs])
        for o, s in zip(outputs, shapes):
            if o.shape != s:
                o.reset_shape(s, force=True)

    def setup_recompute(self, inputs, outputs) -> None:
        pass

    def forward(self, inputs, outputs) -> None:
        ys = self._compute_outputs(inputs)
        for o, y in zip(outputs, ys):
            if o is not None:  # an output no longer referenced (a graph's recompute passes its outputs as they are)
                o._data._set_array(y)

    def recompute(self, inputs, outputs) -> None:
        self.forward(inputs, outputs)

    def backward(self, inputs, outputs, accum=None) -> None:
        need = [v.need_grad for v in inputs]
        if not any(need):
            return
        if not self.differentiable:  # as NNabla: no gradient flows, and an overwritten gradient becomes zero
            for v, n, acc in zip(inputs, need, accum if accum is not None else [False] * len(inputs)):
                if n and not acc:
                    v._grad_nd().zero()
            return
        for o in outputs:
            o._grad_nd()._on(self.xp)  # an output whose grad was never set counts as zero
        gxs = self._input_grads(inputs, outputs, need)
        for i, (v, gx) in enumerate(zip(inputs, gxs)):
            if not need[i]:
                continue
            if gx is None:  # no gradient reaches this input: overwriting writes zeros, as NNabla's kernels do
                if accum is None or not accum[i]:
                    v._grad_nd().zero()
                continue
            gx = self.xp.asarray(gx)  # a reduction to a scalar gives a numpy scalar, which cannot be written into
            gnd = v._grad_nd()
            if accum is not None and accum[i]:
                arr = gnd._on(self.xp)
                arr += gx
            else:
                gnd._set_array(gx.astype(gnd.dtype if gnd._array is not None else gx.dtype, copy=True))

    # -- linking into a graph -------------------------------------------------------------------
    def __call__(self, *inputs, n_outputs=-1, auto_forward=False, outputs=None):
        return apply(self, inputs, auto_forward=auto_forward, outputs=outputs, n_outputs=n_outputs)


_ndarray = np.ndarray

# what an op's own code raises on arguments or shapes it did not expect: turned into a FunctionError naming it
_BAD_ARGUMENT = (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError, OverflowError, AttributeError)


def _argument_error(func, e) -> FunctionError:
    kind = FunctionTypeError if isinstance(e, TypeError) else FunctionError
    return kind(f"{func.type_name}: invalid arguments {func.args}: {e}")


def _kind_of(default) -> str | None:
    """What an argument must be, read off its default: "number", "bool", "str", "sequence" (None: anything)."""
    if isinstance(default, (bool, np.bool_)):
        return "bool"
    if isinstance(default, numbers.Real):
        return "number"
    if isinstance(default, str):
        return "str"
    if isinstance(default, (tuple, list)):
        return "sequence"
    return None


def _check_arg_type(func, key, value, default) -> None:
    """Refuse an argument whose type cannot mean what its default means (a string for a number...)."""
    kind = _kind_of(default)
    if kind == "number":
        ok = (isinstance(value, numbers.Real) and not isinstance(value, str)) or (
            isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "biuf"
        )
        what = "a number"
    elif kind == "bool":
        ok = isinstance(value, (bool, np.bool_, numbers.Integral))
        what = "a bool"
    elif kind == "str":
        ok = isinstance(value, str)
        what = "a string"
    elif kind == "sequence":
        ok = isinstance(value, (tuple, list, range, np.ndarray, numbers.Integral)) or value is None
        what = "a tuple or list"
    else:
        return
    if not ok:
        raise FunctionTypeError(
            f"{func.type_name}: argument {key}={value!r} must be {what} (like its default, {default!r}), "
            f"got {type(value).__name__}"
        )


def _as_shape(s) -> tuple:
    """``s`` as a tuple of Python ints (ops may return lists or numpy integers)."""
    if type(s) is tuple:
        for d in s:
            if type(d) is not int:
                break
        else:
            return s
    dims = tuple(int(d) for d in s)
    if dims != tuple(s):  # a fractional size (from a shape argument) would be truncated silently
        raise TypeError(f"sizes must be whole numbers, got shape {tuple(s)}")
    return dims


class _Shaped:
    """Stands in for an input array whose data backward does not read (it may have been cleared)."""

    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = shape

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        size = 1
        for d in self.shape:
            size *= d
        return size


def _describe(x) -> str:
    return f"{type(x).__name__}" + (f" of shape {x.shape}" if hasattr(x, "shape") else "")


_Variable = None  # _variable.Variable, bound on first use (that module imports this one)


def _reject_n_outputs(func, n_outputs, made) -> None:
    if not isinstance(n_outputs, int) or isinstance(n_outputs, bool):
        raise TypeError(f"{func.type_name}: n_outputs must be an int, got {n_outputs!r}")
    raise FunctionError(
        f"{func.type_name}: n_outputs={n_outputs}, but it makes {made} output(s); leave n_outputs=-1 "
        "(extra, unconnected outputs are not supported)"
    )


def apply(func: Function, inputs, auto_forward=False, outputs=None, n_outputs=-1):
    """Link ``func`` to ``inputs`` (Variables: a graph node; any NdArray: run now and return NdArrays).

    ``n_outputs`` other than -1 must be the number of outputs the function makes: NNabla would add dangling
    extra outputs, which are refused here rather than created.
    """
    Variable = _Variable or _variable_class()
    imperative = need_grad = False
    rank = 0
    shapes = []
    for x in inputs:
        t = type(x)
        if t is Variable:
            shapes.append(x._data._shape)
            if x._need_grad:  # (what the graph node needs, read in the same pass)
                need_grad = True
            p = x._parent
            if p is not None and p.rank >= rank:
                rank = p.rank + 1
        elif t is NdArray:
            imperative = True
            shapes.append(x._shape)
        elif isinstance(x, Variable):
            shapes.append(x.shape)
            if x._need_grad:
                need_grad = True
            p = x._parent
            if p is not None and p.rank >= rank:
                rank = p.rank + 1
        else:
            return _apply_to_other(func, inputs, n_outputs)
    n = len(shapes)
    if func._keeps_shape and (n == 1 or n == 2 and shapes[0] == shapes[1]):
        if n == 2:
            del shapes[1]
    else:
        shapes = func._shapes_checked(shapes)
    if n_outputs != -1 and n_outputs != len(shapes):
        _reject_n_outputs(func, n_outputs, len(shapes))
    if imperative:  # no graph node: an error raises at the user's call itself, so no creation site is kept
        return _run_now(func, inputs, outputs)
    if capture_sites[0]:
        # the first frame outside the engine; only its code and instruction offset are kept: the line is worked
        # out when asked. apply's caller is engine code (F.<name>, Function.__call__, a PF): starting two frames
        # up skips making a frame object for it, the largest part of the cost
        f = sys._getframe(2)
        while f is not None:
            code = f.f_code
            inside = _ENGINE_FILES.get(code.co_filename)
            if inside is None:
                inside = _is_engine_file(code.co_filename)
            if not inside:
                func._site = code  # (two attributes rather than a tuple: one object less per function)
                func._site_offset = f.f_lasti
                break
            f = f.f_back

    if need_grad and not func.differentiable:
        need_grad = False
    if outputs is None and len(shapes) == 1:  # the common case, without the general loops
        o = Variable._new(shapes[0], need_grad)
        o._parent = func
        outs = (o,)
        if func._outputs:  # a function already in a graph, linked again: cached walks may be stale
            _state.graph_version[0] += 1
        func._outputs = (_weakref(o),)
    else:
        outs = _outputs_of(func, shapes, need_grad, outputs, Variable)
    func.inputs = [*inputs]  # (a list display: no call of list())
    func.rank = rank
    ref = _weakref(func)
    for x in inputs:
        consumers = x._consumers
        if consumers is None:  # a variable's first consumer is kept as its weak reference, without a list
            x._consumers = ref
            continue
        if type(consumers) is not list:
            x._consumers = [consumers, ref]
            continue
        consumers.append(ref)
        n = len(consumers)
        if n >= 64 and not n & (n - 1):
            # at each power of two, forget the functions gone since: a parameter used by a graph rebuilt every
            # iteration (dynamic mode) would otherwise collect a reference per iteration
            consumers[:] = [r for r in consumers if r() is not None]
    if auto_forward or _state.auto_forward[0]:
        if len(outs) == 1 and func._plain_forward:  # _compute_outputs and _set_array, by hand
            xs = func._arrays_of(inputs)
            n = len(xs)  # (as _compute_outputs)
            if n == 1:
                y = func.compute(func.xp, xs[0])
            elif n == 2:
                y = func.compute(func.xp, xs[0], xs[1])
            else:
                y = func.compute(func.xp, *xs)
            if type(y) is not np.ndarray or y.dtype.type is not func.dtype:
                y = func._as_outputs(y)[0]
            d = outs[0]._data
            if d._watched:
                d._set_array(y)
            else:
                d._array = y
                d._shape = y.shape
                d._dtype = y.dtype.type
                d._fill = None
            return outs[0]
        ys = func._compute_outputs(inputs)
        if len(outs) == 1:
            _set_array(outs[0]._data, ys[0])
        else:
            for o, y in zip(outs, ys):
                _set_array(o._data, y)
    return outs[0] if len(outs) == 1 else tuple(outs)


def _outputs_of(func, shapes, need_grad, outputs, Variable) -> list:
    """New output Variables of ``shapes``, or those of ``outputs`` (reshaped, need_grad set), linked to ``func``."""
    if outputs is not None or func._outputs:
        # existing variables get a new parent, or a function already in a graph is linked again: cached walks
        # may be stale. A new function making new variables is in no graph walked so far, and changes none.
        _state.graph_version[0] += 1
    outs = []
    for k, s in enumerate(shapes):
        o = outputs[k] if outputs is not None and k < len(outputs) else None
        if o is None:
            o = Variable._new(s, need_grad)
        else:
            if o.shape != s:
                o.reset_shape(s, force=True)
            if o._need_grad != need_grad:
                o._need_grad = need_grad
                _state.param_version[0] += 1
        o._parent = func
        outs.append(o)
    func._outputs = tuple([weakref.ref(o) for o in outs])
    return outs


def _run_now(func, inputs, outputs):
    """Imperative mode: compute on the inputs' arrays and return NdArrays (or write into ``outputs``)."""
    if func._plain_forward:  # _compute_outputs, by hand
        xs = func._arrays_of(inputs)
        n = len(xs)
        if n == 1:
            ys = func.compute(func.xp, xs[0])
        elif n == 2:
            ys = func.compute(func.xp, xs[0], xs[1])
        else:
            ys = func.compute(func.xp, *xs)
        if type(ys) is np.ndarray and ys.dtype.type is func.dtype:
            if outputs is None:
                return NdArray._wrap(ys)
            ys = (ys,)
        else:
            ys = func._as_outputs(ys)
    else:
        ys = func._compute_outputs(inputs)
    if outputs is not None:
        for o, y in zip(outputs, ys):
            o.copy_from(NdArray._wrap(y)) if isinstance(o, NdArray) else o._data._set_array(y)
        return outputs[0] if len(outputs) == 1 else tuple(outputs)
    if len(ys) == 1:
        return NdArray._wrap(ys[0])
    return tuple([NdArray._wrap(y) for y in ys])


def _set_array(nd, a) -> None:
    """NdArray._set_array, by hand where no solver watches the buffer."""
    if nd._watched:
        nd._set_array(a)
    else:
        nd._array = a
        nd._shape = a.shape
        nd._dtype = a.dtype.type
        nd._fill = None


def _variable_class():
    global _Variable
    from ._variable import Variable

    _Variable = Variable
    return Variable


def _apply_to_other(func, inputs, n_outputs):
    # ProtoVariable inputs (nn.graph_def) record the function into the network being built; others are errors
    graph_def = sys.modules.get("nnabla.core.graph_def")
    if graph_def is not None and any(isinstance(x, graph_def.ProtoVariable) for x in inputs):
        return graph_def._apply_to_proto(func, inputs, n_outputs)
    _reject_input(func, inputs)


ENGINE_DIR = os.path.dirname(os.path.abspath(__file__))  # frames of files under it are the engine's own
capture_sites = [True]  # record where each function was created (benchmarks switch it off to measure its cost)
_ENGINE_FILES: dict = {}  # file name -> whether it is the engine's (False entries are looked up the slow way)


def _is_engine_file(filename: str) -> bool:
    inside = _ENGINE_FILES[filename] = filename.startswith(ENGINE_DIR)
    return inside


def where(func) -> str:
    """``Affine (created at train.py:12: h = PF.affine(x, 10))``: a function and the user's line that made it."""
    site = func.creation_site
    if site is None:
        return func.type_name
    filename, lineno = site
    line = linecache.getline(filename, lineno).strip()
    return f"{func.type_name} (created at {filename}:{lineno}" + (f": {line})" if line else ")")


def located(error: BaseException, func, phase: str) -> BaseException:
    """``error``, raised while ``func`` ran ``phase`` ("forward", "backward"), told where in the user's code the
    function was created: a FunctionError gets it in its message, any other error as a note (its type is kept)."""
    if getattr(error, "_located", False):
        return error
    text = f"during {phase} of {where(func)}"
    if isinstance(error, FunctionError):
        try:
            new = type(error)(f"{error}\n  {text}")
        except Exception:  # a subclass with its own constructor: fall back to a note
            new = None
        if new is not None:
            new._located = True
            return new.with_traceback(error.__traceback__)
    if hasattr(error, "add_note"):
        error.add_note(text)
    try:
        error._located = True
    except AttributeError:
        pass
    return error


def _reject_input(func, inputs):
    for i, x in enumerate(inputs):
        if not isinstance(x, (_Variable, NdArray)):
            raise FunctionError(
                f"{func.type_name}: input {i} ({_input_name(func, i)}) must be a Variable or NdArray, "
                f"got {_describe(x)}"
            )


def _input_name(func, i):
    spec = func.inputs_spec
    if spec and spec[0].startswith("*"):
        return f"{spec[0][1:]}[{i}]"
    return spec[i].rstrip("?") if i < len(spec) else f"input {i}"


class PythonFunction(Function):
    """Base for user-defined functions (NNabla's ``nnabla.function.PythonFunction``).

    Subclasses implement ``name``, ``min_outputs()``, ``setup_impl(inputs, outputs)``,
    ``forward_impl(inputs, outputs)`` and ``backward_impl(inputs, outputs, propagate_down, accum)``
    on Variables; ``args`` is the dict of constructor arguments.
    """

    def __init__(self, ctx=None, **kwargs):
        self.args = kwargs
        self._start(ctx)

    @property
    def type_name(self):
        return self.name

    @property
    def name(self):
        return type(self).__name__

    def min_outputs(self):
        return 1

    def setup_impl(self, inputs, outputs):
        raise NotImplementedError

    def forward_impl(self, inputs, outputs):
        raise NotImplementedError

    def backward_impl(self, inputs, outputs, propagate_down, accum):
        raise NotImplementedError

    def grad_depends_input_data(self, i, j):
        return True

    def grad_depends_output_data(self, i, o):
        return True

    def _shapes_checked(self, shapes):
        from ._variable import Variable

        ins = [Variable(s) for s in shapes]
        outs = [Variable(()) for _ in range(self.min_outputs())]
        self.setup_impl(ins, outs)
        return [o.shape for o in outs]

    def setup(self, inputs, outputs):
        self.setup_impl(inputs, outputs)

    def forward(self, inputs, outputs):
        self.forward_impl(inputs, outputs)

    def backward(self, inputs, outputs, accum=None):
        propagate_down = [v.need_grad for v in inputs]
        self.backward_impl(inputs, outputs, propagate_down, accum or [False] * len(inputs))

    def _compute_outputs(self, variables):
        from ._variable import Variable

        ins = [v if type(v) is Variable else Variable._wrap_ndarray(v) for v in variables]
        outs = [Variable(s) for s in self._shapes_checked([v.shape for v in ins])]
        self.setup_impl(ins, outs)
        self.forward_impl(ins, outs)
        return [o._data._get() for o in outs]

    def _input_grads(self, inputs, outputs, need):
        from ._variable import Variable

        # run backward_impl on proxies that share data and output grads, with fresh input grads
        proxies = []
        for v in inputs:
            p = Variable._wrap_ndarray(v._data)
            p._need_grad = v._need_grad
            p._grad_nd()._set_array(self.xp.zeros(v.shape, np.float32))
            proxies.append(p)
        self.backward_impl(proxies, outputs, need, [False] * len(inputs))
        return [p._grad._get() if n else None for p, n in zip(proxies, need)]
