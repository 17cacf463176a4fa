"""Small formatting helpers shared by the renderers (numbers, shapes, arguments)."""

from __future__ import annotations

import math


def num(x: float) -> str:
    """A number in 4 significant digits ('nan', 'inf' spelled out)."""
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return f"{x:.4g}"


def value(v) -> str:
    """An argument or hyper-parameter value; floats to float32's 7 significant digits (0.01, not 0.0099999997...)."""
    if isinstance(v, float):
        return num(v) if not math.isfinite(v) else f"{v:.7g}"
    return repr(v)


def shape(s) -> str:
    if s is None:
        return ""
    return "(" + ", ".join(str(d) for d in s) + ("," if len(s) == 1 else "") + ")"


def args(a: dict, limit: int = 60) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in a.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def stats_line(s) -> str:
    if s is None:
        return ""
    line = f"min {num(s.min)} mean {num(s.mean)} max {num(s.max)} std {num(s.std)}"
    if s.nan or s.inf:
        line += f" nan {s.nan} inf {s.inf}"
    return line
