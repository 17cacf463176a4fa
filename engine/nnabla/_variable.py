"""Variable and the graph walk: forward, backward and buffer clearing.

A Variable holds ``data`` and ``grad`` NdArrays and a ``parent`` Function. ``forward`` runs the functions that
lead to it in topological order; ``backward`` runs them in reverse, each pushing gradients to its inputs.
Gradients accumulate into leaves (variables without a parent); an intermediate variable's gradient is
overwritten by its first contribution of a backward pass and accumulated for the rest. The root's own gradient
is set for one pass only. Which functions run and how each stores its gradients depend only on the graph and
its flags, so both walks are planned once per graph version and then replayed.
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
                    a = func._cast_input(a, 0)
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
                    xs = func._cast(xs)
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
        steps = _walk(self).backward_steps(self)
        saved = self._grad
        if grad is not None:
            self._grad = _initial_grad(grad, self._data._shape)
        else:
            self._grad_nd()
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
                            xs = func._cast(xs)
                    elif fetch is None:
                        xs = stubs
                    else:  # some inputs' data: those a needed gradient depends on
                        xs = list(stubs)
                        for j, x in fetch:
                            d = x._data
                            a = d._array
                            if a is None or d._fill is not None:
                                a = d._get()
                            xs[j] = a if a.dtype is dtd or a.dtype.type is dt else func._cast_input(a, j)
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

    __slots__ = ("version", "order", "_forward", "_backward")

    def __init__(self, version, order):
        self.version = version
        self.order = order
        self._forward = {}
        self._backward = None

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
