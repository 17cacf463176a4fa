"""Variable and the graph walk: forward, backward and buffer clearing.

A Variable holds ``data`` and ``grad`` NdArrays and a ``parent`` Function. ``forward`` runs the functions that
lead to it in topological order; ``backward`` runs them in reverse, each pushing gradients to its inputs.
Gradients accumulate into leaves (variables without a parent); an intermediate variable's gradient is
overwritten by its first contribution of a backward pass and accumulated for the rest. The root's own gradient
is set for one pass only. Which functions run and how each stores its gradients depend only on the graph and
its flags, so both walks are planned once per graph version and then replayed; a plan replayed without hooks runs
compiled, as one small generated function per step (see the end of this module).
"""

from __future__ import annotations

import weakref

import numpy as np

from . import _state
from ._array import NdArray
from ._operators import OperatorMixin
from .function import _Shaped

_Unary = None  # _ops._base.Unary, bound when the first backward plan is made (the ops import this module)

_ndarray = np.ndarray


class Variable(OperatorMixin):
    """``nn.Variable(shape, need_grad=False)``: a node of a computation graph holding data and grad."""

    __slots__ = (
        "_data",
        "_grad",
        "_need_grad",
        "_persistent",
        "_parent",
        "name",
        "_order",
        "_consumers",
        "_recompute",
        "__weakref__",
    )

    def __init__(self, shape=(), need_grad: bool = False):
        if isinstance(shape, int):
            shape = (shape,)
        self._data = NdArray(shape)
        self._grad = None
        self._need_grad = bool(need_grad)
        self._persistent = False
        self._parent = None
        self.name = ""
        self._order = None
        self._consumers = []
        self._recompute = False

    @classmethod
    def _new(cls, shape, need_grad):
        v = cls.__new__(cls)
        v._data = NdArray._of_shape(shape)
        v._grad = None
        v._need_grad = need_grad
        v._persistent = False
        v._parent = None
        v.name = ""
        v._order = None
        v._consumers = []
        v._recompute = False
        return v

    @classmethod
    def _wrap_ndarray(cls, nd: NdArray, need_grad=False):
        v = cls._new(nd.shape, need_grad)
        v._data = nd
        return v

    @classmethod
    def from_numpy_array(cls, data, grad=None, need_grad=None) -> Variable:
        """A leaf Variable holding copies of ``data`` (and ``grad``)."""
        nd = NdArray.from_numpy_array(data)
        v = cls._wrap_ndarray(nd, bool(need_grad))
        if grad is not None:
            grad = np.asarray(grad)
            if grad.shape != nd.shape:
                raise ValueError(f"Variable.from_numpy_array: grad shape {grad.shape} differs from data {nd.shape}")
            v._grad = NdArray.from_numpy_array(grad)
        return v

    # -- data and grad ------------------------------------------------------------------------------
    def _grad_nd(self) -> NdArray:
        g = self._grad
        if g is None or g._shape != self._data._shape:
            if g is not None and g._watched:
                _state.param_version[0] += 1
            g = self._grad = NdArray(self._data._shape)
        return g

    @property
    def data(self) -> NdArray:
        return self._data

    @data.setter
    def data(self, value):
        if isinstance(value, NdArray):
            if value.shape != self.shape:
                raise ValueError(f"Variable.data: NdArray of shape {value.shape} given for a Variable of {self.shape}")
            _replaced(self._data)
            self._data = value
        else:
            self._data.data = value

    @property
    def grad(self) -> NdArray:
        return self._grad_nd()

    @grad.setter
    def grad(self, value):
        if isinstance(value, NdArray):
            if value.shape != self.shape:
                raise ValueError(f"Variable.grad: NdArray of shape {value.shape} given for a Variable of {self.shape}")
            _replaced(self._grad)
            self._grad = value
        else:
            self._grad_nd().data = value

    @property
    def d(self) -> np.ndarray:
        return self._data.data

    @d.setter
    def d(self, value):
        self._data.data = value

    @property
    def g(self) -> np.ndarray:
        return self._grad_nd().data

    @g.setter
    def g(self, value):
        self._grad_nd().data = value

    @property
    def need_grad(self) -> bool:
        return self._need_grad

    @need_grad.setter
    def need_grad(self, value: bool):
        self._need_grad = bool(value)
        _state.graph_version[0] += 1  # which functions backward runs depends on it
        _state.param_version[0] += 1  # and which parameters solvers update

    @property
    def persistent(self) -> bool:
        return self._persistent

    @persistent.setter
    def persistent(self, value: bool):
        self._persistent = bool(value)
        _state.graph_version[0] += 1  # buffer clearing plans depend on it

    @property
    def recompute(self) -> bool:
        return self._recompute

    @recompute.setter
    def recompute(self, value: bool):
        self._recompute = bool(value)

    @property
    def parent(self):
        return self._parent

    @parent.setter
    def parent(self, func):
        self._parent = func
        _state.graph_version[0] += 1

    @property
    def shape(self) -> tuple:
        return self._data._shape

    @property
    def ndim(self) -> int:
        return len(self._data._shape)

    @property
    def size(self) -> int:
        return self._data.size

    def size_from_axis(self, axis: int = -1) -> int:
        return self._data.size_from_axis(axis)

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d Variable")
        return self.shape[0]

    @property
    def info(self):
        return self._parent.info if self._parent is not None else None

    @property
    def function_references(self) -> list:
        """The functions that take this variable as an input."""
        refs = [r() for r in self._consumers]
        return [f for f in refs if f is not None and any(x is self for x in f.inputs)]

    def reset_shape(self, shape, force: bool = False) -> None:
        """Change the shape; without ``force`` the size must stay the same. Buffers are released."""
        shape = tuple(int(s) for s in shape)
        if not force and int(np.prod(shape, dtype=np.int64)) != self.size:
            raise ValueError(f"Variable.reset_shape: size of {shape} differs from {self.shape} (pass force=True)")
        dtype = self._data.dtype
        _replaced(self._data)
        _replaced(self._grad)
        _state.graph_version[0] += 1  # backward plans hold the shapes of inputs whose data they do not read
        self._data = NdArray(shape)
        self._data._dtype = dtype
        self._grad = None

    def reshape(self, shape, unlink: bool = False) -> Variable:
        """A Variable of ``shape`` sharing this one's data; linked into the graph unless ``unlink``."""
        shape = tuple(int(s) for s in shape)
        if unlink:
            v = Variable._wrap_ndarray(self._data.view(shape), self._need_grad)
            return v
        from . import functions as F

        return F.reshape(self, shape, inplace=True)

    def unlinked(self, need_grad=None) -> Variable:
        """A parentless Variable sharing this one's data and grad arrays."""
        v = Variable._new(self.shape, self._need_grad if need_grad is None else bool(need_grad))
        v._data = self._data
        v._grad = self._grad_nd()
        return v

    get_unlinked_variable = unlinked

    def no_grad(self) -> Variable:
        return self.unlinked(need_grad=False)

    def apply(self, **kwargs) -> Variable:
        """Set attributes by keyword and return self, e.g. ``nn.Variable(s).apply(need_grad=True)``."""
        for k, v in kwargs.items():
            setattr(self, k, v)
        return self

    def rewire_on(self, var: Variable) -> None:
        """Take over ``var``'s parent and data: functions that consumed ``self`` now follow ``var``'s graph."""
        func = var._parent
        self._parent = func
        _replaced(self._data)
        self._data = var._data
        if func is not None:
            func._outputs = tuple(weakref.ref(self) if r() is var else r for r in func._outputs)
        var._parent = None
        _state.graph_version[0] += 1

    def clear_all_graph_links(self) -> None:
        for f in _forward_order(self):
            for o in f.outputs:
                if o is not None:
                    o._parent = None
            f.inputs = []
        self._parent = None
        _state.graph_version[0] += 1

    def masked_fill_(self, mask, value) -> None:
        m = mask.d if isinstance(mask, Variable) else np.asarray(mask)
        self.d[np.broadcast_to(m != 0, self.shape)] = value

    bool_fill_ = masked_fill_

    def __repr__(self) -> str:
        return f"<Variable({self.shape}, need_grad={self._need_grad}) at {hex(id(self))}>"

    # -- graph walk ---------------------------------------------------------------------------------
    def visit(self, f) -> None:
        """Call ``f(function)`` for every function leading to this variable, in forward order."""
        for func in _forward_order(self):
            f(func)

    def visit_check(self, f) -> bool:
        """Like ``visit``, stopping (and returning True) when ``f`` returns True."""
        for func in _forward_order(self):
            if f(func):
                return True
        return False

    def forward(
        self, clear_buffer=False, clear_no_need_grad=False, function_pre_hook=None, function_post_hook=None
    ) -> None:
        """Run every function leading to this variable, in topological order."""
        if (
            function_pre_hook is None
            and function_post_hook is None
            and not _state.function_pre_hooks
            and not _state.function_post_hooks
        ):
            runs = _walk(self).forward_run(self, clear_buffer, clear_no_need_grad)
            if runs is not None:
                for run in runs:
                    run()
                return
        steps = _walk(self).forward_steps(self, clear_buffer, clear_no_need_grad)
        pre = post = ()
        if function_pre_hook is not None or _state.function_pre_hooks:
            pre = _hooks(_state.function_pre_hooks, function_pre_hook)
        if function_post_hook is not None or _state.function_post_hooks:
            post = _hooks(_state.function_post_hooks, function_post_hook)
        # Function._compute_outputs, inlined where the class keeps it: this loop is the engine's hot path. The plan
        # holds each function's bound compute, array module and dtype (reading them off functions of many classes
        # at one place is slow), and NdArray methods are done by hand where that saves a call.
        for func, kind, compute, xp, dt, dtd, inputs, out, outrefs, free in steps:
            if pre:
                for h in pre:
                    h(func)
            if kind is _ONE:
                d = inputs[0]._data
                a = d._array
                if a is None or d._fill is not None:
                    a = d._get()
                if a.dtype is not dtd and a.dtype.type is not dt:
                    a = _converted(func, d, a, 0)
                ys = compute(xp, a)
            elif kind is _MANY:
                xs = []
                cast = False
                for x in inputs:
                    d = x._data
                    a = d._array
                    if a is None or d._fill is not None:
                        a = d._get()
                    if a.dtype is not dtd and a.dtype.type is not dt:
                        cast = True
                    xs.append(a)
                if cast:
                    xs = _all_converted(func, inputs, xs)
                ys = compute(xp, *xs)
            else:
                ys = compute(inputs)
            if type(ys) is _ndarray and (ys.dtype is dtd or ys.dtype.type is dt):
                o = out if out is not None else outrefs[0]()
                if o is not None:
                    d = o._data
                    if d._watched:
                        d._set_array(ys)
                    else:  # NdArray._set_array by hand
                        d._array = ys
                        d._shape = ys.shape
                        d._dtype = dt
                        d._fill = None
            else:
                if kind is not _GENERIC:
                    ys = func._as_outputs(ys)
                for ref, y in zip(outrefs, ys):
                    o = ref()
                    if o is not None:
                        o._data._set_array(y)
            if post:
                for h in post:
                    h(func)
            for v in free:
                d = v._data
                if d._watched:
                    d.clear()
                else:  # NdArray.clear by hand
                    d._array = d._fill = None

    def backward(
        self, grad=1, clear_buffer=False, communicator_callbacks=None, function_pre_hook=None, function_post_hook=None
    ) -> None:
        """Propagate gradients from this variable to the leaves.

        ``grad`` is this variable's gradient for this pass only (its own grad is left as it was); ``None``
        starts from the gradient it already holds.
        """
        walk = _walk(self)
        steps = walk.backward_steps(self)
        saved = self._grad
        if grad is not None:
            self._grad = _initial_grad(grad, self._data._shape)
        else:
            self._grad_nd()
        if (
            function_pre_hook is None
            and function_post_hook is None
            and not _state.function_pre_hooks
            and not _state.function_post_hooks
        ):
            runs = walk.backward_run(clear_buffer is True or bool(clear_buffer))
            if runs is not None:
                try:
                    for run in runs:
                        run()
                finally:
                    if grad is not None:
                        self._grad = saved
                return
        pre = post = ()
        if function_pre_hook is not None or _state.function_pre_hooks:
            pre = _hooks(_state.function_pre_hooks, function_pre_hook)
        if function_post_hook is not None or _state.function_post_hooks:
            post = _hooks(_state.function_post_hooks, function_post_hook)
        try:
            for (
                func,
                kind,
                grad_of,
                xp,
                dt,
                dtd,
                inputs,
                outputs,
                need,
                stores,
                into,
                stubs,
                fetch,
                uses_y,
                cleared,
                weak,
            ) in steps:
                if outputs is None:  # some output no gradient reached: it counts as zero
                    outrefs, unreached = weak
                    outputs = [r() for r in outrefs]
                    for r in unreached:
                        o = r()
                        if o is not None:
                            o._grad_nd()._set_array(func.xp.zeros(o._data._shape, func.dtype))
                    cleared = [o for o in outputs if o is not None and o is not self and not o._persistent]
                if pre:
                    for h in pre:
                        h(func)
                if kind is _GENERIC:
                    gxs = grad_of(inputs, outputs, need)
                else:  # Function._input_grads (or Unary.grad), inlined; NdArray._get by hand where it saves a call
                    if stubs is None:  # backward reads the inputs' data
                        xs = []
                        cast = False
                        for x in inputs:
                            d = x._data
                            a = d._array
                            if a is None or d._fill is not None:
                                a = d._get()
                            if a.dtype is not dtd and a.dtype.type is not dt:
                                cast = True
                            xs.append(a)
                        if cast:
                            xs = _all_converted(func, inputs, xs)
                    elif fetch is None:
                        xs = stubs
                    else:  # some inputs' data: those a needed gradient depends on
                        xs = list(stubs)
                        for j, x in fetch:
                            d = x._data
                            a = d._array
                            if a is None or d._fill is not None:
                                a = d._get()
                            xs[j] = a if a.dtype is dtd or a.dtype.type is dt else _converted(func, d, a, j)
                    if kind is _UNARY:
                        o = outputs[0]
                        ya = None
                        if uses_y:
                            d = o._data
                            ya = d._array
                            if ya is None or d._fill is not None:
                                ya = d._get()
                        g = o._grad
                        gy = g._array
                        if gy is None or g._fill is not None:
                            gy = g._get()
                        gxs = (grad_of(xp, xs[0], ya, gy),)
                    else:
                        ys = [o._data._get() if o is not None else None for o in outputs] if uses_y else None
                        if len(outputs) == 1:
                            g = outputs[0]._grad
                            gy = g._array
                            if gy is None or g._fill is not None:
                                gy = g._get()
                            gys = [gy]
                        else:
                            gys = [o._grad._get() if o is not None and o._grad is not None else None for o in outputs]
                        if into is None:
                            gxs = grad_of(xp, xs, ys, gys, need)
                        else:  # offer the op the leaves' pending-zero gradient buffers to write into
                            outs = [None] * len(inputs)
                            for i, x in into:
                                gnd = x._grad
                                if gnd is not None and gnd._fill == 0:
                                    arr = gnd._array
                                    if arr is not None and arr.dtype is dtd:
                                        outs[i] = arr
                            gxs = grad_of(xp, xs, ys, gys, need, outs)
                            for i, x in into:  # these leaves are left out of ``stores``
                                gx = gxs[i]
                                if gx is None:
                                    continue
                                if gx is outs[i]:  # written in place: no longer a pending zero
                                    x._grad._fill = None
                                else:
                                    _accumulate_leaf(x, gx)
                for i, x, mode in stores:
                    gx = gxs[i]
                    if gx is None:
                        continue
                    if mode is _OVERWRITE:
                        gnd = x._grad
                        if gnd is None or gnd._watched:
                            x._grad_nd()._set_array(gx)
                        else:  # NdArray._set_array by hand
                            gnd._array = gx
                            gnd._shape = gx.shape
                            gnd._dtype = dt  # (read only once the buffer is released: the dtype to reallocate)
                            gnd._fill = None
                    elif mode is _ACCUMULATE_LEAF:
                        _accumulate_leaf(x, gx)
                    else:
                        x._grad._set_array(x._grad._array + gx)
                if post:
                    for h in post:
                        h(func)
                if clear_buffer:
                    for o in cleared:
                        d = o._data
                        if d._watched:
                            d.clear()
                        else:  # NdArray.clear by hand: this runs for every output of every function
                            d._array = d._fill = None
                        d = o._grad
                        if d is not None:
                            if d._watched:
                                d.clear()
                            else:
                                d._array = d._fill = None
        finally:
            if grad is not None:
                self._grad = saved


def _converted(func, nd, a, i):
    """Input ``i``'s array ``a``, held by ``nd``, in the compute dtype: the conversion is kept on ``nd`` until its
    buffer is next written through an accessor (see ``_array``), so forward and backward convert an input once."""
    if i in func.keep_dtype:
        return a
    dt = func.dtype
    c = nd._cast
    mod = nd._mod[0]
    if c is not None and c[0] is a and c[1] is dt and c[3] == mod:
        return c[2]
    b = a.astype(dt)
    if not nd._watched:  # a solver writes into its parameters in place, through no accessor
        nd._cast = (a, dt, b, mod)
    return b


def _all_converted(func, inputs, arrays) -> list:
    dt = func.dtype
    return [
        a if a.dtype.type is dt else _converted(func, x._data, a, i) for i, (x, a) in enumerate(zip(inputs, arrays))
    ]


def _accumulate_leaf(x, gx) -> None:
    """Add ``gx`` to a leaf's gradient, in place (a gradient that is lazily zero receives a copy)."""
    gnd = x._grad
    if gnd is None or gnd._shape != x._data._shape:
        gnd = x._grad_nd()
    arr = gnd._array  # when set, its shape is the NdArray's (every writer keeps it so)
    if gnd._fill is None:
        if arr is None:
            gnd._set_array(gx.copy())  # gx may be a view of another gradient
        else:
            arr += gx
    elif gnd._fill == 0 and arr is not None:
        arr[...] = gx  # adding to a pending zero is a copy (solvers zero grads lazily)
        gnd._fill = None
    else:
        arr = gnd._get()
        arr += gx


def _replaced(nd) -> None:
    """Note that a Variable stops using ``nd``: solvers holding views of it must re-check."""
    if nd is not None and nd._watched:
        _state.param_version[0] += 1


def _initial_grad(grad, shape) -> NdArray:
    """The root's gradient for one backward pass: an NdArray given is used as is, values are broadcast."""
    if isinstance(grad, NdArray):
        return grad
    if isinstance(grad, np.ndarray) and grad.ndim:
        return NdArray._wrap(np.array(np.broadcast_to(grad, shape), np.float32))
    if shape == () and type(grad) in (int, float):  # a loss: one call instead of two
        return NdArray._wrap(np.array(grad, np.float32))
    arr = np.empty(shape, np.float32)
    arr.fill(grad)
    return NdArray._wrap(arr)


def _hooks(global_hooks: dict, local) -> tuple:
    if not global_hooks:
        return (local,) if local is not None else ()
    hooks = tuple(global_hooks.values())
    return hooks + (local,) if local is not None else hooks


# how forward computes a function's outputs
_GENERIC = 0  # the class overrides _compute_outputs (or backward's _input_grads): call it
_ONE = 1  # Function._compute_outputs, inlined, for a function of one input
_MANY = 2  # likewise, for several inputs (or none)


def _held_output(func, root):
    """The output of a one-output function other than the root's: a later function of the graph takes it as input,
    so the plan may hold it without keeping it alive any longer; None where forward goes through the weak reference."""
    if len(func._outputs) != 1:
        return None
    o = func._outputs[0]()
    return o if o is not root else None


def _forward_step(func, root, free) -> tuple:
    """What forward needs of one function, read once per graph version."""
    if not func._plain_forward:
        kind, compute = _GENERIC, func._compute_outputs
    else:
        kind, compute = (_ONE if len(func.inputs) == 1 else _MANY), func.compute
    dt = func.dtype
    dtd = np.dtype(dt) if dt is not None else None
    return (
        func,
        kind,
        compute,
        func.xp,
        dt,
        dtd,
        tuple(func.inputs),
        _held_output(func, root),
        func._outputs,
        tuple(free),
    )


# how backward computes a function's input gradients
_PLAIN = 1  # Function._input_grads, inlined
_UNARY = 2  # one input and one output, Unary.grad: backward_unary is called directly

# how backward stores an input's gradient
_SKIP = 0  # the input needs no gradient
_ACCUMULATE_LEAF = 1  # a leaf: gradients add up across passes
_OVERWRITE = 2  # an intermediate's first contribution in a pass
_ACCUMULATE = 3  # an intermediate's later contributions


class _Walk:
    """The traversal of one graph for one graph version, with the step lists forward and backward follow.

    Everything here depends only on the graph's edges and its need_grad/persistent flags, each of which
    bumps the graph version when it changes, so a training loop computes it once.
    """

    __slots__ = ("version", "order", "_forward", "_backward", "_runs")

    def __init__(self, version, order):
        self.version = version
        self.order = order
        self._forward = {}
        self._backward = None
        # compiled plans: forward's under its (clear_buffer, clear_no_need_grad) key, backward's under clear_buffer;
        # True while a plan waits for its second use; () for a backward plan that is walked step by step
        self._runs = {}

    def _compiled(self, key, make):
        """The compiled plan, made on its second use (a graph run once is not worth it)."""
        run = self._runs.get(key)
        if run is None:
            self._runs[key] = True
            return None
        if run is True:
            run = self._runs[key] = make()
        return run

    def forward_run(self, root, clear_buffer, clear_no_need_grad):
        """The compiled forward plan (a function per step), or None where forward should walk the steps."""
        key = (clear_buffer is True or bool(clear_buffer), clear_no_need_grad is True or bool(clear_no_need_grad))
        run = self._runs.get(key)
        if run is not None and run is not True:
            return run
        steps = self.forward_steps(root, clear_buffer, clear_no_need_grad)
        return self._compiled(key, lambda: _compile_forward(steps))

    def backward_run(self, clear_buffer: bool):
        """The compiled backward plan (``backward_steps`` made already), or None where backward walks the steps."""
        run = self._runs.get(clear_buffer)
        if run is not None and run is not True:
            return run or None  # () where some step is walked: hooks' kind of steps, unreached outputs
        steps = self._backward
        if not _compilable_backward(steps):
            self._runs[clear_buffer] = ()
            return None
        return self._compiled(clear_buffer, lambda: _compile_backward(steps, clear_buffer))

    def forward_steps(self, root, clear_buffer, clear_no_need_grad) -> list:
        key = (clear_buffer is True or bool(clear_buffer), clear_no_need_grad is True or bool(clear_no_need_grad))
        steps = self._forward.get(key)
        if steps is None:
            order = self.order
            if clear_buffer or clear_no_need_grad:
                release = _release_plan(root, order, clear_no_need_grad and not clear_buffer)
            else:
                release = [()] * len(order)
            steps = self._forward[key] = [_forward_step(func, root, free) for func, free in zip(order, release)]
        return steps

    def backward_steps(self, root) -> list:
        steps = self._backward
        if steps is None:
            steps = self._backward = _backward_plan(root, self.order)
        return steps


def _walk(root: Variable) -> _Walk:
    """The cached traversal of the graph leading to ``root`` (rebuilt when any graph changed)."""
    cached = root._order
    if cached is not None and cached.version == _state.graph_version[0]:
        return cached
    walk = root._order = _Walk(_state.graph_version[0], _topological_order(root))
    return walk


def _forward_order(root: Variable) -> list:
    """The functions leading to ``root`` in topological order."""
    return _walk(root).order


def _topological_order(root: Variable) -> list:
    """Iterative depth-first search: deep graphs (10,000+ functions) need no recursion."""
    order = []
    if root._parent is None:
        return order
    seen = set()
    stack = [(root._parent, False)]
    while stack:
        func, expanded = stack.pop()
        if expanded:
            order.append(func)
            continue
        if id(func) in seen:
            continue
        seen.add(id(func))
        stack.append((func, True))
        for x in reversed(func.inputs):
            p = x._parent
            if p is not None and id(p) not in seen:
                stack.append((p, False))
    return order


def _backward_plan(root, order) -> list:
    """The functions backward runs, last first, each with how every input's gradient is stored.

    A function runs when some input needs a gradient and some output's gradient was reached from ``root``;
    which variables are reached is decided by the graph alone, so it is worked out here once.
    """
    global _Unary
    if _Unary is None:
        from ._ops._base import Unary as _Unary
    reached = {id(root)}
    steps = []
    for func in reversed(order):
        inputs = tuple(func.inputs)
        need = [x._need_grad for x in inputs]
        if True not in need:
            continue
        outrefs = func._outputs
        outputs = [r() for r in outrefs]
        if not any(o is not None and id(o) in reached for o in outputs):
            continue
        # siblings no gradient reaches stay weakly held: the plan must not keep unused outputs alive
        unreached = tuple(r for r, o in zip(outrefs, outputs) if o is None or id(o) not in reached)
        modes = []
        for x, n in zip(inputs, need):
            if not n:
                modes.append(_SKIP)
            elif x._parent is None:
                modes.append(_ACCUMULATE_LEAF)
            elif id(x) in reached:
                modes.append(_ACCUMULATE)
            else:
                modes.append(_OVERWRITE)
                reached.add(id(x))
        strong = None if unreached else tuple(outputs)
        if not func._plain_backward:
            kind, grad_of = _GENERIC, func._input_grads
        elif len(inputs) == 1 and len(outrefs) == 1 and type(func).grad is _Unary.grad:
            kind, grad_of = _UNARY, func.backward_unary
        else:
            kind, grad_of = _PLAIN, func.grad
        stores = tuple((i, x, mode) for i, (x, mode) in enumerate(zip(inputs, modes)) if mode is not _SKIP)
        uses = func.grad_uses
        # inputs whose data backward reads: all when "x" in grad_uses, narrowed by grad_depends_input_data to those
        # a needed gradient depends on; the others get stand-ins with their shapes (a shape change bumps the version)
        stubs = fetch = None
        if "x" not in uses:
            stubs = [_Shaped(x._data._shape) for x in inputs]
        elif kind is not _GENERIC:
            n = len(inputs)
            reads = [any(need[i] and func.grad_depends_input_data(i, j) for i in range(n)) for j in range(n)]
            if not all(reads):
                stubs = [None if r else _Shaped(x._data._shape) for x, r in zip(inputs, reads)]
                fetch = tuple((j, x) for j, x in enumerate(inputs) if reads[j])
        # outputs whose buffers clear_buffer releases once the function's backward has run
        cleared = () if unreached else tuple(o for o in outputs if o is not root and not o._persistent)
        # leaves whose gradient the op may write straight into their buffers (each must appear once among the
        # inputs, its gradient shaped as its data: only a change that bumps the version could break that later);
        # backward stores their gradients itself, so they leave ``stores``
        into = None
        if kind is _PLAIN and func.grad_into:
            into = (
                tuple(
                    (i, x)
                    for i, x, mode in stores
                    if mode is _ACCUMULATE_LEAF
                    and inputs.count(x) == 1
                    and (x._grad is None or x._grad._shape == x._data._shape)
                )
                or None
            )
            if into is not None:
                stores = tuple(s for s in stores if (s[0], s[1]) not in into)
        # the plan holds the bound method, array module and dtype (reading them off functions of many classes at
        # one place in the loop is slow); the weak output references and the unreached ones go last, read only
        # when some output was not reached (then ``strong`` is None)
        steps.append(
            (func, kind, grad_of, func.xp, func.dtype, np.dtype(func.dtype), inputs, strong, need, stores, into)
            + (stubs, fetch, "y" in uses, cleared, (outrefs, unreached))
        )
    return steps


def _release_plan(root, order, no_need_grad_only):
    """For each function in ``order``, the intermediate inputs whose data can be freed once it has run.

    ``clear_buffer``: every intermediate input after its last consumer. ``clear_no_need_grad``: only those
    whose data no backward step will read.
    """
    last_use = {}
    for k, func in enumerate(order):
        for x in func.inputs:
            last_use[id(x)] = k
    needed = set()
    if no_need_grad_only:
        for func in order:
            if not any(x._need_grad for x in func.inputs):
                continue
            if "x" in func.grad_uses:
                needed.update(id(x) for x in func.inputs)
            if "y" in func.grad_uses:
                needed.update(id(o) for o in func.outputs if o is not None)
    plan = [[] for _ in order]
    done = set()
    for k, func in enumerate(order):
        for x in func.inputs:
            if x._parent is None or x._persistent or x is root or id(x) in done:
                continue
            if last_use[id(x)] == k and id(x) not in needed:
                plan[k].append(x)
                done.add(id(x))
    return plan


# -- plans compiled to straight-line code ------------------------------------------------------------
# A training loop replays one plan thousands of times; replaying it through the step tuples above spends most of
# its time unpacking them and testing facts that are fixed for the plan (the kind of each step, which inputs
# backward reads, how each gradient is stored). Without hooks, a replayed plan becomes one small function per step
# with those facts written in: the same reads, checks and writes as the loops above, as straight-line code. The
# code depends only on the step's shape (kind, input count, modes...), so it is compiled once per shape and
# process, and each step's function is that code closed over the step's objects.

_KERNELS: dict = {}  # generated step code -> compiled function making a step's function from its objects
_KERNEL_GLOBALS = {"_ndarray": _ndarray, "_converted": _converted, "_accumulate_leaf": _accumulate_leaf}


class _Source:
    """The generated code of one step; it names the step's objects k0, k1, ... in the order they are passed."""

    def __init__(self):
        self.lines = []

    def add(self, indent, *lines) -> None:
        self.lines.extend("    " * (indent + 1) + line for line in lines)

    def fetch(self, indent, var, func, dt, dtd, i, target) -> None:
        """``target`` = the data array of ``var`` (a name), as input ``i`` of ``func`` in the compute dtype."""
        self.add(
            indent,
            f"d = {var}._data",
            "a = d._array",
            "if a is None or d._fill is not None:",
            "    a = d._get()",
            f"if a.dtype is not {dtd} and a.dtype.type is not {dt}:",
            f"    a = _converted({func}, d, a, {i})",
            f"{target} = a",
        )

    def release(self, indent, var, grad) -> None:
        """Release ``var``'s data buffer (and its gradient's, with ``grad``): NdArray.clear by hand."""
        self.add(
            indent, f"d = {var}._data", "if d._watched:", "    d.clear()", "else:", "    d._array = d._fill = None"
        )
        if grad:
            self.add(
                indent,
                f"d = {var}._grad",
                "if d is not None:",
                "    if d._watched:",
                "        d.clear()",
                "    else:",
                "        d._array = d._fill = None",
            )

    def kernel(self, count):
        """Compile the code into a function taking the ``count`` objects and returning the step's function."""
        params = ", ".join(f"k{i}" for i in range(count))
        body = "\n".join(self.lines)
        source = f"def make({params}):\n    def run():\n{body}\n    return run\n"
        namespace = dict(_KERNEL_GLOBALS)
        exec(compile(source, f"<nnabla step kernel {len(_KERNELS)}>", "exec"), namespace)  # noqa: S102
        return namespace["make"]


def _step_function(key, objects, generate):
    """A step's function: the kernel for its shape ``key`` (generated on first sight) closed over ``objects``."""
    make = _KERNELS.get(key)
    if make is None:
        make = _KERNELS[key] = generate().kernel(len(objects))
    return make(*objects)


def _compile_forward(steps) -> tuple:
    """One function per step of a forward plan."""
    return tuple(_forward_function(*step) for step in steps)


def _forward_function(func, kind, compute, xp, dt, dtd, inputs, out, outrefs, free):
    generic = kind is _GENERIC
    key = ("forward", generic, len(inputs), out is None, len(free))
    objects = (func, compute, xp, dt, dtd) + ((inputs,) if generic else inputs) + (out, outrefs) + tuple(free)
    return _step_function(key, objects, lambda: _forward_source(*key[1:]))


def _forward_source(generic, n_inputs, weak_output, n_free) -> _Source:
    """Forward's loop body for one step, objects named as ``_forward_function`` passes them."""
    src = _Source()
    f, c, x_, t, td = "k0", "k1", "k2", "k3", "k4"
    k = 5
    if generic:
        src.add(1, f"ys = {c}(k5)")
        k += 1
    else:
        args = []
        for i in range(n_inputs):
            src.fetch(1, f"k{k}", f, t, td, i, f"a{i}")
            args.append(f"a{i}")
            k += 1
        src.add(1, f"ys = {c}({', '.join([x_] + args)})")
    out, refs = f"k{k}", f"k{k + 1}"
    k += 2
    src.add(1, f"if type(ys) is _ndarray and (ys.dtype is {td} or ys.dtype.type is {t}):")
    if not weak_output:
        src.add(2, f"o = {out}")
    else:
        src.add(2, f"o = {refs}[0]()", "if o is not None:")
    src.add(
        3 if weak_output else 2,
        "d = o._data",
        "if d._watched:",
        "    d._set_array(ys)",
        "else:",
        "    d._array = ys",
        "    d._shape = ys.shape",
        f"    d._dtype = {t}",
        "    d._fill = None",
    )
    src.add(1, "else:")
    if not generic:
        src.add(2, f"ys = {f}._as_outputs(ys)")
    src.add(2, f"for ref, y in zip({refs}, ys):", "    o = ref()", "    if o is not None:")
    src.add(4, "o._data._set_array(y)")
    for i in range(n_free):
        src.release(1, f"k{k + i}", False)
    return src


def _compilable_backward(steps) -> bool:
    """Whether every step is inlined and reaches all its outputs (the rest run through the loop)."""
    return all(s[1] is not _GENERIC and s[7] is not None for s in steps)


def _compile_backward(steps, clear_buffer) -> tuple:
    """One function per step of a backward plan (every step inlinable and reaching all its outputs)."""
    return tuple(_backward_function(step, clear_buffer) for step in steps)


def _backward_function(step, clear_buffer):
    func, kind, grad_of, xp, dt, dtd, inputs, outputs, need, stores, into, stubs, fetch, uses_y, cleared, _ = step
    if stubs is None:
        reads = tuple(range(len(inputs)))
    else:
        reads = tuple(j for j, _ in fetch) if fetch is not None else ()
    cleared = tuple(cleared) if clear_buffer else ()
    key = (
        "backward",
        kind is _UNARY,
        len(inputs),
        reads,
        stubs is not None,
        len(outputs),
        uses_y,
        tuple(i for i, _ in into) if into is not None else None,
        tuple((i, mode) for i, _, mode in stores),
        len(cleared),
    )
    objects = (func, grad_of, xp, dt, dtd) + inputs + (stubs,) + tuple(outputs) + (need,) + cleared
    return _step_function(key, objects, lambda: _backward_source(*key[1:]))


def _backward_source(unary, n_inputs, reads, stubbed, n_outputs, uses_y, into, stores, n_cleared) -> _Source:
    """Backward's loop body for one step, objects named as ``_backward_function`` passes them."""
    src = _Source()
    f, g, x_, t, td = "k0", "k1", "k2", "k3", "k4"
    names = [f"k{5 + j}" for j in range(n_inputs)]
    stub = f"k{5 + n_inputs}"
    outs = [f"k{6 + n_inputs + m}" for m in range(n_outputs)]
    n = f"k{6 + n_inputs + n_outputs}"
    cleared = [f"k{7 + n_inputs + n_outputs + c}" for c in range(n_cleared)]
    for j in reads:
        src.fetch(1, names[j], f, t, td, j, f"a{j}")
    xs = [f"a{j}" if j in reads else f"{stub}[{j}]" for j in range(n_inputs)]
    if unary or n_outputs == 1:
        src.add(
            1, f"g = {outs[0]}._grad", "gy = g._array", "if gy is None or g._fill is not None:", "    gy = g._get()"
        )
    if unary:
        if uses_y:
            src.add(1, f"d = {outs[0]}._data", "ya = d._array", "if ya is None or d._fill is not None:")
            src.add(2, "ya = d._get()")
        else:
            src.add(1, "ya = None")
        src.add(1, f"gxs = ({g}({x_}, {xs[0]}, ya, gy),)")
    else:
        ys = "[" + ", ".join(f"{o}._data._get()" for o in outs) + "]" if uses_y else "None"
        if n_outputs == 1:
            gys = "[gy]"
        else:
            gys = "[" + ", ".join(f"{o}._grad._get() if {o}._grad is not None else None" for o in outs) + "]"
        if into is None:
            src.add(1, f"gxs = {g}({x_}, [{', '.join(xs)}], {ys}, {gys}, {n})")
        else:
            src.add(1, f"outs = [None] * {n_inputs}")
            for i in into:
                src.add(
                    1,
                    f"gnd = {names[i]}._grad",
                    "if gnd is not None and gnd._fill == 0:",
                    "    arr = gnd._array",
                    f"    if arr is not None and arr.dtype is {td}:",
                    f"        outs[{i}] = arr",
                )
            src.add(1, f"gxs = {g}({x_}, [{', '.join(xs)}], {ys}, {gys}, {n}, outs)")
            for i in into:
                src.add(
                    1,
                    f"gx = gxs[{i}]",
                    "if gx is not None:",
                    f"    if gx is outs[{i}]:",
                    f"        {names[i]}._grad._fill = None",
                    "    else:",
                    f"        _accumulate_leaf({names[i]}, gx)",
                )
    for i, mode in stores:
        x = names[i]
        src.add(1, f"gx = gxs[{i}]", "if gx is not None:")
        if mode is _OVERWRITE:
            src.add(
                2,
                f"gnd = {x}._grad",
                "if gnd is None or gnd._watched:",
                f"    {x}._grad_nd()._set_array(gx)",
                "else:",
                "    gnd._array = gx",
                "    gnd._shape = gx.shape",
                f"    gnd._dtype = {t}",
                "    gnd._fill = None",
            )
        elif mode is _ACCUMULATE_LEAF:
            src.add(2, f"_accumulate_leaf({x}, gx)")
        else:
            src.add(2, f"{x}._grad._set_array({x}._grad._array + gx)")
    for o in cleared:
        src.release(1, o, True)
    return src
