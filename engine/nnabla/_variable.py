"""Variable and the graph walk: forward, backward and buffer clearing.

A Variable holds ``data`` and ``grad`` NdArrays and a ``parent`` Function. ``forward`` runs the functions that
lead to it in topological order; ``backward`` runs them in reverse, each pushing gradients to its inputs.
Gradients accumulate into leaves (variables without a parent); an intermediate variable's gradient is
overwritten by its first contribution of a backward pass and accumulated for the rest.
"""

from __future__ import annotations

import weakref

import numpy as np

from . import _state
from ._array import NdArray
from ._operators import OperatorMixin


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
        v._data = NdArray(shape)
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

    @property
    def persistent(self) -> bool:
        return self._persistent

    @persistent.setter
    def persistent(self, value: bool):
        self._persistent = bool(value)

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
        order = _forward_order(self)
        pre = _hooks(_state.function_pre_hooks, function_pre_hook)
        post = _hooks(_state.function_post_hooks, function_post_hook)
        release = _release_plan(self, order, clear_no_need_grad) if (clear_buffer or clear_no_need_grad) else None
        for k, func in enumerate(order):
            if pre:
                for h in pre:
                    h(func)
            ys = func._compute_outputs(func.inputs)
            for ref, y in zip(func._outputs, ys):
                o = ref()
                if o is not None:
                    o._data._set_array(y)
            if post:
                for h in post:
                    h(func)
            if release is not None:
                for v in release[k]:
                    v._data.clear()

    def backward(
        self, grad=1, clear_buffer=False, communicator_callbacks=None, function_pre_hook=None, function_post_hook=None
    ) -> None:
        """Propagate gradients from this variable (its grad set to ``grad``; ``None`` keeps it) to the leaves."""
        order = _forward_order(self)
        if grad is not None:
            root_grad = self._grad_nd()
            if isinstance(grad, NdArray):
                grad = grad._get()
            if isinstance(grad, np.ndarray) and grad.ndim:
                root_grad._set_array(np.array(np.broadcast_to(grad, self.shape), np.float32))
            else:
                root_grad._set_array(np.full(self.shape, grad, np.float32))
        pre = _hooks(_state.function_pre_hooks, function_pre_hook)
        post = _hooks(_state.function_post_hooks, function_post_hook)
        written = {id(self)}
        for func in reversed(order):
            inputs = func.inputs
            need = [x._need_grad for x in inputs]
            if True not in need:
                continue
            outputs = [r() for r in func._outputs]
            if not any(o is not None and id(o) in written for o in outputs):
                continue
            for o in outputs:  # an output that no gradient reached counts as zero
                if o is not None and id(o) not in written:
                    o._grad_nd()._set_array(np.zeros(o.shape, func.dtype))
            if pre:
                for h in pre:
                    h(func)
            gxs = func._input_grads(inputs, outputs, need)
            for x, n, gx in zip(inputs, need, gxs):
                if not n or gx is None:
                    continue
                if x._parent is None:
                    gnd = x._grad_nd()
                    if gnd._array is None and gnd._fill is None:
                        gnd._set_array(np.array(gx, copy=True))
                    else:
                        arr = gnd._get()
                        arr += gx
                elif id(x) in written:
                    x._grad._set_array(x._grad._array + gx)
                else:
                    x._grad_nd()._set_array(gx)
                    written.add(id(x))
            if post:
                for h in post:
                    h(func)
            if clear_buffer:
                for o in outputs:
                    if o is not None and o is not self and not o._persistent:
                        o._data.clear()
                        if o._grad is not None:
                            o._grad.clear()


def _hooks(global_hooks: dict, local):
    hooks = list(global_hooks.values())
    if local is not None:
        hooks.append(local)
    return hooks


def _forward_order(root: Variable) -> list:
    """The functions leading to ``root`` in topological order (iterative DFS, cached per graph version)."""
    version = _state.graph_version[0]
    cached = root._order
    if cached is not None and cached[0] == version:
        return cached[1]
    order = []
    if root._parent is not None:
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
    root._order = (version, order)
    return order


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
