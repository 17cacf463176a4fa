"""The engine's native kernels: float32 convolutions computed directly on channel-last memory (kernels.c), and
batch normalization's passes over channel-last memory, ReLU and its gradient, a sum, max and global average
pooling (passes.c).

The package's build (hatch_build.py) compiles them once for AVX-512 and once for AVX2 with FMA into
``libnnbkernels.so`` beside this file, with dispatch.c telling which of the two the CPU runs. The library is loaded
through ctypes, which lets go of the GIL during a call, so the engine's threads share a convolution's batch slices.

``available()`` is False where the library was not built (no C compiler at install, another platform), where the
CPU has neither instruction set, or where the environment says ``NNABLA_NB_NATIVE=0``; the engine then computes
the same convolutions with numpy (im2col and matrix products). ``NNABLA_NB_NATIVE=avx2`` keeps an AVX-512 CPU on
the AVX2 build (both give the same bits: every sum is one running sum of fused multiply-adds in a fixed order).

Array arguments are checked here (dtype, contiguity, shapes); a mismatch is a bug of the caller, raised as
ValueError before any native code runs.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numpy as np

LIBRARY = Path(__file__).with_name("libnnbkernels.so")
LANES = 16  # the kernel's output channels are padded to a multiple of this

_ISAS = {2: "avx512", 1: "avx2"}
_lib = None
_functions = None  # name -> the bound function of the CPU's build; empty where unavailable
_SIGNATURES = {  # (argument kinds: p a pointer, n a long)
    "nnb_conv2d_forward_f32": "pnnnnnnpnnnpnnnnnnn",
    "nnb_conv2d_weight_grad_f32": "pnnnnnnpnnnpnnnnnnn",
    "nnb_channel_moments_f32": "pnnppp",
    "nnb_channel_affine_f32": "ppnnppp",
    "nnb_channel_grad_moments_f32": "ppnnpppp",
    "nnb_channel_grad_apply_f32": "pppnnpppp",
    "nnb_relu_grad_f32": "pppn",
    "nnb_relu_f32": "ppn",
    "nnb_add_f32": "pppn",
    "nnb_rows_mean_f32": "pnnnp",
    "nnb_max_pool_f32": "pnnnnnnnnppnn",
    "nnb_max_pool_grad_f32": "ppnnnnnnnnnnnp",
}


def _load():
    global _lib, _functions, _isa
    choice = os.environ.get("NNABLA_NB_NATIVE", "").strip().lower()
    _functions = {}
    if choice in ("0", "off", "no", "false") or not LIBRARY.exists():
        return
    try:
        lib = ctypes.CDLL(str(LIBRARY))
        level = lib.nnb_cpu_level()
    except (OSError, AttributeError):
        return
    if choice == "avx2":
        level = min(level, 1)
    isa = _ISAS.get(level)
    if isa is None:
        return
    kinds = {"p": ctypes.c_void_p, "n": ctypes.c_long}
    functions = {}
    for name, signature in _SIGNATURES.items():
        f = getattr(lib, f"{name}_{isa}", None)
        if f is None:  # a library from another version of this file: numpy computes
            return
        f.argtypes = [kinds[k] for k in signature]
        f.restype = ctypes.c_int if name.startswith("nnb_conv") else None
        functions[name] = f
    _lib, _functions, _isa = lib, functions, isa


_isa = None


def available() -> bool:
    """Whether the native kernels run here (loaded on first call)."""
    if _functions is None:
        _load()
    return bool(_functions)


def isa() -> str | None:
    """The instruction set of the kernels in use ("avx512", "avx2"), or None where numpy computes."""
    return _isa if available() else None


def padded_channels(oc: int) -> int:
    return -(-oc // LANES) * LANES


def pack_weight(w: np.ndarray) -> np.ndarray:
    """w (OC, C, KH, KW) as the kernels' (KH, KW, C, OCP) float32, output channels zero-padded to OCP."""
    oc = w.shape[0]
    packed = np.zeros(w.shape[2:] + (w.shape[1], padded_channels(oc)), np.float32)
    packed[..., :oc] = w.transpose(2, 3, 1, 0)
    return packed


def _check(name, a, ndim):
    if a.dtype != np.float32 or a.ndim != ndim or not a.flags.c_contiguous:
        raise ValueError(f"native {name}: expected a contiguous float32 array of {ndim} axes, got {a.dtype} {a.shape}")


def _geometry(x, pad, w_shape, y_shape, stride, dilation):
    b, h, wd, c = x.shape
    kh, kw, wc, ocp = w_shape
    oh, ow, oc = y_shape[1:]
    if wc != c or y_shape[0] != b or ocp != padded_channels(oc):
        raise ValueError(f"native convolution: shapes x {x.shape}, w {w_shape}, y {y_shape} do not agree")
    for size, p, k, o, s, d in zip((h, wd), pad, (kh, kw), (oh, ow), stride, dilation):
        if p < 0 or (o > 0 and (o - 1) * s + (k - 1) * d >= size + 2 * p):
            raise ValueError(f"native convolution: x {x.shape} padded by {pad} is too small for y {y_shape}")
    return (b, h, wd, c, *pad), (kh, kw, ocp), (oh, ow, oc)


def _convolve(name, what, x, pad, other, packed, y_shape, stride, dilation) -> None:
    """One convolution kernel's call: x (B, H, W, C) padded by ``pad``, ``other`` the packed kernel (forward) or
    the output gradient (the kernel gradient), ``packed`` the packed kernel's shape, y_shape the output's."""
    xg, (kh, kw, ocp), (oh, ow, oc) = _geometry(x, pad, packed, y_shape, stride, dilation)
    if name == "nnb_conv2d_forward_f32":
        w, y = other
        args = (w.ctypes.data, kh, kw, ocp, y.ctypes.data, oh, ow, oc)
    else:
        gy, gw = other
        args = (gy.ctypes.data, oh, ow, oc, gw.ctypes.data, kh, kw, ocp)
    if _functions[name](x.ctypes.data, *xg, *args, *stride, *dilation) != 0:
        raise MemoryError(f"native {what}: no memory for a padded image")


def conv2d_forward(x, pad, w, y, stride, dilation) -> None:
    """y[...] = the convolution of x (B, H, W, C) padded by ``pad`` by packed w (KH, KW, C, OCP); y (B, OH, OW, OC)."""
    _check("forward x", x, 4), _check("forward w", w, 4), _check("forward y", y, 4)
    _convolve("nnb_conv2d_forward_f32", "convolution", x, pad, (w, y), w.shape, y.shape, stride, dilation)


def conv2d_weight_grad(x, pad, gy, gw, stride, dilation) -> None:
    """gw += the kernel gradient of x (B, H, W, C) padded by ``pad`` and gy (B, OH, OW, OC); gw (KH, KW, C, OCP)."""
    _check("weight gradient x", x, 4), _check("weight gradient gy", gy, 4), _check("weight gradient gw", gw, 4)
    _convolve("nnb_conv2d_weight_grad_f32", "kernel gradient", x, pad, (gy, gw), gw.shape, gy.shape, stride, dilation)


# -- batch normalization's passes: x and gy (rows, C), per-channel float32 vectors (C,), float64 sums (C,) added to


def _rows(name, *arrays):
    shape = arrays[0].shape
    for a in arrays:
        _check(name, a, 2)
        if a.shape != shape:
            raise ValueError(f"native {name}: arrays of shapes {[b.shape for b in arrays]} do not agree")
    return shape


def _vectors(name, c, *vectors):
    for v in vectors:
        if v is not None and (v.dtype != np.float32 or v.shape != (c,) or not v.flags.c_contiguous):
            raise ValueError(f"native {name}: expected a contiguous float32 vector of {c}, got {v.dtype} {v.shape}")
    return [0 if v is None else v.ctypes.data for v in vectors]


def _sums(name, c, *sums):
    for v in sums:
        if v is not None and (v.dtype != np.float64 or v.shape != (c,) or not v.flags.c_contiguous):
            raise ValueError(f"native {name}: expected a contiguous float64 vector of {c}, got {v.dtype} {v.shape}")
    return [0 if v is None else v.ctypes.data for v in sums]


def channel_moments(x, shift, total, squares=None) -> None:
    """total += sum over rows of (x - shift); squares += of its square (each optional but total; shift None: 0)."""
    rows, c = _rows("channel moments", x)
    _functions["nnb_channel_moments_f32"](
        x.ctypes.data, rows, c, *_vectors("channel moments", c, shift), *_sums("channel moments", c, total, squares)
    )


def channel_affine(x, y, mean, scale, shift) -> None:
    """y = (x - mean) * scale + shift per channel (mean None: x * scale + shift); y may be x."""
    rows, c = _rows("channel affine", x, y)
    _functions["nnb_channel_affine_f32"](
        x.ctypes.data, y.ctypes.data, rows, c, *_vectors("channel affine", c, mean, scale, shift)
    )


def channel_grad_moments(x, gy, mean, gsum, csum, dot) -> None:
    """gsum += sum of gy, csum += of x - mean, dot += of gy * (x - mean), over the rows."""
    rows, c = _rows("channel gradient moments", x, gy)
    _functions["nnb_channel_grad_moments_f32"](
        x.ctypes.data,
        gy.ctypes.data,
        rows,
        c,
        *_vectors("channel gradient moments", c, mean),
        *_sums("channel gradient moments", c, gsum, csum, dot),
    )


def channel_grad_apply(x, gy, gx, mean, a, k, shift) -> None:
    """gx = (x - mean) * a + gy * k + shift per channel."""
    rows, c = _rows("channel gradient", x, gy, gx)
    _functions["nnb_channel_grad_apply_f32"](
        x.ctypes.data, gy.ctypes.data, gx.ctypes.data, rows, c, *_vectors("channel gradient", c, mean, a, k, shift)
    )


def _same_flat(name, arrays):
    first = arrays[0]
    for a in arrays:
        if a.dtype != np.float32 or not a.flags.c_contiguous or a.ndim != 1 or a.shape != first.shape:
            raise ValueError(
                f"native {name}: expected contiguous float32 vectors of {first.shape}, got {a.dtype} {a.shape}"
            )
    return first.size


def relu_grad(y, g, out) -> None:
    """out = g where y > 0, else +0.0; contiguous float32 vectors of one size (out may be g)."""
    n = _same_flat("ReLU gradient", (y, g, out))
    _functions["nnb_relu_grad_f32"](y.ctypes.data, g.ctypes.data, out.ctypes.data, n)


def relu(x, out) -> None:
    """out = x where x > 0, else +0.0 (NaN too: numpy's fmax(x, 0)); contiguous float32 vectors of one size."""
    n = _same_flat("ReLU", (x, out))
    _functions["nnb_relu_f32"](x.ctypes.data, out.ctypes.data, n)


def add(a, b, out) -> None:
    """out = a + b; contiguous float32 vectors of one size."""
    n = _same_flat("add", (a, b, out))
    _functions["nnb_add_f32"](a.ctypes.data, b.ctypes.data, out.ctypes.data, n)


def _pool_check(name, x, x_shape, y_shape, index):
    for what, a, shape in (("x", x, x_shape), ("index", index, y_shape)):
        want = np.uint8 if what == "index" else np.float32
        if a.dtype != want or not a.flags.c_contiguous or a.shape != shape:
            raise ValueError(f"native {name}: {what} {a.dtype} {a.shape} is not a contiguous {np.dtype(want)} {shape}")


def max_pool(x, kernel, stride, y, index) -> None:
    """y, index (N, OH, OW, C) = max pooling of x (N, H, W, C) over ``kernel`` windows at ``stride``, no padding."""
    n, h, w, c = x.shape
    oh, ow = y.shape[1:3]
    if y.shape != (n, oh, ow, c) or any(
        (o - 1) * s + k > size for o, s, k, size in zip((oh, ow), stride, kernel, (h, w))
    ):
        raise ValueError(
            f"native max pooling: y {y.shape} does not fit x {x.shape} with kernel {kernel}, stride {stride}"
        )
    if kernel[0] * kernel[1] >= 255:
        raise ValueError(f"native max pooling: kernel {kernel} has over 254 offsets")
    _pool_check("max pooling", x, x.shape, y.shape, index)
    _check("max pooling y", y, 4)
    _functions["nnb_max_pool_f32"](
        x.ctypes.data, n, h, w, c, *kernel, *stride, y.ctypes.data, index.ctypes.data, oh, ow
    )


def max_pool_grad(gy, index, kernel, stride, gx) -> None:
    """gx (N, H, W, C): gy at each window's first maximum, +0.0 elsewhere (windows that do not overlap)."""
    n, h, w, c = gx.shape
    oh, ow = gy.shape[1:3]
    if any(s < k for s, k in zip(stride, kernel)):
        raise ValueError(f"native max pooling's gradient: windows {kernel} overlap at stride {stride}")
    _pool_check("max pooling's gradient", gx, gx.shape, (n, oh, ow, c), index)
    _check("max pooling's gradient gy", gy, 4)
    if gy.shape != index.shape:
        raise ValueError(f"native max pooling's gradient: gy {gy.shape} is not like index {index.shape}")
    covered = all(o * k == size and s == k for o, k, s, size in zip((oh, ow), kernel, stride, (h, w)))
    _functions["nnb_max_pool_grad_f32"](
        gy.ctypes.data, index.ctypes.data, n, h, w, c, *kernel, *stride, oh, ow, int(covered), gx.ctypes.data
    )


def rows_mean(x, out) -> None:
    """out (B, C) = the mean of x (B, R, C) over its rows, with numpy's bits (float32 sum from the first row)."""
    _check("rows mean x", x, 3), _check("rows mean out", out, 2)
    b, r, c = x.shape
    if out.shape != (b, c) or r < 1:
        raise ValueError(f"native rows mean: out {out.shape} is not (B, C) of x {x.shape}")
    _functions["nnb_rows_mean_f32"](x.ctypes.data, b, r, c, out.ctypes.data)
