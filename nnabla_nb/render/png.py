"""A tiny deterministic PNG encoder (numpy + zlib) and the pictures the kit draws with it.

Heatmaps (1-D/2-D arrays, convolution kernels as a grid of filters) and histograms are drawn as rasters here
rather than with matplotlib, so the bytes depend only on the values: saved notebooks stay byte-for-byte stable.
Histograms have a transparent background (they read on light and dark pages); heatmaps keep white for zero,
which is a value, and are framed by the HTML that shows them. Curves are SVG (``chart.py``).
"""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np

NAN_COLOR = (255, 0, 255)
INF_COLOR = (0, 0, 0)


def encode_png(rgb: np.ndarray, level: int = 9) -> bytes:
    """PNG bytes of an (H, W, 3) RGB or (H, W, 4) RGBA uint8 image (8-bit, no filter, zlib ``level``)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, c = rgb.shape
    raw = np.zeros((h, 1 + c * w), np.uint8)  # filter byte 0 per row
    raw[:, 1:] = rgb.reshape(h, c * w)

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 6 if c == 4 else 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), level))
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


MIN_BAND_PX = 12  # a one-row heatmap (a bias, a (100, 1) column) is drawn at least this tall, never a sliver


def heatmap_png(a: np.ndarray, max_side: int = 96, cell: int | None = None) -> bytes:
    """A heatmap of a 1-D or 2-D array (a single row or column is drawn as one band), block-averaged to
    ``max_side`` cells, cells scaled up."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        a = a.reshape(1, 1)
    elif a.ndim == 1 or (a.ndim == 2 and a.shape[1] == 1):
        a = a.reshape(1, -1)
    elif a.ndim > 2:
        a = a.reshape(-1, a.shape[-1])
    a = _downsample(a, max_side)
    h, w = a.shape
    if cell is None:
        cell = max(1, min(12, (max_side * 2) // max(h, w)))
    rgb = _diverging(a)
    tall = max(cell, -(-MIN_BAND_PX // h)) if h * cell < MIN_BAND_PX else cell
    return encode_png(np.repeat(np.repeat(rgb, tall, axis=0), cell, axis=1))


def is_filter_bank(shape) -> bool:
    """Convolution kernels (out, in, kh, kw) with small kernels: drawn as a grid of filters."""
    return len(shape) == 4 and shape[2] <= 11 and shape[3] <= 11 and shape[0] * shape[1] <= 1024


def filters_png(w: np.ndarray, cell: int = 6) -> bytes:
    """Convolution kernels as a grid: one row per output channel, one column per input channel, each kernel a
    ``kh x kw`` heatmap of ``cell``-pixel squares, a 2-pixel transparent gap between kernels; one colour scale."""
    w = np.asarray(w, dtype=np.float64)
    o, i, kh, kw = w.shape
    rgb = _diverging(w.reshape(o * i, kh * kw)).reshape(o, i, kh, kw, 3)
    gap = 2
    H, W = o * (kh * cell + gap) - gap, i * (kw * cell + gap) - gap
    img = np.zeros((H, W, 4), np.uint8)
    for r in range(o):
        for c in range(i):
            block = np.repeat(np.repeat(rgb[r, c], cell, axis=0), cell, axis=1)
            y, x = r * (kh * cell + gap), c * (kw * cell + gap)
            img[y : y + kh * cell, x : x + kw * cell, :3] = block
            img[y : y + kh * cell, x : x + kw * cell, 3] = 255
    return encode_png(img)


def colorbar_png(width: int = 60, height: int = 8) -> bytes:
    """The heatmaps' colour scale: blue (-max) through white (0) to red (+max)."""
    return encode_png(np.repeat(_diverging(np.linspace(-1, 1, width)[None, :]), height, axis=0))


def heatmap_data_uri(a: np.ndarray, max_side: int = 96) -> str:
    return data_uri(heatmap_png(a, max_side))


ZERO_MARK = (220, 40, 40, 255)


def histogram_png(a: np.ndarray, bins: int = 32, width: int = 160, height: int = 48) -> bytes:
    """A bar histogram of the finite values of ``a``: blue bars, a grey base line, a red mark at 0 (when 0 is
    within the range), on a transparent background."""
    a = np.asarray(a, dtype=np.float64).ravel()
    a = a[np.isfinite(a)]
    img = np.zeros((height, width, 4), np.uint8)
    if a.size:
        counts, edges = np.histogram(a, bins=bins)
        top = counts.max()
        bar = width // bins
        for i, c in enumerate(counts):
            hpx = int(round((height - 1) * c / top)) if top else 0
            if hpx:
                img[height - hpx :, i * bar : (i + 1) * bar - 1] = (70, 110, 170, 255)
        img[height - 1, :] = (128, 128, 128, 255)
        lo, hi = float(edges[0]), float(edges[-1])
        if lo <= 0.0 <= hi and hi > lo:
            x = min(bins * bar - 1, int(round((0.0 - lo) / (hi - lo) * bins * bar)))
            img[:, max(0, x - 1) : x + 1] = ZERO_MARK
    return encode_png(img)


def histogram_data_uri(a: np.ndarray) -> str:
    return data_uri(histogram_png(a))
