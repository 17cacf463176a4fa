"""Reference and gradient checks for normalization: batch (running statistics), fused batch, layer, instance,
group and tensor normalization, weight standardization, mean subtraction."""

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError, TensorNormalization
from opcheck import Case, check_forward, check_grad, randn, uniform

EPS = 1e-05


def standardize(x, raxes, eps=EPS):
    mean = x.mean(axis=raxes, keepdims=True)
    var = x.var(axis=raxes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps), mean, var


def other_axes(ndim, kept):
    return tuple(i for i in range(ndim) if i not in kept)


def bn_train(x, beta, gamma, axes=(1,), output_stat=False):
    xhat, mean, var = standardize(x, other_axes(x.ndim, axes))
    y = xhat * gamma + beta
    return (y, mean, var) if output_stat else y


def bn_test(x, beta, gamma, mean, var):
    return (x - mean) / np.sqrt(var + EPS) * gamma + beta


def layer_norm(x, beta, gamma, output_stat=False):
    xhat, mean, var = standardize(x, other_axes(x.ndim, (0,)))
    y = xhat * gamma + beta
    return (y, mean, var) if output_stat else y


def instance_norm(x, beta, gamma, channel_axis=1, output_stat=False):
    xhat, mean, var = standardize(x, other_axes(x.ndim, (0, channel_axis)))
    y = xhat * gamma + beta
    return (y, mean, var) if output_stat else y


def group_norm(x, beta, gamma, groups, output_stat=False):
    n, c = x.shape[:2]
    xg = x.reshape((n, groups, c // groups) + x.shape[2:])
    xhat, mean, var = standardize(xg, other_axes(xg.ndim, (0, 1)))
    y = xhat.reshape(x.shape) * gamma + beta
    return (y, mean, var) if output_stat else y


def relu(x):
    return np.maximum(x, 0)


def params(shape, seed=3):
    """beta and gamma of a shape, gamma away from zero."""
    return randn(*shape, seed=seed), uniform(0.5, 1.5, *shape, seed=seed + 1)


B4, G4 = params((1, 3, 1, 1))
STAT_MEAN, STAT_VAR = randn(1, 3, 1, 1, seed=5), uniform(0.5, 2, 1, 3, 1, 1, seed=6)
X4 = randn(4, 3, 2, 2)
LOOSE = dict(atol=1e-5, rtol=1e-4)

CASES = [
    Case(
        "batch_normalization",
        F.batch_normalization,
        lambda x, b, g, m, v: bn_train(x, b, g),
        [X4, B4, G4, STAT_MEAN, STAT_VAR],
        grad_inputs=[0, 1, 2],
        **LOOSE,
    ),
    Case(
        "batch_normalization_2d",
        F.batch_normalization,
        lambda x, b, g, m, v: bn_train(x, b, g),
        [randn(5, 3), *params((1, 3)), np.zeros((1, 3), np.float32), np.ones((1, 3), np.float32)],
        grad_inputs=[0, 1, 2],
        **LOOSE,
    ),
    Case(
        "batch_normalization_axes_1_2",
        lambda x, b, g, m, v: F.batch_normalization(x, b, g, m, v, axes=[1, 2]),
        lambda x, b, g, m, v: bn_train(x, b, g, axes=(1, 2)),
        [randn(3, 2, 2, 2), *params((1, 2, 2, 1)), np.zeros((1, 2, 2, 1), np.float32), np.ones((1, 2, 2, 1))],
        grad_inputs=[0, 1, 2],
        **LOOSE,
    ),
    Case(
        "batch_normalization_output_stat",
        lambda x, b, g, m, v: F.batch_normalization(x, b, g, m, v, output_stat=True),
        lambda x, b, g, m, v: bn_train(x, b, g, output_stat=True),
        [X4, B4, G4, STAT_MEAN, STAT_VAR],
        grad_inputs=[0, 1, 2],
        **LOOSE,
    ),
    Case(
        "batch_normalization_no_scale_no_bias",
        lambda x, m, v: F.batch_normalization(x, None, None, m, v),
        lambda x, m, v: bn_train(x, 0, 1),
        [X4, STAT_MEAN, STAT_VAR],
        grad_inputs=[0],
        **LOOSE,
    ),
    Case(
        "batch_normalization_running_stats",
        lambda x, b, g, m, v: F.batch_normalization(x, b, g, m, v, batch_stat=False),
        bn_test,
        [X4, B4, G4, STAT_MEAN, STAT_VAR],
        grad_inputs=[0, 1, 2],
        **LOOSE,
    ),
    Case(
        "fused_batch_normalization_z",
        F.fused_batch_normalization,
        lambda x, b, g, m, v, z: relu(bn_train(x, b, g) + z),
        [X4, B4, G4, STAT_MEAN, STAT_VAR, randn(4, 3, 2, 2, seed=9)],
        grad_inputs=[0, 1, 2, 5],
        **LOOSE,
    ),
    Case(
        "fused_batch_normalization",
        F.fused_batch_normalization,
        lambda x, b, g, m, v: relu(bn_train(x, b, g)),
        [X4, B4, G4, STAT_MEAN, STAT_VAR],
        grad_inputs=[0, 1, 2],
        **LOOSE,
    ),
    Case(
        "fused_batch_normalization_running_stats",
        lambda x, b, g, m, v: F.fused_batch_normalization(x, b, g, m, v, batch_stat=False),
        lambda x, b, g, m, v: relu(bn_test(x, b, g, m, v)),
        [X4, B4, G4, STAT_MEAN, STAT_VAR],
        grad_inputs=[0, 1, 2],
        **LOOSE,
    ),
    Case(
        "tensor_normalization_function",  # NNabla's TensorNormalization node (F.tensor_normalization uses BN)
        lambda x, b, g: TensorNormalization(None, axes=(1,))(x, b, g),
        bn_train,
        [X4, B4, G4],
        **LOOSE,
    ),
    Case("layer_normalization", F.layer_normalization, layer_norm, [randn(3, 4), *params((1, 4))], **LOOSE),
    Case(
        "layer_normalization_4d_output_stat",
        lambda x, b, g: F.layer_normalization(x, b, g, output_stat=True),
        lambda x, b, g: layer_norm(x, b, g, output_stat=True),
        [randn(2, 3, 2, 2), *params((1, 3, 2, 2))],
        **LOOSE,
    ),
    Case(
        "layer_normalization_no_params",
        lambda x: F.layer_normalization(x, None, None),
        lambda x: layer_norm(x, 0, 1),
        [randn(3, 5)],
        **LOOSE,
    ),
    Case("instance_normalization", F.instance_normalization, instance_norm, [X4, B4, G4], **LOOSE),
    Case(
        "instance_normalization_channel_last_output_stat",
        lambda x, b, g: F.instance_normalization(x, b, g, channel_axis=3, output_stat=True),
        lambda x, b, g: instance_norm(x, b, g, channel_axis=3, output_stat=True),
        [randn(2, 2, 3, 3), *params((1, 1, 1, 3))],
        **LOOSE,
    ),
    Case(
        "instance_normalization_per_sample_params",
        F.instance_normalization,
        instance_norm,
        [randn(2, 3, 2, 2), *params((2, 3, 1, 1))],
        **LOOSE,
    ),
    Case(
        "group_normalization",
        lambda x, b, g: F.group_normalization(x, b, g, num_groups=2),
        lambda x, b, g: group_norm(x, b, g, 2),
        [randn(2, 4, 2, 2), *params((1, 4, 1, 1))],
        **LOOSE,
    ),
    Case(
        "group_normalization_output_stat",
        lambda x, b, g: F.group_normalization(x, b, g, 3, output_stat=True),
        lambda x, b, g: group_norm(x, b, g, 3, output_stat=True),
        [randn(2, 6, 3), *params((1, 6, 1))],
        **LOOSE,
    ),
    Case(
        "tensor_normalization",
        lambda x, b, g: F.tensor_normalization(x, [1], b, g),
        lambda x, b, g: bn_train(x, b, g),
        [X4, B4, G4],
        **LOOSE,
    ),
    Case(
        "tensor_normalization_axes_0_1",
        lambda x: F.tensor_normalization(x, [0, 1]),
        lambda x: standardize(x, (2, 3))[0],
        [X4],
        **LOOSE,
    ),
    Case(
        "weight_standardization",
        F.weight_standardization,
        lambda w: standardize(w, (1, 2, 3))[0],
        [randn(4, 3, 2, 2)],
        **LOOSE,
    ),
    Case(
        "weight_standardization_axis1_output_stat",
        lambda w: F.weight_standardization(w, channel_axis=1, output_stat=True),
        lambda w: standardize(w, (0, 2, 3)),
        [randn(3, 4, 2, 2)],
        **LOOSE,
    ),
    Case(
        "mean_subtraction_running_mean",
        lambda x, m, t: F.mean_subtraction(x, m, t, update_running_mean=False),
        lambda x, m, t: x - m,
        [randn(4, 3), randn(3, seed=2), np.full((1,), 5, np.float32)],
        grad_inputs=[0],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=str)
def test_grad(case):
    check_grad(case)


def bn_inputs(x):
    c = x.shape[1]
    shape = (1, c) + (1,) * (x.ndim - 2)
    return [
        nn.Variable.from_numpy_array(a)
        for a in (x, np.zeros(shape, np.float32), np.ones(shape, np.float32), STAT_MEAN, STAT_VAR)
    ]


def test_batch_normalization_updates_running_stats_with_unbiased_variance():
    x, beta, gamma, mean, var = bn_inputs(X4)
    m0, v0 = mean.d.copy(), var.d.copy()
    y = F.batch_normalization(x, beta, gamma, mean, var, decay_rate=0.8)
    y.forward()
    n = X4.size // 3
    batch_mean = X4.mean(axis=(0, 2, 3), keepdims=True)
    batch_var = X4.var(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(mean.d, 0.8 * m0 + 0.2 * batch_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var.d, 0.8 * v0 + 0.2 * batch_var * n / (n - 1), rtol=1e-5, atol=1e-6)
    # the output itself uses the biased batch variance
    np.testing.assert_allclose(y.d, (X4 - batch_mean) / np.sqrt(batch_var + EPS), rtol=1e-4, atol=1e-5)
    # every forward folds the batch in once more
    y.forward()
    np.testing.assert_allclose(mean.d, 0.64 * m0 + 0.36 * batch_mean, rtol=1e-5, atol=1e-6)


def test_batch_normalization_output_stat_is_biased_variance():
    x, beta, gamma, mean, var = bn_inputs(X4)
    _, bm, bv = F.batch_normalization(x, beta, gamma, mean, var, output_stat=True)
    bm.forward()
    np.testing.assert_allclose(bv.d, X4.var(axis=(0, 2, 3), keepdims=True), rtol=1e-5)


def test_batch_normalization_inference_leaves_running_stats():
    x, beta, gamma, mean, var = bn_inputs(X4)
    F.batch_normalization(x, beta, gamma, mean, var, batch_stat=False).forward()
    np.testing.assert_array_equal(mean.d, STAT_MEAN)
    np.testing.assert_array_equal(var.d, STAT_VAR)


def test_batch_normalization_recompute_does_not_update_running_stats():
    x, beta, gamma, mean, var = bn_inputs(X4)
    y = F.batch_normalization(x, beta, gamma, mean, var)
    y.forward()
    m1, v1, y1 = mean.d.copy(), var.d.copy(), y.d.copy()
    y.parent.recompute(y.parent.inputs, [y])
    np.testing.assert_array_equal(mean.d, m1)
    np.testing.assert_array_equal(var.d, v1)
    np.testing.assert_array_equal(y.d, y1)


def test_batch_normalization_imperative_updates_ndarray_stats():
    x, beta, gamma, mean, var = (nn.NdArray.from_numpy_array(v.d) for v in bn_inputs(X4))
    y = F.batch_normalization(x, beta, gamma, mean, var)
    assert isinstance(y, nn.NdArray)
    np.testing.assert_allclose(mean.data, 0.9 * STAT_MEAN + 0.1 * X4.mean(axis=(0, 2, 3), keepdims=True), rtol=1e-5)


def test_batch_normalization_no_grad_for_running_stats():
    x, beta, gamma, mean, var = bn_inputs(X4)
    for v in (x, beta, gamma):
        v.need_grad = True
    y = F.batch_normalization(x, beta, gamma, mean, var)
    loss = F.sum(y * y)
    loss.forward()
    loss.backward()
    assert not mean.need_grad and not var.need_grad
    assert np.abs(gamma.g).sum() > 0


@pytest.mark.parametrize(
    "build, match",
    [
        (
            lambda: F.batch_normalization(*bn_inputs(X4)[:2], nn.Variable((1, 4, 1, 1)), *bn_inputs(X4)[3:]),
            r"BatchNormalization: gamma of shape \(1, 4, 1, 1\)",
        ),
        (
            lambda: F.batch_normalization(*bn_inputs(X4)[:3], None, None, batch_stat=False),
            "BatchNormalization: batch_stat=False needs",
        ),
        (
            lambda: F.group_normalization(nn.Variable((2, 6, 2)), None, None, num_groups=4),
            "GroupNormalization: channel dimension 6 .* multiple of num_groups=4",
        ),
        (
            lambda: F.layer_normalization(nn.Variable((2, 5)), nn.Variable((1, 4)), None),
            r"LayerNormalization: beta of shape \(1, 4\)",
        ),
        (
            lambda: F.batch_normalization(*bn_inputs(X4), axes=[4]),
            "BatchNormalization: axes=4 is out of range",
        ),
        (
            lambda: F.fused_batch_normalization(*bn_inputs(X4), nonlinearity="tanh"),
            "FusedBatchNormalization: nonlinearity='tanh'",
        ),
        (
            lambda: F.mean_subtraction(nn.Variable((2, 3)), nn.Variable((4,)), nn.Variable((1,))),
            r"MeanSubtraction: rmean of shape \(4,\)",
        ),
    ],
)
def test_errors_at_graph_build(build, match):
    with pytest.raises(FunctionError, match=match):
        build()


def test_mean_subtraction_training_updates_running_mean_and_counter():
    x = nn.Variable.from_numpy_array(randn(4, 3), need_grad=True)
    mean = nn.Variable.from_numpy_array(np.full((3,), 1.0, np.float32))
    t = nn.Variable.from_numpy_array(np.full((1,), 3.0, np.float32))
    y = F.mean_subtraction(x, mean, t)
    y.forward()
    expected = 1.0 + (x.d.mean(axis=0) - 1.0) / 4
    np.testing.assert_allclose(mean.d, expected, rtol=1e-6)
    assert t.d[0] == 4
    np.testing.assert_allclose(y.d, x.d - expected, rtol=1e-6)
    y.backward(np.ones((4, 3), np.float32))
    # only the latest batch's share of the running mean (1 / (t * batch)) flows back
    np.testing.assert_allclose(x.g, np.full((4, 3), 1 - 1 / (4 * 4)), rtol=1e-6)


def test_batch_normalization_node_and_args():
    x, beta, gamma, mean, var = bn_inputs(X4)
    y = F.batch_normalization(x, beta, gamma, mean, var, axes=[1], decay_rate=0.5)
    assert y.parent.name == "BatchNormalization"
    assert y.parent.info.args["decay_rate"] == 0.5
    assert y.parent.info.args["batch_stat"] is True
    assert len(y.parent.inputs) == 5
