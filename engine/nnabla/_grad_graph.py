"""The gradient graph of one function, as ``nn.grad`` builds it (``Function.grad_graph``).

By default an op's own array ``grad`` runs on ``Sym`` stand-ins for its Variables, with ``GraphModule`` in place
of ``xp``: operators and xp functions build F nodes, so the gradient is made of registered functions. What that
cannot express is carried by a node of its own: ``LinearGrad`` for ops linear in some inputs (its gradient is the
op again), ``SelectGrad`` for ops that select from their input (max pooling, max, dropout), ``NoDoubleBackward``
for ops NNabla has no double backward for (its gradient raises, naming the op).
"""

from __future__ import annotations

import numbers

import numpy as np

from ._array import NdArray, is_device_array, to_numpy
from .function import Function, FunctionError, _Shaped, apply


def _F():
    from . import functions

    return functions


def _Variable():
    from ._variable import Variable

    return Variable


def constant(value, shape):
    """A Constant node: zeros for gradients no path reaches, as NNabla makes them."""
    return _F().constant(float(value), tuple(shape))


def _add_all(vs):
    total = vs[0]
    for v in vs[1:]:
        total = total + v
    return total


# -- the graph namespace: an op's array gradient, run on Variables ---------------------------------------
class NotInGraph(TypeError):
    """An op's array gradient used something the graph namespace cannot build (give the op a grad_graph)."""


class Sym:
    """A Variable standing in for an array inside an op's ``grad``: its operators and methods build functions."""

    __slots__ = ("v",)
    __array_priority__ = 2000  # numpy defers to the reflected operators
    __hash__ = object.__hash__

    def __init__(self, v):
        self.v = v

    shape = property(lambda self: self.v.shape)
    ndim = property(lambda self: len(self.v.shape))
    size = property(lambda self: int(np.prod(self.v.shape, dtype=np.int64)))
    dtype = property(lambda self: np.dtype(self.v._data.dtype))

    def __array__(self, *args, **kwargs):
        raise NotInGraph("an array of a gradient-graph Variable was asked for")

    def __float__(self):
        raise NotInGraph("a Python number of a gradient-graph Variable was asked for")

    def __len__(self):
        return self.v.shape[0]

    # arithmetic: Variable operators, with arrays lifted to constants
    def _op(self, name, other):
        return Sym(getattr(self.v, name)(_lift(other)))

    __add__ = lambda self, o: self._op("__add__", o)  # noqa: E731
    __radd__ = lambda self, o: self._op("__radd__", o)  # noqa: E731
    __sub__ = lambda self, o: self._op("__sub__", o)  # noqa: E731
    __rsub__ = lambda self, o: self._op("__rsub__", o)  # noqa: E731
    __mul__ = lambda self, o: self._op("__mul__", o)  # noqa: E731
    __rmul__ = lambda self, o: self._op("__rmul__", o)  # noqa: E731
    __truediv__ = lambda self, o: self._op("__truediv__", o)  # noqa: E731
    __rtruediv__ = lambda self, o: self._op("__rtruediv__", o)  # noqa: E731
    __pow__ = lambda self, o: self._op("__pow__", o)  # noqa: E731
    __rpow__ = lambda self, o: self._op("__rpow__", o)  # noqa: E731
    __lt__ = lambda self, o: self._op("__lt__", o)  # noqa: E731
    __le__ = lambda self, o: self._op("__le__", o)  # noqa: E731
    __gt__ = lambda self, o: self._op("__gt__", o)  # noqa: E731
    __ge__ = lambda self, o: self._op("__ge__", o)  # noqa: E731

    def __matmul__(self, other):
        return Sym(_F()._matmul(self.v, _lift(other)))

    def __rmatmul__(self, other):
        return Sym(_F()._matmul(_lift(other), self.v))

    def __eq__(self, other):
        return _compare("equal", self, other)

    def __ne__(self, other):
        return _compare("not_equal", self, other)

    def __neg__(self):
        return Sym(-self.v)

    def __pos__(self):
        return self

    def __abs__(self):
        return Sym(_F().abs(self.v))

    def __and__(self, other):
        return Sym(_F().logical_and(*_broadcast_pair(self, other)))

    __rand__ = __and__

    def __or__(self, other):
        return Sym(_F().logical_or(*_broadcast_pair(self, other)))

    __ror__ = __or__

    def __invert__(self):
        return Sym(_F().logical_not(self.v))

    def __getitem__(self, key):
        return Sym(self.v[key])

    # array methods
    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        shape = tuple(int(s) for s in shape)
        if -1 in shape:
            known = int(np.prod([s for s in shape if s != -1], dtype=np.int64))
            shape = tuple(self.size // max(known, 1) if s == -1 else s for s in shape)
        if shape == self.shape:
            return self
        return Sym(_F().reshape(self.v, shape, inplace=False))

    def sum(self, axis=None, keepdims=False):
        if axis is not None and not isinstance(axis, (tuple, list)):
            axis = (axis,)
        if axis is not None and len(axis) == 0:
            return self
        return Sym(_F().sum(self.v, axis=None if axis is None else list(axis), keepdims=keepdims))

    def mean(self, axis=None, keepdims=False):
        if axis is not None and not isinstance(axis, (tuple, list)):
            axis = (axis,)
        return Sym(_F().mean(self.v, axis=None if axis is None else list(axis), keepdims=keepdims))

    def swapaxes(self, a, b):
        return self.transpose(_swapped(self.ndim, a, b))

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        axes = tuple(axes) if axes else tuple(reversed(range(self.ndim)))
        if axes == tuple(range(self.ndim)):
            return self
        return Sym(_F().transpose(self.v, axes))

    T = property(lambda self: self.transpose())

    def astype(self, dtype, copy=True):
        return self

    def copy(self):
        return self


def _lift(value):
    """An operand for Variable operators: Syms unwrapped, arrays made constants, numbers kept."""
    if isinstance(value, Sym):
        return value.v
    if isinstance(value, numbers.Number) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return float(value)
    if isinstance(value, np.ndarray) or is_device_array(value):
        a = to_numpy(value)
        return _Variable().from_numpy_array(a.astype(np.float64 if a.dtype == np.float64 else np.float32))
    raise NotInGraph(f"cannot use a {type(value).__name__} in a gradient graph")


def _as_sym(value, shape=None) -> Sym:
    if isinstance(value, Sym):
        return value
    lifted = _lift(value)
    if isinstance(lifted, float):
        return Sym(constant(lifted, shape if shape is not None else ()))
    return Sym(lifted)


def _broadcast(s: Sym, shape) -> Sym:
    if s.shape == tuple(shape):
        return s
    lead = (1,) * (len(shape) - s.ndim)
    return Sym(_F().broadcast(s.reshape(lead + s.shape).v, tuple(shape)))


def _common_shape(*values):
    return tuple(np.broadcast_shapes(*[v.shape if hasattr(v, "shape") else () for v in values]))


def _broadcast_pair(a, b):
    shape = _common_shape(a, b)
    return _broadcast(_as_sym(a, shape), shape).v, _broadcast(_as_sym(b, shape), shape).v


def _compare(name, a, b):
    if not isinstance(b, Sym) and (isinstance(b, numbers.Number) or np.ndim(b) == 0):
        return Sym(getattr(_F(), f"{name}_scalar")(a.v, float(b)))
    return Sym(getattr(_F(), name)(*_broadcast_pair(a, b)))


def _where(c, a, b):
    shape = _common_shape(c, a, b)
    args = [_broadcast(_as_sym(v, shape), shape).v for v in (c, a, b)]
    return Sym(_F().where(*args))


def _extreme(name, scalar_name):
    def pick(a, b):
        if not isinstance(a, Sym):
            a, b = b, a
        if not isinstance(b, Sym) and np.ndim(b) == 0:
            return Sym(getattr(_F(), scalar_name)(a.v, float(b)))
        return Sym(getattr(_F(), name)(*_broadcast_pair(a, b)))

    return pick


def _split(x, sections, axis=0):
    axis = axis % x.ndim
    n = x.shape[axis]
    bounds = (
        [0]
        + (list(sections) if isinstance(sections, (list, tuple)) else [n // sections * k for k in range(1, sections)])
        + [n]
    )
    parts = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        start, stop = [0] * x.ndim, list(x.shape)
        start[axis], stop[axis] = a, b
        parts.append(Sym(_F().slice(x.v, start, stop, [1] * x.ndim)))
    return parts


def _unary(name):
    return lambda x: Sym(getattr(_F(), name)(x.v))


class PiecewiseConstant(Function):
    """An array function with zero derivative almost everywhere (trunc, floor...), for gradient graphs: unlike
    F.floor and its kin, whose gradients pass straight through, it passes none."""

    differentiable = False
    grad_uses = ""

    def __init__(self, ctx, name):
        self.args = {}
        self._start(ctx)
        self.fn = name
        self.type_name = self.name = name.title()

    def compute(self, xp, x):
        return getattr(xp, self.fn)(x)


def _piecewise_constant(name):
    return lambda x: Sym(apply(PiecewiseConstant(None, name), (x.v,)))


def _nondiff_sign(x):
    return Sym((x.v > 0.0) - (x.v < 0.0))  # comparisons: no gradient, as the sign has none


_GRAPH_FUNCS = {
    **{n: _unary(n) for n in ("exp", "log", "tanh", "sin", "cos", "tan", "sinh", "cosh", "abs", "erf")},
    **{f"arc{n}": _unary(f"a{n}") for n in ("sin", "cos", "tan", "sinh", "cosh", "tanh")},
    "isnan": _unary("isnan"),
    "isinf": _unary("isinf"),
    "sqrt": lambda x: x**0.5,
    "square": lambda x: x * x,
    "log1p": lambda x: Sym(_F().log(x.v + 1.0)),
    "expm1": lambda x: Sym(_F().exp(x.v) - 1.0),
    "sign": _nondiff_sign,
    **{n: _piecewise_constant(n) for n in ("trunc", "floor", "ceil", "round", "rint")},
    "arctan2": lambda a, b: Sym(_F().atan2(*_broadcast_pair(a, b))),
    "maximum": _extreme("maximum2", "maximum_scalar"),
    "minimum": _extreme("minimum2", "minimum_scalar"),
    "clip": lambda x, lo, hi: _GRAPH_FUNCS["minimum"](_GRAPH_FUNCS["maximum"](x, lo), hi),
    "where": _where,
    "logical_and": lambda a, b: _as_sym(a) & b,
    "logical_or": lambda a, b: _as_sym(a) | b,
    "logical_not": lambda a: ~a,
    "sum": lambda x, axis=None, keepdims=False: x.sum(axis, keepdims),
    "mean": lambda x, axis=None, keepdims=False: x.mean(axis, keepdims),
    "reshape": lambda x, shape: x.reshape(shape),
    "transpose": lambda x, axes=None: x.transpose(axes) if axes is not None else x.transpose(),
    "swapaxes": lambda x, a, b: x.transpose(_swapped(x.ndim, a, b)),
    "expand_dims": lambda x, axis: x.reshape(_expanded(x.shape, axis)),
    "broadcast_to": lambda x, shape: _broadcast(x, shape),
    "concatenate": lambda xs, axis=0: Sym(_F().concatenate(*[_as_sym(x).v for x in xs], axis=axis)),
    "stack": lambda xs, axis=0: Sym(_F().stack(*[_as_sym(x).v for x in xs], axis=axis)),
    "split": _split,
    "zeros_like": lambda x, dtype=None: Sym(constant(0, x.shape)),
    "ones_like": lambda x, dtype=None: Sym(constant(1, x.shape)),
    "matmul": lambda a, b: _as_sym(a) @ b,
}


def _swapped(ndim, a, b):
    axes = list(range(ndim))
    axes[a], axes[b] = axes[b], axes[a]
    return tuple(axes)


def _expanded(shape, axis):
    shape = list(shape)
    shape.insert(axis % (len(shape) + 1), 1)
    return tuple(shape)


def _has_sym(args) -> bool:
    for a in args:
        if isinstance(a, Sym) or (isinstance(a, (list, tuple)) and any(isinstance(b, Sym) for b in a)):
            return True
    return False


class GraphModule:
    """Stands for ``xp`` in an op's ``grad`` while the gradient graph is built: called with ``Sym`` arguments
    its functions build F nodes; with arrays and numbers only, they are the array module's own."""

    def __init__(self, xp):
        self._xp = xp

    def __getattr__(self, name):
        base = getattr(self._xp, name)
        impl = _GRAPH_FUNCS.get(name)
        if not callable(base) or isinstance(base, type):
            return base

        def call(*args, **kwargs):
            if not (_has_sym(args) or _has_sym(kwargs.values())):
                return base(*args, **kwargs)
            if impl is None:
                raise NotInGraph(f"xp.{name} has no gradient-graph form")
            return impl(*args, **kwargs)

        return call


# -- nodes carrying gradients the namespace cannot build -----------------------------------------------
class _Derived(Function):
    """A node that carries the array gradient of another function ``op``; its type name says which."""

    inputs_spec = ("*x",)

    def __init__(self, op, suffix, shapes):
        self.op = op
        self.args = {}
        self._start(op.context)
        self.type_name = self.name = op.type_name + suffix
        self.shapes = [tuple(s) for s in shapes]
        self.n_outputs = len(self.shapes)

    def output_shapes(self, *shapes):
        return list(self.shapes)

    def _array(self, v, i):
        """Input ``v``'s array as the op's input ``i`` (its compute dtype, unless the op keeps that input's)."""
        return self.op._cast_input(v._data._get(), i)

    def _gy(self, v):
        a = v._data._get()
        return a if a.dtype.type is self.dtype else a.astype(self.dtype)

    def _filled(self, grads, inputs, need):
        """``grads`` with zeros where an input needs a gradient none reaches (backward reads every one it plans)."""
        xp = self.xp
        return [xp.zeros(x.shape, self.dtype) if g is None and n else g for g, x, n in zip(grads, inputs, need)]

    def _own(self, a):
        """The array as an output buffer of its own (op gradients may return views of their inputs)."""
        xp = self.xp
        return xp.array(a, dtype=self.dtype) if a is not None else None


class NoDoubleBackward(_Derived):
    """First-order gradients of an op NNabla gives no double backward: differentiating them raises.

    Inputs: the op's inputs, its outputs (where its gradient reads them), then one gradient per output."""

    def __init__(self, op, wanted):
        self.wanted = wanted  # input indices whose gradients are outputs here
        super().__init__(op, "Backward", [op.inputs[i].shape for i in wanted])

    def _compute_outputs(self, variables):
        op = self.op
        n, m = len(op.inputs), len(op._outputs)
        uses_y = "y" in op.grad_uses
        xs = [self._array(v, i) if "x" in op.grad_uses else _Shaped(v.shape) for i, v in enumerate(variables[:n])]
        ys = [v._data._get() for v in variables[n : n + m]] if uses_y else None
        gys = [self._gy(v) for v in variables[len(variables) - m :]]
        need = [i in self.wanted for i in range(n)]
        if not op._plain_backward:  # a composite op: its gradients come from Variables holding the output grads
            gxs = op._input_grads(list(variables[:n]), self._outputs_holding(gys), need)
        else:
            gxs = op.grad(op.xp, xs, ys, gys, need)
        return [self._own(gxs[i]) for i in self.wanted]

    def _outputs_holding(self, gys):
        Variable = _Variable()
        outs = []
        for ref, gy in zip(self.op._outputs, gys):
            o = ref()
            p = Variable._wrap_ndarray(o._data) if o is not None else Variable._new(gy.shape, False)
            p._grad = NdArray._wrap(gy)
            outs.append(p)
        return outs

    def _error(self):
        name = _public_name(self.op)
        why = getattr(self.op, "no_double_backward_why", "as in NNabla")  # an op refusing it for some arguments
        return FunctionError(
            f"{self.op.type_name} (F.{name}) has no double backward, {why}: the gradient nn.grad builds "
            f"through it ({self.type_name}) cannot be differentiated again"
        )

    def _input_grads(self, inputs, outputs, need):
        raise self._error()

    def grad_graph(self, xs, ys, gys, need):
        raise self._error()


class LinearGrad(_Derived):
    """gx_i = A_i^T gy for an op linear in input ``i`` (NNabla's <Op>DataGrad / <Op>FilterGrad nodes).

    Inputs: one gradient per output of the op, then the op's inputs other than ``i``. Its own gradient with
    respect to gy is the op applied with x_i replaced by the incoming gradient u (other linear inputs zero where
    the op is jointly linear, kept where it is bilinear, bias inputs dropped); with respect to another input x_j
    of a bilinear op it is A_j^T gy with x_i replaced by u: another LinearGrad. So every order stays linear.
    """

    def __init__(self, op, i):
        self.i = i
        spec = op.inputs_spec
        name = spec[i].rstrip("?") if i < len(spec) and not spec[0].startswith("*") else ""
        suffix = "DataGrad" if i == 0 else ("FilterGrad" if name in ("weight", "w", "W") else f"{name.title()}Grad")
        super().__init__(op, suffix, [op.inputs[i].shape])
        self.m = len(op._outputs)
        self._clones = {}

    def _full(self, others, u):
        """The op's inputs with x_i put back (``u``) among ``others``."""
        full = list(others)
        full.insert(self.i, u)
        return full

    def _compute_outputs(self, variables):
        op, i = self.op, self.i
        gys = [self._gy(v) for v in variables[: self.m]]
        others = [self._array(v, j if j < i else j + 1) for j, v in enumerate(variables[self.m :])]
        xs = self._full(others, _Shaped(self.shapes[0]))
        need = [j == i for j in range(len(xs))]
        return [self._own(op.grad(op.xp, xs, None, gys, need)[i])]

    # what the op becomes with x_i := u: the inputs its forward takes
    def _forward_inputs(self, full, zero):
        op = self.op
        if op.bilinear and self.i not in op.additive_inputs:
            return [x for j, x in enumerate(full) if j not in op.additive_inputs]
        linear = op.linear_inputs
        return [
            zero(j, x) if (j in linear or j in op.additive_inputs) and j != self.i else x for j, x in enumerate(full)
        ]

    def _clone(self, shapes):
        key = tuple(shapes)
        c = self._clones.get(key)
        if c is None:
            c = self._clones[key] = type(self.op)(self.op.context, **self.op.args)
            c._shapes_checked(list(shapes))
        return c

    def _other_linear(self, j):
        """The op input that node input ``j`` (after the gradients) is."""
        return j if j < self.i else j + 1

    def _input_grads(self, inputs, outputs, need):
        op, m = self.op, self.m
        u = outputs[0]._grad._get()
        others = [self._array(v, self._other_linear(j)) for j, v in enumerate(inputs[m:])]
        full = self._full(others, u)
        grads = [None] * len(inputs)
        if any(need[:m]):
            xs = self._forward_inputs(full, lambda j, x: op.xp.zeros(x.shape, self.dtype))
            c = self._clone([x.shape for x in xs])
            ys = c._as_outputs(c.compute(c.xp, *xs))
            grads[:m] = [y if n else None for y, n in zip(ys, need[:m])]
        if op.bilinear and self.i not in op.additive_inputs:
            gys = [self._gy(v) for v in inputs[:m]]
            for p in range(m, len(inputs)):
                j = self._other_linear(p - m)
                if need[p] and j in op.linear_inputs:
                    want = [k == j for k in range(len(full))]
                    grads[p] = op.grad(op.xp, full, None, gys, want)[j]
        return self._filled(grads, inputs, need)

    def grad_graph(self, xs, ys, gys, need):
        op, m = self.op, self.m
        u = gys[0]
        full = self._full(xs[m:], u)
        grads = [None] * len(xs)
        if any(need[:m]):
            ins = self._forward_inputs(full, lambda j, x: constant(0, x.shape))
            c = type(op)(op.context, **op.args)
            outs = apply(c, tuple(ins))
            outs = list(outs) if isinstance(outs, tuple) else [outs]
            grads[:m] = outs
        if op.bilinear and self.i not in op.additive_inputs:
            for p in range(m, len(xs)):
                j = self._other_linear(p - m)
                if need[p] and j in op.linear_inputs:
                    grads[p] = linear_grad(op, j, full, xs[:m])
        return grads


def linear_grad(op, i, inputs, gys):
    """The LinearGrad node for ``op``'s input ``i`` at ``inputs`` (Variables) and output gradients ``gys``."""
    others = [x for j, x in enumerate(inputs) if j != i]
    node = LinearGrad(op, i)
    return apply(node, tuple(gys) + tuple(others))


class SelectGrad(_Derived):
    """gx_i = P(x)^T gy for an op whose output selects from its input (y = P(x) x_i, P piecewise constant or drawn
    at random: max pooling, max, dropout). The op writes ``select(xp, xs, u)``, P(x) u; with ``transposed`` this
    node is that selection instead. Each is the other's gradient with respect to gy (x gets none), to every order.

    Inputs: the gradient (gy or u), then the op's inputs."""

    def __init__(self, op, i, transposed=False):
        self.i, self.transposed = i, transposed
        shapes = [op.outputs[0].shape] if transposed else [op.inputs[i].shape]
        super().__init__(op, "Select" if transposed else "Backward", shapes)

    def _select(self, xs, u):
        return self.op.select(self.op.xp, xs, u)

    def _route(self, xs, g):
        need = [j == self.i for j in range(len(xs))]
        return self.op.grad(self.op.xp, xs, None, [g], need)[self.i]

    def _compute_outputs(self, variables):
        g = self._gy(variables[0])
        xs = [self._array(v, i) for i, v in enumerate(variables[1:])]
        return [self._own(self._select(xs, g) if self.transposed else self._route(xs, g))]

    def _input_grads(self, inputs, outputs, need):
        u = outputs[0]._grad._get()
        xs = [self._array(v, i) for i, v in enumerate(inputs[1:])]
        g = (self._route(xs, u) if self.transposed else self._select(xs, u)) if need[0] else None
        return self._filled([g] + [None] * (len(inputs) - 1), inputs, need)

    def grad_graph(self, xs, ys, gys, need):
        node = SelectGrad(self.op, self.i, not self.transposed)
        return [apply(node, (gys[0],) + tuple(xs[1:])) if need[0] else None] + [None] * (len(xs) - 1)


def _public_name(op) -> str:
    from .functions import _public_name as public

    return public(type(op))


# -- an op's gradient graph -------------------------------------------------------------------------------
def first_order_only(func, xs, ys, gys, need) -> list:
    """The op's array gradient carried by one ``NoDoubleBackward`` node: differentiating it raises."""
    wanted = [i for i in range(len(xs)) if need[i]]
    ins = list(xs) + (list(ys) if "y" in func.grad_uses else []) + list(gys)
    outs = apply(NoDoubleBackward(func, wanted), tuple(ins))
    outs = iter(outs if isinstance(outs, tuple) else (outs,))
    return [next(outs) if need[i] else None for i in range(len(xs))]


def default_grad_graph(func, xs, ys, gys, need) -> list:
    """``Function.grad_graph`` unless the op writes its own: see this module's docstring."""
    n = len(xs)
    if not func.double_backward:
        return first_order_only(func, xs, ys, gys, need)
    linear = func.linear_inputs
    if linear and all(i in linear or i in func.additive_inputs for i in range(n) if need[i]):
        return [linear_grad(func, i, xs, gys) if need[i] else None for i in range(n)]
    if hasattr(func, "select"):
        return [apply(SelectGrad(func, i), (gys[0],) + tuple(xs)) if need[i] else None for i in range(n)]
    xp = GraphModule(func.xp)
    sx = [Sym(x) for x in xs]
    sy = [Sym(y) if y is not None else None for y in ys] if ys is not None else None
    sg = [Sym(g) for g in gys]
    try:
        result = func.grad(xp, sx, sy, sg, need)
    except NotInGraph as e:
        raise FunctionError(
            f"{func.type_name}: its gradient cannot be built as a graph ({e}); the op needs a grad_graph"
        ) from None
    out = []
    for i, g in enumerate(result):
        if g is None or not need[i]:
            out.append(None)
        else:
            g = _as_sym(g, xs[i].shape)
            out.append(_broadcast(g, xs[i].shape).v if g.shape != xs[i].shape else g.v)
    return out
