"""``nnabla_nb.grads``: per-parameter gradient table (L2 norm, mean |g|, |g|/|w|, flags) with histograms.

Flags: ``nan``, ``inf``, ``zero`` (every element exactly 0), ``vanishing`` (|g|/|w| below ``vanishing``, or |g|
below it where |w| is 0), ``exploding`` (max |g| above ``exploding``). Norms are L2 over the whole parameter.

``follow=True`` refreshes the view after each backward without touching a number of the engine. It registers
three observers, removed by ``stop()`` (or leaving a ``with`` block):
  * ``nn.set_function_post_hook``: notes that functions ran (no reads there: mid-pass gradients are partial);
  * ``nn.set_solver_pre_hook``: the solver's first call after a backward (``update``, ``weight_decay``,
    ``clip_grad_by_norm``...), run before the solver changes anything, reads the finished gradients;
  * IPython's ``post_run_cell``: a cell that ran a backward without a solver refreshes when it ends.
Refreshes are throttled to ``max_fps``; one skipped by the throttle happens at the end of the cell instead.
Reading never materializes a lazily zeroed gradient (``graph.read_grad``), so solver decisions are unchanged.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass

import ipywidgets
import numpy as np
import traitlets

import nnabla as nn

from ..display import BOX, CELL, MUTED
from ..errors import check_bool, check_parameters, check_positive, usage
from ..graph import read_data, read_grad
from ..render.common import num, shape
from ..render.escape import escape, printable
from ..render.png import data_uri, histogram_png
from .frontend import LiveOutput, Static, use_widget
from .params import scoped_parameters

VANISHING = 1e-6
EXPLODING = 1e3
_keys = itertools.count()


@dataclass(frozen=True)
class GradRow:
    """Gradient summary of one parameter."""

    name: str
    shape: tuple
    norm: float  # L2 norm of the gradient
    mean_abs: float  # mean |g|
    ratio: float  # |g| / |w| (L2 norms; nan when |w| is 0, as a zero-initialized bias is: no ratio exists)
    max_abs: float
    flags: tuple
    histogram: str  # PNG data-URI of the gradient's histogram, or its values as text for tiny shapes


def grad_row(name: str, v, vanishing: float = VANISHING, exploding: float = EXPLODING) -> GradRow:
    g = np.asarray(read_grad(v), np.float64)
    w = np.asarray(read_data(v), np.float64)
    nan, inf = int(np.isnan(g).sum()), int(np.isinf(g).sum())
    finite = g[np.isfinite(g)] if (nan or inf) else g
    norm = float(np.sqrt(np.square(finite).sum()))
    wnorm = float(np.sqrt(np.square(w[np.isfinite(w)]).sum()))
    mean_abs = float(np.abs(finite).mean()) if finite.size else math.nan
    max_abs = float(np.abs(finite).max()) if finite.size else math.nan
    ratio = norm / wnorm if wnorm > 0 else math.nan
    flags = []
    if nan:
        flags.append("nan")
    if inf:
        flags.append("inf")
    if finite.size and norm == 0.0:
        flags.append("zero")
    elif finite.size and (ratio < vanishing if wnorm > 0 else norm < vanishing):
        flags.append("vanishing")
    if max_abs > exploding:
        flags.append("exploding")
    return GradRow(name, tuple(v.shape), norm, mean_abs, ratio, max_abs, tuple(flags), _picture(g))


SMALL = 4  # gradients of at most this many elements are listed, not drawn


def _picture(g: np.ndarray) -> str:
    """The histogram of a gradient (zero marked), or, for a handful of elements, the values as text."""
    if g.size <= SMALL:
        return "values " + ", ".join(num(float(x)) for x in g.ravel())
    return data_uri(histogram_png(g))


def ratio_text(r: GradRow) -> str:
    return "- (|w| = 0)" if math.isnan(r.ratio) and r.norm == r.norm else num(r.ratio)


def grad_rows(params=None, vanishing: float = VANISHING, exploding: float = EXPLODING) -> list:
    """``GradRow`` of every parameter with need_grad in ``params`` (a dict, a scope name, or None: all)."""
    if params is None or isinstance(params, str):
        params = scoped_parameters(params)
    return [grad_row(k, v, vanishing, exploding) for k, v in params.items() if v.need_grad]


def rows_text(rows: list) -> str:
    if not rows:
        return "gradients: no parameters"
    width = max(len(printable(r.name)) for r in rows)
    lines = [f"gradients of {len(rows)} parameters (|g| L2 norm, mean |g|, |g|/|w|)"]
    for r in rows:
        flags = ", ".join(r.flags) or "ok"
        lines.append(
            f"  {printable(r.name):<{width}} {shape(r.shape):<10} |g| {num(r.norm):<10} mean|g| {num(r.mean_abs):<10} "
            f"|g|/|w| {ratio_text(r):<10} {flags}"
        )
    return "\n".join(lines)


def rows_html(rows: list, note: str = "") -> str:
    if not rows:
        return f'<div style="{BOX}">gradients: no parameters</div>'
    head = "".join(
        f'<th style="{CELL}">{h}</th>'
        for h in ("parameter", "shape", "|g| (L2)", "mean |g|", "|g| / |w|", "flags", "histogram of g")
    )
    body = []
    for r in rows:
        color = "#c62828;font-weight:bold" if r.flags else "#2f7d32"
        cells = [
            escape(r.name),
            escape(shape(r.shape)),
            escape(num(r.norm)),
            escape(num(r.mean_abs)),
            escape(ratio_text(r)),
            f'<span style="color:{color}">{escape(", ".join(r.flags) or "ok")}</span>',
            f'<img src="{r.histogram}" alt="histogram of {escape(r.name)} gradient" style="max-height:40px">'
            if r.histogram.startswith("data:")
            else escape(r.histogram),
        ]
        body.append("<tr>" + "".join(f'<td style="{CELL}">{c}</td>' for c in cells) + "</tr>")
    return (
        f'<div style="{BOX}"><div><b>gradients</b> <span style="{MUTED}">of {len(rows)} parameters'
        f"{escape(note)}; histograms: 0 marked in red</span></div>"
        f'<table style="border-collapse:collapse"><tr>{head}</tr>{"".join(body)}</table></div>'
    )


class BackwardFollower:
    """Calls ``callback()`` after backward passes (see the module docstring), at most ``max_fps`` a second."""

    def __init__(self, callback, max_fps: float = 10.0, clock=time.monotonic):
        self.callback = callback
        self.min_interval = 1.0 / max_fps
        self.clock = clock
        self.key = f"nnabla_nb.grads.{next(_keys)}"
        self._ran = False  # functions ran since the last refresh
        self._pending = False  # a refresh was skipped by the throttle
        self._next = -math.inf
        self._ip = None
        self.active = False
        self.passes = 0  # backward passes seen (a solver step after functions ran, or a cell that ran some)

    def start(self) -> None:
        if self.active:
            return
        nn.set_function_post_hook(self.key, self._function_ran)
        nn.set_solver_pre_hook(self.key, self._solver_step)
        try:
            from IPython import get_ipython

            self._ip = get_ipython()
        except ImportError:
            self._ip = None
        if self._ip is not None:
            self._ip.events.register("post_run_cell", self._cell_ended)
        self.active = True

    def stop(self) -> None:
        if not self.active:
            return
        nn.unset_function_post_hook(self.key)
        nn.unset_solver_pre_hook(self.key)
        if self._ip is not None:
            try:
                self._ip.events.unregister("post_run_cell", self._cell_ended)
            except ValueError:
                pass
        self.active = False
        self.flush()

    def _function_ran(self, func) -> None:
        self._ran = True

    def _solver_step(self) -> None:
        if not self._ran:  # later calls of the same solver step, or a solver step with no new backward
            return
        self._ran = False
        self.passes += 1
        now = self.clock()
        if now < self._next:
            self._pending = True
            return
        self._next = now + self.min_interval
        self._pending = False
        self.callback()

    def _cell_ended(self, result=None) -> None:
        self.flush()

    def flush(self) -> None:
        """Refresh now if functions ran or a refresh was skipped since the last one."""
        if self._ran or self._pending:
            self.passes += self._ran
            self._ran = self._pending = False
            self._next = self.clock() + self.min_interval
            self.callback()


class _GradsBase:
    """What the widget and the static view share: rows, follow, refresh counting, the static bundle."""

    def _setup_follow(self, follow: bool, max_fps: float) -> None:
        self.refreshes = 0
        self._follower = BackwardFollower(self._on_backward, max_fps)
        if follow:
            self._follower.start()

    def rows(self) -> list:
        return grad_rows(self._params_arg, self.vanishing, self.exploding)

    def note(self) -> str:
        """What the table reflects when following: how many training steps it has seen."""
        passes = self._follower.passes
        if not passes:
            return ""
        return f", as of the last of {passes} backward passes followed"

    def static(self) -> Static:
        rows = self.rows()
        note = self.note()
        return Static(rows_text(rows) + (f"\n  ({note[2:]})" if note else ""), rows_html(rows, note))

    def stop(self) -> None:
        """Stop following (a last refresh shows the final gradients)."""
        self._follower.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        self.stop()
        return False


class GradsView(_GradsBase, ipywidgets.VBox):
    """Gradient table with histograms; a refresh button; ``follow`` refreshes it after each backward."""

    follow = traitlets.Bool(False, help="refresh after each backward (see the module docstring)").tag(sync=False)
    vanishing = traitlets.Float(VANISHING, min=0.0, help="|g|/|w| below this is flagged 'vanishing'").tag(sync=False)
    exploding = traitlets.Float(EXPLODING, min=0.0, help="max |g| above this is flagged 'exploding'").tag(sync=False)

    def __init__(self, params=None, follow: bool = False, max_fps: float = 10.0, **kwargs):
        check_grads_arguments(params, follow, max_fps)
        self._params_arg = params
        self._live = None
        self._table = ipywidgets.HTML()
        button = ipywidgets.Button(description="refresh", icon="refresh", layout={"width": "100px"})
        button.on_click(lambda _: self.refresh())
        super().__init__(children=(button, self._table), **kwargs)
        self._setup_follow(False, max_fps)
        self.follow = follow
        self.refresh()

    @traitlets.observe("follow")
    def _follow_changed(self, change):
        if change["new"]:
            self._follower.start()
        else:
            self._follower.stop()

    @traitlets.observe("vanishing", "exploding")
    def _thresholds_changed(self, change):
        self.refresh()

    def refresh(self) -> None:
        """Re-read the gradients."""
        self.refreshes += 1
        self._table.value = rows_html(self.rows(), self.note())

    def _on_backward(self) -> None:
        self.refresh()

    def stop(self) -> None:
        """Stop following; inside ``with``, the widget gives way to a final static table."""
        self.follow = False
        if self._live is not None:
            self._live.finish(self.static())
            self._live = None

    def __enter__(self):
        self._live = LiveOutput()
        self._live.show(self)
        return self

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        static = self.static()
        bundle["text/plain"], bundle["text/html"] = static.text, static.html
        return bundle


class GradsTable(_GradsBase):
    """The same table without widgets: a static output; with ``follow`` one output updated in place, which
    ``stop()`` (or the end of a ``with`` block) replaces by a final static table."""

    def __init__(self, params=None, follow: bool = False, max_fps: float = 10.0, display=None):
        check_grads_arguments(params, follow, max_fps)
        self._params_arg = params
        self.vanishing, self.exploding = VANISHING, EXPLODING
        self._display = display
        self._live = None
        self._setup_follow(follow, max_fps)

    @property
    def follow(self) -> bool:
        return self._follower.active

    def refresh(self) -> None:
        self.refreshes += 1
        if self._live is not None:
            self._live.show(self.static())

    def _on_backward(self) -> None:
        self.refresh()

    def show(self) -> None:
        """Display the table (live while following)."""
        if self.follow:
            if self._live is None:
                self._live = LiveOutput(display=self._display)
            self._live.show(self.static())
        else:
            (self._display or _display)(self.static())

    def stop(self) -> None:
        was = self.follow
        self._follower.stop()
        if was and self._live is not None:
            self._live.finish(self.static())
            self._live = None

    def __enter__(self):
        if self.follow and self._live is None:
            self.show()
        return self

    def _ipython_display_(self) -> None:
        self.show()

    def _repr_mimebundle_(self, include=None, exclude=None):
        return self.static()._repr_mimebundle_()

    def __repr__(self) -> str:
        return self.static().text


def check_grads_arguments(params, follow, max_fps) -> None:
    """What ``grads``, ``GradsView`` and ``GradsTable`` accept (an ArgumentError with ``grads``'s usage else)."""
    use = usage(grads)
    check_parameters("nnabla_nb.grads", "params", params, use, scope=True)
    check_bool("nnabla_nb.grads", "follow", follow, use)
    check_positive("nnabla_nb.grads", "max_fps", max_fps, use)


def _display(obj):
    from IPython.display import display

    display(obj)


def grads(params=None, follow: bool = False, max_fps: float = 10.0, widget: bool | None = None):
    """Gradient table of ``params`` (dict, scope name, or None: every parameter): norms, mean |g|, |g|/|w|,
    vanishing/exploding flags, histograms. ``follow=True`` refreshes after each backward until ``stop()``
    (``with nnabla_nb.grads(follow=True): ...`` stops at the end of the block)."""
    check_grads_arguments(params, follow, max_fps)
    check_bool("nnabla_nb.grads", "widget", widget, usage(grads), none=True)
    if use_widget(widget):
        return GradsView(params, follow=follow, max_fps=max_fps)
    return GradsTable(params, follow=follow, max_fps=max_fps)
