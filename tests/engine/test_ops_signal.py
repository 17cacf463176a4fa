"""FFT, IFFT, STFT and ISTFT against numpy's FFT (frame by frame), with gradient checks, and STFT/ISTFT against
real NNabla's stored outputs and gradients (fixtures/signal.npz, made by tests/reference/make_signal_fixtures.py)."""

import os

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "signal.npz")


def ref_fft(x, signal_ndim, normalized=False, inverse=False):
    c = x[..., 0] + 1j * x[..., 1]
    axes = tuple(range(-signal_ndim, 0))
    y = (np.fft.ifftn if inverse else np.fft.fftn)(c, axes=axes, norm="ortho" if normalized else None)
    return np.stack([y.real, y.imag], -1)


def window(kind, size, fft_size):
    w = {"hanning": np.hanning, "hamming": np.hamming}[kind](size + 1)[:-1] if kind != "rectangular" else np.ones(size)
    left = (fft_size - size) // 2
    return np.pad(w, (left, fft_size - size - left))


def ref_stft(x, window_size, stride, fft_size, window_type="hanning", center=True, pad_mode="reflect"):
    """Frame, window and np.fft.rfft each frame."""
    if center:
        x = np.pad(x, ((0, 0), (fft_size // 2,) * 2), mode="reflect" if pad_mode == "reflect" else "constant")
    w = window(window_type, window_size, fft_size)
    starts = range(0, x.shape[1] - fft_size + 1, stride)
    spec = np.stack([np.fft.rfft(x[:, s : s + fft_size] * w, axis=1) for s in starts], axis=2)
    return spec.real, spec.imag


def ref_istft(yr, yi, window_size, stride, fft_size, window_type="hanning", center=True):
    """np.fft.irfft each frame, window, overlap-add, divide by the overlapped squared windows."""
    w = window(window_type, window_size, fft_size)
    frames = yr.shape[2]
    full = (frames - 1) * stride + fft_size
    x, norm = np.zeros((yr.shape[0], full)), np.zeros(full)
    for f in range(frames):
        x[:, f * stride : f * stride + fft_size] += np.fft.irfft(yr[:, :, f] + 1j * yi[:, :, f], n=fft_size) * w
        norm[f * stride : f * stride + fft_size] += w * w
    half = fft_size // 2 if center else 0
    return (x / np.where(norm > 0, norm, 1))[:, half : full - half]


def signal(*shape, seed=0):
    return randn(*shape, seed=seed)


CASES = [
    Case("fft1d", lambda x: F.fft(x, 1), lambda x: ref_fft(x, 1), [signal(2, 5, 2)], atol=1e-5),
    Case("fft2d_normalized", lambda x: F.fft(x, 2, True), lambda x: ref_fft(x, 2, True), [signal(2, 3, 4, 2)]),
    Case("fft3d", lambda x: F.fft(x, 3), lambda x: ref_fft(x, 3), [signal(2, 2, 3, 2)], atol=1e-5),
    Case("ifft1d", lambda x: F.ifft(x, 1), lambda x: ref_fft(x, 1, inverse=True), [signal(3, 4, 2)]),
    Case(
        "ifft2d_normalized",
        lambda x: F.ifft(x, 2, normalized=True),
        lambda x: ref_fft(x, 2, True, inverse=True),
        [signal(3, 4, 2)],
    ),
    Case("stft", lambda x: F.stft(x, 8, 4, 8), lambda x: ref_stft(x, 8, 4, 8), [signal(2, 16)], atol=1e-5),
    Case(
        "stft_hamming_padded_window",
        lambda x: F.stft(x, 6, 2, 8, window_type="hamming"),
        lambda x: ref_stft(x, 6, 2, 8, "hamming"),
        [signal(1, 11)],
        atol=1e-5,
    ),
    Case(
        "stft_rectangular_constant",
        lambda x: F.stft(x, 4, 2, 4, window_type=None, pad_mode="constant"),
        lambda x: ref_stft(x, 4, 2, 4, "rectangular", pad_mode="constant"),
        [signal(2, 9)],
        atol=1e-5,
    ),
    Case(
        "stft_no_center",
        lambda x: F.stft(x, 8, 3, 8, center=False),
        lambda x: ref_stft(x, 8, 3, 8, center=False),
        [signal(1, 17)],
        atol=1e-5,
    ),
    Case(
        "istft",
        lambda r, i: F.istft(r, i, 8, 4, 8, pad_mode="constant"),
        lambda r, i: ref_istft(r, i, 8, 4, 8),
        [signal(2, 5, 4), signal(2, 5, 4, seed=1)],
        atol=1e-5,
    ),
    Case(
        "istft_no_center_hamming",
        lambda r, i: F.istft(r, i, 8, 2, 8, window_type="hamming", center=False, pad_mode="constant"),
        lambda r, i: ref_istft(r, i, 8, 2, 8, "hamming", center=False),
        [signal(1, 5, 4), signal(1, 5, 4, seed=1)],
        atol=1e-5,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_grad(case):
    check_grad(case)


def test_fft_then_ifft_is_identity():
    x = nn.Variable.from_numpy_array(signal(2, 4, 3, 2))
    z = F.ifft(F.fft(x, 2, normalized=True), 2, normalized=True)
    z.forward()
    np.testing.assert_allclose(z.d, x.d, atol=1e-5)


def test_istft_inverts_stft_inside_the_signal():
    x = nn.Variable.from_numpy_array(signal(2, 32))
    yr, yi = F.stft(x, 8, 2, 8, pad_mode="constant")
    z = F.istft(yr, yi, 8, 2, 8, pad_mode="constant")
    z.forward()
    assert z.shape == (2, 32)
    np.testing.assert_allclose(z.d[:, 4:-4], x.d[:, 4:-4], atol=1e-5)


_NNABLA_CASES = {
    "stft_hanning": ("stft", dict(window_size=8, stride=4, fft_size=8)),
    "stft_hamming_pad": ("stft", dict(window_size=6, stride=2, fft_size=8, window_type="hamming")),
    "stft_rect_constant": ("stft", dict(window_size=4, stride=2, fft_size=4, window_type=None, pad_mode="constant")),
    "stft_nocenter": ("stft", dict(window_size=8, stride=3, fft_size=8, center=False)),
    "stft_as_istft_backward": (
        "stft",
        dict(window_size=8, stride=4, fft_size=8, pad_mode="constant", as_istft_backward=True),
    ),
    "istft_hanning": ("istft", dict(window_size=8, stride=4, fft_size=8, pad_mode="constant")),
    "istft_nocenter": (
        "istft",
        dict(window_size=8, stride=2, fft_size=8, window_type="hamming", center=False, pad_mode="constant"),
    ),
    "istft_as_stft_backward": ("istft", dict(window_size=8, stride=4, fft_size=8, as_stft_backward=True)),
}


@pytest.mark.parametrize("name", sorted(_NNABLA_CASES))
def test_matches_nnabla(name):
    """Outputs and input gradients equal real NNabla's (including the as_*_backward flags)."""
    stored = np.load(FIXTURES)
    kind, kw = _NNABLA_CASES[name]
    n_in = 1 if kind == "stft" else 2
    xs = [nn.Variable.from_numpy_array(stored[f"{name}/x{i}"], need_grad=True) for i in range(n_in)]
    ys = F.stft(*xs, **kw) if kind == "stft" else (F.istft(*xs, **kw),)
    loss = F.add_n(*[F.sum(y * nn.Variable.from_numpy_array(stored[f"{name}/w{k}"])) for k, y in enumerate(ys)])
    for x in xs:
        x.grad.zero()
    loss.forward()
    loss.backward()
    for k, y in enumerate(ys):
        np.testing.assert_allclose(y.d, stored[f"{name}/y{k}"], rtol=1e-4, atol=1e-5, err_msg=f"{name} y{k}")
    for i, x in enumerate(xs):
        np.testing.assert_allclose(x.g, stored[f"{name}/gx{i}"], rtol=1e-4, atol=1e-4, err_msg=f"{name} gx{i}")


def test_node_names_and_args():
    yr, yi = F.stft(nn.Variable((2, 16)), 8, 4, 8, window_type=None)
    assert yr.shape == yi.shape == (2, 5, 5)
    assert yr.parent.info.type_name == "STFT"
    assert yr.parent.info.args["window_type"] == "rectangular"
    y = F.fft(nn.Variable((2, 4, 2)), 1)
    assert y.parent.info.args == {"signal_ndim": 1, "normalized": False}


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: F.fft(nn.Variable((2, 4, 3)), 1), "last axis of 2"),
        (lambda: F.fft(nn.Variable((4, 2)), 4), "signal_ndim=4"),
        (lambda: F.stft(nn.Variable((2, 16)), 8, 4, 4), "fft_size=4 must be at least window_size=8"),
        (lambda: F.stft(nn.Variable((2, 16)), 8, 4, 8, window_type="kaiser"), "window_type"),
        (lambda: F.istft(nn.Variable((2, 5, 5)), nn.Variable((2, 5, 5)), 8, 4, 8), "pad_mode must be 'constant'"),
        (
            lambda: F.istft(nn.Variable((1, 5, 5)), nn.Variable((1, 5, 5)), 8, 4, 8, center=False, pad_mode="constant"),
            "NOLA",
        ),
        (
            lambda: F.istft(nn.Variable((2, 4, 5)), nn.Variable((2, 4, 5)), 8, 4, 8, pad_mode="constant"),
            "bins|fft_size",
        ),
    ],
)
def test_errors(build, match):
    with pytest.raises(FunctionError, match=match):
        build()
