"""Parametric functions: the parameters each creates (names, shapes, need_grad, initial values), ``name=``
scoping, reuse, ``fix_parameters``, and imperative use with NdArray inputs."""

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
from nnabla.initializer import ConstantInitializer, calc_uniform_lim_glorot


@pytest.fixture(autouse=True)
def fresh_parameters():
    nn.clear_parameters()
    yield
    nn.clear_parameters()


def var(*shape, seed=0):
    return nn.Variable.from_numpy_array(np.random.RandomState(seed).randn(*shape).astype(np.float32))


def indices(*shape, high=10):
    return nn.Variable.from_numpy_array(np.random.RandomState(0).randint(0, high, shape).astype(np.int32))


X4 = (2, 3, 8, 8)

# (name, build(inputs), input shapes, {parameter: (shape, need_grad)}, output shape)
TABLE = [
    ("affine", lambda x: PF.affine(x, 4), [(2, 3)], {"affine/W": (3, 4), "affine/b": (4,)}, (2, 4)),
    (
        "convolution",
        lambda x: PF.convolution(x, 4, (3, 3)),
        [X4],
        {"conv/W": (4, 3, 3, 3), "conv/b": (4,)},
        (2, 4, 6, 6),
    ),
    (
        "convolution_group_pad",
        lambda x: PF.convolution(x, 6, (3, 3), pad=(1, 1), group=3, with_bias=False),
        [X4],
        {"conv/W": (6, 1, 3, 3)},
        (2, 6, 8, 8),
    ),
    (
        "deconvolution",
        lambda x: PF.deconvolution(x, 4, (3, 3)),
        [X4],
        {"deconv/W": (3, 4, 3, 3), "deconv/b": (4,)},
        (2, 4, 10, 10),
    ),
    (
        "depthwise_convolution",
        lambda x: PF.depthwise_convolution(x, (3, 3)),
        [X4],
        {"depthwise_conv/W": (3, 3, 3), "depthwise_conv/b": (3,)},
        (2, 3, 6, 6),
    ),
    (
        "depthwise_convolution_multiplier",
        lambda x: PF.depthwise_convolution(x, (3, 3), multiplier=2),
        [X4],
        {"depthwise_conv/W": (6, 3, 3), "depthwise_conv/b": (6,)},
        (2, 6, 6, 6),
    ),
    (
        "depthwise_deconvolution",
        lambda x: PF.depthwise_deconvolution(x, (3, 3)),
        [X4],
        {"depthwise_deconv/W": (3, 3, 3), "depthwise_deconv/b": (3,)},
        (2, 3, 10, 10),
    ),
    (
        "batch_normalization",
        lambda x: PF.batch_normalization(x),
        [(2, 3, 4, 4)],
        {
            "bn/beta": (1, 3, 1, 1),
            "bn/gamma": (1, 3, 1, 1),
            "bn/mean": ((1, 3, 1, 1), False),
            "bn/var": ((1, 3, 1, 1), False),
        },
        (2, 3, 4, 4),
    ),
    (
        "fused_batch_normalization",
        lambda x: PF.fused_batch_normalization(x),
        [(2, 3, 4, 4)],
        {
            "bn/beta": (1, 3, 1, 1),
            "bn/gamma": (1, 3, 1, 1),
            "bn/mean": ((1, 3, 1, 1), False),
            "bn/var": ((1, 3, 1, 1), False),
        },
        (2, 3, 4, 4),
    ),
    (
        "layer_normalization",
        lambda x: PF.layer_normalization(x),
        [(2, 6)],
        {"layer_normalization/beta": (1, 6), "layer_normalization/gamma": (1, 6)},
        (2, 6),
    ),
    (
        "instance_normalization",
        lambda x: PF.instance_normalization(x),
        [(2, 3, 4, 4)],
        {"instance_normalization/beta": (1, 3, 1, 1), "instance_normalization/gamma": (1, 3, 1, 1)},
        (2, 3, 4, 4),
    ),
    (
        "group_normalization",
        lambda x: PF.group_normalization(x, 2),
        [(2, 4, 3, 3)],
        {"group_normalization/beta": (1, 4, 1, 1), "group_normalization/gamma": (1, 4, 1, 1)},
        (2, 4, 3, 3),
    ),
    ("embed", lambda i: PF.embed(i, 10, 5), ["int:2,3"], {"embed/W": (10, 5)}, (2, 3, 5)),
    ("prelu", lambda x: PF.prelu(x), [(2, 3)], {"prelu/slope": ()}, (2, 3)),
    ("prelu_per_channel", lambda x: PF.prelu(x, shared=False), [(2, 3, 4)], {"prelu/slope": (3,)}, (2, 3, 4)),
    (
        "lstm_cell",
        lambda x, h, c: PF.lstm_cell(x, h, c, 4),
        [(2, 3), (2, 4), (2, 4)],
        {"lstm/affine/W": (7, 4, 4), "lstm/affine/b": (4, 4)},
        [(2, 4), (2, 4)],
    ),
    (
        "mean_subtraction",
        lambda x: PF.mean_subtraction(x),
        [(2, 3)],
        {"mean_subtraction/mean": ((3,), False), "mean_subtraction/t": ((1,), False)},
        (2, 3),
    ),
]


def make_inputs(specs):
    out = []
    for k, s in enumerate(specs):
        if isinstance(s, str):
            out.append(indices(*(int(d) for d in s.split(":")[1].split(","))))
        else:
            out.append(var(*s, seed=k))
    return out


def expected_params(table_entry):
    return {name: (spec if spec and isinstance(spec[-1], bool) else (spec, True)) for name, spec in table_entry.items()}


@pytest.mark.parametrize("name, build, shapes, params, out_shape", TABLE, ids=[t[0] for t in TABLE])
def test_created_parameters(name, build, shapes, params, out_shape):
    y = build(*make_inputs(shapes))
    created = nn.get_parameters(grad_only=False)
    expected = expected_params(params)
    assert list(created) == list(expected)
    for key, (shape, need_grad) in expected.items():
        assert created[key].shape == tuple(shape), key
        assert created[key].need_grad is need_grad, key
    outs = list(y) if isinstance(y, tuple) else [y]
    assert [o.shape for o in outs] == (out_shape if isinstance(out_shape, list) else [out_shape])
    for o in outs:
        o.forward()
        assert np.isfinite(o.d).all()


@pytest.mark.parametrize("name, build, shapes, params, out_shape", TABLE, ids=[t[0] for t in TABLE])
def test_imperative_matches_graph(name, build, shapes, params, out_shape):
    inputs = make_inputs(shapes)
    y = build(*inputs)
    z = build(*[nn.NdArray.from_numpy_array(v.d) for v in inputs])  # runs at once, reusing the parameters
    assert len(nn.get_parameters(grad_only=False)) == len(params)
    ys = list(y) if isinstance(y, tuple) else [y]
    zs = list(z) if isinstance(z, tuple) else [z]
    for a, b in zip(ys, zs):
        assert isinstance(b, nn.NdArray)
        a.forward()
        np.testing.assert_allclose(b.data, a.d, rtol=1e-5, atol=1e-6)


def test_name_opens_a_scope():
    x = var(2, 3)
    PF.affine(x, 4, name="fc1")
    with nn.parameter_scope("block"):
        PF.convolution(var(1, 3, 5, 5), 2, (3, 3), name="c1")
    assert list(nn.get_parameters()) == ["fc1/affine/W", "fc1/affine/b", "block/c1/conv/W", "block/c1/conv/b"]


def test_parameters_are_reused():
    x = var(2, 3)
    a = PF.affine(x, 4, name="fc")
    b = PF.affine(x, 4, name="fc")
    assert a.parent.inputs[1] is b.parent.inputs[1]
    assert len(nn.get_parameters()) == 2
    with pytest.raises(ValueError, match="shape"):
        PF.affine(x, 5, name="fc")


def test_signatures_end_with_name():
    import inspect

    for f in (PF.convolution, PF.batch_normalization, PF.embed, PF.lstm_cell, PF.group_normalization):
        assert list(inspect.signature(f).parameters)[-1] == "name"
    assert inspect.signature(PF.batch_normalization).parameters["batch_stat"].default is True


def test_fix_parameters_stops_gradients():
    x = var(2, 3, 6, 6)
    x.need_grad = True
    y = PF.convolution(x, 2, (3, 3), fix_parameters=True)
    w = nn.get_parameters()["conv/W"]
    assert w.need_grad  # the stored parameter keeps need_grad; the graph sees a copy without it
    assert not y.parent.inputs[1].need_grad
    loss = F.sum(y)
    loss.forward()
    w.grad.zero()
    loss.backward()
    assert np.abs(x.g).sum() > 0
    assert not np.abs(w.g).any()


def test_fix_parameters_batch_normalization():
    y = PF.batch_normalization(var(4, 3), fix_parameters=True)
    beta, gamma, mean, variance = y.parent.inputs[1:]
    assert not beta.need_grad and not gamma.need_grad and not mean.need_grad and not variance.need_grad


def test_default_initializers():
    nn.seed(0)
    PF.convolution(var(2, 3, 5, 5), 4, (3, 3))
    PF.batch_normalization(var(2, 3))
    PF.prelu(var(2, 3))
    PF.embed(indices(2), 10, 5)
    p = nn.get_parameters(grad_only=False)
    lim = calc_uniform_lim_glorot(3, 4, (3, 3))[1]
    assert np.abs(p["conv/W"].d).max() <= lim and p["conv/W"].d.std() > lim / 4
    assert not p["conv/b"].d.any()
    assert (p["bn/beta"].d == 0).all() and (p["bn/gamma"].d == 1).all()
    assert (p["bn/mean"].d == 0).all() and (p["bn/var"].d == 1).all()
    assert p["prelu/slope"].d == np.float32(0.25)
    assert np.abs(p["embed/W"].d).max() <= np.sqrt(3)


def test_rng_and_custom_initializers():
    x = var(2, 3, 5, 5)
    PF.convolution(x, 4, (3, 3), rng=np.random.RandomState(1), name="a")
    PF.convolution(x, 4, (3, 3), rng=np.random.RandomState(1), name="b")
    PF.convolution(x, 4, (3, 3), w_init=ConstantInitializer(0.5), b_init=ConstantInitializer(2), name="c")
    PF.layer_normalization(var(2, 6), param_init={"gamma": ConstantInitializer(3)}, no_bias=True, name="ln")
    p = nn.get_parameters()
    np.testing.assert_array_equal(p["a/conv/W"].d, p["b/conv/W"].d)
    assert (p["c/conv/W"].d == 0.5).all() and (p["c/conv/b"].d == 2).all()
    assert (p["ln/layer_normalization/gamma"].d == 3).all()
    assert "ln/layer_normalization/beta" not in p


def test_batch_normalization_training_and_inference():
    x = var(8, 3, seed=4)
    y = PF.batch_normalization(x, decay_rate=0.5)
    y.forward()
    p = nn.get_parameters(grad_only=False)
    np.testing.assert_allclose(p["bn/mean"].d, 0.5 * x.d.mean(axis=0, keepdims=True), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(y.d.mean(axis=0), 0, atol=1e-5)
    z = PF.batch_normalization(x, batch_stat=False)
    z.forward()
    expected = (x.d - p["bn/mean"].d) / np.sqrt(p["bn/var"].d + 1e-5)
    np.testing.assert_allclose(z.d, expected, rtol=1e-5, atol=1e-6)
    assert list(nn.get_parameters()) == ["bn/beta", "bn/gamma"]


def test_mean_subtraction_updates_running_mean():
    x = var(4, 3)
    y = PF.mean_subtraction(x)
    y.forward()
    p = nn.get_parameters(grad_only=False)
    np.testing.assert_allclose(p["mean_subtraction/mean"].d, x.d.mean(axis=0), rtol=1e-6)
    assert p["mean_subtraction/t"].d[0] == 1


def test_whole_number_float_sizes_are_taken_as_ints():
    # NNabla's DCGAN tutorial passes maxh / 2 (a float) as a channel count; real NNabla 1.36 builds
    # (2, 128, 11, 11) here, with W of shape (3, 128, 4, 4)
    x = var(2, 3, 8, 8)
    y = PF.deconvolution(x, 256 / 2, (4, 4), name="up")
    assert y.shape == (2, 128, 11, 11) and nn.get_parameters()["up/deconv/W"].shape == (3, 128, 4, 4)
    assert PF.convolution(x, outmaps=32.0, kernel=(3, 3), name="down").shape == (2, 32, 6, 6)
    assert PF.affine(x, (4.0,), name="fc").shape == (2, 4)
    with pytest.raises(ValueError, match="outmaps"):
        PF.convolution(x, 2.5, (3, 3), name="fractional")
