"""Convolution, Deconvolution and the depthwise forms against naive loop references, with gradient checks."""

import itertools

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn


def _spatial(arg, n, default):
    return tuple(arg) if arg is not None else (default,) * n


def ref_conv(x, w, b=None, pad=None, stride=None, dilation=None, group=1):
    """Channel-first convolution by loops over output and kernel positions; x (B, C, *S), w (OC, C/group, *K)."""
    n = x.ndim - 2
    pad, stride, dilation = _spatial(pad, n, 0), _spatial(stride, n, 1), _spatial(dilation, n, 1)
    xpad = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pad])
    kernel = w.shape[2:]
    out = [(x.shape[2 + i] + 2 * pad[i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1 for i in range(n)]
    oc, cg = w.shape[:2]
    y = np.zeros((x.shape[0], oc, *out))
    for o in range(oc):
        g = o // (oc // group)
        for pos in itertools.product(*map(range, out)):
            for k in itertools.product(*map(range, kernel)):
                idx = tuple(pos[i] * stride[i] + k[i] * dilation[i] for i in range(n))
                patch = xpad[(slice(None), slice(g * cg, (g + 1) * cg)) + idx]
                y[(slice(None), o) + pos] += patch @ w[(o, slice(None)) + k]
    if b is not None:
        y += b.reshape((1, -1) + (1,) * n)
    return y


def ref_deconv(x, w, b=None, pad=None, stride=None, dilation=None, group=1, output_padding=None):
    """Channel-first transposed convolution: every input pixel scatters its weighted kernel into the output."""
    n = x.ndim - 2
    pad, stride, dilation = _spatial(pad, n, 0), _spatial(stride, n, 1), _spatial(dilation, n, 1)
    output_padding = _spatial(output_padding, n, 0)
    kernel = w.shape[2:]
    size = x.shape[2:]
    full = [stride[i] * (size[i] - 1) + dilation[i] * (kernel[i] - 1) + 1 + output_padding[i] for i in range(n)]
    ic, ocg = w.shape[:2]
    icg = ic // group
    y = np.zeros((x.shape[0], ocg * group, *full))
    for c in range(ic):
        g = c // icg
        for pos in itertools.product(*map(range, size)):
            for k in itertools.product(*map(range, kernel)):
                idx = tuple(pos[i] * stride[i] + k[i] * dilation[i] for i in range(n))
                target = (slice(None), slice(g * ocg, (g + 1) * ocg)) + idx
                y[target] += x[(slice(None), c) + pos][:, None] * w[(c, slice(None)) + k][None, :]
    y = y[(Ellipsis,) + tuple(slice(p, f - p) for p, f in zip(pad, full))]
    if b is not None:
        y += b.reshape((1, -1) + (1,) * n)
    return y


def channel_last(ref):
    """A channel-first reference applied to channel-last x and weight."""

    def run(x, w, b=None, **kw):
        y = ref(np.moveaxis(x, -1, 1), np.moveaxis(w, -1, 1), b, **kw)
        return np.moveaxis(y, 1, -1)

    return run


def ref_depthwise_conv(x, w, b=None, multiplier=1, **kw):
    return ref_conv(x, w[:, None], b, group=x.shape[1], **kw)


def ref_depthwise_deconv(x, w, b=None, divisor=1, **kw):
    return ref_deconv(x, w[:, None], b, group=x.shape[1] // divisor, **kw)


def case(name, fn, ref, shapes, **kw):
    """A row whose fn and ref take the same keyword arguments ``kw``."""
    inputs = [randn(*s, seed=i) for i, s in enumerate(shapes)]
    return Case(name, lambda *v: fn(*v, **kw), lambda *a: ref(*a, **kw), inputs, atol=1e-5, grad_atol=1e-5)


CASES = [
    case("conv2d", F.convolution, ref_conv, [(2, 3, 5, 5), (4, 3, 3, 3), (4,)]),
    case("conv2d_pad_stride", F.convolution, ref_conv, [(1, 2, 4, 4), (3, 2, 3, 3)], pad=(1, 1), stride=(2, 2)),
    case("conv2d_dilation", F.convolution, ref_conv, [(1, 2, 5, 5), (2, 2, 2, 3)], pad=(2, 0), dilation=(2, 1)),
    case("conv2d_group", F.convolution, ref_conv, [(1, 4, 4, 4), (6, 2, 3, 3), (6,)], pad=(1, 1), group=2),
    case("conv2d_stride_uneven", F.convolution, ref_conv, [(1, 1, 6, 5), (2, 1, 3, 2)], stride=(2, 3)),
    Case(
        "conv2d_channel_last",
        lambda x, w, b: F.convolution(x, w, b, pad=(1, 1), stride=(2, 1), channel_last=True),
        lambda x, w, b: channel_last(ref_conv)(x, w, b, pad=(1, 1), stride=(2, 1)),
        [randn(1, 4, 4, 2), randn(3, 3, 3, 2, seed=1), randn(3, seed=2)],
        atol=1e-5,
    ),
    Case(
        "conv2d_channel_last_group",
        lambda x, w: F.convolution(x, w, group=2, channel_last=True),
        lambda x, w: channel_last(ref_conv)(x, w, group=2),
        [randn(1, 4, 4, 4), randn(2, 2, 2, 2, seed=1)],
        atol=1e-5,
    ),
    case("conv1d", F.convolution, ref_conv, [(2, 2, 9), (3, 2, 3), (3,)], pad=(1,), stride=(2,), dilation=(2,)),
    case("conv3d", F.convolution, ref_conv, [(1, 2, 3, 4, 4), (2, 2, 2, 3, 3)], pad=(1, 0, 1), stride=(1, 2, 1)),
    Case(
        "conv2d_base_axis2",
        lambda x, w: F.convolution(x, w, base_axis=2),
        lambda x, w: ref_conv(x.reshape(2, 2, 4, 4), w).reshape(1, 2, 2, 2, 2),
        [randn(1, 2, 2, 4, 4), randn(2, 2, 3, 3, seed=1)],
        atol=1e-5,
    ),
    Case(
        "conv2d_base_axis0",
        lambda x, w: F.convolution(x, w, base_axis=0),
        lambda x, w: ref_conv(x[None], w)[0],
        [randn(2, 4, 4), randn(3, 2, 3, 3, seed=1)],
        atol=1e-5,
    ),
    case("deconv2d", F.deconvolution, ref_deconv, [(1, 3, 3, 3), (3, 2, 3, 3), (2,)]),
    case(
        "deconv2d_stride_pad_output_padding",
        F.deconvolution,
        ref_deconv,
        [(1, 2, 3, 3), (2, 2, 3, 3)],
        pad=(1, 1),
        stride=(2, 2),
        output_padding=(1, 0),
    ),
    case(
        "deconv2d_group_dilation",
        F.deconvolution,
        ref_deconv,
        [(1, 4, 3, 3), (4, 1, 2, 2), (2,)],
        group=2,
        dilation=(2, 2),
        pad=(1, 0),
    ),
    Case(
        "deconv2d_channel_last",
        lambda x, w, b: F.deconvolution(x, w, b, stride=(2, 2), channel_last=True),
        lambda x, w, b: channel_last(ref_deconv)(x, w, b, stride=(2, 2)),
        [randn(1, 3, 3, 2), randn(2, 2, 2, 3, seed=1), randn(3, seed=2)],
        atol=1e-5,
    ),
    case("deconv1d", F.deconvolution, ref_deconv, [(2, 2, 4), (2, 3, 3)], stride=(3,), pad=(1,)),
    case("deconv3d", F.deconvolution, ref_deconv, [(1, 2, 2, 3, 2), (2, 1, 2, 2, 2)], stride=(2, 1, 2)),
    case("depthwise_conv2d", F.depthwise_convolution, ref_depthwise_conv, [(1, 3, 5, 5), (3, 3, 3), (3,)], pad=(1, 1)),
    case(
        "depthwise_conv2d_multiplier",
        F.depthwise_convolution,
        ref_depthwise_conv,
        [(1, 2, 5, 5), (4, 3, 3)],
        stride=(2, 2),
        dilation=(1, 2),
        multiplier=2,
    ),
    case("depthwise_conv1d", F.depthwise_convolution, ref_depthwise_conv, [(2, 3, 6), (3, 3), (3,)], stride=(2,)),
    case(
        "depthwise_deconv2d",
        F.depthwise_deconvolution,
        ref_depthwise_deconv,
        [(1, 4, 3, 3), (4, 2, 3), (2,)],
        divisor=2,
    ),
    case(
        "depthwise_deconv2d_stride_pad",
        F.depthwise_deconvolution,
        ref_depthwise_deconv,
        [(1, 2, 3, 3), (2, 3, 3)],
        stride=(2, 2),
        pad=(1, 1),
    ),
]


# Wider geometry for the channel-last column path, checked against the loop references (not in real NNabla's
# recorded table, which covers the rows above)
GEOMETRY_CASES = [
    case(
        "conv2d_group_stride_dilation",
        F.convolution,
        ref_conv,
        [(2, 6, 9, 8), (4, 3, 3, 2), (4,)],
        pad=(2, 1),
        stride=(2, 1),
        dilation=(2, 3),
        group=2,
    ),
    case("conv2d_one_group_per_channel", F.convolution, ref_conv, [(1, 4, 6, 6), (8, 1, 3, 3)], pad=(1, 1), group=4),
    case("conv2d_pad_wider_than_kernel", F.convolution, ref_conv, [(1, 2, 3, 4), (3, 2, 2, 2)], pad=(3, 2)),
    Case(
        "conv2d_channel_last_group_stride_dilation",
        lambda x, w: F.convolution(x, w, pad=(1, 2), stride=(1, 2), dilation=(2, 1), group=3, channel_last=True),
        lambda x, w: channel_last(ref_conv)(x, w, pad=(1, 2), stride=(1, 2), dilation=(2, 1), group=3),
        [randn(2, 6, 7, 6), randn(3, 2, 3, 2, seed=1)],
        atol=1e-5,
    ),
    case(
        "deconv2d_group_stride_dilation_pad",
        F.deconvolution,
        ref_deconv,
        [(2, 4, 4, 3), (4, 3, 3, 2), (6,)],
        group=2,
        stride=(2, 3),
        dilation=(1, 2),
        pad=(1, 1),
    ),
]


@pytest.mark.parametrize("case", GEOMETRY_CASES, ids=str)
def test_geometry_forward_and_grad(case):
    check_forward(case)
    check_grad(case)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_grad(case):
    check_grad(case)


def test_shapes_and_resolved_args():
    x = nn.Variable((2, 3, 8, 8))
    y = F.convolution(x, nn.Variable((4, 3, 3, 3)), pad=(1, 1), stride=(2, 2))
    assert y.shape == (2, 4, 4, 4)
    assert y.parent.info.args["dilation"] == (1, 1)
    assert F.deconvolution(y, nn.Variable((4, 3, 3, 3)), pad=(1, 1), stride=(2, 2), output_padding=(1, 1)).shape == (
        2,
        3,
        8,
        8,
    )
    assert F.depthwise_convolution(x, nn.Variable((6, 3, 3)), multiplier=2).shape == (2, 6, 6, 6)
    assert F.depthwise_deconvolution(x, nn.Variable((3, 3, 3)), divisor=3).shape == (2, 1, 10, 10)


def test_identity_kernel():
    x = randn(2, 3, 4, 4)
    w = np.zeros((3, 3, 3, 3), np.float32)
    for c in range(3):
        w[c, c, 1, 1] = 1
    y = F.convolution(nn.Variable.from_numpy_array(x), nn.Variable.from_numpy_array(w), pad=(1, 1))
    y.forward()
    np.testing.assert_allclose(y.d, x)


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: F.convolution(nn.Variable((2, 3, 8, 8)), nn.Variable((4, 5, 3, 3))), r"Convolution.*\(2, 3, 8, 8\)"),
        (
            lambda: F.convolution(nn.Variable((2, 3, 8, 8)), nn.Variable((4, 5, 3, 3))),
            r"weight of shape \(4, 5, 3, 3\)",
        ),
        (lambda: F.convolution(nn.Variable((2, 3, 8, 8)), nn.Variable((4, 3, 3))), "Convolution: weight.*4 dimensions"),
        (lambda: F.convolution(nn.Variable((2, 3, 8, 8)), nn.Variable((4, 3, 3, 3)), nn.Variable((3,))), "bias"),
        (lambda: F.convolution(nn.Variable((2, 4, 8, 8)), nn.Variable((3, 2, 3, 3)), group=2), "group=2"),
        (lambda: F.convolution(nn.Variable((2, 3, 2, 2)), nn.Variable((4, 3, 3, 3))), "no output"),
        (lambda: F.convolution(nn.Variable((2, 3, 8, 8)), nn.Variable((4, 3, 3, 3)), pad=(1,)), "pad=.*2 spatial"),
        (lambda: F.convolution(nn.Variable((2, 3)), nn.Variable((4, 3))), "base_axis"),
        (lambda: F.deconvolution(nn.Variable((2, 3, 4, 4)), nn.Variable((4, 3, 3, 3))), "Deconvolution.*3 channels"),
        (
            lambda: F.deconvolution(nn.Variable((2, 3, 4, 4)), nn.Variable((3, 2, 3, 3)), output_padding=(1, 1)),
            "output_padding",
        ),
        (lambda: F.depthwise_convolution(nn.Variable((2, 3, 8, 8)), nn.Variable((4, 3, 3))), "Depthwise.*multiplier"),
        (lambda: F.depthwise_convolution(nn.Variable((1, 2, 4, 4, 4)), nn.Variable((2, 3, 3, 3))), "1-D or 2-D"),
        (lambda: F.depthwise_deconvolution(nn.Variable((2, 3, 4, 4)), nn.Variable((3, 3, 3)), divisor=2), "divisor"),
    ],
)
def test_errors(build, match):
    with pytest.raises(FunctionError, match=match):
        build()


def test_results_do_not_share_the_reused_column_buffer():
    """The columns live in a buffer reused by the next convolution: no output or gradient may point into it."""
    x1, w1 = (
        nn.Variable.from_numpy_array(randn(2, 3, 6, 6), need_grad=True),
        nn.Variable.from_numpy_array(randn(4, 3, 3, 3, seed=1), need_grad=True),
    )
    y1 = F.convolution(x1, w1, pad=(1, 1))
    y2 = F.convolution(F.relu(y1), nn.Variable.from_numpy_array(randn(5, 4, 3, 3, seed=2)), pad=(2, 2))
    y2.forward()
    first = y1.d.copy()
    y2.backward()
    np.testing.assert_array_equal(y1.d, first)
    np.testing.assert_allclose(first, ref_conv(x1.d, w1.d, pad=(1, 1)), atol=1e-5)
    gx, gw = x1.g.copy(), w1.g.copy()
    F.convolution(nn.Variable.from_numpy_array(randn(3, 3, 9, 9, seed=3)), w1, pad=(1, 1)).forward()
    np.testing.assert_array_equal(x1.g, gx)
    np.testing.assert_array_equal(w1.g, gw)


@pytest.mark.parametrize("fn", [F.convolution, F.deconvolution], ids=["convolution", "deconvolution"])
@pytest.mark.parametrize("pad, channel_last", [((1, 1), False), ((0, 0), False), ((0, 0), True)])
def test_batch_in_slices_gives_the_same_results(fn, pad, channel_last, monkeypatch):
    """A batch whose columns exceed the budget goes through in slices (the last one smaller): same output and
    gradients as in one go, padded or not, with the input channel-first or channel-last in memory."""
    from nnabla._ops import convolution

    def run():
        x = nn.Variable.from_numpy_array(randn(5, 6, 5, 4) if channel_last else randn(5, 4, 6, 5), need_grad=True)
        w = nn.Variable.from_numpy_array(randn(4, 3, 2, 2, seed=1) if channel_last else randn(4, 2, 3, 2, seed=1))
        w.need_grad = True
        y = fn(x, w, pad=pad, stride=(2, 1), group=2, channel_last=channel_last)
        y.forward()
        y.backward(randn(*y.shape, seed=2))
        return y.d.copy(), x.g.copy(), w.g.copy()

    whole = run()

    def two_at_a_time(batch, per_sample, budget=None):
        return [slice(lo, min(lo + 2, batch)) for lo in range(0, batch, 2)]

    monkeypatch.setattr(convolution, "_batch_slices", two_at_a_time)  # slices of 2, 2 and 1 samples
    for a, b in zip(run(), whole):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pad", [(0, 0), (1, 1), (2, 0)])
def test_a_first_layer_reads_its_channel_first_input_in_slices(pad, monkeypatch):
    """Few channels (an image's 3): the columns run along output rows, read from the channel-first input in its
    own memory order (padded into a channel-first buffer, or not padded at all). Output and gradients match the
    loop reference, the batch in slices of 2, 2 and 1."""
    from nnabla._ops import convolution

    monkeypatch.setattr(
        convolution, "_batch_slices", lambda n, per, budget=None: [slice(lo, min(lo + 2, n)) for lo in range(0, n, 2)]
    )
    first_layer = case("first_layer", F.convolution, ref_conv, [(5, 3, 9, 10), (4, 3, 3, 3)], pad=pad)
    check_forward(first_layer)
    check_grad(first_layer)


def _conv_net_tail(h, batch_stat):
    """What follows a convolution in the benchmarks' nets: batch normalization, ReLU, max pooling, an average."""
    import nnabla.parametric_functions as PF

    h = F.relu(PF.batch_normalization(h, batch_stat=batch_stat, name="bn"))
    return F.sum(F.global_average_pooling(F.max_pooling(h, (2, 2))) * 0.5 + F.relu(h) * 0.01)


@pytest.mark.parametrize("batch_stat", [True, False])
def test_channel_first_outputs_hold_channels_last_and_the_ops_after_read_them(batch_stat):
    # a channel-first convolution returns a channel-first view of channel-last memory (no transposing copy);
    # batch normalization, ReLU, pooling and the average read it as it is: the same net fed a contiguous copy
    # of the convolution's output gives the same results and gradients
    rng = np.random.RandomState(0)
    xd, wd = rng.randn(4, 3, 8, 8).astype(np.float32), rng.randn(6, 3, 3, 3).astype(np.float32)
    results = []
    for contiguous in (False, True):
        nn.clear_parameters()
        x, w = nn.Variable.from_numpy_array(xd, need_grad=True), nn.Variable.from_numpy_array(wd, need_grad=True)
        h = F.convolution(x, w, pad=(1, 1))
        if contiguous:
            h = F.reshape(F.reshape(h, (4, 6 * 64)), (4, 6, 8, 8))  # numpy copies the view to reshape it
        y = _conv_net_tail(h, batch_stat)
        y.forward()
        assert np.moveaxis(h.d, 1, -1).flags.c_contiguous != contiguous
        x.grad.zero()
        w.grad.zero()
        y.backward()
        results.append((y.d.copy(), x.g.copy(), w.g.copy()))
    for ours, contiguous in zip(*results):
        np.testing.assert_allclose(ours, contiguous, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "x_shape, w_shape, pad, by_convolution",
    [
        ((2, 4, 12, 12), (5, 4, 5, 5), (0, 0), True),  # "valid", x 2.25 times y: the full convolution
        ((3, 4, 8, 7), (5, 4, 3, 3), (0, 1), True),  # pad on one axis only
        ((3, 4, 7, 7), (5, 4, 5, 5), (1, 1), True),  # pad 1 of 5: the convolution of y padded by 3
        ((3, 4, 7, 7), (5, 4, 5, 5), (0, 0), False),  # x 5.4 times y: col2im's scatter
        ((2, 3, 6), (4, 3, 3), (3,), False),  # pad >= kernel: no convolution pads by a negative amount
    ],
)
@pytest.mark.parametrize("threshold", ["as set", "always scatter"])
def test_stride_one_input_gradient_by_convolution_or_scatter(
    x_shape, w_shape, pad, by_convolution, threshold, monkeypatch
):
    """A stride-1 convolution's input gradient (and a deconvolution's forward) is the convolution of the output
    gradient by the flipped kernel where x is at most FULL_UP_TO times y; col2im's scatter otherwise. Both match
    the loop references, value and gradient."""
    from nnabla._ops import convolution

    if threshold == "always scatter":
        monkeypatch.setattr(convolution, "FULL_UP_TO", 0)
    conv = case("adjoint", F.convolution, ref_conv, [x_shape, w_shape], pad=pad)
    check_forward(conv)
    check_grad(conv)
    deconv_w = w_shape  # (inmaps: y's channels, outmaps: x's, *kernel)
    y_shape = (x_shape[0], w_shape[0]) + tuple(s + 2 * p - k + 1 for s, p, k in zip(x_shape[2:], pad, w_shape[2:]))
    deconv = case("adjoint", F.deconvolution, ref_deconv, [y_shape, deconv_w], pad=pad)
    check_forward(deconv)
    # which way it went: a deconvolution's forward calls conv_cl only as the adjoint's convolution
    calls = []
    real = convolution.conv_cl
    monkeypatch.setattr(convolution, "conv_cl", lambda *a, **k: calls.append(a[4]) or real(*a, **k))
    F.deconvolution(
        nn.Variable.from_numpy_array(randn(*y_shape)), nn.Variable.from_numpy_array(randn(*deconv_w)), pad=pad
    ).forward()
    expected = by_convolution and threshold == "as set"
    assert calls == ([tuple(k - 1 - p for k, p in zip(w_shape[2:], pad))] if expected else [])
