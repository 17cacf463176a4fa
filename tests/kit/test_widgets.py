"""Widgets through a dummy comm (no browser), their static fallbacks, and the rule that they change no number."""

import io
import itertools
import re
import types

import numpy as np
import pytest
import traitlets

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla.solvers as S
import nnabla_nb
from nnabla import _state
from nnabla.monitor import Monitor, MonitorSeries
from nnabla_nb.errors import ArgumentError
from nnabla_nb.widgets import (
    BackwardSteps,
    GradsView,
    ParamsTree,
    Progress,
    grad_rows,
    has_widget_frontend,
    record_backward,
    set_widget_mode,
)
from nnabla_nb.widgets.frontend import PLACEHOLDER
from nnabla_nb.widgets.grads import rows_html, rows_text


class DummyComm:
    """Stands in for a kernel comm: records what ipywidgets would send to the frontend."""

    kernel = "a kernel"  # ipywidgets only sends when the comm has a kernel
    ids = itertools.count()

    def __init__(self, log, *args, **kwargs):
        self.comm_id = f"dummy-{next(self.ids)}"
        self.log = log

    def open(self, *args, **kwargs):
        pass

    def on_msg(self, *args, **kwargs):
        pass

    def on_close(self, *args, **kwargs):
        pass

    def close(self, *args, **kwargs):
        pass

    def send(self, data=None, metadata=None, buffers=None):
        self.log.append(data)


@pytest.fixture
def comm_log(monkeypatch):
    import ipywidgets.comm

    log = []
    monkeypatch.setattr(ipywidgets.comm, "create_comm", lambda *a, **k: DummyComm(log, *a, **k))
    return log


class FakeDisplay:
    """IPython's display(obj, display_id=True) and handle.update(obj), recorded."""

    def __init__(self):
        self.calls = []  # ("display" | "update", obj)

    def __call__(self, obj, display_id=None):
        self.calls.append(("display", obj))
        return self

    def update(self, obj):
        self.calls.append(("update", obj))


class Clock:
    def __init__(self, step=0.0):
        self.t, self.step = 0.0, step

    def __call__(self):
        self.t += self.step
        return self.t


# -- progress -------------------------------------------------------------------------------------
def test_progress_widget_messages_are_throttled(comm_log):
    disp = FakeDisplay()
    clock = Clock()
    p = Progress(range(10000), max_fps=10, widget=True, clock=clock, display=disp)
    for i in p:  # 10,000 steps of 1 ms: 10 s of training
        clock.t += 0.001
        p.log(loss=1.0 / (i + 1))
    assert p.elapsed == pytest.approx(10.0, rel=0.05)
    assert p.redraws <= 10 * 10 + 2  # at most 10 a second, plus the first
    updates = [m for m in comm_log if m and m.get("method") == "update"]
    assert len(updates) <= 3 * p.redraws + 2  # bar, status, curves: one each at most (+ the bar's max, the image shown)
    assert p.widget.value == 10000 and p.widget.status.startswith("done: 10000/10000  in 10.0s")  # no text bar
    # the live widget gives way to a placeholder, and a final static output follows
    assert disp.calls[0] == ("display", PLACEHOLDER) and disp.calls[-2] == ("update", PLACEHOLDER)
    kind, final = disp.calls[-1]
    assert kind == "display" and "data:image/svg+xml," in final.html
    assert re.match(r"\[#{30}\] done: 10000/10000  in 10\.0s  \(\d+ it/s\)", final.text)  # elapsed and rate kept
    assert "[#" not in final.html  # the HTML draws a real bar, not the text one beside it


def test_progress_real_clock_fast_loop(comm_log):
    p = Progress(range(10000), widget=True, display=FakeDisplay())
    for i in p:
        p.log(loss=float(i))
    assert p.redraws < 20 and len(comm_log) < 80  # a fast loop: a handful of frames, not one per step


def test_progress_static_fallback_is_deterministic():
    def run():
        disp = FakeDisplay()
        p = Progress(range(500), widget=False, clock=Clock(0.01), display=disp, metrics=("loss", "acc"))
        for i in p:
            p.log(loss=np.float32(1.0 / (i + 1)), acc=i / 500)
        return disp.calls, p

    calls, p = run()
    kinds = [k for k, _ in calls]
    assert kinds[0] == "display" and kinds[-1] == "display" and set(kinds[1:-1]) == {"update"}
    assert calls[0][1] is PLACEHOLDER and calls[-2][1] is PLACEHOLDER  # what nbval and nbconvert both see
    live = calls[1][1]
    assert "it/s" in live.text or live.text.startswith("[")
    assert any("ETA" in obj.text for _, obj in calls[2:-2])
    final = calls[-1][1]
    assert re.match(r"\[#{30}\] done: 500/500  in [\d.]+s  \([\d.]+ it/s\)  loss 0\.002  acc 0\.998", final.text)
    assert "ETA" not in final.html and "<script" not in final.html and final.html.count("<img") == 1
    assert run()[0][-1][1].html == final.html and len(p.history["loss"]) == 500


def test_progress_interrupted_run_is_marked():
    disp = FakeDisplay()
    p = Progress(range(3000), widget=False, clock=Clock(0.01), display=disp)
    for i in p:
        if i == 260:
            break
        p.log(loss=1.0)
    del i
    p.close()  # what the generator's GeneratorExit does when the loop is left
    final = disp.calls[-1][1]
    assert p.interrupted and "interrupted at 260/3000" in final.text and "done" not in final.text
    assert "background:#e65100" in final.html and "#2f7d32" not in final.html  # an orange bar, not a green one
    q = Progress(range(3), widget=False, clock=Clock(0.01), display=FakeDisplay())
    for _ in q:
        pass
    assert not q.interrupted


def test_curves_chart_axes_legend_and_log_scale():
    from nnabla_nb.render.chart import curves_svg, nice_ticks, wants_log

    steps = np.arange(1000)
    loss = 10.0 * np.exp(-steps / 60.0) + 1e-3  # spans four decades: log-y chosen
    svg = curves_svg({"loss": (steps, loss), "acc": (steps, np.linspace(0, 1, 1000))})
    assert "log scale" not in svg  # acc reaches 0: a log axis cannot show it
    svg = curves_svg({"loss": (steps, loss)})
    assert wants_log({"loss": (steps, loss)}) and "log scale" in svg
    assert ">iteration<" in svg and ">loss: 0.001001<" in svg  # axis title, legend with the last value
    assert ">0.01<" in svg and ">1<" in svg and ">800<" in svg  # tick values on both axes
    assert "log scale" not in curves_svg({"loss": (steps, loss)}, log_y=False)
    assert nice_ticks(0, 1) == [0.0, 0.25, 0.5, 0.75, 1.0] and nice_ticks(0, 999, 6) == [0, 200, 400, 600, 800]
    names = [f"{m} (rank {r})" for m in ("loss", "param_diff") for r in range(2)]
    wide = curves_svg({name: (steps, steps * 1.0) for name in names})  # a legend wider than the chart takes two rows
    legend = re.findall(r'<text x="([\d.]+)" y="(\d+)" fill="#8a8a8a">([^<]*rank[^<]*)</text>', wide)
    assert [label.split(":")[0] for _, _, label in legend] == names and 'height="216"' in wide
    assert sorted({int(y) for _, y, _ in legend}) == [196, 212]  # two rows, the chart 16 px taller
    assert all(float(x) + 6.5 * len(label) <= 480 for x, _, label in legend)  # every entry inside the chart
    tiny = curves_svg({"loss": (steps, 0.5 + 1e-7 * np.sin(steps))})
    # a tiny band is drawn flat on an axis 2% of its level wide, not stretched into wild swings
    assert ">0.5<" in tiny and ">0.495<" in tiny and ">0.505<" in tiny


def test_progress_terminal_and_manual_update():
    buf = io.StringIO()
    with Progress(total=3, widget=False, clock=Clock(1.0), stream=buf) as p:
        for _ in range(3):
            p.update()
            p.log(loss=2.0)
    out = buf.getvalue()
    assert out.startswith("\r[") and re.search(r"done: 3/3  in [\d.]+s  \([\d.]+ it/s\)  loss 2\n  loss: 2 -> 2", out)
    with pytest.raises(ValueError):
        Progress(range(3), max_fps=0)


def test_progress_monitor_companion(tmp_path):
    p = Progress(range(100), widget=False, display=FakeDisplay(), clock=Clock(0.001))
    series = p.monitor_series("loss", interval=10)
    mon = Monitor(str(tmp_path))
    watched = p.watch(MonitorSeries("err", mon, interval=20, verbose=False))
    for i in p:
        series.add(i, float(i))
        watched.add(i, 1.0)
    assert list(p.series["loss"].steps) == list(range(9, 100, 10))  # MonitorSeries logs at index 9, 19, ...
    assert p.history["loss"][1] == pytest.approx(np.mean(np.arange(10, 20)))
    assert len(p.history["err"]) == 5 and (tmp_path / "err.series.txt").read_text().startswith("19 1\n39 1")


# -- detection ------------------------------------------------------------------------------------
def test_widget_mode_detection(monkeypatch):
    assert has_widget_frontend() is False  # pytest: no kernel, no frontend
    set_widget_mode(True)
    try:
        assert has_widget_frontend() is True
    finally:
        set_widget_mode(None)
    # a kernel whose frontend's widget manager opened (and closed) the control comm
    import ipywidgets

    from nnabla_nb.widgets import frontend

    monkeypatch.setattr(frontend, "in_kernel", lambda: True)
    assert has_widget_frontend() is False
    monkeypatch.setattr(ipywidgets.Widget, "_control_comm", object())
    assert has_widget_frontend() is True
    # a fresh kernel refused the control comm: the cell's request tells JupyterLab / Notebook 7 from nbclient
    monkeypatch.setattr(ipywidgets.Widget, "_control_comm", None)
    for metadata, expected in (
        ({}, False),  # nbclient, nbconvert, nbval
        ({"cellId": "c1"}, False),
        ({"cellId": "c1", "deletedCells": [], "recordTiming": False, "trusted": True}, True),  # JupyterLab 4.6
    ):
        kernel = types.SimpleNamespace(get_parent=lambda channel=None, m=metadata: {"header": {}, "metadata": m})
        monkeypatch.setattr(frontend, "_ipython", lambda k=kernel: types.SimpleNamespace(kernel=k))
        assert has_widget_frontend() is expected
    monkeypatch.setenv("NNABLA_NB_WIDGETS", "0")
    assert has_widget_frontend() is False
    monkeypatch.setenv("NNABLA_NB_WIDGETS", "1")
    assert has_widget_frontend() is True
    with pytest.raises(ValueError):
        set_widget_mode("yes")


# -- params ---------------------------------------------------------------------------------------
def test_params_tree_widget(comm_log, mlp):
    x, label, loss = mlp
    x.d = np.linspace(-1, 1, 200).reshape(100, 2)
    loss.forward()
    loss.backward()
    tree = ParamsTree()
    assert tree.names[:2] == ["fc0/affine/W", "fc0/affine/b"] and tree.selected == "fc0/affine/W"
    tree._buttons["fc2/affine/b"].click()
    assert tree.selected == "fc2/affine/b" and "fc2/affine/b" in tree._detail.value
    detail = tree._detail.value
    assert detail.count('<img src="data:image/png') - detail.count('alt="colour scale"') == 2  # data and grad
    with pytest.raises(ArgumentError, match="no parameter 'nope'"):
        tree.select("nope")
    with pytest.raises(traitlets.TraitError):
        tree.selected = "nope"
    PF.affine(x, 3, name="extra")
    tree._refresh_button.click()
    assert "extra/affine/W" in tree.names
    tree.scope = "fc1"
    assert tree.names == ["fc1/affine/W", "fc1/affine/b"] and tree.selected == "fc1/affine/W"
    bundle = tree._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "<details>" in bundle["text/html"]
    assert len(comm_log) > 0


def test_params_static_tree(mlp):
    static = nnabla_nb.params(widget=False)
    assert static.text.splitlines()[:4] == [
        "10 parameters, 101 values",
        "  fc0/",
        "    affine/",
        static.text.split("\n")[3],
    ]
    assert static.text.splitlines()[3].startswith("      W (2, 4) mean")
    assert static.html.count("<details>") == 5 * 2 + 10 and "<script" not in static.html
    assert nnabla_nb.params("missing", widget=False).text == "no parameters under 'missing'"


# -- grads ----------------------------------------------------------------------------------------
def _train(loss, x, label, steps, solver):
    rng = np.random.RandomState(0)
    for _ in range(steps):
        x.d = rng.uniform(-1, 1, x.shape)
        label.d = np.sqrt((x.d**2).sum(1, keepdims=True))
        loss.forward()
        solver.zero_grad()
        loss.backward()
        solver.update()


def test_grad_rows_and_flags():
    nn.clear_parameters()
    x = nn.Variable.from_numpy_array(np.ones((2, 3)))
    y = F.sum(PF.affine(x, 2, name="fc"))
    y.forward()
    y.backward()
    rows = {r.name: r for r in grad_rows()}
    w = nn.get_parameters()["fc/affine/W"]
    assert rows["fc/affine/W"].norm == pytest.approx(np.sqrt(6 * 4.0)) and rows["fc/affine/W"].flags == ()
    assert rows["fc/affine/W"].ratio == pytest.approx(rows["fc/affine/W"].norm / np.linalg.norm(w.d))
    # b starts at 0: no ratio exists; the table says so instead of printing inf beside "ok"
    b = rows["fc/affine/b"]
    assert np.isnan(b.ratio) and b.flags == () and "- (|w| = 0)" in rows_text([b]) and "inf" not in rows_html([b])
    assert b.histogram == "values 2, 2"  # 2 elements: listed, not drawn
    w.g = 1e-12
    w.grad.data[0, 0] = 1e5
    assert grad_rows()[0].flags == ("exploding",)
    w.g = 1e-12
    assert grad_rows()[0].flags == ("vanishing",)
    w.grad.zero()
    assert grad_rows()[0].flags == ("zero",) and w.grad.zeroing  # reading kept the lazy zero
    w.g = np.nan
    assert grad_rows()[0].flags == ("nan",)
    nn.clear_parameters()


def test_grads_magic_widget(comm_log, mlp):
    """``%nnabla grads`` with a widget frontend: the GradsView widget of nnabla_nb.grads(), not following."""
    from nnabla_nb.magics import run_line

    x, label, loss = mlp
    solver = S.Sgd(0.1)
    solver.set_parameters(nn.get_parameters())
    _train(loss, x, label, 1, solver)
    set_widget_mode(True)
    try:
        view = run_line("grads fc0", {})
    finally:
        set_widget_mode(None)
    assert isinstance(view, GradsView) and view.follow is False and view.refreshes == 1
    assert [r.name for r in view.rows()] == ["fc0/affine/W", "fc0/affine/b"]
    assert "fc0/affine/W" in view._table.value and "fc1" not in view._table.value
    assert view._repr_mimebundle_()["text/plain"].startswith("gradients of 2 parameters")


def test_grads_follow_changes_no_number(comm_log, mlp):
    x, label, loss = mlp
    start = {k: v.d.copy() for k, v in nn.get_parameters().items()}

    def trained(follow):
        for k, v in nn.get_parameters().items():
            v.d = start[k]
        solver = S.Adam(0.01)
        solver.set_parameters(nn.get_parameters())
        view = GradsView(follow=follow, max_fps=1e6)
        _train(loss, x, label, 5, solver)
        view.stop()
        assert not _state.function_post_hooks and not _state.solver_pre_hooks
        return view, {k: v.d.copy() for k, v in nn.get_parameters().items()}

    quiet, expected = trained(False)
    view, got = trained(True)
    assert all(np.array_equal(expected[k], got[k]) for k in expected)
    assert quiet.refreshes == 1 and view.refreshes >= 5  # one per training step (unthrottled here)
    assert "fc0/affine/W" in view._table.value and "<img" in view._table.value
    bundle = view._repr_mimebundle_()
    assert bundle["text/plain"].startswith("gradients of 10 parameters")


def test_grads_table_follow_live_output(mlp):
    x, label, loss = mlp
    solver = S.Sgd(0.1)
    solver.set_parameters(nn.get_parameters())
    disp = FakeDisplay()
    g = nnabla_nb.widgets.GradsTable(follow=True, display=disp)
    with g:
        _train(loss, x, label, 3, solver)
    kinds = [k for k, _ in disp.calls]
    assert kinds[0] == "display" and disp.calls[-2] == ("update", PLACEHOLDER) and kinds[-1] == "display"
    assert disp.calls[-1][1].text.startswith("gradients of 10 parameters") and not g.follow


def test_reading_lazily_zeroed_grads_keeps_solver_decisions(mlp):
    x, label, loss = mlp
    solver = S.Adam(0.01)
    solver.set_parameters(nn.get_parameters())
    before = {k: v.d.copy() for k, v in nn.get_parameters().items()}
    solver.zero_grad()
    nnabla_nb.grads(widget=False)._repr_mimebundle_()
    nnabla_nb.graph(loss, grads=True)._repr_mimebundle_()
    solver.update()  # no backward since zero_grad: nothing may move
    assert all(np.array_equal(before[k], v.d) for k, v in nn.get_parameters().items())


# -- backward_steps -------------------------------------------------------------------------------
def test_record_backward_restores_everything(mlp):
    x, label, loss = mlp
    x.d = np.linspace(-1, 1, 200).reshape(100, 2)
    label.d = 0.5
    loss.forward()
    loss.backward()  # grads of a first pass, left accumulated
    params = nn.get_parameters()
    params["fc/affine/b"].grad.zero()
    before = {k: (v.grad.zeroing, v.g.copy() if not v.grad.zeroing else None) for k, v in params.items()}
    rec = record_backward(loss)
    assert len(rec.steps) == 12 and [s.type for s in rec.steps[1:4]] == ["ReduceMean", "SquaredError", "Affine"]
    for k, v in params.items():
        zeroing, g = before[k]
        assert v.grad.zeroing == zeroing and (zeroing or np.array_equal(v.g, g))
    # the last step holds exactly one backward pass's parameter gradients
    for v in params.values():
        v.grad.zero()
    loss.backward()
    last = rec.grads_at(len(rec.steps) - 1)
    w = next(n.id for n in rec.model.nodes if n.name == "fc0/affine/W")
    assert np.allclose(last[w], params["fc0/affine/W"].g)
    assert rec.model_at(0).node(rec.model.root).highlight == "reached"
    assert sum(n.highlight == "current" for n in rec.model_at(3).nodes) == 1


def test_backward_steps_widget_and_static(comm_log, mlp):
    x, label, loss = mlp
    loss.forward()
    rec = record_backward(loss)
    w = BackwardSteps(rec)
    assert w.steps == 11 and w.step == 11
    w._slider.value = 2
    assert w.step == 2 and "step 2/11: SquaredError backward" in w._caption.value and "<img" in w._view.value
    # every step is laid out with the last step's node sizes: the graph does not move while stepping
    positions = [re.findall(r'c[xy]="[^"]*"', rec.svg_at(k)) for k in (0, 5, 11)]
    assert positions[0] == positions[1] == positions[2]
    with pytest.raises(traitlets.TraitError):
        w.step = 12
    with pytest.raises(traitlets.TraitError):
        w.steps = 3  # read-only
    static = nnabla_nb.backward_steps(loss, widget=False)
    bundle = static._repr_mimebundle_()
    assert bundle["text/plain"].startswith("backward in 11 steps")
    assert bundle["text/html"].count("<details>") == 11 and "<script" not in bundle["text/html"]
    assert nnabla_nb.backward_steps(loss, widget=False).html == bundle["text/html"]  # deterministic
    import json

    from nnabla_nb.render import to_json

    doc = to_json(rec.model_at(5))
    assert {"current", "reached"} <= {n.get("highlight") for n in doc["nodes"]}
    json.dumps(doc, allow_nan=False)
