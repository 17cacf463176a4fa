"""Pooling, unpooling and interpolation against loop references that follow NNabla's window and index rules."""

import itertools
import math

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn


def distinct(*shape, seed=0):
    """Values at least 0.1 apart, so no window has a tie for its maximum."""
    n = math.prod(shape)
    return (np.random.RandomState(seed).permutation(n).reshape(shape) * 0.1 - n * 0.05).astype(np.float32)


def ref_pool(x, kernel, stride=None, ignore_border=True, pad=None, channel_last=False, mode="max", including_pad=True):
    """Pooling by a loop over output positions, each window clipped as NNabla clips it."""
    nk = len(kernel)
    stride = stride or kernel
    pad = pad or (0,) * nk
    if channel_last:
        x = np.moveaxis(x, -1, -nk - 1)
    size = x.shape[x.ndim - nk :]
    # C++ integer division truncates toward zero
    out = [int((s + p - (k - p if ignore_border else 1)) / st) + 1 for s, k, st, p in zip(size, kernel, stride, pad)]
    y = np.zeros(x.shape[: x.ndim - nk] + tuple(out))
    for pos in itertools.product(*map(range, out)):
        start = [o * st - p for o, st, p in zip(pos, stride, pad)]
        end = [min(b + k, s + p) for b, k, s, p in zip(start, kernel, size, pad)]
        with_pad = math.prod(e - b for b, e in zip(start, end))
        start = [max(b, 0) for b in start]
        end = [min(e, s) for e, s in zip(end, size)]
        window = x[(Ellipsis,) + tuple(slice(b, e) for b, e in zip(start, end))]
        window = window.reshape(window.shape[: window.ndim - nk] + (-1,))
        if mode == "max":
            value = window.max(-1)
        else:
            value = window.sum(-1)
            if mode == "average":
                value = value / (with_pad if including_pad else window.shape[-1])
        y[(Ellipsis,) + pos] = value
    return np.moveaxis(y, -nk - 1, -1) if channel_last else y


def ref_unpool(x, kernel, channel_last=False):
    first = x.ndim - len(kernel) - (1 if channel_last else 0)
    for i, k in enumerate(kernel):
        x = np.repeat(x, k, axis=first + i)
    return x


def ref_interpolate(x, output_size, mode, align_corners=False, half_pixel=False, half_pixel_for_nn=False, cl=False):
    """Interpolation by a loop over output positions, with NNabla's float32 coordinate transform."""
    n = len(output_size)
    if cl:
        x = np.moveaxis(x, -1, -n - 1)
    in_size = x.shape[x.ndim - n :]
    f32 = np.float32

    def source(i, o, d):
        if mode == "nearest" and half_pixel_for_nn:
            return f32(i) / f32(o) * (f32(d) + f32(0.5))
        scale = f32(0) if o <= 1 else (f32(i - 1) / f32(o - 1) if align_corners else f32(i) / f32(o))
        return max(f32(0), scale * (f32(d) + f32(0.5)) - f32(0.5)) if half_pixel else scale * f32(d)

    y = np.zeros(x.shape[: x.ndim - n] + tuple(output_size))
    for pos in itertools.product(*map(range, output_size)):
        src = [source(i, o, d) for i, o, d in zip(in_size, output_size, pos)]
        if mode == "nearest":
            y[(Ellipsis,) + pos] = x[(Ellipsis,) + tuple(min(int(f), i - 1) for f, i in zip(src, in_size))]
            continue
        for corner in itertools.product((0, 1), repeat=n):
            idx, weight = [], 1.0
            for f, i, c in zip(src, in_size, corner):
                low = int(f)
                idx.append(min(low + c, i - 1))
                weight *= float(f - f32(low)) if c else 1 - float(f - f32(low))
            y[(Ellipsis,) + pos] += weight * x[(Ellipsis,) + tuple(idx)]
    return np.moveaxis(y, -n - 1, -1) if cl else y


def pool(name, fn, mode, x, **kw):
    extra = {"including_pad": kw.pop("including_pad")} if "including_pad" in kw else {}
    return Case(
        name,
        lambda v: fn(v, **kw, **extra),
        lambda a: ref_pool(a, mode=mode, **kw, **extra),
        [x],
    )


def interp(name, x, output_size=None, scale=None, **kw):
    size = output_size
    if size is None:
        n = len(scale)
        spatial = x.shape[-n - 1 : -1] if kw.get("channel_last") else x.shape[-n:]
        size = [int(math.floor(s * d)) for s, d in zip(scale, spatial)]
    ref_kw = {k if k != "channel_last" else "cl": v for k, v in kw.items()}
    return Case(
        name,
        lambda v: F.interpolate(v, scale=scale, output_size=output_size, **kw),
        lambda a: ref_interpolate(a, size, **ref_kw),
        [x],
    )


CASES = [
    pool("max_2x2", F.max_pooling, "max", distinct(2, 3, 4, 4), kernel=(2, 2)),
    pool("max_3x3_stride2_pad1", F.max_pooling, "max", distinct(1, 2, 5, 5), kernel=(3, 3), stride=(2, 2), pad=(1, 1)),
    pool("max_keep_border", F.max_pooling, "max", distinct(1, 2, 5, 5), kernel=(2, 2), ignore_border=False),
    pool(
        "max_keep_border_pad",
        F.max_pooling,
        "max",
        distinct(1, 2, 5, 4),
        kernel=(3, 2),
        stride=(2, 2),
        ignore_border=False,
        pad=(1, 1),
    ),
    pool("max_channel_last", F.max_pooling, "max", distinct(1, 4, 4, 3), kernel=(2, 2), channel_last=True),
    pool("max_3d", F.max_pooling, "max", distinct(1, 1, 4, 4, 4), kernel=(2, 2, 2), stride=(2, 1, 2)),
    pool("max_no_channel_axis", F.max_pooling, "max", distinct(3, 5, 4), kernel=(2, 2)),
    pool("average_2x2", F.average_pooling, "average", randn(2, 3, 4, 4), kernel=(2, 2)),
    pool(
        "average_pad_including",
        F.average_pooling,
        "average",
        randn(1, 2, 5, 5),
        kernel=(3, 3),
        stride=(2, 2),
        pad=(1, 1),
    ),
    pool(
        "average_pad_excluding",
        F.average_pooling,
        "average",
        randn(1, 2, 5, 5),
        kernel=(3, 3),
        stride=(2, 2),
        pad=(1, 1),
        including_pad=False,
    ),
    pool(
        "average_keep_border_pad",
        F.average_pooling,
        "average",
        randn(1, 2, 4, 5),
        kernel=(3, 3),
        stride=(2, 2),
        ignore_border=False,
        pad=(1, 1),
    ),
    pool(
        "average_keep_border_excluding",
        F.average_pooling,
        "average",
        randn(1, 1, 5, 5),
        kernel=(2, 3),
        ignore_border=False,
        pad=(1, 0),
        including_pad=False,
    ),
    pool("average_kernel_over_border", F.average_pooling, "average", randn(1, 2, 2, 2), kernel=(3, 3)),
    pool("max_kernel_over_border", F.max_pooling, "max", distinct(1, 2, 2, 4), kernel=(3, 3), stride=(2, 2)),
    pool("average_channel_last", F.average_pooling, "average", randn(1, 4, 4, 2), kernel=(2, 2), channel_last=True),
    pool("average_3d", F.average_pooling, "average", randn(1, 1, 3, 4, 4), kernel=(2, 2, 2), pad=(1, 0, 1)),
    pool("sum_2x2", F.sum_pooling, "sum", randn(2, 2, 4, 4), kernel=(2, 2)),
    pool(
        "sum_keep_border_pad", F.sum_pooling, "sum", randn(1, 2, 5, 5), kernel=(3, 3), ignore_border=False, pad=(1, 1)
    ),
    pool("sum_channel_last", F.sum_pooling, "sum", randn(1, 3, 4, 2), kernel=(2, 2), stride=(1, 2), channel_last=True),
    Case("global_average_4d", F.global_average_pooling, lambda x: x.mean((2, 3), keepdims=True), [randn(2, 3, 4, 4)]),
    Case("global_average_3d", F.global_average_pooling, lambda x: x.mean(2)[..., None, None], [randn(2, 3, 5)]),
    Case("global_average_2d", F.global_average_pooling, lambda x: x[..., None, None], [randn(2, 3)]),
    Case("unpooling", lambda x: F.unpooling(x, (2, 2)), lambda x: ref_unpool(x, (2, 2)), [randn(1, 2, 2, 3)]),
    Case(
        "unpooling_channel_last",
        lambda x: F.unpooling(x, (2, 3), channel_last=True),
        lambda x: ref_unpool(x, (2, 3), channel_last=True),
        [randn(1, 2, 2, 3)],
    ),
    Case("unpooling_3d", lambda x: F.unpooling(x, (1, 2, 2)), lambda x: ref_unpool(x, (1, 2, 2)), [randn(2, 2, 2, 2)]),
    interp("linear_2d_scale2", randn(1, 2, 3, 4), scale=(2, 2), mode="linear"),
    interp("linear_2d_align_corners", randn(1, 2, 3, 4), output_size=(5, 7), mode="linear", align_corners=True),
    interp("linear_2d_half_pixel", randn(1, 2, 3, 4), output_size=(6, 5), mode="linear", half_pixel=True),
    interp("linear_2d_down", randn(1, 1, 6, 5), output_size=(4, 2), mode="linear", half_pixel=True),
    interp("linear_1d", randn(2, 2, 5), scale=(1.5,), mode="linear"),
    interp("linear_1d_to_one", randn(2, 2, 5), output_size=(1,), mode="linear", align_corners=True),
    interp("linear_3d", randn(1, 1, 2, 3, 2), output_size=(3, 4, 3), mode="linear", align_corners=True),
    interp("linear_channel_last", randn(1, 3, 3, 2), scale=(2, 1.5), mode="linear", channel_last=True),
    interp("nearest_2d", randn(1, 2, 3, 4), scale=(2, 2), mode="nearest"),
    interp("nearest_2d_half_pixel", randn(1, 2, 4, 3), output_size=(6, 5), mode="nearest", half_pixel=True),
    interp("nearest_half_pixel_for_nn", randn(1, 2, 3, 4), output_size=(5, 7), mode="nearest", half_pixel_for_nn=True),
    interp("nearest_align_corners", randn(1, 1, 3, 4), output_size=(5, 6), mode="nearest", align_corners=True),
    interp("nearest_1d_down", randn(2, 7), output_size=(3,), mode="nearest"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_grad(case):
    check_grad(case)


def test_output_size_rules():
    x = nn.Variable((2, 3, 7, 6))
    assert F.max_pooling(x, (2, 2)).shape == (2, 3, 3, 3)
    assert F.max_pooling(x, (2, 2), ignore_border=False).shape == (2, 3, 4, 3)
    assert F.max_pooling(x, (3, 3), (2, 2), True, (1, 1)).shape == (2, 3, 4, 3)
    assert F.average_pooling(x, (3, 3), (2, 2), False, (1, 1)).shape == (2, 3, 4, 4)
    assert F.sum_pooling(x, (2, 3), channel_last=True).shape == (2, 1, 2, 6)
    y = F.max_pooling(x, (2, 2))
    assert y.parent.info.args["stride"] == (2, 2) and y.parent.info.args["pad"] == (0, 0)
    assert F.interpolate(x, scale=(1.5, 0.5)).shape == (2, 3, 10, 3)
    assert F.interpolate(x, output_size=(4, 4)).parent.info.args["align_corners"] is False
    assert F.unpooling(x, (2, 3)).shape == (2, 3, 14, 18)


def test_average_pooling_counts_padding():
    x = nn.Variable.from_numpy_array(np.ones((1, 1, 2, 2), np.float32))
    with_pad = F.average_pooling(x, (2, 2), pad=(1, 1))
    without = F.average_pooling(x, (2, 2), pad=(1, 1), including_pad=False)
    with_pad.forward()
    without.forward()
    np.testing.assert_allclose(with_pad.d, np.full((1, 1, 2, 2), 0.25))
    np.testing.assert_allclose(without.d, np.ones((1, 1, 2, 2)))


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: F.max_pooling(nn.Variable((2, 3, 8)), (2,)), "MaxPooling.*2-D and 3-D"),
        (lambda: F.max_pooling(nn.Variable((2, 3, 8, 8)), (2, 2), stride=(1,)), "MaxPooling: stride"),
        (lambda: F.average_pooling(nn.Variable((2, 3, 2, 2)), (5, 5), (1, 1)), r"AveragePooling.*\(2, 3, 2, 2\)"),
        (lambda: F.sum_pooling(nn.Variable((2, 2)), (2, 2), channel_last=True), "SumPooling.*more dimensions"),
        (lambda: F.global_average_pooling(nn.Variable((4,))), "GlobalAveragePooling"),
        (lambda: F.unpooling(nn.Variable((2, 2)), (2, 2, 2)), "Unpooling"),
        (lambda: F.interpolate(nn.Variable((1, 1, 4, 4)), scale=(2, 2), mode="cubic"), "Interpolate.*mode"),
        (
            lambda: F.interpolate(nn.Variable((1, 1, 4, 4)), scale=(2, 2), align_corners=True, half_pixel=True),
            "Interpolate.*half_pixel",
        ),
        (lambda: F.interpolate(nn.Variable((1, 1, 2, 2, 2, 2)), output_size=(2, 2, 2, 2)), "Interpolate.*1-D"),
    ],
)
def test_errors(build, match):
    with pytest.raises(FunctionError, match=match):
        build()


def test_interpolate_needs_a_size():
    with pytest.raises(ValueError, match="scale or output_size"):
        F.interpolate(nn.Variable((1, 1, 4, 4)))


@pytest.mark.parametrize("memory", ["channel-first", "channel-last"])
@pytest.mark.parametrize("name", __import__("nnabla_fixtures").names("pooling"))
def test_pooling_is_bit_for_bit_nnabla(name, memory):
    """Sum, average and max pooling give NNabla 1.36's bits (stored in fixtures/pooling.npz), forward and backward:
    each window summed in its own order and then divided, and each input's share of overlapping windows added in
    the outputs' order, as NNabla's loops do; the same for a channel-first view of channel-last memory (what a
    convolution hands on), whose output and gradient keep that memory order."""
    import nnabla_fixtures

    data = nnabla_fixtures.stored("pooling")
    build, _, _ = nnabla_fixtures.FAMILIES["pooling"][name]
    x = data[f"{name}/x0"]
    if memory == "channel-last":
        x = np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 1, -1)), -1, 1)
    v = nn.Variable.from_numpy_array(x, need_grad=True)
    y = build(F, v)
    y.forward()
    np.testing.assert_array_equal(y.d, data[f"{name}/y0"])
    v.grad.zero()
    y.backward(data[f"{name}/w0"])
    np.testing.assert_array_equal(v.g.view(np.uint32), data[f"{name}/g0"].view(np.uint32))  # (+0.0 is not -0.0)
    if memory == "channel-last":
        assert np.moveaxis(y.d, 1, -1).flags.c_contiguous, "the output keeps the input's memory order"


@pytest.mark.parametrize("kernel, stride", [((2, 2), None), ((3, 3), (2, 2))], ids=["tiling", "overlapping"])
def test_max_pooling_gradient_is_positive_zero_off_the_maxima(kernel, stride):
    """Off each window's maximum the gradient is +0.0, as in NNabla 1.36 (which adds into a zeroed gradient), even
    where the incoming gradient is negative or infinite (0 * g would give -0.0 and NaN)."""
    x = nn.Variable.from_numpy_array(
        np.arange(36, dtype=np.float32).reshape(1, 1, 6, 6)[..., ::-1].copy(), need_grad=True
    )
    y = F.max_pooling(x, kernel, stride) if stride else F.max_pooling(x, kernel)
    y.forward()
    x.g = 0
    g = -np.ones(y.shape, np.float32)
    g.flat[:2] = [np.inf, -np.inf]
    y.backward(g)
    maxima = {"tiling": [6, 8, 10, 18, 20, 22, 30, 32, 34], "overlapping": [12, 14, 24, 26]}
    want = np.zeros(36, np.float32)  # (NNabla's values, read off the reference)
    spots = maxima["tiling" if stride is None else "overlapping"]
    want[spots] = -1.0
    want[spots[:2]] = [np.inf, -np.inf]
    np.testing.assert_array_equal(x.g.reshape(-1).view(np.uint32), want.view(np.uint32))
