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


def encode_png(rgb: np.ndarray, level: int = 9) -> bytes:
    """PNG bytes of an (H, W, 3) uint8 image (8-bit RGB, no filter, zlib ``level``)."""
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


def line_png(values, width: int = 240, height: int = 60, color=(40, 90, 160)) -> bytes:
    """A line plot of a sequence of numbers (e.g. a loss curve), scaled to its own min..max.

    Vectorized: a column covers every value that falls in it (min..max) and joins the previous column, so a
    curve of a million points costs a few milliseconds and its spikes stay visible.
    """
    return encode_png(_line_rgb(values, width, height, color), level=1)


def _line_rgb(values, width: int, height: int, color) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    img = np.full((height, width, 3), 255, np.uint8)
    img[height - 1, :] = (215, 215, 215)
    if not v.size:
        return img
    lo, hi = float(v.min()), float(v.max())
    t = (v - lo) / (hi - lo) if hi > lo else np.full_like(v, 0.5)
    y = (1 - t) * (height - 1)
    if v.size >= width:  # several values per column: that column spans their range
        starts = -(-np.arange(width) * v.size // width)  # first index of each column (columns are never empty)
        ymin = np.minimum.reduceat(y, starts)
        ymax = np.maximum.reduceat(y, starts)
        last = y[np.append(starts[1:], v.size) - 1]
    else:  # fewer values than columns: interpolate between them
        xs = np.linspace(0, width - 1, v.size) if v.size > 1 else np.zeros(1)
        ymin = ymax = last = np.interp(np.arange(width), xs, y) if v.size > 1 else np.full(width, y[0])
    prev = np.concatenate([last[:1], last[:-1]])  # join each column to where the previous one ended
    top = np.round(np.minimum(ymin, prev)).astype(int)
    bottom = np.round(np.maximum(ymax, prev)).astype(int)
    rows = np.arange(height)[:, None]
    img[(rows >= top[None, :]) & (rows <= bottom[None, :])] = color
    return img


CURVE_COLORS = ((40, 90, 160), (200, 80, 30), (40, 140, 60), (130, 60, 160), (120, 120, 120))


def curves_png(series: dict, width: int = 320, height: int = 64) -> bytes:
    """One panel per named series, stacked, each on its own scale (``series``: name -> values)."""
    panels = [
        _line_rgb(values, width, height, CURVE_COLORS[k % len(CURVE_COLORS)])
        for k, values in enumerate(series.values())
    ]
    if not panels:
        panels = [_line_rgb([], width, height, CURVE_COLORS[0])]
    gap = np.full((4, width, 3), 255, np.uint8)
    stacked = [panels[0]]
    for p in panels[1:]:
        stacked += [gap, p]
    return encode_png(np.concatenate(stacked, axis=0), level=1)  # level 9 costs ~10 ms here: too slow for live use
