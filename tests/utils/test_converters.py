"""Graph converters: each modifier's new graph computes what the original does (or what it promises instead),
with NNabla's function sequence and parameter names (read off NNabla 1.36 running the same networks)."""

import numpy as np
import pytest

import nnabla as nn
import nnabla.experimental.graph_converters as GC
import nnabla.functions as F
import nnabla.parametric_functions as PF


@pytest.fixture(autouse=True)
def fresh_parameters():
    nn.clear_parameters()
    yield
    nn.clear_parameters()


def types(y) -> list:
    out = []
    y.visit(lambda f: out.append(f.info.type_name))
    return out


def randomize_statistics(rng):
    """Batch-norm parameters away from their 0/1 defaults, so folding has something to fold."""
    for name, v in nn.get_parameters(grad_only=False).items():
        if name.endswith(("beta", "gamma", "mean", "var")):
            v.d = rng.rand(*v.shape) + 0.5


def conv_net(x, second_bias=True):
    h = PF.convolution(x, 4, (3, 3), pad=(1, 1), name="c1")
    h = F.relu(PF.batch_normalization(h, batch_stat=False, name="bn1"))
    h = PF.convolution(h, 4, (3, 3), pad=(1, 1), with_bias=second_bias, name="c2")
    h = F.relu(PF.batch_normalization(h, batch_stat=False, name="bn2"))
    h = F.average_pooling(h, (2, 2))
    return PF.affine(h, 3, name="fc")


def built(net=conv_net, shape=(2, 3, 4, 4), **kw):
    nn.seed(0)
    rng = np.random.RandomState(0)
    x = nn.Variable.from_numpy_array(rng.randn(*shape).astype(np.float32))
    y = net(x, **kw)
    randomize_statistics(rng)
    y.forward()
    return x, y


def converted(y, modifiers):
    before = set(nn.get_parameters(grad_only=False))
    yy = GC.GraphConverter(modifiers).convert(y)
    yy.forward()
    new = [k for k in nn.get_parameters(grad_only=False) if k not in before]
    return yy, new


def test_folding_removes_batch_norms_and_keeps_outputs():
    x, y = built(second_bias=False)
    original = types(y)
    yy, new = converted(y, [GC.BatchNormalizationFoldingModifier()])
    assert types(yy) == ["Convolution", "ReLU", "Convolution", "ReLU", "AveragePooling", "Affine"]
    assert new == ["c1/conv/w-folded", "c1/conv/b-folded", "c2/conv/b", "c2/conv/w-folded", "c2/conv/b-folded"]
    np.testing.assert_allclose(yy.d, y.d, rtol=1e-5, atol=1e-5)
    assert types(y) == original  # the original graph is left as it was


@pytest.mark.parametrize("layer", ["affine", "deconvolution", "channel_last_convolution"])
def test_folding_other_layers(layer):
    def net(x):
        if layer == "affine":
            h = PF.affine(x, 5, name="fc")
        elif layer == "deconvolution":
            h = PF.deconvolution(x, 4, (3, 3), name="dc")
        else:
            h = PF.convolution(x, 4, (3, 3), channel_last=True, name="cl")
        axes = [3] if layer == "channel_last_convolution" else [1]
        return PF.batch_normalization(h, axes=axes, batch_stat=False, name="bn")

    shape = {"affine": (3, 6), "deconvolution": (2, 3, 4, 4), "channel_last_convolution": (2, 5, 5, 3)}[layer]
    x, y = built(net, shape)
    yy, _ = converted(y, [GC.BatchNormalizationFoldingModifier(channel_last=layer.startswith("channel_last"))])
    assert "BatchNormalization" not in types(yy)
    np.testing.assert_allclose(yy.d, y.d, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layer", ["convolution", "affine"])
def test_opposite_folding_folds_into_the_next_layer(layer):
    def net(x):
        h = PF.batch_normalization(x, batch_stat=False, name="bn")
        return PF.convolution(h, 2, (3, 3), name="c") if layer == "convolution" else PF.affine(h, 2, name="fc")

    x, y = built(net, (2, 3, 5, 5))
    yy, new = converted(y, [GC.BatchNormalizationFoldingModifier(opposite=True)])
    assert types(yy) == ["Convolution" if layer == "convolution" else "Affine"]
    assert new == [f"{'c/conv' if layer == 'convolution' else 'fc/affine'}/{n}" for n in ("w-folded", "b-folded")]
    np.testing.assert_allclose(yy.d, y.d, rtol=1e-5, atol=1e-5)


def test_self_folding_is_a_scale_and_a_bias():
    x, y = built()
    yy, new = converted(y, [GC.BatchNormalizationSelfFoldingModifier()])
    assert types(yy) == [
        "Convolution",
        "Mul2",
        "Add2",
        "ReLU",
        "Convolution",
        "Mul2",
        "Add2",
        "ReLU",
        "AveragePooling",
        "Affine",
    ]
    assert new == [f"bn-self-folding/c{j}-bn-self-folding-{i}" for i in (0, 1) for j in (0, 1)]
    assert nn.get_parameters(grad_only=False)[new[0]].shape == (1, 4, 1, 1)
    np.testing.assert_allclose(yy.d, y.d, rtol=1e-5, atol=1e-5)


def test_fusing_and_unfusing_batch_norm_add_relu():
    def net(x):
        h = PF.convolution(x, 3, (3, 3), pad=(1, 1), name="c")
        return F.relu(PF.batch_normalization(h, batch_stat=False, name="bn") + x)

    x, y = built(net, (2, 3, 4, 4))
    fused, new = converted(y, [GC.FusedBatchNormalizationModifier()])
    assert types(fused) == ["Convolution", "FusedBatchNormalization"] and not new
    np.testing.assert_allclose(fused.d, y.d, rtol=1e-5, atol=1e-6)
    unfused, _ = converted(fused, [GC.UnfusedBatchNormalizationModifier()])
    assert types(unfused) == ["Convolution", "BatchNormalization", "Add2", "ReLU"]
    np.testing.assert_allclose(unfused.d, y.d, rtol=1e-5, atol=1e-6)


def test_channel_last_and_back():
    def net(x):
        h = PF.convolution(x, 4, (3, 3), pad=(1, 1), name="c1")
        h = F.relu(PF.batch_normalization(h, batch_stat=False, name="bn1"))
        h = F.concatenate(F.max_pooling(h, (2, 2)), F.average_pooling(h, (2, 2)), axis=1)
        return PF.affine(h, 3, name="fc")

    x, y = built(net)
    modifier = GC.ChannelLastModifier([x])
    yy, new = converted(y, [modifier])
    assert modifier.inputs_cl[0].shape == (2, 4, 4, 3)
    np.testing.assert_array_equal(modifier.inputs_cl[0].d, x.d.transpose(0, 2, 3, 1))
    assert new[:2] == ["c1/conv/W_cl", "bn1/bn/beta_cl"] and new[-1] == "fc/affine/w_cl"
    first = []
    yy.visit(lambda f: first.append(f) if not first else None)
    assert first[0].inputs[0] is modifier.inputs_cl[0] and first[0].info.args["channel_last"]
    np.testing.assert_allclose(yy.d, y.d, rtol=1e-5, atol=1e-5)
    back_modifier = GC.ChannelFirstModifier(modifier.inputs_cl)
    back, _ = converted(yy, [back_modifier])
    assert back_modifier.inputs_cf[0].shape == (2, 3, 4, 4)
    np.testing.assert_allclose(back.d, y.d, rtol=1e-5, atol=1e-5)


def test_test_mode_uses_running_statistics_and_removes_functions():
    def net(x):
        return F.relu(PF.batch_normalization(x, batch_stat=True, name="bn")) * 2

    x, y = built(net, (4, 3))
    yy, _ = converted(y, GC.TestModeModifier(rm_funcs=["ReLU"]))
    assert types(yy) == ["BatchNormalization", "MulScalar"]
    assert yy.parent.inputs[0].parent.info.args["batch_stat"] is False
    p = nn.get_parameters(grad_only=False)
    expected = (x.d - p["bn/bn/mean"].d) / np.sqrt(p["bn/bn/var"].d + 1e-5) * p["bn/bn/gamma"].d + p["bn/bn/beta"].d
    np.testing.assert_allclose(yy.d, expected * 2, rtol=1e-5, atol=1e-6)


def test_identity_rebuilds_on_replaced_inputs():
    x, y = built()
    same, _ = converted(y, [GC.IdentityModifier()])
    np.testing.assert_array_equal(same.d, y.d)
    other = nn.Variable.from_numpy_array(np.zeros(x.shape, np.float32))
    on_other, _ = converted(y, [GC.IdentityModifier({x: other}, copy_value=True)])
    np.testing.assert_array_equal(other.d, x.d)  # copy_value: the replacement took the original's values
    np.testing.assert_array_equal(on_other.d, y.d)
    with pytest.raises(ValueError, match="differs when copy_value=True"):
        converted(y, [GC.IdentityModifier({x: nn.Variable((1, 3, 4, 4))}, copy_value=True)])


def test_no_grad_stops_parameter_gradients():
    x, y = built()
    yy, _ = converted(y, [GC.NoGradModifier()])
    for p in nn.get_parameters(grad_only=False).values():
        p.grad.zero()
    F.sum(yy).backward()
    assert all(not np.any(p.g) for p in nn.get_parameters(grad_only=False).values())
    np.testing.assert_array_equal(yy.d, y.d)


def test_pruning_zeroes_small_channels():
    def net(x):
        return PF.affine(x, 4, name="fc")

    x, y = built(net, (2, 3))
    w = nn.get_parameters()["fc/affine/W"]
    w.d = np.array([[1.0, 0.1, 2.0, 0.0], [1.0, 0.1, 0.0, 0.1], [0.0, 0.1, 0.0, 0.1]], np.float32)
    nn.get_parameters()["fc/affine/b"].d = 1.0
    yy, new = converted(y, [GC.PruningModifier(pruning_threshold=0.5)])
    assert new == ["fc/affine/w-pruned", "fc/affine/b-pruned"]
    keep = np.array([1.0, 0.0, 1.0, 0.0], np.float32)  # column norms 2, 0.03, 4, 0.02
    np.testing.assert_array_equal(nn.get_parameters()["fc/affine/w-pruned"].d, w.d * keep)
    np.testing.assert_allclose(yy.d, x.d @ (w.d * keep) + keep, rtol=1e-6)


def test_remove_function_and_custom_modifier():
    x, y = built()
    removed, _ = converted(y, [GC.RemoveFunctionModifier(rm_funcs=["BatchNormalization", "ReLU"])])
    assert types(removed) == ["Convolution", "Convolution", "AveragePooling", "Affine"]

    class ReLUToLeakyReLU(GC.FunctionModifier):
        def modify(self, f, inputs):
            if f.info.type_name == "ReLU":
                return F.leaky_relu(inputs[0])

    leaky, _ = converted(y, [ReLUToLeakyReLU()])
    assert types(leaky).count("LeakyReLU") == 2 and "ReLU" not in types(leaky)
    with pytest.raises(ValueError, match="must return None or Variables"):
        converted(y, [type("Bad", (GC.FunctionModifier,), {"modify": lambda self, f, inputs: 3})()])
