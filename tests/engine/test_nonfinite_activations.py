"""Activations of NaN, infinities and zero give NNabla 1.36's values (read off the reference for these inputs)."""

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F

NAN, INF = np.nan, np.inf
X = np.array([NAN, -1.0, 2.0, INF, -INF, 0.0], dtype=np.float32)

# name -> (function, forward, gradient of sum(y))
REFERENCE = {
    "relu": (F.relu, [0, 0, 2, INF, 0, 0], [0, 0, 1, 1, 0, 0]),
    "crelu": (lambda x: F.crelu(x, axis=0), [0, 0, 2, INF, 0, 0, 0, 1, 0, 0, INF, 0], [-1, -1, 1, 1, -1, -1]),
    "relu6": (F.relu6, [NAN, 0, 2, 6, 0, 0], [0, 0, 1, 0, 0, 0]),
    "leaky_relu": (F.leaky_relu, [NAN, -0.1, 2, INF, -INF, 0], [0.1, 0.1, 1, 1, 0.1, 0.1]),
    "abs": (F.abs, [NAN, 1, 2, INF, INF, 0], [1, -1, 1, 1, -1, 1]),
    "tanh": (F.tanh, [NAN, -0.7615942, 0.9640276, 1, -1, 0], [NAN, 0.41997433, 0.07065082, 0, 0, 1]),
}


@pytest.mark.parametrize("name", list(REFERENCE))
def test_nonfinite_inputs_match_nnabla(name):
    function, forward, grad = REFERENCE[name]
    x = nn.Variable.from_numpy_array(X, need_grad=True)
    with nn.auto_forward():
        y = function(x)
    x.g = 0
    y.backward(np.ones(y.shape, np.float32))
    np.testing.assert_allclose(y.d, forward, rtol=1e-6)
    np.testing.assert_allclose(x.g, grad, rtol=1e-6)


def test_fused_batch_normalization_relu_maps_nan_to_zero():
    """NNabla's fused ReLU gives 0 for a NaN input too (inference statistics: mean 0, variance 1)."""
    x = np.array([NAN, -1.0, 2.0, 0.5], dtype=np.float32).reshape(4, 1, 1, 1)
    stat = {
        n: nn.Variable.from_numpy_array(np.full((1, 1, 1, 1), v, np.float32))
        for n, v in [("beta", 0.0), ("gamma", 1.0), ("mean", 0.0), ("var", 1.0)]
    }
    with nn.auto_forward():
        y = F.fused_batch_normalization(
            nn.Variable.from_numpy_array(x), stat["beta"], stat["gamma"], stat["mean"], stat["var"], batch_stat=False
        )
    np.testing.assert_allclose(y.d.ravel(), [0.0, 0.0, 1.99999, 0.4999975], rtol=1e-6)


def _channel_last_case(dtype):
    rng = np.random.RandomState(0)
    memory = rng.randn(2, 3, 3, 4).astype(dtype)  # (B, H, W, C) memory seen as (B, C, H, W)
    upstream = rng.randn(2, 4, 3, 3).astype(dtype)
    upstream.flat[::7] = INF
    upstream.flat[3::11] = -INF
    upstream.flat[5::13] = NAN
    return np.moveaxis(memory, -1, 1), upstream


def test_relu_gradient_passes_nonfinite_gradients_where_positive_and_zero_elsewhere():
    """ReLU's backward selects on the bits: an incoming inf or NaN passes where y > 0, and elsewhere the gradient
    is +0.0 (never -0.0, never NaN from inf * 0), on a channel-last view as batch normalization leaves it."""
    data, upstream = _channel_last_case(np.float32)
    x = nn.Variable.from_numpy_array(data, need_grad=True)
    with nn.auto_forward():
        y = F.relu(x)
    x.g = 0
    y.backward(upstream)
    expected = np.where(data > 0, upstream, 0)
    np.testing.assert_array_equal(x.g, expected)
    assert not np.signbit(x.g[expected == 0]).any()


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_where_else_zero_is_where_with_a_positive_zero(dtype):
    from nnabla._ops._base import where_else_zero

    data, upstream = _channel_last_case(dtype)
    got = where_else_zero(np, data > 0, upstream)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, np.where(data > 0, upstream, 0))
    assert not np.signbit(got[data <= 0]).any()
    broadcast = np.broadcast_to(dtype(-2), data.shape)  # a gradient that is a broadcast view (global pooling's)
    np.testing.assert_array_equal(where_else_zero(np, data > 0, broadcast), np.where(data > 0, -2, 0))
