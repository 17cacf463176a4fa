"""Graph-wide switches and helpers: auto_forward (dynamic mode), no_grad, nn.grad, seed, function hooks."""

from __future__ import annotations

import contextlib

import numpy as np

from . import _state
from ._walk import walk
from .function import Function, FunctionError, apply, register


@contextlib.contextmanager
def auto_forward(auto: bool = True):
    """``with nn.auto_forward():`` functions run as soon as they are created (dynamic mode)."""
    previous = _state.auto_forward[0]
    _state.auto_forward[0] = bool(auto)
    try:
        yield
    finally:
        _state.auto_forward[0] = previous


def set_auto_forward(auto: bool) -> None:
    _state.auto_forward[0] = bool(auto)


def get_auto_forward() -> bool:
    return _state.auto_forward[0]


from .parameter import no_grad  # noqa: E402,F401  (NNabla defines it with the parameters it affects)


def seed(seed_: int) -> None:
    """Reset the generators behind initializers and random functions."""
    from . import random

    random.seed(seed_)


def forward_all(
    variables, clear_buffer=False, clear_no_need_grad=False, function_pre_hook=None, function_post_hook=None
) -> None:
    """Forward several outputs that share a graph (each function runs once)."""
    from . import functions as F

    F.sink(*variables).forward(
        clear_buffer=clear_buffer,
        clear_no_need_grad=clear_no_need_grad,
        function_pre_hook=function_pre_hook,
        function_post_hook=function_post_hook,
    )


def grad(outputs, inputs, grad_outputs=None, persistent_outputs=(), bind_grad_output=False) -> list:
    """``nn.grad``: the gradients d(sum_k <grad_outputs[k], outputs[k]>)/d(inputs[i]) as new graph outputs.

    The returned Variables are the outputs of one ``Grad`` node: forward (at once under ``nn.auto_forward()``)
    runs the outputs' graph forward and backward from the current values. Inputs that need no gradient get zeros,
    as in NNabla; the graph's own grads are left as they were. They cannot be differentiated again.
    """
    from ._array import NdArray
    from ._variable import Variable

    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    for what, vs in (("outputs", outputs), ("inputs", inputs)):
        for v in vs:
            if not isinstance(v, Variable):
                raise ValueError(f"nn.grad: {what} must be Variables, got {type(v).__name__}")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"nn.grad: {len(grad_outputs)} grad_outputs given for {len(outputs)} outputs")
    if not inputs:
        return []
    persistent_outputs = list(persistent_outputs) or [True] * len(outputs)
    if len(persistent_outputs) != len(outputs):
        raise ValueError(f"nn.grad: {len(persistent_outputs)} persistent_outputs given for {len(outputs)} outputs")
    for o, p in zip(outputs, persistent_outputs):
        o.persistent = p  # outputs are usually losses to monitor: keep them through buffer clearing
    weights = []  # a Variable per given grad_output, holding its values (NNabla makes the same)
    for o, go in zip(outputs, grad_outputs):
        if go is None:
            continue
        if isinstance(go, Variable):
            w = go
        elif isinstance(go, NdArray):
            w = Variable._wrap_ndarray(go)
        elif isinstance(go, np.ndarray):
            w = Variable.from_numpy_array(go)
        elif isinstance(go, (int, float)):
            w = Variable.from_numpy_array(np.full(o.shape, go, np.float32))
        else:
            raise ValueError(
                f"nn.grad: grad_outputs must be None, numbers, arrays or Variables, got {type(go).__name__}"
            )
        weights.append(w)
    weighted = tuple(go is not None for go in grad_outputs)
    result = apply(Grad(None, num_outputs=len(outputs), weighted=weighted), tuple(outputs + weights + inputs))
    result = list(result) if isinstance(result, tuple) else [result]
    if bind_grad_output:
        for x, g in zip(inputs, result):
            x.grad = g.data
    return result


@register
class Grad(Function):
    """The node ``nn.grad`` makes: d(sum_k <w_k, y_k>)/d(x_i) for outputs y, their weights w and inputs x.

    Inputs: the ``num_outputs`` outputs, one weight per True in ``weighted`` (the others weigh 1), then the inputs
    the gradients are taken with respect to; one output per such input.
    """

    fname = None  # no ``F.grad``: NNabla's F has none, the node is made by ``nn.grad``
    inputs_spec = ("*x",)
    args_spec = {"num_outputs": 1, "weighted": (False,)}
    n_outputs = -1

    def _split(self, xs):
        k = self.args["num_outputs"]
        m = sum(self.args["weighted"])
        return xs[:k], xs[k : k + m], xs[k + m :]

    def output_shapes(self, *shapes):
        outputs, weights, inputs = self._split(shapes)
        given = [s for s, w in zip(outputs, self.args["weighted"]) if w]
        for s, ws in zip(given, weights):
            if s != ws:
                raise FunctionError(f"nn.grad: grad_outputs of shape {ws} given for an output of shape {s}")
        return list(inputs)

    def _compute_outputs(self, variables):
        outputs, weights, inputs = self._split(list(variables))
        weights = iter(weights)
        grads = [next(weights)._data._get() if w else 1 for w in self.args["weighted"]]
        touched = {id(v): v for v in outputs + inputs}
        for y in outputs:
            for func in walk(y).order:
                touched.update((id(v), v) for v in func.inputs)
                touched.update((id(v), v) for v in func.outputs if v is not None)
        saved = [(v, v._grad) for v in touched.values()]  # backward writes into the graph's grads: put them back
        totals = [None] * len(inputs)
        try:
            for y in outputs:
                y.forward()
            for y, gy in zip(outputs, grads):
                for v, _ in saved:
                    v._grad = None
                y.backward(gy)
                for i, x in enumerate(inputs):
                    if x._grad is not None:
                        g = x._grad._get()  # may be another variable's gradient array: copy or add
                        totals[i] = g.copy() if totals[i] is None else totals[i] + g
        finally:
            for v, g in saved:
                v._grad = g
        xp = self.xp
        return self._as_outputs(
            tuple(xp.zeros(x.shape, self.dtype) if t is None else t for x, t in zip(inputs, totals))
        )

    def _input_grads(self, inputs, outputs, need):
        raise FunctionError(
            "nn.grad: the gradients it returns cannot be differentiated again (higher-order gradients are not "
            "supported); to use them as constants, take g.get_unlinked_variable(need_grad=False)"
        )


def set_function_pre_hook(key, hook) -> None:
    _state.function_pre_hooks[key] = hook


def set_function_post_hook(key, hook) -> None:
    _state.function_post_hooks[key] = hook


def unset_function_pre_hook(key) -> None:
    _state.function_pre_hooks.pop(key, None)


def unset_function_post_hook(key) -> None:
    _state.function_post_hooks.pop(key, None)


def set_solver_pre_hook(key, hook) -> None:
    _state.solver_pre_hooks[key] = hook


def set_solver_post_hook(key, hook) -> None:
    _state.solver_post_hooks[key] = hook


def unset_solver_pre_hook(key) -> None:
    _state.solver_pre_hooks.pop(key, None)


def unset_solver_post_hook(key) -> None:
    _state.solver_post_hooks.pop(key, None)
