"""The one shared checker every op test uses: forward against a numpy reference, and a numerical gradient
check in float64 (central differences against ``backward``), in the spirit of Chainer's ``check_backward``.

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


def randn(*shape, seed=None):
    rng = np.random.RandomState(seed if seed is not None else sum(shape) + len(shape))
    return rng.randn(*shape).astype(np.float32)


def uniform(low, high, *shape, seed=None):
    rng = np.random.RandomState(seed if seed is not None else sum(shape) + 7)
    return rng.uniform(low, high, size=shape).astype(np.float32)
