"""Line charts of training curves as small SVG documents: axes with tick values, an iteration axis, one labelled
colour per curve, a legend (in rows, when one is too narrow); a logarithmic value axis on request or when a
positive curve spans decades.

The SVG is deterministic (it depends only on the numbers) and theme-neutral: no background, mid-grey text and
axes, colours that read on light and dark pages alike. It is shown as a data-URI ``<img>`` (static HTML) or an
``ipywidgets.Image`` (live), so no script or style block is needed.
"""

from __future__ import annotations

import math

import numpy as np

from .common import num
from .escape import escape

COLORS = ("#3b82c4", "#e0672b", "#3a9a4f", "#9b59b6", "#c0392b", "#7f8c8d")
INK = "#8a8a8a"  # text and axes: readable on white and on JupyterLab's dark background
GRID = "#8a8a8a33"
FONT = "font-family:Helvetica,Arial,sans-serif;font-size:11px"
MIN_SPAN = 0.02  # the linear value axis spans at least 2% of the curves' level
LOG_DECADES = 2.0  # auto log scale when a positive curve's max/min exceeds 10**LOG_DECADES


def nice_ticks(lo: float, hi: float, count: int = 5) -> list:
    """About ``count`` round tick values covering ``lo..hi`` (steps of 1, 2, 2.5 or 5 times a power of ten)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, count - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    t = first
    while t <= hi + step * 1e-9:
        ticks.append(0.0 if abs(t) < step * 1e-9 else t)
        t += step
    return ticks


def log_ticks(lo: float, hi: float) -> list:
    """Powers of ten covering ``lo..hi`` (both > 0); 1-2-5 steps when that range is under two decades."""
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    ticks = [10.0**e for e in range(a, b + 1)]
    if b - a <= 2:
        ticks = sorted({m * 10.0**e for e in range(a, b + 1) for m in (1, 2, 5)})
    inside = [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
    return inside if len(inside) >= 2 else ticks


def wants_log(series: dict) -> bool:
    """Log-y is chosen when every value is positive and some curve spans more than LOG_DECADES decades."""
    spans = []
    for _, values in series.values():
        v = np.asarray(values, np.float64)
        v = v[np.isfinite(v)]
        if not v.size:
            continue
        if v.min() <= 0:
            return False
        spans.append(math.log10(v.max() / v.min()))
    return bool(spans) and max(spans) > LOG_DECADES


def _columns(x: np.ndarray, y: np.ndarray, width: int) -> tuple:
    """At most ~2 points per pixel column (its min and max, in order), so spikes survive and the SVG stays small."""
    if len(x) <= 2 * width:
        return x, y
    bins = np.linspace(x[0], x[-1], width + 1)
    idx = np.clip(np.searchsorted(bins, x, side="right") - 1, 0, width - 1)
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
    keep = []
    for s, e in zip(starts, np.r_[starts[1:], len(x)]):
        seg = y[s:e]
        a, b = s + int(np.argmin(seg)), s + int(np.argmax(seg))
        keep.extend(sorted({a, b}))
    keep = np.asarray(keep)
    return x[keep], y[keep]


def curves_svg(
    series: dict,
    width: int = 480,
    height: int = 200,
    log_y: bool | None = None,
    x_label: str = "iteration",
    integer_x: bool = True,
    legend_values: bool = True,
) -> str:
    """An SVG chart of ``series`` (name -> (iterations, values)); ``log_y`` None chooses (``wants_log``).

    Training curves take the defaults; a chart of a function (``nnabla_nb.explain``) names its axis
    ``x_label``, allows fractional ``x`` ticks (``integer_x=False``) and keeps the legend to the names."""
    series = {k: (np.asarray(s, np.float64), np.asarray(v, np.float64)) for k, (s, v) in series.items()}
    series = {k: (s[np.isfinite(v)], v[np.isfinite(v)]) for k, (s, v) in series.items()}
    series = {k: sv for k, sv in series.items() if len(sv[1])}
    log = wants_log(series) if log_y is None else bool(log_y)
    if log and any(v.min() <= 0 for _, v in series.values()):
        log = False  # a log axis cannot show zero or negative values: fall back rather than drop points
    left, right, top, bottom = 56, 10, 8, 34
    legend_h = 16 if series else 0
    plot_w, plot_h = width - left - right, height - top - bottom - legend_h
    # the legend: entries left to right, a new row (the chart 16 px taller) when the next would not fit
    labels = [f"{name}: {num(float(v[-1]))}" if legend_values else str(name) for name, (_, v) in series.items()]
    places, lx, row = [], left, 0
    for label in labels:
        if lx > left and lx + 18 + 6.5 * len(label) > width:
            lx, row = left, row + 1
        places.append((lx, height - 4 + 16 * row))
        lx += 30 + 6.5 * len(label)
    full_height = height + 16 * row
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{full_height}" '
        f'viewBox="0 0 {width} {full_height}" style="{FONT}">'
    ]
    if not series:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" fill="{INK}" text-anchor="middle">no values yet</text>')
        return "".join(parts) + "</svg>"
    xs = np.concatenate([s for s, _ in series.values()])
    ys = np.concatenate([v for _, v in series.values()])
    x0, x1 = float(xs.min()), float(xs.max())
    if x1 <= x0:
        x0, x1 = x0 - 0.5, x0 + 0.5
    y0, y1 = float(ys.min()), float(ys.max())
    if log:
        ly0, ly1 = math.log10(y0), math.log10(y1)
        if ly1 - ly0 < 1e-9:
            ly0, ly1 = ly0 - 0.5, ly1 + 0.5
        yticks = log_ticks(10**ly0, 10**ly1)

        def ty(v):
            return top + plot_h * (1 - (np.log10(v) - ly0) / (ly1 - ly0))
    else:
        # a band narrower than MIN_SPAN of its level is drawn on an axis that wide: a loss wobbling by 1e-7
        # is a flat line, not wild swings filling the chart
        mid = (y0 + y1) / 2
        span = max(y1 - y0, MIN_SPAN * abs(mid), 1e-12)
        y0, y1 = mid - span / 2, mid + span / 2
        pad = (y1 - y0) * 0.04
        y0, y1 = y0 - pad, y1 + pad
        yticks = nice_ticks(y0, y1)

        def ty(v):
            return top + plot_h * (1 - (np.asarray(v) - y0) / (y1 - y0))

    def tx(v):
        return left + plot_w * (np.asarray(v, np.float64) - x0) / (x1 - x0)

    bottom_y = top + plot_h
    for t in yticks:
        y = float(ty(t))
        if top - 0.5 <= y <= bottom_y + 0.5:
            parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
            parts.append(
                f'<text x="{left - 4}" y="{y + 4:.1f}" fill="{INK}" text-anchor="end">{escape(num(float(t)))}</text>'
            )
    xticks = [t for t in nice_ticks(x0, x1, 6) if float(t).is_integer() or not integer_x] or [x0, x1]
    for t in xticks:
        x = float(tx(t))
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom_y}" y2="{bottom_y + 4}" stroke="{INK}"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{bottom_y + 15}" fill="{INK}" text-anchor="middle">{escape(num(float(t)))}</text>'
        )
    parts.append(
        f'<path d="M{left},{top}V{bottom_y}H{left + plot_w}" fill="none" stroke="{INK}"/>'
        f'<text x="{left + plot_w}" y="{bottom_y + 28}" fill="{INK}" text-anchor="end">{escape(x_label)}</text>'
    )
    if log:
        parts.append(f'<text x="{left}" y="{bottom_y + 28}" fill="{INK}">log scale</text>')
    for k, (name, (s, v)) in enumerate(series.items()):
        color = COLORS[k % len(COLORS)]
        cs, cv = _columns(s, v, plot_w)
        px, py = tx(cs), ty(cv)
        if len(px) == 1:
            parts.append(f'<circle cx="{px[0]:.1f}" cy="{py[0]:.1f}" r="2.5" fill="{color}"/>')
        else:
            points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py))
            parts.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="1.5"/>')
        lx, ly = places[k]
        parts.append(f'<rect x="{lx}" y="{ly - 8}" width="14" height="3" fill="{color}"/>')
        parts.append(f'<text x="{lx + 18}" y="{ly}" fill="{INK}">{escape(labels[k])}</text>')
    return "".join(parts) + "</svg>"
