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
