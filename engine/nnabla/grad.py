"""``nn.grad``: gradients built as a graph of registered functions, so they can be differentiated again
(NNabla's ``nnabla.grad``).

``grad`` walks the graph from its outputs back, as backward does, and asks each function for the graph of its
input gradients (``Function.grad_graph``, see ``_grad_graph``), seeded by a ``GradEndFunction`` of ones. The
result is made of ordinary functions, so ``nn.grad`` of it, or ``.backward()`` through it, works to any order.
A function whose type has an entry of one's own in ``nnabla.backward_functions.registry`` uses that instead.
"""

from __future__ import annotations

import numpy as np

from ._array import NdArray
from ._grad_graph import _add_all, _Variable, constant
from .function import Function, PythonFunction, apply


class GradEndFunction(Function):
    """The seed of a gradient graph: ones shaped like the output differentiated (NNabla's GradEndFunction)."""

    type_name = name = "GradEndFunction"
    differentiable = False
    grad_uses = ""

    def compute(self, xp, x):
        return xp.ones(x.shape, self.dtype)


# -- nn.grad ------------------------------------------------------------------------------------------------
def _force_list(x) -> list:
    if isinstance(x, list):
        return x
    if hasattr(x, "__iter__") and not isinstance(x, (np.ndarray, NdArray)):
        return list(x)
    return [x]


def _check_grad_outputs(outputs, grad_outputs):
    Variable = _Variable()
    kinds = (type(None), int, float, np.ndarray, NdArray, Variable)
    if grad_outputs is None:
        return [None] * len(outputs)
    if isinstance(grad_outputs, (int, float, np.ndarray, NdArray)):
        grad_outputs = [grad_outputs]
    grad_outputs = list(grad_outputs) if isinstance(grad_outputs, tuple) else grad_outputs
    if isinstance(grad_outputs, Variable):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(
            f"nn.grad: {len(grad_outputs)} grad_outputs given for {len(outputs)} outputs "
            "(the lengths of grad_outputs and outputs must be the same)"
        )
    for i, (o, go) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(go, kinds):
            raise ValueError(
                f"nn.grad: grad_outputs[{i}] must be None, an int, a float, a numpy.ndarray, an NdArray or a "
                f"Variable, got {type(go).__name__}"
            )
        if isinstance(go, (np.ndarray, NdArray, Variable)) and tuple(go.shape) != tuple(o.shape):
            raise ValueError(
                f"nn.grad: grad_outputs[{i}] of shape {tuple(go.shape)} given for output[{i}] of shape {o.shape}"
            )
    return grad_outputs


def _weighted(o, go):
    """The output times its given gradient (a Mul2 node, as NNabla builds it)."""
    Variable = _Variable()
    if go is None:
        return o
    if isinstance(go, Variable):
        w = go
    elif isinstance(go, NdArray):
        w = Variable(o.shape).apply(data=go, need_grad=False)
    else:
        w = Variable.from_numpy_array(np.broadcast_to(np.asarray(go, np.float32), o.shape).copy())
    return o * w


def _order(roots, stop=None) -> list:
    """Every function leading to ``roots``, in one topological order; with ``stop`` (Variable ids), none beyond
    those variables."""
    from ._walk import walk

    if stop is not None:
        return _order_within(roots, stop)
    seen, order = set(), []
    for r in roots:
        for f in walk(r).order:
            if id(f) not in seen:
                seen.add(id(f))
                order.append(f)
    return order


def _order_within(roots, stop) -> list:
    """Iterative depth-first order of the functions leading to ``roots``, not expanding past ``stop``."""
    seen, order = set(), []
    stack = [(r._parent, False) for r in reversed(roots) if r._parent is not None]
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
            if p is not None and id(x) not in stop and id(p) not in seen:
                stack.append((p, False))
    return order


def _backward_graph_of(f, xs, ys, gys, need):
    from .backward_functions import registry

    custom = registry.get(f.type_name)
    if custom is not None and not getattr(custom, "generated", False):  # registered by the user, NNabla's way
        with_data = [x if f.grad_depends_input_data(0, j) else None for j, x in enumerate(xs)]
        return _force_list(
            custom(gys, with_data, [x.shape for x in xs], list(ys), [g.shape for g in gys], **f.info.args)
        )
    if isinstance(f, PythonFunction):
        raise ValueError(
            f"nn.grad: {f.type_name} is not in the backward function registry (register one with "
            "nnabla.backward_functions.register)"
        )
    return list(f.grad_graph(list(xs), list(ys), list(gys), list(need)))


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    persistent_outputs=[],  # noqa: B006
    bind_grad_output=False,
    _stop=None,
) -> list:
    """``nn.grad``: d(sum_k <grad_outputs[k], outputs[k]>)/d(inputs[i]), as Variables of a gradient graph.

    The gradients are graph outputs built from registered functions, so they can be differentiated again
    (``nn.grad`` of them, or ``.backward()`` through a graph using them). Inputs no gradient reaches get a
    Constant zero (of their shape where they are in the graph, of shape () where they are not), as in NNabla.
    Outputs become persistent (``persistent_outputs`` says which); ``bind_grad_output`` makes each input's grad
    the returned gradient's data.
    """
    Variable = _Variable()
    outputs = _force_list(outputs)
    if not all(isinstance(o, Variable) for o in outputs):
        raise ValueError("nn.grad: every element of outputs must be a Variable")
    inputs = _force_list(inputs)
    if not all(isinstance(x, Variable) for x in inputs):
        raise ValueError("nn.grad: every element of inputs must be a Variable")
    grad_outputs = _check_grad_outputs(outputs, grad_outputs)
    persistent_outputs = list(persistent_outputs)
    if persistent_outputs and len(persistent_outputs) != len(outputs):
        raise ValueError(
            f"nn.grad: {len(persistent_outputs)} persistent_outputs given for {len(outputs)} outputs (give one "
            "per output, or none)"
        )
    for o, p in zip(outputs, persistent_outputs or [True] * len(outputs)):
        o.persistent = p  # outputs are usually losses to monitor: keep them through buffer clearing

    roots = [_weighted(o, go) for o, go in zip(outputs, grad_outputs)]
    contributions: dict = {}  # id(Variable) -> the gradient Variables reaching it
    root_parents = set()
    for r in roots:
        if r._parent is None:
            continue
        root_parents.add(id(r._parent))
        contributions.setdefault(id(r), []).append(apply(GradEndFunction(), (r,)))
    order = _order(roots, _stop)
    wrt = {}
    for i, x in enumerate(inputs):
        wrt.setdefault(id(x), []).append(i)
    on_graph = set()
    children = set()  # variables computed from some input: gradients only flow back along them
    for f in order:
        for x in f.inputs:
            if id(x) in wrt:
                on_graph.add(id(x))
        if any(id(x) in wrt or id(x) in children for x in f.inputs):
            children.update(id(o) for o in f.outputs if o is not None)

    grads = [None] * len(inputs)
    for f in reversed(order):
        if not f.need_grad:
            continue
        outs = f.outputs
        if id(f) not in root_parents and not any(
            o is not None and id(o) in contributions and id(o) in children for o in outs
        ):
            continue
        shapes = None
        gys = []
        for k, o in enumerate(outs):
            got = contributions.get(id(o)) if o is not None else None
            if got:
                gys.append(_add_all(got))
            else:
                if shapes is None:
                    shapes = f._shapes_checked([x.shape for x in f.inputs])
                gys.append(constant(0, o.shape if o is not None else shapes[k]))
        need = [x._need_grad for x in f.inputs]
        gxs = _backward_graph_of(f, f.inputs, outs, gys, need)
        for x, g in zip(f.inputs, gxs):
            if g is None or not x._need_grad:
                continue
            contributions.setdefault(id(x), []).append(g)
            for i in wrt.get(id(x), ()):
                grads[i] = g if grads[i] is None else grads[i] + g
                if bind_grad_output:
                    x.grad = grads[i].data
    for i, x in enumerate(inputs):
        if grads[i] is None:
            grads[i] = constant(0, x.shape if id(x) in on_graph else ())
    return grads


def grad_within(outputs, inputs, grad_outputs) -> list:
    """``grad`` of a graph composed from ``inputs``, which count as its leaves: an op's ``grad_graph`` built by
    differentiating its forward rebuilt from registered functions (the recurrent ops)."""
    return grad(outputs, inputs, grad_outputs, [False] * len(outputs), _stop={id(x) for x in inputs})


class Grad:
    """NNabla's callable form: ``Grad()(outputs, inputs, ...)`` is ``nn.grad(outputs, inputs, ...)``."""

    def __call__(self, outputs, inputs, grad_outputs=None, persistent_outputs=[], bind_grad_output=False):  # noqa: B006
        return grad(outputs, inputs, grad_outputs, persistent_outputs, bind_grad_output)
