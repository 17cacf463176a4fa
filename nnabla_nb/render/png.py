"""A tiny deterministic PNG encoder (numpy + zlib) and the pictures the kit draws with it.

Heatmaps (1-D/2-D arrays) and histograms are drawn as RGB rasters here rather than with matplotlib, so the bytes
depend only on the values: saved notebooks stay byte-for-byte stable.
"""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np

NAN_COLOR = (255, 0, 255)
INF_COLOR = (0, 0, 0)


def encode_png(rgb: np.ndarray) -> bytes:
    """PNG bytes of an (H, W, 3) uint8 image (8-bit RGB, no filter, zlib level 9)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    raw = np.zeros((h, 1 + 3 * w), np.uint8)  # filter byte 0 per row
    raw[:, 1:] = rgb.reshape(h, 3 * w)

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
        + chunk(b"IEND", b"")
    )


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _downsample(a: np.ndarray, max_side: int) -> np.ndarray:
    """Block means so that no side exceeds ``max_side`` (NaN/Inf propagate, as they should be seen)."""
    h, w = a.shape
    fh, fw = -(-h // max_side), -(-w // max_side)
    if fh == 1 and fw == 1:
        return a
    ph, pw = -(-h // fh) * fh, -(-w // fw) * fw
    padded = np.zeros((ph, pw))
    padded[:h, :w] = a
    counts = np.zeros((ph, pw))
    counts[:h, :w] = 1
    sums = padded.reshape(ph // fh, fh, pw // fw, fw).sum(axis=(1, 3))
    n = counts.reshape(ph // fh, fh, pw // fw, fw).sum(axis=(1, 3))
    return sums / n


def _diverging(a: np.ndarray) -> np.ndarray:
    """Blue (negative) - white (zero) - red (positive), scaled by the largest finite |value|."""
    finite = np.isfinite(a)
    scale = float(np.abs(a[finite]).max()) if finite.any() else 0.0
    t = np.clip(np.where(finite, a, 0.0) / scale, -1.0, 1.0) if scale > 0 else np.zeros_like(a)
    pos, neg = np.clip(t, 0, 1), np.clip(-t, 0, 1)
    r = 255 - 200 * neg
    g = 255 - 200 * (pos + neg)
    b = 255 - 200 * pos
    rgb = np.stack([r, g, b], axis=-1).round().astype(np.uint8)
    rgb[np.isnan(a)] = NAN_COLOR
    rgb[np.isinf(a)] = INF_COLOR
    return rgb


def heatmap_png(a: np.ndarray, max_side: int = 96, cell: int | None = None) -> bytes:
    """A heatmap of a 1-D (one row) or 2-D array, block-averaged to ``max_side`` cells, cells scaled up."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        a = a.reshape(1, 1)
    elif a.ndim == 1:
        a = a.reshape(1, -1)
    elif a.ndim > 2:
        a = a.reshape(-1, a.shape[-1])
    a = _downsample(a, max_side)
    h, w = a.shape
    if cell is None:
        cell = max(1, min(12, (max_side * 2) // max(h, w)))
    rgb = _diverging(a)
    return encode_png(np.repeat(np.repeat(rgb, cell, axis=0), cell, axis=1))


def heatmap_data_uri(a: np.ndarray, max_side: int = 96) -> str:
    return data_uri(heatmap_png(a, max_side))


def histogram_png(a: np.ndarray, bins: int = 32, width: int = 160, height: int = 48) -> bytes:
    """A bar histogram of the finite values of ``a`` (gray bars on white)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    a = a[np.isfinite(a)]
    img = np.full((height, width, 3), 255, np.uint8)
    if a.size:
        counts, _ = np.histogram(a, bins=bins)
        top = counts.max()
        bar = width // bins
        for i, c in enumerate(counts):
            hpx = int(round((height - 1) * c / top)) if top else 0
            if hpx:
                img[height - hpx :, i * bar : (i + 1) * bar - 1] = (70, 110, 170)
        img[height - 1, :] = (120, 120, 120)
    return encode_png(img)


def histogram_data_uri(a: np.ndarray) -> str:
    return data_uri(histogram_png(a))


def line_png(values, width: int = 240, height: int = 60) -> bytes:
    """A line plot (one dark point per column) of a sequence of numbers, e.g. a loss curve."""
    v = np.asarray(list(values), dtype=np.float64)
    img = np.full((height, width, 3), 255, np.uint8)
    v = v[np.isfinite(v)]
    if v.size:
        xs = np.linspace(0, width - 1, v.size).round().astype(int)
        lo, hi = v.min(), v.max()
        t = (v - lo) / (hi - lo) if hi > lo else np.full_like(v, 0.5)
        ys = ((1 - t) * (height - 1)).round().astype(int)
        for k in range(v.size):
            x0 = xs[k - 1] if k else xs[0]
            y0 = ys[k - 1] if k else ys[0]
            for x in range(min(x0, xs[k]), max(x0, xs[k]) + 1):
                img[min(y0, ys[k]) : max(y0, ys[k]) + 1, x] = (40, 90, 160)
    return encode_png(img)
