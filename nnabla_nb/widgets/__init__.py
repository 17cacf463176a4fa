"""Live training progress, a parameter tree and a gradient table.

``progress`` redraws one output in place (``display(..., display_id=True)`` then ``update``), at most
``max_fps`` times a second, and leaves a final static picture: it works without a widget frontend, and a saved
or exported notebook keeps the final state. ``widget=True`` draws into an ipywidgets ``HTML`` instead and still
leaves the same final static output below it.
"""

from __future__ import annotations

import time
from collections import OrderedDict

import numpy as np

import nnabla as nn

from ..display import params_html, params_text
from ..graph import array_stats, grad_flags
from ..render.common import num, shape
from ..render.escape import escape, printable
from ..render.png import data_uri, line_png

BOX = "font-family:monospace;font-size:12px"


class _Static:
    def __init__(self, text: str, html: str):
        self.text, self.html = text, html

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": self.text, "text/html": self.html}

    def __repr__(self):
        return self.text


class Progress:
    """Iterate like the wrapped iterable; ``log(loss=...)`` records metrics shown with the bar."""

    def __init__(
        self,
        iterable_or_total,
        total: int | None = None,
        max_fps: float = 10.0,
        widget: bool = False,
        clock=time.monotonic,
        display=None,
    ):
        if isinstance(iterable_or_total, int):
            self.iterable, self.total = range(iterable_or_total), iterable_or_total
        else:
            self.iterable = iterable_or_total
            self.total = (
                total
                if total is not None
                else (len(iterable_or_total) if hasattr(iterable_or_total, "__len__") else None)
            )
        self.min_interval = 1.0 / max_fps
        self.widget = widget
        self.clock = clock
        self._display = display
        self.n = 0
        self.history: dict = OrderedDict()
        self.redraws = 0
        self._last = None
        self._handle = None
        self._html_widget = None

    # -- metrics ------------------------------------------------------------------------------------
    def log(self, **metrics) -> None:
        for k, v in metrics.items():
            self.history.setdefault(k, []).append(float(np.asarray(v)))
        self._maybe_redraw()

    # -- drawing ------------------------------------------------------------------------------------
    def _frame(self, final: bool) -> _Static:
        total = self.total
        frac = min(1.0, self.n / total) if total else 0.0
        head = f"{self.n}/{total}" if total else f"{self.n}"
        metrics = "  ".join(f"{k} {num(v[-1])}" for k, v in self.history.items() if v)
        text = f"[{'#' * int(frac * 30):<30}] {head}  {metrics}".rstrip()
        bar = (
            f'<div style="width:240px;height:10px;background:#eee;border-radius:3px">'
            f'<div style="width:{int(frac * 240)}px;height:10px;background:#2f7d32;border-radius:3px"></div></div>'
        )
        curves = ""
        if final:
            for k, v in self.history.items():
                curves += (
                    f"<div>{escape(k)}: {escape(num(v[0]))} &rarr; {escape(num(v[-1]))}</div>"
                    f'<img src="{data_uri(line_png(v))}" alt="{escape(k)} curve">'
                )
        html = f'<div style="{BOX}">{bar}<div>{escape(head)} &nbsp; {escape(metrics)}</div>{curves}</div>'
        return _Static(text, html)

    def _show(self, final: bool = False) -> None:
        frame = self._frame(final)
        self.redraws += 1
        disp = self._display or _ipy_display
        if self.widget and not final:
            if self._html_widget is None:
                import ipywidgets

                self._html_widget = ipywidgets.HTML()
                disp(self._html_widget)
            self._html_widget.value = frame.html
            return
        if self._handle is None:
            self._handle = disp(frame, display_id=True)
        else:
            self._handle.update(frame)

    def _maybe_redraw(self) -> None:
        now = self.clock()
        if self._last is None or now - self._last >= self.min_interval:
            self._last = now
            self._show()

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.n += 1
            self._maybe_redraw()
        self.close()

    def close(self) -> None:
        """Draw the final state (a static output that saved notebooks keep)."""
        self._show(final=True)


def _ipy_display(obj, display_id=None):
    from IPython.display import display

    return display(obj, display_id=display_id)


def progress(iterable_or_total, total: int | None = None, max_fps: float = 10.0, widget: bool = False) -> Progress:
    """``for i in nnabla_nb.progress(range(n)): ...; p.log(loss=loss.d)``: a live, throttled progress output."""
    return Progress(iterable_or_total, total=total, max_fps=max_fps, widget=widget)


def params(scope: str = "") -> _Static:
    """The parameters (under ``scope``) as a table with statistics and value pictures."""
    allp = nn.get_parameters(grad_only=False)
    scope = scope.strip("/")
    chosen = OrderedDict((k, v) for k, v in allp.items() if not scope or k.startswith(scope + "/") or k == scope)
    if not chosen:
        return _Static("no parameters", "<div>no parameters</div>")
    return _Static(params_text(chosen), params_html(chosen))


def grads(scope: str = "") -> _Static:
    """Gradient statistics of every parameter that needs one (read after ``backward``), with warning flags."""
    allp = nn.get_parameters()
    scope = scope.strip("/")
    rows_text, rows_html = [], []
    for k, v in allp.items():
        if scope and not (k.startswith(scope + "/") or k == scope):
            continue
        s = array_stats(v.g)
        flags = ", ".join(grad_flags(s))
        norm = float(np.sqrt(np.nansum(np.square(v.g, dtype=np.float64))))
        rows_text.append(
            f"  {printable(k)} {shape(v.shape)} |g| {num(norm)} max {num(max(abs(s.min), abs(s.max)))} {flags}"
        )
        color = "#c62828" if flags else "#333"
        rows_html.append(
            f"<tr><td>{escape(k)}</td><td>{escape(shape(v.shape))}</td><td>{escape(num(norm))}</td>"
            f'<td>{escape(num(s.mean))}</td><td style="color:{color}">{escape(flags or "ok")}</td></tr>'
        )
    text = "gradients\n" + "\n".join(rows_text)
    cell = "padding:1px 8px;text-align:left"
    head = "".join(f'<th style="{cell}">{h}</th>' for h in ("name", "shape", "L2 norm", "mean", "flags"))
    html = f'<table style="{BOX};border-collapse:collapse"><tr>{head}</tr>{"".join(rows_html)}</table>'
    return _Static(text, html)
