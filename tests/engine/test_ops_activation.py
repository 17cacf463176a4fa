"""Reference and gradient checks for the activation functions, and the errors they raise at graph-build time."""

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn, uniform


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softplus(x, beta=1.0):
    return np.log1p(np.exp(beta * x)) / beta


def elu(x, alpha=1.0):
    return np.where(x >= 0, x, alpha * (np.exp(x) - 1))


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def prelu_channel(x, w, base_axis=1):
    slope = w.reshape((-1,) + (1,) * (x.ndim - base_axis - 1))
    return np.where(x >= 0, x, x * slope)


SELU_SCALE, SELU_ALPHA = 1.05070098735548, 1.673263242354377

CASES = [
    Case("leaky_relu", F.leaky_relu, lambda x: np.where(x > 0, x, 0.1 * x), [randn(3, 4)]),
    Case(
        "leaky_relu_alpha", lambda x: F.leaky_relu(x, alpha=0.3), lambda x: np.where(x > 0, x, 0.3 * x), [randn(3, 4)]
    ),
    Case("elu", F.elu, elu, [randn(3, 4)]),
    Case("elu_alpha", lambda x: F.elu(x, alpha=0.5), lambda x: elu(x, 0.5), [randn(3, 4)]),
    Case("selu", F.selu, lambda x: SELU_SCALE * elu(x, SELU_ALPHA), [randn(3, 4)]),
    Case("selu_args", lambda x: F.selu(x, scale=1.5, alpha=0.5), lambda x: 1.5 * elu(x, 0.5), [randn(3, 4)]),
    Case(
        "selu_negative_alpha", lambda x: F.selu(x, scale=2.0, alpha=-1.0), lambda x: 2.0 * elu(x, -1.0), [randn(3, 4)]
    ),
    Case(
        "crelu",
        F.crelu,
        lambda x: np.concatenate([np.maximum(x, 0), np.maximum(-x, 0)], axis=1),
        [randn(2, 3, 2)],
    ),
    Case(
        "crelu_last_axis",
        lambda x: F.crelu(x, axis=-1),
        lambda x: np.concatenate([np.maximum(x, 0), np.maximum(-x, 0)], axis=-1),
        [randn(2, 3)],
    ),
    Case("celu", F.celu, lambda x: np.concatenate([elu(x), elu(-x)], axis=1), [randn(2, 3, 2)]),
    Case(
        "celu_alpha_axis0",
        lambda x: F.celu(x, alpha=2.0, axis=0),
        lambda x: np.concatenate([elu(x, 2.0), elu(-x, 2.0)], axis=0),
        [randn(2, 3)],
    ),
    Case(
        "prelu_shared",
        F.prelu,
        lambda x, w: np.where(x >= 0, x, x * w),
        [randn(2, 3, 4), np.array(0.25, np.float32)],
    ),
    Case("prelu_channel", F.prelu, prelu_channel, [randn(2, 3, 4), uniform(0.1, 0.5, 3)]),
    Case(
        "prelu_base_axis2",
        lambda x, w: F.prelu(x, w, base_axis=2),
        lambda x, w: prelu_channel(x, w, 2),
        [randn(2, 3, 4), uniform(0.1, 0.5, 4)],
    ),
    Case("softplus", F.softplus, softplus, [randn(3, 4)]),
    Case("softplus_beta", lambda x: F.softplus(x, beta=2.0), lambda x: softplus(x, 2.0), [randn(3, 4)]),
    Case("softsign", F.softsign, lambda x: x / (1 + np.abs(x)), [randn(3, 4)]),
    Case("swish", F.swish, lambda x: x * sigmoid(x), [randn(3, 4)]),
    Case("gelu", F.gelu, gelu_tanh, [randn(3, 4)]),
    Case("mish", F.mish, lambda x: x * np.tanh(np.log1p(np.exp(x))), [randn(3, 4)]),
    Case("relu6", F.relu6, lambda x: np.minimum(np.maximum(x, 0), 6), [uniform(-3, 9, 3, 4)]),
    Case("hard_sigmoid", F.hard_sigmoid, lambda x: np.clip(0.2 * x + 0.5, 0, 1), [uniform(-4, 4, 3, 4)]),
    Case("hard_tanh", F.hard_tanh, lambda x: np.clip(x, -1, 1), [uniform(-2, 2, 3, 4)]),
    Case("log_sigmoid", F.log_sigmoid, lambda x: np.log(sigmoid(x)), [randn(3, 4)]),
    Case(
        "log_sigmoid_wide",
        F.log_sigmoid,
        lambda x: -np.logaddexp(0, -x.astype(np.float64)),
        [np.array([[-30.0, -8.0, -1.0, 0.0], [0.5, 3.0, 12.0, 40.0]], np.float32)],
        rtol=1e-5,
    ),
    Case("tanh_shrink", F.tanh_shrink, lambda x: x - np.tanh(x), [randn(3, 4)]),
    Case("binary_tanh", F.binary_tanh, lambda x: np.where(x > 0, 1.0, -1.0), [randn(3, 4)], grad=False),
    Case("binary_sigmoid", F.binary_sigmoid, lambda x: np.where(x > 0, 1.0, 0.0), [randn(3, 4)], grad=False),
    Case("sinc", F.sinc, lambda x: np.sinc(x / np.pi), [randn(3, 4) * 3]),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=str)
def test_grad(case):
    check_grad(case)


def backward_of(fn, x, gy):
    """Input gradient of fn at x for output gradient gy."""
    v = nn.Variable.from_numpy_array(x, need_grad=True)
    y = fn(v)
    y.forward()
    y.backward(gy)
    return v.g


def test_large_inputs_stay_finite():
    x = np.array([-100.0, -30.0, 30.0, 100.0], np.float32)
    for fn in (F.softplus, F.log_sigmoid, F.mish, F.elu, F.selu, F.swish):
        y = fn(nn.Variable.from_numpy_array(x))
        y.forward()
        assert np.all(np.isfinite(y.d)), fn.__name__
    y = F.softplus(nn.Variable.from_numpy_array(x))
    y.forward()
    np.testing.assert_allclose(y.d, [0, 0, 30, 100], atol=1e-6)


def test_binary_tanh_gradient_passes_straight_through_inside_unit_interval():
    x = np.array([-2.0, -0.5, 0.3, 0.9, 1.5], np.float32)
    gy = np.array([1.0, 2.0, 3.0, 4.0, 5.0], np.float32)
    np.testing.assert_allclose(backward_of(F.binary_tanh, x, gy), [0, 2, 3, 4, 0])
    np.testing.assert_allclose(backward_of(F.binary_sigmoid, x, gy), [0, 1, 1.5, 2, 0])


def test_sinc_is_one_at_zero_with_zero_gradient():
    x = np.array([0.0, 1.0], np.float32)
    v = nn.Variable.from_numpy_array(x, need_grad=True)
    y = F.sinc(v)
    y.forward()
    np.testing.assert_allclose(y.d, [1.0, np.sin(1.0)], rtol=1e-6)
    y.backward(np.ones(2, np.float32))
    np.testing.assert_allclose(v.g, [0.0, np.cos(1.0) - np.sin(1.0)], rtol=1e-5)


def test_prelu_rejects_slope_that_is_neither_scalar_nor_per_channel():
    x = nn.Variable((2, 3, 4))
    with pytest.raises(FunctionError, match=r"PReLU.*x1 of shape \(4,\).*\(3,\)"):
        F.prelu(x, nn.Variable((4,)))
    with pytest.raises(FunctionError, match="PReLU.*base_axis=3"):
        F.prelu(x, nn.Variable((1,)), base_axis=3)


def test_crelu_celu_reject_bad_axis():
    with pytest.raises(FunctionError, match="CReLU.*axis=2"):
        F.crelu(nn.Variable((2, 3)), axis=2)
    with pytest.raises(FunctionError, match="CELU.*axis=-3"):
        F.celu(nn.Variable((2, 3)), axis=-3)
    with pytest.raises(FunctionError, match="CELU.*at least one dimension"):
        F.celu(nn.Variable(()))


def test_crelu_doubles_the_axis():
    assert F.crelu(nn.Variable((2, 3, 4))).shape == (2, 6, 4)
    assert F.celu(nn.Variable((2, 3, 4)), axis=2).shape == (2, 3, 8)
