"""``nnabla_nb.progress``: live training progress (count, rate, ETA, metric curves) that leaves a static picture.

    for i in (p := nnabla_nb.progress(range(2000))):
        ...
        p.log(loss=loss.d)

Redraws are throttled to ``max_fps`` (10 a second) whatever the loop's rate; between redraws an iteration costs
one clock read. With a widget frontend the progress is a ``ProgressWidget``; without one (nbconvert, nbval) one
output is updated in place; in a terminal one line is rewritten. When the loop ends, the live output gives way to
a final static output: the bar (orange and "interrupted at" when the loop stopped early), the elapsed time and
rate, and an SVG chart of the curves (axes with tick values, an iteration axis, a legend; log-y when asked with
``log_y=True`` or when a loss spans decades). ``watch=nn.get_parameters()`` adds a dashboard: per parameter, a
heatmap over time of the histograms of log10|weight| and log10|gradient| (one row per snapshot, oldest at the
top), the norms and a flag where the gradient's norm relative to the weight's norm is below ``VANISHING`` (the
layer barely learns) or above ``EXPLODING`` (or not finite). Snapshots are taken at most ``DASHBOARD_FPS`` times a
second, on a redraw, so a step between redraws costs nothing more; the final output keeps the dashboard as static
pictures. ``comm=`` (a communicator of a multi-process run): rank 0 draws every rank's bar, values and curves,
the other ranks send it what they log (``ranks.py``). The time and rate are the one volatile part of a saved
notebook (``tutorials/sanitize.cfg`` masks them for nbval); the chart depends only on the values.
"""

from __future__ import annotations

import math
import time

import ipywidgets
import numpy as np
import traitlets

from ..errors import check_bool, check_int, check_parameters, check_positive, check_type, describe, fail, usage
from ..graph import read_data, read_grad
from ..render.chart import curves_svg
from ..render.common import num
from ..render.escape import escape, printable
from ..render.html import svg_uri
from ..render.png import data_uri, encode_png
from .frontend import LiveOutput, Static, use_widget
from .ranks import Ranks, checked_comm, mpi_channel, mpi_world

BOX = "font-family:monospace;font-size:12px;line-height:1.45"
BAR_WIDTH = 30  # characters of the text bar (text/plain only: the HTML and the widget draw a real bar)
LIVE_POINTS = 2048  # live curves plot at most this many points per metric (the final picture plots all)
DONE_COLOR, STOPPED_COLOR = "#2f7d32", "#e65100"


class Series:
    """One metric's values and the iterations they were logged at, in growing numpy buffers."""

    __slots__ = ("x", "y", "n")

    def __init__(self):
        self.x = np.empty(256, np.int64)
        self.y = np.empty(256, np.float64)
        self.n = 0

    def append(self, x: int, y: float) -> None:
        if self.n == len(self.y):
            self.x = np.concatenate([self.x, np.empty_like(self.x)])
            self.y = np.concatenate([self.y, np.empty_like(self.y)])
        self.x[self.n] = x
        self.y[self.n] = y
        self.n += 1

    @property
    def values(self) -> np.ndarray:
        return self.y[: self.n]

    @property
    def steps(self) -> np.ndarray:
        return self.x[: self.n]


class ProgressWidget(ipywidgets.VBox):
    """The live view of a ``Progress``: a bar, a status line and a picture of the metric curves."""

    value = traitlets.Int(0, help="iterations done").tag(sync=False)
    total = traitlets.Int(None, allow_none=True, help="iterations expected; None when unknown").tag(sync=False)
    status = traitlets.Unicode("", help="the status line: count, rate, ETA, latest metric values").tag(sync=False)
    curves = traitlets.Bytes(b"", help="SVG chart of the metric curves (empty: no metric logged yet)").tag(sync=False)

    def __init__(self, **kwargs):
        self._bar = ipywidgets.IntProgress(value=0, min=0, max=1, layout={"width": "320px"})
        self._label = ipywidgets.HTML()
        # drawn at its own size: a VBox would stretch it to the output's width
        self._image = ipywidgets.Image(format="svg+xml", layout={"display": "none", "align_self": "flex-start"})
        self.dashboard = ipywidgets.HTML()  # the watched parameters' histograms (empty without watch=)
        super().__init__(children=(self._bar, self._label, self._image, self.dashboard), **kwargs)
        self._sync_bar()

    @traitlets.validate("value")
    def _valid_value(self, proposal):
        if proposal["value"] < 0:
            raise traitlets.TraitError("value must be >= 0")
        return proposal["value"]

    @traitlets.validate("total")
    def _valid_total(self, proposal):
        if proposal["value"] is not None and proposal["value"] < 0:
            raise traitlets.TraitError("total must be >= 0 or None")
        return proposal["value"]

    @traitlets.observe("value", "total")
    def _sync_bar(self, change=None):
        top = self.total if self.total else max(self.value, 1)
        if self._bar.max != top:
            self._bar.max = top
        self._bar.value = min(self.value, top)

    @traitlets.observe("status")
    def _sync_status(self, change):
        self._label.value = f'<span style="{BOX};white-space:pre">{escape(self.status)}</span>'

    @traitlets.observe("curves")
    def _sync_curves(self, change):
        self._image.value = self.curves
        self._image.layout.display = "" if self.curves else "none"

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = self.status
        return bundle


class Progress:
    """Iterate like ``iterable`` (or count with ``update``); ``log(name=value)`` records metrics to plot.

    ``metrics`` names the curves to draw first (others appear as they are logged). ``widget``: True, False or
    None (detect a widget frontend). ``comm``: rank 0 draws every rank's progress (``ranks.py``). ``clock``,
    ``display``, ``stream`` and ``channel`` (the ranks' messages) are seams for tests.
    """

    def __init__(
        self,
        iterable=None,
        total: int | None = None,
        metrics=(),
        max_fps: float = 10.0,
        widget: bool | None = None,
        log_y: bool | None = None,
        watch=None,
        comm=None,
        clock=time.monotonic,
        display=None,
        stream=None,
        channel=None,
    ):
        iterable, total, metrics = _checked(iterable, total, metrics, max_fps, widget, log_y)
        self.ranks = _ranks(comm, channel)
        self.rank = self.ranks.rank if self.ranks is not None else 0
        self.dashboard = Dashboard(check_parameters("nnabla_nb.progress", "watch", watch, USE)) if watch else None
        if self.rank:  # rank 0 draws the dashboard (data-parallel ranks hold the same parameters)
            self.dashboard = None
        self._next_dashboard = -math.inf
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.iterable = iterable
        self.total = total
        self.log_y = log_y
        self.min_interval = 1.0 / max_fps
        self.clock = clock
        self.n = 0
        self.series: dict = {name: Series() for name in metrics}
        self.redraws = 0
        self._widget_mode = use_widget(widget)
        self._display, self._stream = display, stream
        self._live = None
        self.widget: ProgressWidget | None = None
        self._start = None
        self._end = None
        self._next = -math.inf
        self._logged = 0  # metric values logged so far
        self._drawn = -1  # ... and when the curves were last drawn
        self._closed = False
        self._broken = False  # the loop over the iterable was left early (break, exception, KeyboardInterrupt)

    @property
    def interrupted(self) -> bool:
        """True when the run ended before its total (or its loop was left early): the final state says so."""
        if self.total is not None and self.n < self.total:
            return self._closed or self._broken
        return self._broken and self.total is None

    # -- counting -----------------------------------------------------------------------------------
    def __iter__(self):
        if self.iterable is None:
            fail("nnabla_nb.progress", "no iterable was given to loop over: call p.update() each step", USE, True)
        self._begin()
        clock = self.clock
        try:
            for item in self.iterable:
                yield item
                self.n += 1
                if clock() >= self._next:
                    self._redraw()
        except GeneratorExit:  # the loop was left early: a break, or an exception in its body
            self._broken = True
            raise
        finally:
            self.close()

    def __len__(self) -> int:
        if self.total is None:
            raise TypeError("progress: total unknown")
        return self.total

    def update(self, n: int = 1) -> None:
        """Count ``n`` more iterations (for loops that do not iterate over the progress)."""
        if type(n) is not int or n < 0:
            check_int("progress.update", "n", n, 0, "usage: p.update(n=1)")
        self._begin()
        self.n += n
        if self.clock() >= self._next:
            self._redraw()

    def __enter__(self) -> Progress:
        self._begin()
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False

    # -- metrics ------------------------------------------------------------------------------------
    def log(self, **metrics) -> None:
        """Record metric values at the current iteration: ``p.log(loss=loss.d, acc=acc)``."""
        if self._start is None:
            self._begin()
        n, series = self.n, self.series
        for name, value in metrics.items():  # record(), inlined: this runs once per training step
            s = series.get(name)
            if s is None:
                s = series[name] = Series()
            s.append(n, _metric(name, value))
        self._logged += len(metrics)
        if self.clock() >= self._next:
            self._redraw()

    def record(self, name: str, step: int, value) -> None:
        """Record ``value`` of metric ``name`` at iteration ``step`` (no redraw)."""
        use = "usage: p.record(name, step, value)"
        check_type("progress.record", "name", name, str, "a metric name (str)", use)
        step = check_int("progress.record", "step", step, 0, use)
        value = _metric(name, value, "progress.record")
        self._begin()
        series = self.series.get(name)
        if series is None:
            series = self.series[name] = Series()
        series.append(step, value)
        self._logged += 1

    @property
    def history(self) -> dict:
        """Metric name -> numpy array of its logged values (this rank's)."""
        return {name: s.values.copy() for name, s in self.series.items()}

    @property
    def rank_history(self) -> dict:
        """Rank -> (metric name -> numpy array of its values): every rank's on rank 0, this rank's elsewhere."""
        out = {self.rank: self.history}
        if self.ranks is not None:
            for r, view in self.ranks.views.items():
                out[r] = {name: s.values.copy() for name, s in view.series.items()}
        return out

    def monitor_series(self, name: str, monitor=None, interval: int = 1, verbose: bool = False):
        """An ``nnabla.monitor.MonitorSeries`` whose logged (interval-averaged) values are also drawn here."""
        from nnabla.monitor import MonitorSeries

        use = usage(self.monitor_series, "p.monitor_series")
        check_type("progress.monitor_series", "name", name, str, "a series name (str)", use)
        return self.watch(MonitorSeries(name, monitor, interval=interval, verbose=verbose))

    def watch(self, series):
        """Draw what an existing ``MonitorSeries`` logs: each averaged value it writes, at its index.

        The series still writes its file and log lines as before; only its instance's ``add`` is wrapped.
        """
        from nnabla.monitor import MonitorSeries

        use = "usage: p.watch(series)"
        check_type("progress.watch", "series", series, MonitorSeries, "an nnabla.monitor.MonitorSeries", use)
        original = series.add
        progress = self

        def add(index, value):
            flushing = index - series.flush_at >= series.interval
            mean = float(np.mean([_scalar(v) for v in series.buf] + [_scalar(value)])) if flushing else None
            original(index, value)
            if flushing:
                progress.record(series.name, int(index), mean)
                if progress.clock() >= progress._next:
                    progress._redraw()

        series.add = add
        return series

    # -- timing -------------------------------------------------------------------------------------
    @property
    def elapsed(self) -> float:
        """Seconds since the first iteration (until close)."""
        if self._start is None:
            return 0.0
        return (self._end if self._end is not None else self.clock()) - self._start

    @property
    def rate(self) -> float:
        """Iterations per second so far."""
        t = self.elapsed
        return self.n / t if t > 0 else 0.0

    # -- drawing ------------------------------------------------------------------------------------
    def _begin(self) -> None:
        if self._start is not None:
            return
        self._start = self.clock()
        if self.rank:  # rank > 0 draws nothing: its redraws send rank 0 what it logged
            self._redraw()
            return
        self._live = LiveOutput(display=self._display, stream=self._stream)
        if self._widget_mode:
            self.widget = ProgressWidget(total=self.total)
            self._live.show(self.widget)
        self._redraw()

    def _all_series(self) -> dict:
        """Curve name -> Series: the metrics, or with other ranks shown, each metric of each rank."""
        if not self._views():
            return self.series
        ranks = {0: self.series, **{r: v.series for r, v in self.ranks.views.items()}}
        names = list(dict.fromkeys(name for table in ranks.values() for name in table))
        return {f"{name} (rank {r})": t[name] for name in names for r, t in ranks.items() if name in t}

    def _views(self) -> list:
        """The other ranks' views (rank 0 of a multi-process run), else []."""
        return list(self.ranks.views.values()) if self.ranks is not None else []

    def _curves(self, points: int | None) -> bytes:
        """The SVG chart of the logged metrics (b"" before any)."""
        data = {}
        for name, s in self._all_series().items():
            x, v = s.steps, s.values
            if points is not None and len(v) > points:
                step = -(-len(v) // points)
                x, v = x[::step], v[::step]
            data[name] = (x, v)
        if not any(len(v) for _, v in data.values()):
            return b""
        return curves_svg(data, log_y=self.log_y).encode("utf-8")

    def _metrics_line(self) -> str:
        return "  ".join(f"{name} {num(float(s.values[-1]))}" for name, s in self.series.items() if s.n)

    def status(self, final: bool = False, text_bar: bool = True, others: bool = True) -> str:
        """The status line: (``text_bar``) a text bar, the count, the rate, and the time left (live) or the
        elapsed time (final, "interrupted at" when the run stopped early); live, on rank 0 of a multi-process
        run, (``others``) the other ranks' counts and values after it."""
        n, total = self.n, self.total
        count = f"{n}/{total}" if total else f"{n} it"
        bar = f"[{'#' * int(min(1.0, n / total) * BAR_WIDTH):<{BAR_WIDTH}}] " if text_bar and total else ""
        rate = self.rate
        speed = (f"{rate:.0f} it/s" if rate >= 100 else f"{rate:.3g} it/s") if rate else ""
        if final:
            word = "interrupted at " if self.interrupted else "done: "
            parts = [bar + word + count, f"in {_duration(self.elapsed, precise=True)}", f"({speed})" if speed else ""]
        else:
            parts = [bar + count, speed]
            if total and rate:
                parts.append("ETA " + _duration(max(0, total - n) / rate))
        metrics = self._metrics_line()
        line = "  ".join(p for p in parts + [metrics] if p)
        if others and self._views() and not final:  # the other ranks on the live line (a terminal shows one line)
            line += "".join(f" | {_rank_line(v, compact=True)}" for v in self._views())
        return line

    def rank_lines(self, final: bool = False) -> list:
        """One line per rank (rank 0 first): its count, its state and its latest values ([] without ranks)."""
        if not self._views():
            return []
        me = f"rank 0: {_state(self.n, self.total, final, self.interrupted)}"
        mine = self._metrics_line()
        return [me + (f"  {mine}" if mine else "")] + [_rank_line(v) for v in self._views()]

    def frame(self, final: bool = False) -> Static:
        """The output for the current state: live (rate and ETA) or final (elapsed time and rate).

        With other ranks (rank 0 of a multi-process run) each rank has a bar and a line, and the chart has each
        rank's curves."""
        text = self.status(final)
        ranks = self.rank_lines(final)
        if ranks:
            counts = [(self.n, self.total, self.interrupted)] + [(v.n, v.total, v.interrupted) for v in self._views()]
            bar = "".join(
                '<div style="display:flex;align-items:center;gap:8px">'
                f'{_bar_html(n, t, final, stopped, 160, ";flex:none")}'
                f'<span style="white-space:pre">{escape(line)}</span></div>'
                for line, (n, t, stopped) in zip(ranks, counts)
            )
            text += "".join(f"\n  {line}" for line in ranks)
        else:
            bar = _bar_html(self.n, self.total, final, self.interrupted)
        svg = self._curves(None if final else LIVE_POINTS)
        lines = []
        if final:
            for name, s in self._all_series().items():
                if s.n:
                    v = s.values
                    lines.append(
                        f"{escape(name)}: {escape(num(float(v[0])))} &rarr; {escape(num(float(v[-1])))} "
                        f"(min {escape(num(float(np.nanmin(v)) if np.isfinite(v).any() else math.nan))}, "
                        f"{s.n} values)"
                    )
                    text += f"\n  {name}: {num(float(v[0]))} -> {num(float(v[-1]))}, {s.n} values"
        legend = "".join(f"<div>{line}</div>" for line in lines)
        img = f'<img src="{svg_uri(svg.decode("utf-8"))}" alt="metric curves">' if svg else ""
        board = ""
        if self.dashboard is not None:
            board, text = self.dashboard.html(), text + "\n" + self.dashboard.text()
        status = escape(self.status(final, text_bar=False, others=False))
        html = f'<div style="{BOX}">{bar}<div>{status}</div>{legend}{img}{board}</div>'
        return Static(text, html)

    def _widget_status(self, final: bool) -> str:
        """The widget's status: the status line, then (other ranks shown) one line per rank."""
        return "\n".join([self.status(final, text_bar=False, others=False)] + self.rank_lines(final))

    def _sample(self, now: float) -> bool:
        """A dashboard snapshot when one is due (at most DASHBOARD_FPS a second): True when taken."""
        if self.dashboard is None or now < self._next_dashboard:
            return False
        self._next_dashboard = now + 1.0 / DASHBOARD_FPS
        self.dashboard.sample(self.n)
        return True

    def _redraw(self) -> None:
        self.redraws += 1
        now = self.clock()
        self._next = now + self.min_interval
        if self.ranks is not None:
            if self.rank:
                self.ranks.send(self)
                return
            self._logged += self.ranks.receive()
        sampled = self._sample(now)
        if self.widget is not None:
            w = self.widget
            if sampled:
                w.dashboard.value = self.dashboard.html()
            w.value = self.n
            w.status = self._widget_status(final=False)
            if self._logged != self._drawn:
                self._drawn = self._logged
                w.curves = self._curves(LIVE_POINTS)
            return
        self._live.show(self.frame())

    def close(self) -> None:
        """End the live output and display the final static one (once; later calls do nothing)."""
        if self._closed:
            return
        self._begin()
        self._closed = True
        self._end = self.clock()
        if self.ranks is not None:
            if self.rank:  # its last message; rank 0 draws
                self.ranks.send(self, final=True)
                return
            self._logged += self.ranks.finish()
        if self.dashboard is not None and self.dashboard.last_step != self.n:
            self.dashboard.sample(self.n)  # the final picture shows the final state
        if self.widget is not None:  # its last state, though the final output below replaces its view
            self.widget.value, self.widget.status = self.n, self._widget_status(final=True)
            if self.interrupted:
                self.widget._bar.bar_style = "warning"
        self._live.finish(self.frame(final=True))
        if self.widget is not None:
            self.widget.close()  # its view was replaced by the final output: free the comms

    def _ipython_display_(self) -> None:
        """Displaying a Progress shows its final frame (e.g. ``p`` as the last line of a later cell)."""
        from IPython.display import display

        display(self.frame(final=True))


def _scalar(value) -> float:
    if type(value) is float or isinstance(value, (int, np.generic)):
        return float(value)
    if type(value) is np.ndarray and value.ndim == 0:  # loss.d
        return float(value)
    if hasattr(value, "need_grad") or (hasattr(value, "data") and hasattr(value, "zero")):  # Variable, NdArray
        value = read_data(value)
    elif hasattr(value, "get") and hasattr(value, "shape"):  # a device (cupy) array: one explicit copy
        value = value.get()
    a = np.asarray(value, dtype=np.float64)
    return float(a) if a.ndim == 0 else float(a.mean())


def _metric(name: str, value, where: str = "progress.log") -> float:
    """``_scalar(value)``, or an ArgumentError naming the metric when it is no number."""
    try:
        if value is not None:  # numpy would make None a NaN
            return _scalar(value)
    except (TypeError, ValueError):
        pass
    return fail(where, f"metric {name!r} must be a number or an array of numbers, got {describe(value)}", LOG_USE)


LOG_USE = "usage: p.log(name=value, ...)  e.g. p.log(loss=loss.d)"


def _checked(iterable, total, metrics, max_fps, widget, log_y) -> tuple:
    """``progress``'s arguments checked (an ArgumentError with its usage line), an int iterable made a range."""
    if isinstance(iterable, int) and not isinstance(iterable, bool):
        iterable = range(check_int("nnabla_nb.progress", "iterable", iterable, 0, USE))
    elif iterable is not None and not hasattr(iterable, "__iter__"):
        what = f"iterable must be something to loop over or a count, got {describe(iterable)}"
        fail("nnabla_nb.progress", what, USE, type_error=True)
    total = check_int("nnabla_nb.progress", "total", total, 0, USE, none=True)
    if isinstance(metrics, str):  # one name
        metrics = (metrics,)
    metrics = tuple(metrics) if hasattr(metrics, "__iter__") else metrics
    if not isinstance(metrics, tuple) or not all(isinstance(m, str) for m in metrics):
        fail("nnabla_nb.progress", f"metrics must be a list of metric names (str), got {describe(metrics)}", USE, True)
    check_positive("nnabla_nb.progress", "max_fps", max_fps, USE)
    check_bool("nnabla_nb.progress", "widget", widget, USE, none=True)
    check_bool("nnabla_nb.progress", "log_y", log_y, USE, none=True)
    return iterable, total, metrics


def _ranks(comm, channel):
    """The exchange of a multi-process ``comm`` (``ranks.Ranks``), or None for one process (or no comm)."""
    if comm is None:
        return None
    rank, size = checked_comm(comm, "nnabla_nb.progress", USE)
    if size == 1:
        return None
    if channel is None:
        world = mpi_world(comm)
        if world is None and rank == 0:  # one process driving several devices: nobody else to hear from
            return None
        mine = (world.Get_rank(), world.Get_size()) if world is not None else (0, 1)
        if mine != (rank, size):
            what = f"comm is rank {rank} of {size}, but this process is rank {mine[0]} of {mine[1]} in MPI's COMM_WORLD"
            fail("nnabla_nb.progress", what + ": pass the communicator of all the processes", USE)
        channel = mpi_channel(world)
    return Ranks(rank, size, channel, Series)


def _state(n: int, total: int | None, final: bool, interrupted: bool) -> str:
    count = f"{n}/{total}" if total else f"{n} it"
    if final:
        return ("interrupted at " if interrupted else "done: ") + count
    return count


def _rank_line(view, compact: bool = False) -> str:
    """``rank 1: done: 100/100  loss 0.31`` (``compact``: ``rank 1 40/100 loss 0.31``, for the live line)."""
    values = "  ".join(f"{name} {num(float(s.values[-1]))}" for name, s in view.series.items() if s.n)
    if compact:
        return " ".join(p for p in (f"rank {view.rank}", f"{view.n}/{view.total}" if view.total else "", values) if p)
    if not view.heard:
        state = "silent"
    elif view.closed:
        state = _state(view.n, view.total, True, view.interrupted)
    else:
        state = _state(view.n, view.total, False, False) + " (did not close)"
    return f"rank {view.rank}: {state}" + (f"  {values}" if values else "")


def _bar_html(n: int, total: int | None, final: bool, stopped: bool, width: int = 320, style: str = "") -> str:
    frac = min(1.0, n / total) if total else (1.0 if final else 0.0)
    color = STOPPED_COLOR if final and stopped else DONE_COLOR
    return (
        f'<div style="width:{width}px;height:8px;background:#8a8a8a40;border-radius:3px{style}">'
        f'<div style="width:{int(frac * width)}px;height:8px;background:{color};border-radius:3px"></div></div>'
    )


def _duration(seconds: float, precise: bool = False) -> str:
    if precise and seconds < 60:
        return f"{seconds:.1f}s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def progress(
    iterable=None,
    total: int | None = None,
    metrics=(),
    max_fps: float = 10.0,
    widget: bool | None = None,
    log_y: bool | None = None,
    watch=None,
    comm=None,
) -> Progress:
    """Live progress of a loop: ``for i in (p := nnabla_nb.progress(range(n))): ...; p.log(loss=loss.d)``.

    ``iterable`` (or an int: ``range(n)``) is iterated; without one, call ``p.update()`` per step and
    ``p.close()`` at the end (or use ``with``). ``metrics`` orders the curves; ``p.monitor_series(name)`` or
    ``p.watch(series)`` draws what an ``nnabla.monitor.MonitorSeries`` logs. Redraws: at most ``max_fps`` a
    second. ``widget``: None detects a widget frontend. ``log_y``: a logarithmic value axis (None: chosen when
    a positive curve spans more than two decades). A run stopped early is marked interrupted (``p.interrupted``).
    ``watch``: parameters (``nn.get_parameters()``) whose weight and gradient histograms are drawn over time,
    with vanishing/exploding flags (see ``Dashboard``). ``comm``: an ``nnabla.communicators`` communicator of a
    multi-process run; every rank makes the same progress, rank 0 draws every rank's (counts, values, curves)
    and the other ranks draw nothing (see ``ranks.py``).
    """
    return Progress(
        iterable, total=total, metrics=metrics, max_fps=max_fps, widget=widget, log_y=log_y, watch=watch, comm=comm
    )


USE = usage(progress)


# -- the parameter dashboard ------------------------------------------------------------------------------
DASHBOARD_FPS = 2.0  # snapshots (and live dashboard redraws) per second at most
VANISHING = 1e-5  # flag: ||grad|| / ||weight|| below this (the layer's weights barely move)
EXPLODING = 10.0  # flag: ||grad|| / ||weight|| above this, or a gradient that is not finite
LOG_RANGE = (-8.0, 2.0)  # histograms bin log10|value| over this range (values beyond go to the end bins)
BINS = 40
MAX_ROWS = 128  # snapshots kept per parameter: when full, every other old one is dropped (the span stays)


def _log_hist(a: np.ndarray) -> np.ndarray:
    m = np.abs(a[np.isfinite(a)]).astype(np.float64)
    m = np.log10(m[m > 0])
    return np.histogram(np.clip(m, *LOG_RANGE), bins=BINS, range=LOG_RANGE)[0]


def _hist_png(rows: list) -> bytes:
    """Histograms over time as a heatmap: one row per snapshot, darker = more values in that bin."""
    h = np.asarray(rows, np.float64)
    share = h / np.maximum(h.max(axis=1, keepdims=True), 1)
    shade = np.round(255 * (1 - 0.85 * share)).astype(np.uint8)
    rgb = np.stack([shade, shade, np.full_like(shade, 255)], axis=2)
    rgb[h == 0] = 255
    return encode_png(np.repeat(np.repeat(rgb, 3, axis=1), max(1, 48 // len(rows)), axis=0))


class Dashboard:
    """Snapshots of watched parameters: log10|w| and log10|g| histograms, norms and their ratio."""

    def __init__(self, params: dict):
        self.params = dict(params)
        self.steps: list = []
        self.weights: dict = {k: [] for k in self.params}
        self.grads: dict = {k: [] for k in self.params}
        self.norms: dict = {}  # name -> (||w||, ||g||) at the last snapshot
        self._html = ""  # drawn once per snapshot, not per redraw: PNG encoding is the dashboard's main cost
        self._html_of = -1  # ... for this many samples taken
        self.samples = 0

    @property
    def last_step(self):
        return self.steps[-1] if self.steps else None

    def sample(self, step: int) -> None:
        if len(self.steps) >= MAX_ROWS:
            self.steps = self.steps[::2]
            for table in (self.weights, self.grads):
                for k in table:
                    table[k] = table[k][::2]
        self.steps.append(step)
        self.samples += 1
        for k, v in self.params.items():
            w, g = read_data(v), read_grad(v)
            self.weights[k].append(_log_hist(w))
            self.grads[k].append(_log_hist(g))
            self.norms[k] = (float(np.linalg.norm(w)), float(np.linalg.norm(g)))

    def flag(self, name: str) -> str:
        """'exploding', 'vanishing' or '' for the last snapshot of ``name``."""
        wn, gn = self.norms.get(name, (0.0, 0.0))
        if not math.isfinite(gn) or (wn > 0 and gn > EXPLODING * wn):  # a zero bias has no scale to compare
            return "exploding"
        if wn > 0 and gn < VANISHING * wn:
            return "vanishing"
        return ""

    def text(self) -> str:
        lines = [f"parameters at iteration {self.last_step} (||g||/||w||: vanishing < {VANISHING:g}, "
                 f"exploding > {EXPLODING:g})"]  # fmt: skip
        for k in self.params:
            wn, gn = self.norms.get(k, (math.nan, math.nan))
            ratio = gn / wn if wn else math.nan
            flag = self.flag(k)
            lines.append(f"  {printable(k)}: ||w|| {num(wn)} ||g|| {num(gn)} ratio {num(ratio)}"
                         + (f"  {flag.upper()}" if flag else ""))  # fmt: skip
        return "\n".join(lines)

    def html(self) -> str:
        if self._html_of != self.samples:
            self._html, self._html_of = self._draw(), self.samples
        return self._html

    def _draw(self) -> str:
        if not self.steps:
            return ""
        cell = "padding:1px 6px;text-align:left;vertical-align:middle;border-bottom:1px solid #8a8a8a40"
        rows = []
        for k in self.params:
            wn, gn = self.norms[k]
            flag = self.flag(k)
            style = "color:#c62828;font-weight:bold" if flag else ""
            pics = [
                f'<img src="{data_uri(_hist_png(t[k]))}" alt="{escape(what)} histograms of {escape(k)} over time" '
                f'style="image-rendering:pixelated;width:{3 * BINS}px;border:1px solid #8a8a8a80">'
                for what, t in (("weight", self.weights), ("gradient", self.grads))
            ]
            ratio = gn / wn if wn else math.nan
            rows.append(
                f'<tr><td style="{cell}">{escape(k)}</td><td style="{cell}">{pics[0]}</td>'
                f'<td style="{cell}">{pics[1]}</td><td style="{cell}">{escape(num(wn))}</td>'
                f'<td style="{cell}">{escape(num(gn))}</td><td style="{cell}">{escape(num(ratio))}</td>'
                f'<td style="{cell};{style}">{flag}</td></tr>'
            )
        head = "".join(
            f'<th style="{cell}">{h}</th>'
            for h in ("parameter", "log10|w| over time", "log10|g| over time", "||w||", "||g||", "||g||/||w||", "")
        )
        lo, hi = LOG_RANGE
        return (
            f'<div style="{BOX};margin-top:6px"><div>parameters, {len(self.steps)} snapshots to iteration '
            f"{self.last_step}; histograms of log10|value| from 1e{lo:g} (left) to 1e{hi:g} (right), time downwards; "
            f"flags: ||g||/||w|| &lt; {VANISHING:g} vanishing, &gt; {EXPLODING:g} exploding</div>"
            f'<table style="border-collapse:collapse"><tr>{head}</tr>{"".join(rows)}</table></div>'
        )
