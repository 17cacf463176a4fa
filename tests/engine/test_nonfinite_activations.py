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
    "elu": (F.elu, [NAN, -0.6321205, 2, INF, -1, 0], [NAN, 0.36787945, 1, 1, 0, 1]),
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


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_elu_of_tiny_negatives_is_exp_minus_one_as_in_nnabla(alpha):
    """NNabla's ELU is alpha * (exp(x) - 1) in float: -1e-8 gives 0.0 (exp rounds to 1), -1e-4 gives
    -1.0001659e-4 (expm1 would give -1e-8 and -9.9995e-5), and -0.0 stays -0.0 (x >= 0 takes x)."""
    x = nn.Variable.from_numpy_array(np.array([-1e-8, -1e-4, -0.0, 0.0], np.float32), need_grad=True)
    with nn.auto_forward():
        y = F.elu(x, alpha=alpha)
    expected = np.array([0.0, -0.00010001659393310547 * alpha, -0.0, 0.0], np.float32)
    np.testing.assert_array_equal(y.d, expected)
    assert np.signbit(y.d).tolist() == [False, True, True, False]
    x.g = 0
    y.backward(np.ones(4, np.float32))
    np.testing.assert_allclose(x.g, [alpha, alpha * 0.99989998, 1, 1], rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_select_is_where_bit_for_bit(dtype):
    """``select`` picks bits, so NaN payloads, infinities and signed zeros come through exactly as ``where``
    gives them, on a channel-last view too; operands it does not take (a scalar, broadcasting, integers) go to
    ``where``."""
    from nnabla._ops._base import select

    data, upstream = _channel_last_case(dtype)
    other = -upstream[:, ::-1].copy()  # another memory order
    other.flat[::5] = -0.0
    ints = {2: np.int16, 4: np.int32, 8: np.int64}[np.dtype(dtype).itemsize]
    for cond in (data > 0, np.isnan(upstream), np.zeros(data.shape, bool), np.ones(data.shape, bool)):
        got = select(np, cond, upstream, other)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got.view(ints), np.where(cond, upstream, other).view(ints))
    np.testing.assert_array_equal(select(np, data > 0, upstream, 0), np.where(data > 0, upstream, 0))
    np.testing.assert_array_equal(select(np, data > 0, upstream, other[:1]), np.where(data > 0, upstream, other[:1]))
    whole = np.arange(data.size).reshape(data.shape)
    np.testing.assert_array_equal(select(np, data > 0, whole, -whole), np.where(data > 0, whole, -whole))


# (values read off NNabla 1.36: its log(1 + exp(.)) and exp(.) - 1 round where log1p and expm1 would not)
TINY = np.array([[-20.0, -1e-8, 20.0, -1e-4]], np.float32)
TINY_REFERENCE = {
    "softplus": (F.softplus, [0.0, 0.6931471824645996, 20.0, 0.6930971741676331]),
    "log_sigmoid": (F.log_sigmoid, [-20.0, -0.6931471824645996, -0.0, -0.6931971907615662]),
    "selu": (F.selu, [-1.7580993175506592, 0.0, 21.014020919799805, -0.00017583910084795207]),
    "celu": (
        lambda v: F.celu(v, axis=1),
        [-1.0, 0.0, 20.0, -0.00010001659393310547, 20.0, 9.99999993922529e-09, -1.0, 9.999999747378752e-05],
    ),
}


@pytest.mark.parametrize("name", list(TINY_REFERENCE))
def test_activations_round_as_nnabla_writes_them(name):
    """softplus(-20) is 0.0 in NNabla (1 + 2e-9 rounds to 1), not log1p's 2e-9; SELU and CELU of -1e-8 are 0.0,
    not expm1's -1e-8."""
    function, expected = TINY_REFERENCE[name]
    with nn.auto_forward():
        y = function(nn.Variable.from_numpy_array(TINY))
    np.testing.assert_array_equal(y.d.ravel(), np.array(expected, np.float32))


@pytest.mark.parametrize("ufunc", [np.fmax, np.fmin, np.maximum, np.minimum], ids=lambda u: u.__name__)
@pytest.mark.parametrize("value", [0, 0.0, -0.0, 1.5, -3, float("nan")])
def test_extreme_is_the_ufunc_against_a_scalar_bit_for_bit(ufunc, value):
    """``extreme`` runs max/min against a row of the scalar: the same bits as numpy's own call, in the input's
    layout, for dense arrays of any memory order (and a tail shorter than a row), others left to numpy."""
    from nnabla._ops._base import SCALAR_ROW, extreme

    rng = np.random.RandomState(0)
    special = np.array([np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 1.5, -3.0], np.float32)
    flat = rng.randn(3 * SCALAR_ROW + 77).astype(np.float32)
    flat[::97] = np.resize(special, flat[::97].size)
    channel_last = rng.randn(4, 9, 11, 32).astype(np.float32)
    channel_last.reshape(-1)[::31] = np.resize(special, channel_last.reshape(-1)[::31].size)
    arrays = {
        "flat with a tail": flat,
        "channel-first view of channel-last memory": channel_last.transpose(0, 3, 1, 2),
        "Fortran order": np.asfortranarray(channel_last),
        "strided (not dense)": channel_last[:, ::2],
        "float64": channel_last.astype(np.float64),
        "small": special,
    }
    for name, a in arrays.items():
        got, want = extreme(np, ufunc, a, value), ufunc(a, value)
        assert got.dtype == want.dtype and got.shape == want.shape, name
        assert np.ascontiguousarray(got).tobytes() == np.ascontiguousarray(want).tobytes(), name
        if a.ndim > 1 and name != "strided (not dense)":
            assert got.strides == want.strides, name  # laid out as the input
    # a numpy scalar decides the result's dtype by its own: numpy's call as is
    assert extreme(np, np.fmax, channel_last, np.float64(0)).dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_negated_where_is_where_of_the_negation_bit_for_bit(dtype):
    """``negated_where`` flips sign bits: NaN payloads, infinities and signed zeros as ``where(cond, -g, g)``."""
    from nnabla._ops._base import negated_where

    data, upstream = _channel_last_case(dtype)
    ints = {2: np.int16, 4: np.int32, 8: np.int64}[np.dtype(dtype).itemsize]
    for cond in (data < 0, np.isnan(upstream), np.zeros(data.shape, bool), np.ones(data.shape, bool)):
        got = negated_where(np, cond, upstream)
        assert got.dtype == dtype and got.shape == upstream.shape
        np.testing.assert_array_equal(got.view(ints), np.where(cond, -upstream, upstream).view(ints))
    assert negated_where(np, np.bool_(True), np.float32(2.0)) == -2.0  # (0-d: where's)
