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
        pre = _hooks(_state.function_pre_hooks, function_pre_hook)
        post = _hooks(_state.function_post_hooks, function_post_hook)
        for func, inputs, outrefs, free in steps:
            if pre:
                for h in pre:
                    h(func)
            if not func._plain_forward:
                ys = func._compute_outputs(inputs)
            else:  # Function._compute_outputs, inlined: this loop is the engine's hot path
                dt = func.dtype
                xs = [x._data._get() for x in inputs]
                for a in xs:
                    if a.dtype.type is not dt:
                        xs = func._cast(xs)
                        break
                ys = func.compute(func.xp, *xs)
                if type(ys) is _ndarray and ys.dtype.type is dt:
                    o = outrefs[0]()
                    if o is not None:
                        o._data._set_array(ys)
                    ys = None
                else:
                    ys = func._as_outputs(ys)
            if ys is not None:
                for ref, y in zip(outrefs, ys):
                    o = ref()
                    if o is not None:
                        o._data._set_array(y)
            if post:
                for h in post:
                    h(func)
            for v in free:
                v._data.clear()

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
        pre = _hooks(_state.function_pre_hooks, function_pre_hook)
        post = _hooks(_state.function_post_hooks, function_post_hook)
        try:
            for func, inputs, outputs, outrefs, need, modes, unreached in steps:
                if unreached:  # an output no gradient reached counts as zero
                    outputs = [r() for r in outrefs]
                    for r in unreached:
                        o = r()
                        if o is not None:
                            o._grad_nd()._set_array(func.xp.zeros(o._data._shape, func.dtype))
                if pre:
                    for h in pre:
                        h(func)
                if not func._plain_backward:
                    gxs = func._input_grads(inputs, outputs, need)
                else:  # Function._input_grads, inlined
                    uses = func.grad_uses
                    if "x" in uses:
                        dt = func.dtype
                        xs = [x._data._get() for x in inputs]
                        for a in xs:
                            if a.dtype.type is not dt:
                                xs = func._cast(xs)
                                break
                    else:
                        xs = [_Shaped(x._data._shape) for x in inputs]
                    ys = [o._data._get() if o is not None else None for o in outputs] if "y" in uses else None
                    if len(outputs) == 1:
                        gys = [outputs[0]._grad._get()]
                    else:
                        gys = [o._grad._get() if o is not None and o._grad is not None else None for o in outputs]
                    gxs = func.grad(func.xp, xs, ys, gys, need)
                for x, mode, gx in zip(inputs, modes, gxs):
                    if mode is _SKIP or gx is None:
                        continue
                    if mode is _ACCUMULATE_LEAF:
                        gnd = x._grad_nd()
                        arr = gnd._array
                        if gnd._fill is not None:
                            if gnd._fill == 0 and arr is not None and arr.shape == gnd._shape:
                                arr[...] = gx  # adding to a pending zero is a copy (solvers zero grads lazily)
                                gnd._fill = None
                            else:
                                arr = gnd._get()
                                arr += gx
                        elif arr is None:
                            gnd._set_array(gx.copy())  # gx may be a view of another gradient
                        else:
                            arr += gx
                    elif mode is _OVERWRITE:
                        x._grad_nd()._set_array(gx)
                    else:
                        x._grad._set_array(x._grad._array + gx)
                if post:
                    for h in post:
                        h(func)
                if clear_buffer:
                    for o in outputs:
                        if o is not None and o is not self and not o._persistent:
                            o._data.clear()
                            if o._grad is not None:
                                o._grad.clear()
        finally:
            if grad is not None:
                self._grad = saved


def _initial_grad(grad, shape) -> NdArray:
    """The root's gradient for one backward pass: an NdArray given is used as is, values are broadcast."""
    if isinstance(grad, NdArray):
        return grad
    if isinstance(grad, np.ndarray) and grad.ndim:
        return NdArray._wrap(np.array(np.broadcast_to(grad, shape), np.float32))
    arr = np.empty(shape, np.float32)
    arr.fill(grad)
    return NdArray._wrap(arr)


def _hooks(global_hooks: dict, local) -> tuple:
    if not global_hooks:
        return (local,) if local is not None else ()
    hooks = tuple(global_hooks.values())
    return hooks + (local,) if local is not None else hooks


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
        key = (bool(clear_buffer), bool(clear_no_need_grad))
        steps = self._forward.get(key)
        if steps is None:
            order = self.order
            if clear_buffer or clear_no_need_grad:
                release = _release_plan(root, order, clear_no_need_grad and not clear_buffer)
            else:
                release = [()] * len(order)
            steps = self._forward[key] = [
                (func, tuple(func.inputs), func._outputs, tuple(free)) for func, free in zip(order, release)
            ]
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
        steps.append((func, inputs, strong, outrefs, need, tuple(modes), unreached))
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
