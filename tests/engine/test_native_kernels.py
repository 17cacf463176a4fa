"""The native convolution kernels (engine/nnabla/_native): where they are built they compute every float32
convolution of one group and one or two spatial axes on numpy, forward and both gradients, as numpy's im2col path
does; shared between threads they give the one-thread bits; they can be turned off; bad arrays never reach them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import nnabla as nn
import nnabla.functions as F
from nnabla import _native
from nnabla._native import build
from nnabla._ops import _blas, convolution

needs_native = pytest.mark.skipif(not _native.available(), reason="the native kernels are not built here")


def test_the_kernels_are_built_wherever_they_can_be():
    """On x86-64 Linux with a C compiler (CI's machines) the install built them and this CPU runs one build."""
    if build.supported() is not None:
        pytest.skip(build.supported())
    from nnabla._native import _load

    if os.environ.get("NNABLA_NB_NATIVE", "") != "0":
        _load()
        assert _native.available(), f"{_native.LIBRARY} was not built by the install"
        assert _native.isa() in ("avx512", "avx2")


CASES = {
    "same 3x3": dict(x=(4, 8, 10, 10), w=(12, 8, 3, 3), pad=(1, 1)),
    "valid 5x5, one input channel (a first layer)": dict(x=(5, 1, 12, 12), w=(16, 1, 5, 5)),
    "three input channels, padded": dict(x=(3, 3, 9, 11), w=(32, 3, 3, 3), pad=(1, 1)),
    "strided": dict(x=(3, 4, 11, 11), w=(6, 4, 3, 3), stride=(2, 2), pad=(1, 1)),
    "dilated both ways, uneven": dict(x=(2, 5, 13, 12), w=(20, 5, 3, 2), dilation=(2, 3), pad=(2, 1)),
    "strided and dilated columns": dict(x=(2, 3, 9, 17), w=(7, 3, 2, 3), stride=(1, 3), dilation=(1, 2)),
    "output channels past two vectors (33)": dict(x=(2, 6, 7, 7), w=(33, 6, 3, 3), pad=(1, 1)),
    "48 output channels, wide rows": dict(x=(1, 4, 3, 40), w=(48, 4, 1, 3)),
    "one output pixel": dict(x=(3, 2, 3, 3), w=(5, 2, 3, 3)),
    "one-dimensional": dict(x=(3, 4, 19), w=(9, 4, 4), pad=(2,), stride=(2,)),
    "channel last": dict(x=(2, 9, 8, 6), w=(10, 3, 3, 6), pad=(1, 1), channel_last=True),
}


def _run(case, native, seed=0):
    rng = np.random.RandomState(seed)
    x = nn.Variable.from_numpy_array(rng.randn(*case["x"]).astype(np.float32), need_grad=True)
    w = nn.Variable.from_numpy_array(rng.randn(*case["w"]).astype(np.float32), need_grad=True)
    b = nn.Variable.from_numpy_array(rng.randn(case["w"][0]).astype(np.float32), need_grad=True)
    args = {k: v for k, v in case.items() if k not in ("x", "w")}
    calls = []
    original = _native.conv2d_forward, _native.conv2d_weight_grad

    def counted(f):
        def run(*a):
            calls.append(f.__name__)
            return f(*a)

        return run

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_native, "available", lambda: native and _native_built)
        mp.setattr(_native, "conv2d_forward", counted(original[0]))
        mp.setattr(_native, "conv2d_weight_grad", counted(original[1]))
        y = F.convolution(x, w, b, **args)
        y.forward()
        y.backward(rng.randn(*y.shape).astype(np.float32))
    return (y.d.copy(), x.g.copy(), w.g.copy(), b.g.copy()), calls


_native_built = _native.available()


def _close(a, b):
    scale = max(np.abs(b).max(), 1.0)
    return np.abs(a - b).max() <= 2e-6 * scale


@needs_native
@pytest.mark.parametrize("name", list(CASES))
def test_native_convolution_matches_numpys(name):
    """Output, input gradient, weight gradient and bias gradient agree with numpy's im2col path."""
    ours, calls = _run(CASES[name], native=True)
    assert "conv2d_forward" in calls and "conv2d_weight_grad" in calls
    reference, none = _run(CASES[name], native=False)
    assert none == []
    for got, want, what in zip(ours, reference, ("y", "gx", "gw", "gb")):
        assert got.shape == want.shape, what
        assert _close(got, want), (what, np.abs(got - want).max())


@needs_native
def test_native_forward_against_a_direct_sum():
    """An independent reference: the convolution as an explicit sum over the kernel, in float64."""
    rng = np.random.RandomState(1)
    x = rng.randn(2, 3, 7, 8).astype(np.float32)
    w = rng.randn(17, 3, 3, 2).astype(np.float32)
    stride, dilation, pad = (2, 1), (1, 2), (1, 2)
    y = F.convolution(
        nn.NdArray.from_numpy_array(x), nn.NdArray.from_numpy_array(w), None, pad=pad, stride=stride, dilation=dilation
    ).data
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad[0],) * 2, (pad[1],) * 2))
    want = np.zeros(y.shape)
    for i in range(y.shape[2]):
        for j in range(y.shape[3]):
            rows = i * stride[0] + dilation[0] * np.arange(3)
            cols = j * stride[1] + dilation[1] * np.arange(2)
            patch = xp[:, :, rows][:, :, :, cols]  # (B, C, 3, 2)
            want[:, :, i, j] = np.einsum("bckl,ockl->bo", patch, w.astype(np.float64))
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


@needs_native
def test_deconvolution_runs_on_the_native_kernels_too():
    """A stride-1 deconvolution's forward is a convolution; its weight gradient is one with the roles swapped."""
    case = dict(x=(2, 6, 7, 7), w=(6, 5, 3, 3), pad=(1, 1))
    results = []
    for native in (True, False):
        rng = np.random.RandomState(0)
        x = nn.Variable.from_numpy_array(rng.randn(*case["x"]).astype(np.float32), need_grad=True)
        w = nn.Variable.from_numpy_array(rng.randn(*case["w"]).astype(np.float32), need_grad=True)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_native, "available", lambda: native)
            y = F.deconvolution(x, w, pad=case["pad"])
            y.forward()
            y.backward(rng.randn(*y.shape).astype(np.float32))
        results.append((y.d.copy(), x.g.copy(), w.g.copy()))
    for got, want in zip(*results):
        assert _close(got, want)


@needs_native
@pytest.mark.parametrize("name", ["same 3x3", "valid 5x5, one input channel (a first layer)", "strided"])
def test_a_shared_native_convolution_is_bitwise_the_one_thread_result(monkeypatch, name):
    """Slices of the batch dealt out to threads: each is computed as alone, the weight gradient's slices are summed
    in the batch's order, so the bits do not depend on the thread count."""
    monkeypatch.setattr(convolution, "NATIVE_SHARE_FROM", 0)
    monkeypatch.setattr(convolution, "NATIVE_SLICES", 4)  # a slice per image or two
    with threadpool_limits(1, user_api="blas"):
        alone, _ = _run(CASES[name], native=True)
    workers = set()
    forward = _native.conv2d_forward

    def spy(*args):
        workers.add(threading.current_thread().name)
        if threading.current_thread() is threading.main_thread():
            time.sleep(0.002)  # (a slow caller: the helper surely takes some of the parts)
        return forward(*args)

    monkeypatch.setattr(_native, "conv2d_forward", spy)
    with threadpool_limits(2, user_api="blas"):
        shared, _ = _run(CASES[name], native=True)
    assert any(n.startswith("nnabla-slices") for n in workers), workers
    for a, b in zip(alone, shared):
        assert np.array_equal(a, b)


def test_float64_grouped_and_3d_convolutions_stay_on_numpy(monkeypatch):
    monkeypatch.setattr(_native, "available", lambda: True)
    rng = np.random.RandomState(0)
    x32, w32 = rng.randn(2, 4, 6, 6).astype(np.float32), rng.randn(6, 4, 3, 3).astype(np.float32)
    assert convolution._native_fits(np, x32, w32, 1)
    assert not convolution._native_fits(np, x32.astype(np.float64), w32.astype(np.float64), 1)
    assert not convolution._native_fits(np, x32, w32[:, :2], 2)
    assert not convolution._native_fits(np, x32[..., None], w32[..., None], 1)
    assert not convolution._native_fits(np, x32[:0], w32, 1)


def test_off_by_the_environment():
    code = "from nnabla import _native; print(_native.available(), _native.isa())"
    env = dict(os.environ, NNABLA_NB_NATIVE="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "None"]


@needs_native
def test_the_avx2_build_gives_the_same_bits():
    """Both builds add each sum in the same order with fused multiply-adds: an AVX2-only CPU reproduces the bits."""
    code = (
        "import numpy as np, nnabla as nn, nnabla.functions as F\n"
        "from nnabla import _native\n"
        "rng = np.random.RandomState(0)\n"
        "x = nn.Variable.from_numpy_array(rng.randn(3, 5, 9, 9).astype(np.float32), need_grad=True)\n"
        "w = nn.Variable.from_numpy_array(rng.randn(20, 5, 3, 3).astype(np.float32), need_grad=True)\n"
        "y = F.convolution(x, w, pad=(1, 1)); y.forward(); y.backward(rng.randn(*y.shape).astype(np.float32))\n"
        "print(_native.isa(), y.d.tobytes().hex()[:4000], w.g.tobytes().hex(), x.g.tobytes().hex()[:4000])\n"
    )
    runs = []
    for choice in ("avx2", "1"):
        env = dict(os.environ, NNABLA_NB_NATIVE=choice)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        runs.append(out.stdout.split())
    assert runs[0][0] == "avx2"
    assert runs[0][1:] == runs[1][1:]


@needs_native
def test_arrays_the_kernels_cannot_take_are_refused_before_native_code_runs():
    x = np.zeros((1, 5, 5, 3), np.float32)
    w = _native.pack_weight(np.zeros((4, 3, 3, 3), np.float32))
    no_pad, one = (0, 0), (1, 1)
    with pytest.raises(ValueError, match="contiguous float32"):
        _native.conv2d_forward(x.astype(np.float64), no_pad, w, np.empty((1, 3, 3, 4), np.float32), one, one)
    with pytest.raises(ValueError, match="contiguous float32"):
        _native.conv2d_forward(x[:, ::2], no_pad, w, np.empty((1, 1, 3, 4), np.float32), one, one)
    with pytest.raises(ValueError, match="too small"):
        _native.conv2d_forward(x, no_pad, w, np.empty((1, 4, 3, 4), np.float32), one, one)
    with pytest.raises(ValueError, match="too small"):
        _native.conv2d_forward(x, (1, 0), w, np.empty((1, 5, 5, 4), np.float32), one, one)
    with pytest.raises(ValueError, match="do not agree"):
        _native.conv2d_weight_grad(x, no_pad, np.zeros((1, 3, 3, 17), np.float32), w, one, one)
    with pytest.raises(ValueError, match="do not agree"):
        _native.conv2d_forward(x[..., :2].copy(), no_pad, w, np.empty((1, 3, 3, 4), np.float32), one, one)


def test_no_compiler_means_no_library_and_a_reason(monkeypatch, tmp_path):
    monkeypatch.setattr(build, "LIBRARY", tmp_path / "libnnbkernels.so")
    monkeypatch.setenv("CC", "no-such-compiler-here")
    said = []
    assert build.build(force=True, log=said.append) is None
    assert "numpy" in said[0]
    assert not (tmp_path / "libnnbkernels.so").exists()


# -- batch normalization and ReLU's gradient on the native passes ---------------------------------------------


def _batch_norm_run(native, x_data, channel_last_memory, batch_stat=True, affine=True, seed=0):
    """A batch normalization after a convolution (channel-last memory) or on (N, C); its outputs and gradients."""
    rng = np.random.RandomState(seed)
    nn.clear_parameters()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_native, "available", lambda: native and _native_built)
        x = nn.Variable.from_numpy_array(x_data, need_grad=True)
        h = x
        if channel_last_memory:
            w = nn.Variable.from_numpy_array(rng.randn(6, x_data.shape[1], 3, 3).astype(np.float32), need_grad=True)
            h = F.convolution(x, w, pad=(1, 1))
        c = h.shape[1]
        shape = (1, c) + (1,) * (h.ndim - 2)
        beta = nn.Variable.from_numpy_array(rng.randn(*shape).astype(np.float32), need_grad=True) if affine else None
        gamma = nn.Variable.from_numpy_array(rng.rand(*shape).astype(np.float32) + 0.5, need_grad=True)
        gamma = gamma if affine else None
        mean = nn.Variable.from_numpy_array(rng.randn(*shape).astype(np.float32))
        var = nn.Variable.from_numpy_array(rng.rand(*shape).astype(np.float32) + 0.1)
        y = F.batch_normalization(h, beta, gamma, mean, var, batch_stat=batch_stat)
        y.forward()
        y.backward(rng.randn(*y.shape).astype(np.float32))
    grads = [x.g.copy()] + [v.g.copy() for v in (beta, gamma) if v is not None]
    return [y.d.copy(), mean.d.copy(), var.d.copy()] + grads


BATCH_NORMS = {
    "after a convolution (channel-last memory)": (np.float32(3) * np.random.RandomState(2).randn(4, 3, 6, 7), True),
    "on (N, C)": (np.random.RandomState(3).randn(300, 5) * 2 + 1, False),
}


@needs_native
@pytest.mark.parametrize("affine", [True, False], ids=["beta and gamma", "neither"])
@pytest.mark.parametrize("name", list(BATCH_NORMS))
def test_native_batch_normalization_matches_numpys(name, affine):
    data, conv = BATCH_NORMS[name]
    data = data.astype(np.float32)
    ours = _batch_norm_run(True, data, conv, affine=affine)
    reference = _batch_norm_run(False, data, conv, affine=affine)
    for got, want in zip(ours, reference):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5 * max(1.0, np.abs(want).max()))


@needs_native
def test_native_batch_statistics_far_from_zero_are_at_least_as_close_to_float64():
    """Float64 sums about a sample of each channel: data at 100 +- 0.01 normalize at least as closely to the exact
    result as numpy's float32 path does."""
    x = (np.random.RandomState(3).randn(300, 5) * 0.01 + 100).astype(np.float32)
    exact = x.astype(np.float64)
    exact = (exact - exact.mean(0)) / np.sqrt(exact.var(0) + 1e-5)
    errors = []
    for native in (True, False):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_native, "available", lambda: native and _native_built)
            y = F.batch_normalization(
                nn.Variable.from_numpy_array(x), None, None, nn.Variable((1, 5)), nn.Variable((1, 5)), batch_stat=True
            )
            y.forward()
        errors.append(np.abs(y.d - exact).max())
    assert errors[0] <= errors[1] + 1e-6, errors


@needs_native
@pytest.mark.parametrize("name", list(BATCH_NORMS))
def test_native_batch_normalization_in_inference_has_numpys_bits(name):
    """With the running statistics the arithmetic per element is numpy's: x * scale + shift, rounded the same."""
    data, conv = BATCH_NORMS[name]
    ours = _batch_norm_run(True, data.astype(np.float32), conv, batch_stat=False)
    reference = _batch_norm_run(False, data.astype(np.float32), conv, batch_stat=False)
    assert np.array_equal(ours[0], reference[0])
    for got, want in zip(ours[1:], reference[1:]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@needs_native
def test_native_batch_statistics_do_not_depend_on_the_thread_count(monkeypatch):
    data = np.random.RandomState(4).randn(16, 3, 16, 16).astype(np.float32)
    monkeypatch.setattr(_blas, "PASS_BLOCK", 512)
    monkeypatch.setattr(_blas, "PASS_SHARE_FROM", 0)
    with threadpool_limits(1, user_api="blas"):
        alone = _batch_norm_run(True, data, True)
    with threadpool_limits(2, user_api="blas"):
        shared = _batch_norm_run(True, data, True)
    for a, b in zip(alone, shared):
        assert np.array_equal(a, b)


def _special_values(shape, seed):
    rng = np.random.RandomState(seed)
    a = rng.randn(*shape).astype(np.float32)
    a.flat[:8] = [np.nan, -0.0, 0.0, 1.0, 2.0, 3.0, np.inf, -np.inf]
    return a


@needs_native
def test_native_relu_and_its_gradient_have_numpys_bits():
    """ReLU: x where x > 0, +0.0 elsewhere (NaN and -0.0 too: fmax); its gradient: g's bits where y > 0 (NaN, inf
    and -0.0 kept), +0.0 elsewhere. On channel-first views of channel-last memory, the result laid out alike."""
    from nnabla._ops import activation
    from nnabla._ops._base import extreme, where_else_zero

    x = np.moveaxis(_special_values((8, 40, 9, 11), 5), -1, 1)
    g = np.moveaxis(np.roll(_special_values((8, 40, 9, 11), 6), 3), -1, 1)
    y = activation._relu(np, x)
    assert y.strides == x.strides
    assert y.view(np.uint32).tolist() == extreme(np, np.fmax, x, 0).view(np.uint32).tolist()
    got = activation.ReLU.backward_unary(None, np, x, y, g)
    assert got.strides == y.strides
    assert got.view(np.uint32).tolist() == where_else_zero(np, y > 0, g).view(np.uint32).tolist()


@needs_native
def test_native_add_has_numpys_bits_and_other_operands_go_to_numpy(monkeypatch):
    a = np.moveaxis(_special_values((4, 30, 10, 16), 7), -1, 1)
    b = np.moveaxis(_special_values((4, 30, 10, 16), 8), -1, 1)
    calls, add = [], _native.add
    monkeypatch.setattr(_native, "add", lambda *args: (calls.append(1), add(*args)))
    y = F.add2(nn.NdArray.from_numpy_array(a), nn.NdArray.from_numpy_array(b)).data
    assert calls
    assert np.array_equal((a + b).view(np.uint32), y.view(np.uint32))
    monkeypatch.setattr(_native, "add", lambda *args: pytest.fail("the native pass ran"))
    c = np.ascontiguousarray(b)
    for x0, x1 in ((a, c), (a[:1], b), (a[:, :, :1], b)):  # other layouts, shapes that broadcast
        F.add2(nn.NdArray.from_numpy_array(x0), nn.NdArray.from_numpy_array(x1))
    assert _blas.native_map(np, _native.add, a.astype(np.float64), b.astype(np.float64)) is None


POOLINGS = {
    "LeNet's 2x2": dict(x=(3, 16, 12, 12), kernel=(2, 2)),
    "3x2 windows, strides 4x2, rows left over": dict(x=(2, 9, 13, 9), kernel=(3, 2), stride=(4, 2)),
    "channel_last": dict(x=(2, 7, 8, 12), kernel=(2, 2), channel_last=True),
}


def _pool_run(case, native, after_conv=False, seed=0):
    rng = np.random.RandomState(seed)
    data = rng.randn(*case["x"]).astype(np.float32)
    data.flat[:8] = [np.nan, 1.0, np.inf, -np.inf, 5.0, 5.0, -0.0, 3.0]  # NaN, infinities and ties
    args = {k: v for k, v in case.items() if k != "x"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_native, "available", lambda: native and _native_built)
        x = nn.Variable.from_numpy_array(data, need_grad=True)
        h = x
        if after_conv:  # a convolution's output: a channel-first view of channel-last memory
            c = case["x"][1]
            h = F.convolution(x, nn.Variable.from_numpy_array(np.eye(c, dtype=np.float32).reshape(c, c, 1, 1)))
        y = F.max_pooling(h, **args)
        y.forward()
        g = rng.randn(*y.shape).astype(np.float32)
        g.flat[:3] = [np.nan, -np.inf, -0.0]
        y.backward(g)
    return y.d.copy(), x.g.copy()


POOLING_INPUTS = [(name, not case.get("channel_last")) for name, case in POOLINGS.items()]  # (a convolution's output)


@needs_native
@pytest.mark.parametrize(
    "name, after_conv", POOLING_INPUTS, ids=[n + (", after a convolution" if a else "") for n, a in POOLING_INPUTS]
)
def test_native_max_pooling_has_numpys_bits(name, after_conv):
    """The maximum, and the gradient at each window's first maximum (+0.0 elsewhere), bit for bit."""
    calls = []
    with pytest.MonkeyPatch.context() as mp:
        forward = _native.max_pool
        mp.setattr(_native, "max_pool", lambda *a: (calls.append(1), forward(*a)))
        ours = _pool_run(POOLINGS[name], True, after_conv)
    assert calls
    reference = _pool_run(POOLINGS[name], False, after_conv)
    for got, want in zip(ours, reference):
        assert got.shape == want.shape
        assert got.view(np.uint32).tolist() == want.view(np.uint32).tolist()


def test_overlapping_or_padded_max_pooling_stays_on_numpy(monkeypatch):
    monkeypatch.setattr(_native, "max_pool", lambda *a: pytest.fail("the native pass ran"))
    x = nn.NdArray.from_numpy_array(np.random.RandomState(0).randn(2, 3, 9, 9).astype(np.float32))
    F.max_pooling(x, (3, 3), stride=(2, 2))
    F.max_pooling(x, (2, 2), pad=(1, 1))
    F.max_pooling(x, (2, 2), ignore_border=False)  # (a last window past the border)
    F.max_pooling(nn.NdArray.from_numpy_array(np.zeros((2, 16, 8, 8), np.float32)), (2, 2))  # (channel-first memory)


@needs_native
def test_native_global_average_pooling_has_numpys_bits(monkeypatch):
    """Over channel-last memory: numpy's mean over the rows (a float32 sum from the first, then / count)."""
    rng = np.random.RandomState(9)
    mean = _native.rows_mean
    for shape in ((5, 7, 6, 9), (3, 33, 2, 1), (2, 4, 31, 17)):
        data = (rng.randn(*shape) * rng.choice([1e-3, 1, 1e4], shape)).astype(np.float32)
        c = shape[1]
        eye = nn.NdArray.from_numpy_array(np.eye(c, dtype=np.float32).reshape(c, c, 1, 1))
        h = F.convolution(nn.NdArray.from_numpy_array(data), eye)  # (B, C, H, W) over channel-last memory
        x = h.data
        assert not x.flags.c_contiguous and np.moveaxis(x, 1, -1).flags.c_contiguous
        want = np.moveaxis(x, 1, -1).reshape(x.shape[0], -1, x.shape[1]).mean(axis=1)
        calls = []
        monkeypatch.setattr(_native, "rows_mean", lambda *a: (calls.append(1), mean(*a)))
        y = F.global_average_pooling(h).data
        assert calls
        assert y.reshape(want.shape).view(np.uint32).tolist() == want.view(np.uint32).tolist()
