"""Signal processing: FFT and IFFT on (real, imaginary) pairs, STFT and ISTFT.

FFT/IFFT read complex inputs as a last axis of size two and transform the ``signal_ndim`` axes before it.
STFT and ISTFT are linear maps written as four small array functions: each transform and its adjoint. The
adjoint is both the gradient and what the ``as_istft_backward`` / ``as_stft_backward`` flags compute (NNabla
uses those flags to express one transform's backward with the other).
"""

from __future__ import annotations

import numpy as np

from ..function import ALL_INPUTS, REQUIRED, Function, FunctionError, apply, register
from .array import scatter_add_flat
from .convolution import fold, windows

# -- FFT / IFFT ------------------------------------------------------------------------------------------------------


class _Fourier(Function):
    """Shared shape checks and the conjugation rule: the adjoint of a DFT is the conjugate of the same DFT."""

    args_spec = {"signal_ndim": None, "normalized": False}
    signature_defaults = {"signal_ndim": REQUIRED}
    grad_uses = ""
    linear_inputs = (0,)
    inverse = False

    def output_shapes(self, shape):
        n = self.args["signal_ndim"]
        if n not in (1, 2, 3):
            raise FunctionError(f"{self.type_name}: signal_ndim={n} must be 1, 2 or 3")
        if len(shape) < n + 1 or shape[-1] != 2:
            raise FunctionError(
                f"{self.type_name}: input x of shape {shape} must have at least signal_ndim + 1 = {n + 1} "
                "dimensions with a last axis of 2 (real, imaginary)"
            )
        return [shape]

    def _transform(self, xp, pairs):
        c = pairs[..., 0] + 1j * pairs[..., 1]
        axes = tuple(range(-self.args["signal_ndim"], 0))
        norm = "ortho" if self.args["normalized"] else "backward"
        y = (xp.fft.ifftn if self.inverse else xp.fft.fftn)(c, axes=axes, norm=norm)
        return xp.stack([y.real, y.imag], axis=-1).astype(pairs.dtype, copy=False)

    def compute(self, xp, x):
        return self._transform(xp, x)

    def grad(self, xp, xs, ys, gys, need):
        return (_conj(xp, self._transform(xp, _conj(xp, gys[0]))),)


def _conj(xp, pairs):
    """The complex conjugate of (real, imaginary) pairs on the last axis."""
    return xp.stack([pairs[..., 0], -pairs[..., 1]], axis=-1)


@register
class FFT(_Fourier):
    """Complex-to-complex DFT over the last ``signal_ndim`` axes before the (real, imag) axis; ``normalized``
    scales by 1/sqrt(prod N)."""


@register
class IFFT(_Fourier):
    """Inverse DFT (scaled by 1/prod N, or 1/sqrt(prod N) when ``normalized``)."""

    inverse = True


# -- STFT / ISTFT ----------------------------------------------------------------------------------------------------

_WINDOWS = ("hanning", "hamming", "rectangular")


def analysis_window(kind: str, window_size: int, fft_size: int, xp=np):
    """The periodic window of ``window_size`` samples, zero-padded on both sides to ``fft_size`` (float64, in xp)."""
    if kind == "hanning":
        w = xp.hanning(window_size + 1)[:-1]
    elif kind == "hamming":
        w = xp.hamming(window_size + 1)[:-1]
    else:
        w = xp.ones(window_size)
    diff = fft_size - window_size
    return xp.pad(w, (diff // 2, diff - diff // 2))


class _ShortTime(Function):
    linear_inputs = ALL_INPUTS

    """Arguments, checks and the shared transforms of STFT and ISTFT on (batch, samples) and
    (batch, fft_size // 2 + 1, frames) arrays."""

    args_spec = {
        "window_size": None,
        "stride": None,
        "fft_size": None,
        "window_type": "hanning",
        "center": True,
        "pad_mode": "reflect",
    }
    grad_uses = ""

    def init(self):
        a = self.args
        for key in ("window_size", "stride", "fft_size"):
            if a[key] is None or int(a[key]) < 1:
                raise FunctionError(f"{self.type_name}: {key}={a[key]} must be a positive integer")
        if a["window_type"] not in _WINDOWS:
            raise FunctionError(f"{self.type_name}: window_type={a['window_type']!r} is not one of {_WINDOWS}")
        if a["pad_mode"] not in ("constant", "reflect"):
            raise FunctionError(f"{self.type_name}: pad_mode={a['pad_mode']!r} is not 'constant' or 'reflect'")
        if a["fft_size"] < a["window_size"]:
            raise FunctionError(
                f"{self.type_name}: fft_size={a['fft_size']} must be at least window_size={a['window_size']}"
            )
        n = a["fft_size"]
        self.half = n // 2 if a["center"] else 0
        self._cached = {}

    def _frames(self, length):
        return (length - self.args["fft_size"]) // self.args["stride"] + 1

    def _consts(self, xp, dtype):
        """(window, cos, sin, alpha) in ``dtype``, made by ``xp`` itself (no copy to the device) once per dtype."""
        key = ("consts", xp, np.dtype(dtype))
        if key not in self._cached:
            n = self.args["fft_size"]
            bins = xp.arange(n // 2 + 1)
            k = bins[:, None] * xp.arange(n)[None, :]
            alpha = xp.where((bins == 0) | (bins == n // 2), 1.0, 2.0) / n
            consts = (
                analysis_window(self.args["window_type"], self.args["window_size"], n, xp),
                xp.cos(2 * np.pi * k / n),  # (bins, fft_size)
                xp.sin(2 * np.pi * k / n),
                alpha[:, None],
            )
            self._cached[key] = tuple(c.astype(dtype) for c in consts)
        return self._cached[key]

    def _inv_inner(self, xp, dtype, full):
        """``inv_window(full)`` without the centre padding, in ``dtype``, made by ``xp`` once per length."""
        key = ("inv", xp, np.dtype(dtype), full)
        if key not in self._cached:
            self._cached[key] = self.inv_window(full, xp)[self.half : full - self.half].astype(dtype)
        return self._cached[key]

    def _overlap(self, frames):
        """The overlap-added length of ``frames`` frames."""
        return (frames - 1) * self.args["stride"] + self.args["fft_size"]

    def inv_window(self, length, xp=np):
        """Sum of the squared windows overlapping each sample (ISTFT divides by it), in xp."""
        n, s = self.args["fft_size"], self.args["stride"]
        square = analysis_window(self.args["window_type"], self.args["window_size"], n, xp) ** 2
        inv = xp.zeros(length)
        for i in range(0, length - n + 1, s):
            inv[i : i + n] += square
        return inv

    def check_nola(self, length):
        inv = self.inv_window(length)
        inner = inv[self.half : length - self.half]
        if (inner < 1e-11).any():
            i = int(np.argmax(inner < 1e-11)) + self.half
            raise FunctionError(
                f"{self.type_name}: the NOLA (nonzero overlap add) condition is not met: inv_window[{i}] == {inv[i]}"
            )

    # the four linear maps --------------------------------------------------------------------------------------------
    def stft(self, xp, x):
        """(B, L) -> real and imaginary parts (B, bins, frames)."""
        win, cos, sin, _ = self._consts(xp, x.dtype)
        if self.half:
            mode = self.args["pad_mode"]
            x = xp.pad(x, ((0, 0), (self.half, self.half)), mode="reflect" if mode == "reflect" else "constant")
        n, s = self.args["fft_size"], self.args["stride"]
        frames = windows(xp, x, (n,), (s,), (1,), (self._frames(x.shape[1]),)) * win[:, None]  # (B, N, F)
        return xp.matmul(cos, frames), -xp.matmul(sin, frames)

    def stft_adjoint(self, xp, gr, gi, length):
        """The adjoint of ``stft`` back onto (B, length)."""
        win, cos, sin, _ = self._consts(xp, gr.dtype)
        cols = (xp.matmul(cos.T, gr) - xp.matmul(sin.T, gi)) * win[:, None]
        padded = length + 2 * self.half
        g = fold(xp, cols, (padded,), (self.args["stride"],), (1,))
        if not self.half:
            return g
        if self.args["pad_mode"] == "constant":
            return xp.ascontiguousarray(g[:, self.half : self.half + length])
        src = xp.abs(xp.arange(-self.half, length + self.half))
        src = xp.where(src >= length, 2 * (length - 1) - src, src)
        b = g.shape[0]
        flat = (xp.arange(b)[:, None] * length + src[None, :]).reshape(-1)
        return scatter_add_flat(xp, flat, g, b * length).reshape(b, length)

    def istft(self, xp, yr, yi):
        """Real and imaginary parts (B, bins, frames) -> (B, L), overlap-added and divided by the squared windows."""
        win, cos, sin, alpha = self._consts(xp, yr.dtype)
        cols = (xp.matmul((alpha * cos).T, yr) - xp.matmul((alpha * sin).T, yi)) * win[:, None]
        full = self._overlap(yr.shape[2])
        x = fold(xp, cols, (full,), (self.args["stride"],), (1,))
        return x[:, self.half : full - self.half] / self._inv_inner(xp, yr.dtype, full)

    def istft_adjoint(self, xp, gx, frames):
        """The adjoint of ``istft``: (B, L) -> gradients of the real and imaginary parts (B, bins, frames)."""
        win, cos, sin, alpha = self._consts(xp, gx.dtype)
        full = self._overlap(frames)
        g = xp.pad(gx / self._inv_inner(xp, gx.dtype, full), ((0, 0), (self.half, self.half)))
        n, s = self.args["fft_size"], self.args["stride"]
        cols = windows(xp, g, (n,), (s,), (1,), (frames,)) * win[:, None]
        return xp.matmul(alpha * cos, cols), -xp.matmul(alpha * sin, cols)


@register
class STFT(_ShortTime):
    """Short-time Fourier transform of x (batch, samples) -> y_r, y_i (batch, fft_size // 2 + 1, frames)."""

    args_spec = {**_ShortTime.args_spec, "as_istft_backward": False}
    n_outputs = 2

    def output_shapes(self, shape):
        if len(shape) != 2:
            raise FunctionError(f"STFT: input x of shape {shape} must be 2-D (batch_size, sample_size)")
        a = self.args
        if a["as_istft_backward"]:
            if a["pad_mode"] != "constant":
                raise FunctionError("STFT: pad_mode must be 'constant' when as_istft_backward=True")
            if a["fft_size"] % a["stride"]:
                raise FunctionError(f"STFT: fft_size={a['fft_size']} must be a multiple of stride={a['stride']}")
        padded = shape[1] + 2 * self.half
        if a["pad_mode"] == "reflect" and self.half >= shape[1] and self.half:
            raise FunctionError(f"STFT: reflect padding by {self.half} needs more than {shape[1]} samples")
        if padded < a["fft_size"]:
            raise FunctionError(f"STFT: {shape[1]} samples are fewer than fft_size={a['fft_size']} can frame")
        frames = self._frames(padded)
        if a["as_istft_backward"]:
            self.check_nola(self._overlap(frames))
        out = (shape[0], a["fft_size"] // 2 + 1, frames)
        return [out, out]

    def compute(self, xp, x):
        if self.args["as_istft_backward"]:
            return self.istft_adjoint(xp, x, self._frames(x.shape[1] + 2 * self.half))
        return self.stft(xp, x)

    def grad(self, xp, xs, ys, gys, need):
        gr, gi = gys
        gr = gr if gr is not None else xp.zeros_like(gi)
        gi = gi if gi is not None else xp.zeros_like(gr)
        if self.args["as_istft_backward"]:
            return (self.istft(xp, gr, gi),)
        return (self.stft_adjoint(xp, gr, gi, xs[0].shape[1]),)


@register
class ISTFT(_ShortTime):
    """Inverse STFT of y_r, y_i (batch, fft_size // 2 + 1, frames) -> x (batch, samples)."""

    inputs_spec = ("y_r", "y_i")
    args_spec = {**_ShortTime.args_spec, "as_stft_backward": False}

    def output_shapes(self, rs, is_):
        a = self.args
        bins = a["fft_size"] // 2 + 1
        if tuple(rs) != tuple(is_) or len(rs) != 3 or rs[1] != bins:
            raise FunctionError(
                f"ISTFT: y_r of shape {rs} and y_i of shape {is_} must both be (batch, fft_size // 2 + 1 = {bins}, "
                "frames)"
            )
        if a["fft_size"] % a["stride"]:
            raise FunctionError(f"ISTFT: fft_size={a['fft_size']} must be a multiple of stride={a['stride']}")
        full = self._overlap(rs[2])
        if not a["as_stft_backward"]:
            if a["pad_mode"] != "constant":
                raise FunctionError(
                    "ISTFT: pad_mode must be 'constant' for the normal use of ISTFT (as_stft_backward=False): "
                    "it has no effect there"
                )
            self.check_nola(full)
        return [(rs[0], full - 2 * self.half)]

    def compute(self, xp, yr, yi):
        if self.args["as_stft_backward"]:
            return self.stft_adjoint(xp, yr, yi, self._overlap(yr.shape[2]) - 2 * self.half)
        return self.istft(xp, yr, yi)

    def grad(self, xp, xs, ys, gys, need):
        if self.args["as_stft_backward"]:
            gr, gi = self.stft(xp, gys[0])
        else:
            gr, gi = self.istft_adjoint(xp, gys[0], xs[0].shape[2])
        return (gr if need[0] else None, gi if need[1] else None)


def stft(
    x, window_size, stride, fft_size, window_type="hanning", center=True, pad_mode="reflect", as_istft_backward=False
):
    """Short-time Fourier transform (NNabla's ``F.stft``); ``window_type=None`` means 'rectangular'."""
    func = STFT(
        None,
        window_size=window_size,
        stride=stride,
        fft_size=fft_size,
        window_type=window_type or "rectangular",
        center=center,
        pad_mode=pad_mode,
        as_istft_backward=as_istft_backward,
    )
    return apply(func, (x,))


def istft(
    y_r,
    y_i,
    window_size,
    stride,
    fft_size,
    window_type="hanning",
    center=True,
    pad_mode="reflect",
    as_stft_backward=False,
):
    """Inverse short-time Fourier transform (NNabla's ``F.istft``); ``window_type=None`` means 'rectangular'."""
    func = ISTFT(
        None,
        window_size=window_size,
        stride=stride,
        fft_size=fft_size,
        window_type=window_type or "rectangular",
        center=center,
        pad_mode=pad_mode,
        as_stft_backward=as_stft_backward,
    )
    return apply(func, (y_r, y_i))


PUBLIC = {"stft": stft, "istft": istft}
