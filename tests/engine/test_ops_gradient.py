"""Unlink, TopKGrad, VATNoise and MaxPoolingBackward (functions on the gradient path) and F.function_api: loop
references, gradient checks, and real NNabla's stored outputs and gradients (fixtures/gradient.npz)."""

import inspect
import itertools
import os

import nnabla_fixtures
import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn


def ref_max_pooling_backward(dy, x, kernel):
    """Each dy routed to the first maximum of its (non-overlapping, unpadded) window of x."""
    dx = np.zeros_like(x, dtype=np.float64)
    kh, kw = kernel
    for b, c, i, j in itertools.product(*map(range, dy.shape)):
        window = x[b, c, i * kh : (i + 1) * kh, j * kw : (j + 1) * kw]
        r, s = np.unravel_index(np.argmax(window), window.shape)
        dx[b, c, i * kh + r, j * kw + s] += dy[b, c, i, j]
    return dx


def ref_vat_noise(x, w, eps=1.0):
    rows = x.reshape(x.shape[0], -1)
    return (eps * rows / np.sqrt((rows**2).sum(1, keepdims=True) + 1e-8)).reshape(x.shape)


CASES = [
    Case(
        "max_pooling_backward",
        lambda dy, x: F.max_pooling_backward(dy, x, (2, 2)),
        lambda dy, x: ref_max_pooling_backward(dy, x, (2, 2)),
        [randn(2, 2, 2, 3), randn(2, 2, 4, 6, seed=1)],
    ),
    Case("unlink", F.unlink, lambda x: x, [randn(2, 3)], grad=False),
    Case("top_k_grad", lambda x: F.top_k_grad(x, 2), lambda x: x, [randn(3, 4)], grad=False),
    Case(
        "vat_noise",
        lambda x, w: F.vat_noise(x, w, eps=2.0),
        lambda x, w: ref_vat_noise(x, w, 2.0),
        [randn(3, 4), randn(3, 4, seed=1)],
        grad=False,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=str)
def test_grad(case):
    check_grad(case)


@pytest.mark.parametrize("name", nnabla_fixtures.names("gradient"))
def test_matches_nnabla(name):
    nnabla_fixtures.check_case("gradient", name)


def test_unlink_stops_the_gradient():
    x = nn.Variable.from_numpy_array(randn(2, 3), need_grad=True)
    y = F.unlink(x)
    assert y.need_grad
    x.g = 7
    (y * 2).backward()
    np.testing.assert_array_equal(x.g, 7)


def test_top_k_grad_keeps_the_largest_gradients():
    x = nn.Variable.from_numpy_array(randn(2, 5), need_grad=True)
    y = F.top_k_grad(x, 2)
    y.forward()
    g = np.array([[0.9, -0.7, 2.3, -1.5, 0.1], [-0.2, 1.5, 1.4, 0.2, 0.4]], np.float32)
    x.grad.zero()
    y.backward(g)
    np.testing.assert_array_equal(x.g, np.where([[1, 0, 1, 0, 0], [0, 1, 1, 0, 0]], g, 0))
    y = F.top_k_grad(x, 2, abs=True)
    y.forward()
    x.grad.zero()
    y.backward(g)
    np.testing.assert_array_equal(x.g, np.where([[0, 0, 1, 1, 0], [0, 1, 1, 0, 0]], g, 0))


def test_vat_noise_backward_writes_the_noise_buffer():
    """As NNabla's: w's data becomes eps * dy, and neither input receives a gradient."""
    x = nn.Variable.from_numpy_array(randn(2, 3), need_grad=True)
    w = nn.Variable.from_numpy_array(np.zeros((2, 3), np.float32), need_grad=True)
    y = F.vat_noise(x, w, eps=2.0)
    y.forward()
    x.grad.zero()
    w.grad.zero()
    dy = np.arange(6, dtype=np.float32).reshape(2, 3)
    y.backward(dy)
    np.testing.assert_array_equal(w.d, 2.0 * dy)
    np.testing.assert_array_equal(x.g, 0)
    np.testing.assert_array_equal(w.g, 0)


def test_function_api_passes_the_current_context():
    @F.function_api
    def scaled(ctx, x, factor=2):
        """Doc."""
        return ctx, x * factor

    assert str(inspect.signature(scaled)) == "(x, factor=2)"
    assert scaled.__doc__ == "Doc."
    with nn.context_scope(nn.Context(["cpu:double"])):
        ctx, value = scaled(3)
    assert ctx.backend == ["cpu:double"] and value == 6
    with pytest.raises(ValueError, match="first argument"):
        F.function_api(lambda x: x)


# "name (signature)" lines: inspect.signature of the functions added with these files, in real NNabla 1.36
with open(os.path.join(os.path.dirname(__file__), "fixtures", "signatures_misc.txt")) as _f:
    NNABLA_SIGNATURES = dict(line.rstrip("\n").split(" ", 1) for line in _f if line.strip())


@pytest.mark.parametrize("name", sorted(NNABLA_SIGNATURES))
def test_signatures_are_nnablas(name):
    assert str(inspect.signature(getattr(F, name))) == NNABLA_SIGNATURES[name]


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: F.max_pooling_backward(nn.Variable((1, 1, 3, 3)), nn.Variable((1, 1, 4, 4)), (2, 2)), "pooled shape"),
        (lambda: F.top_k_grad(nn.Variable((2, 3)), 4), "k=4"),
        (lambda: F.vat_noise(nn.Variable((2, 3)), nn.Variable((2, 4))), "must match"),
    ],
)
def test_errors(build, match):
    with pytest.raises(FunctionError, match=match):
        build()
