"""The one shared checker every op test uses: forward against a numpy reference, and a numerical gradient
check in float64 (central differences against ``backward``), in the spirit of Chainer's ``check_backward``.

``check_grad`` goes on where bugs hide: it runs backward twice more (the second use compiles the plan, the
third runs it compiled) and once into gradients already set (they must add up); then, for ops with double
backward (every function in the case's graph has it), a second-order check: the gradient of <grad(y), v> taken
by ``nn.grad`` twice against central differences of the first-order gradient, and the same through
``.backward()``. Where some function has none, differentiating ``nn.grad``'s gradient must raise a
``FunctionError`` naming it.

An op case is a row of a table::

    Case("tanh", F.tanh, np.tanh, [randn(2, 3)])

``fn`` builds the graph from Variables (extra arguments go in a lambda), ``ref`` computes the expected output
from numpy arrays. ``grad_inputs`` lists which inputs to differentiate (default: every float input).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import nnabla as nn

DOUBLE = nn.Context(["cpu:double"])


@dataclass
class Case:
    name: str
    fn: object  # (*Variables) -> Variable or tuple of Variables
    ref: object  # (*np.ndarray) -> np.ndarray or tuple
    inputs: list
    grad_inputs: list | None = None  # indices to check; None: every floating input
    grad: bool = True  # False for functions without a gradient
    rtol: float = 1e-5
    atol: float = 1e-6
    grad_atol: float = 1e-5
    grad_rtol: float = 1e-4
    eps: float = 1e-6
    second_order: bool = True  # False: skip the second-order check (a kink at the inputs, say)
    grad2_atol: float = 1e-4
    grad2_rtol: float = 1e-3
    skip_outputs: list = field(default_factory=list)  # output indices not compared (e.g. random)

    def __str__(self):
        return self.name


def _outputs(y):
    return list(y) if isinstance(y, (tuple, list)) else [y]


def _as_list(r):
    return list(r) if isinstance(r, (tuple, list)) else [r]


def check_forward(case: Case) -> None:
    """Forward in float32 (the default context) against the numpy reference."""
    xs = [nn.Variable.from_numpy_array(a) for a in case.inputs]
    ys = _outputs(case.fn(*xs))
    for y in ys:
        y.forward()
    expected = _as_list(case.ref(*[np.array(a) for a in case.inputs]))
    assert len(ys) == len(expected), f"{case.name}: {len(ys)} outputs, reference gives {len(expected)}"
    for k, (y, e) in enumerate(zip(ys, expected)):
        if k in case.skip_outputs:
            continue
        e = np.asarray(e)
        assert y.shape == e.shape, f"{case.name}: output {k} shape {y.shape} != reference {e.shape}"
        np.testing.assert_allclose(y.d, e, rtol=case.rtol, atol=case.atol, err_msg=f"{case.name} output {k}")
    # imperative mode gives the same numbers
    outs = _outputs(case.fn(*[nn.NdArray.from_numpy_array(a) for a in case.inputs]))
    for k, (o, y) in enumerate(zip(outs, ys)):
        if k in case.skip_outputs:
            continue
        assert isinstance(o, nn.NdArray), f"{case.name}: NdArray inputs must give NdArray outputs"
        np.testing.assert_allclose(o.data, y.d, rtol=1e-6, atol=1e-7, err_msg=f"{case.name} imperative")


def check_grad(case: Case, seed: int = 0) -> None:
    """Analytic gradients (backward) against central differences, everything in float64."""
    rng = np.random.RandomState(seed)
    arrays = [
        np.array(a, dtype=np.float64) if np.issubdtype(np.asarray(a).dtype, np.floating) else np.array(a)
        for a in case.inputs
    ]
    wrt = case.grad_inputs
    if wrt is None:
        wrt = [i for i, a in enumerate(arrays) if np.issubdtype(a.dtype, np.floating)]
    with nn.context_scope(DOUBLE):
        xs = [nn.Variable.from_numpy_array(a, need_grad=(i in wrt)) for i, a in enumerate(arrays)]
        ys = _outputs(case.fn(*xs))
        # one scalar objective: sum_k <y_k, r_k> with fixed random weights r_k
        for y in ys:
            y.forward()
        weights = [rng.randn(*y.shape) for y in ys]

        def objective():
            total = 0.0
            for y, w in zip(ys, weights):
                y.forward()
                total += float(np.sum(np.asarray(y.d, np.float64) * w))
            return total

        for x, a in zip(xs, arrays):
            # a float64 gradient buffer, so the analytic side keeps full precision
            x.grad = nn.NdArray.from_numpy_array(np.zeros(a.shape, np.float64))
        from nnabla import functions as F

        terms = [F.sum(y * nn.Variable.from_numpy_array(w)) for y, w in zip(ys, weights)]
        total = terms[0] if len(terms) == 1 else F.add_n(*terms)
        total.forward()
        total.backward()
        for i in wrt:
            analytic = xs[i].g.copy()
            numeric = np.zeros_like(arrays[i])
            flat = xs[i].d.reshape(-1)
            for j in range(flat.size):
                orig = flat[j]
                flat[j] = orig + case.eps
                plus = objective()
                flat[j] = orig - case.eps
                minus = objective()
                flat[j] = orig
                numeric.reshape(-1)[j] = (plus - minus) / (2 * case.eps)
            np.testing.assert_allclose(
                analytic,
                numeric,
                rtol=case.grad_rtol,
                atol=case.grad_atol,
                err_msg=f"{case.name}: gradient of input {i}",
            )
        first = {i: xs[i].g.copy() for i in wrt}
        _check_backward_again(case, total, [xs[i] for i in wrt], first, rng)
        if case.second_order:
            _check_second_order(case, total, [xs[i] for i in wrt], first, rng)


def check_second_order(case: Case, seed: int = 0) -> None:
    """The second-order check alone, for ops whose gradient is not a derivative (straight-through, clipping)."""
    from nnabla import functions as F

    rng = np.random.RandomState(seed)
    arrays = [np.array(a, np.float64) for a in case.inputs]
    with nn.context_scope(DOUBLE):
        xs = [nn.Variable.from_numpy_array(a, need_grad=True) for a in arrays]
        ys = _outputs(case.fn(*xs))
        terms = [F.sum(y * nn.Variable.from_numpy_array(rng.randn(*y.shape))) for y in ys]
        total = terms[0] if len(terms) == 1 else F.add_n(*terms)
        for x, a in zip(xs, arrays):
            x.grad = nn.NdArray.from_numpy_array(np.zeros(a.shape))
        total.forward()
        total.backward()
        _check_second_order(case, total, xs, {i: x.g.copy() for i, x in enumerate(xs)}, rng)


def _check_backward_again(case, total, xs, first, rng) -> None:
    """Backward a second and third time (compiled plans), then into gradients already set."""
    wrt = list(first)
    for run in ("second", "third"):
        for x in xs:
            x.grad.zero()
        total.forward()
        total.backward()
        for i, x in zip(wrt, xs):
            np.testing.assert_allclose(x.g, first[i], rtol=1e-10, atol=1e-12, err_msg=f"{case.name}: {run} backward")
    preset = [rng.randn(*x.shape) for x in xs]
    for x, p in zip(xs, preset):
        x.g = p
    total.forward()
    total.backward()
    for i, x, p in zip(wrt, xs, preset):
        np.testing.assert_allclose(
            x.g, p + first[i], rtol=1e-10, atol=1e-12, err_msg=f"{case.name}: backward into set gradients"
        )


def functions_in(v) -> list:
    found = []
    v.visit(lambda f: found.append(f))
    return found


def _check_second_order(case, total, xs, first, rng) -> None:
    """d<grad(total), v>/dx by nn.grad twice and by backward, against central differences of the gradient."""
    from nnabla import functions as F
    from nnabla.function import FunctionError

    grads = nn.grad([total], xs)
    F.sink(*grads).forward()
    for i, g, x in zip(first, grads, xs):
        np.testing.assert_allclose(g.d, first[i], rtol=1e-9, atol=1e-11, err_msg=f"{case.name}: nn.grad of input {i}")
    missing = sorted({f.type_name for f in functions_in(total) if not f.double_backward})
    vs = [rng.randn(*x.shape) for x in xs]
    reached = [g for g in grads if g.parent is not None and g.parent.info.type_name != "Constant"]
    if not reached:
        return
    terms = [F.sum(g * nn.Variable.from_numpy_array(v)) for g, v in zip(grads, vs) if g in reached]
    inner = terms[0] if len(terms) == 1 else F.add_n(*terms)
    if missing:
        try:
            nn.grad([inner], xs)
        except FunctionError as e:
            assert any(m in str(e) for m in missing), f"{case.name}: the error names none of {missing}: {e}"
            return
        raise AssertionError(f"{case.name}: differentiating the gradient again must raise ({missing} have none)")
    second = nn.grad([inner], xs)
    F.sink(*second).forward()
    for x in xs:
        x.grad.zero()
    inner.forward()
    inner.backward()
    through_backward = [x.g.copy() for x in xs]
    for k, (x, h) in enumerate(zip(xs, second)):
        numeric = np.zeros(x.shape)
        flat = x.d.reshape(-1)
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + case.eps
            inner.forward()
            plus = float(inner.d)
            flat[j] = orig - case.eps
            inner.forward()
            minus = float(inner.d)
            flat[j] = orig
            numeric.reshape(-1)[j] = (plus - minus) / (2 * case.eps)
        label = f"{case.name}: second-order gradient of input {k}"
        np.testing.assert_allclose(
            np.broadcast_to(h.d, x.shape), numeric, case.grad2_rtol, case.grad2_atol, err_msg=label
        )
        np.testing.assert_allclose(
            through_backward[k], numeric, case.grad2_rtol, case.grad2_atol, err_msg=label + " (backward)"
        )


def randn(*shape, seed=None):
    rng = np.random.RandomState(seed if seed is not None else sum(shape) + len(shape))
    return rng.randn(*shape).astype(np.float32)


def uniform(low, high, *shape, seed=None):
    rng = np.random.RandomState(seed if seed is not None else sum(shape) + 7)
    return rng.uniform(low, high, size=shape).astype(np.float32)
