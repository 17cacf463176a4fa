"""The training dashboard: ``progress(..., watch=params)`` draws weight and gradient histograms over time and
flags vanishing and exploding gradients; the final output keeps it as static pictures."""

import base64
import importlib
import io
import re

import numpy as np
import pytest
from PIL import Image

import nnabla as nn
from nnabla_nb.widgets.progress import Progress

prog = importlib.import_module("nnabla_nb.widgets.progress")  # the package's `progress` is the function

EVIL = "<script>alert(1)</script>"


class Display:
    def __init__(self):
        self.shown = []

    def __call__(self, obj, display_id=None):
        self.shown.append(obj)
        return self

    def update(self, obj):
        self.shown.append(obj)


class Clock:
    def __init__(self, step):
        self.t, self.step = 0.0, step

    def __call__(self):
        self.t += self.step
        return self.t


def _param(w, g):
    v = nn.Variable.from_numpy_array(np.asarray(w, np.float32), need_grad=True)
    v.g = np.asarray(g, np.float32)
    return v


def _params(grad_scale):
    """Three layers whose gradient is ``grad_scale`` (per layer) times their weight."""
    rng = np.random.RandomState(0)
    out = {}
    for name, scale in zip(("fc1/affine/W", "fc2/affine/W", EVIL), grad_scale):
        w = rng.randn(4, 5)
        out[name] = _param(w, w * scale)
    return out


def _run(params, steps=40, step_s=0.05):
    shown = Display()
    p = Progress(range(steps), widget=False, clock=Clock(step_s), display=shown, watch=params)
    for _ in p:
        p.log(loss=1.0)
    return p, shown


# (gradient / weight, the flag)
FLAGS = [(1e-7, "vanishing"), (1e-2, ""), (1e3, "exploding"), (np.nan, "exploding")]


@pytest.mark.parametrize("scale, flag", FLAGS)
def test_flags_follow_the_documented_ratio(scale, flag):
    p, _ = _run(_params([scale] * 3), steps=3)
    assert [p.dashboard.flag(k) for k in p.dashboard.params] == [flag] * 3


def test_zero_weights_with_gradients_are_not_flagged():
    p, _ = _run({"b": _param(np.zeros(3), np.ones(3))}, steps=2)
    assert p.dashboard.flag("b") == ""


def test_final_output_is_static_escaped_and_throttled():
    p, shown = _run(_params([1e-7, 1e-2, 1e3]), steps=40, step_s=0.05)
    board = p.dashboard
    # a clock read per redraw and per step: at most DASHBOARD_FPS snapshots per simulated second, plus the final one
    elapsed = p._end - p._start
    assert 2 <= len(board.steps) <= elapsed * prog.DASHBOARD_FPS + 2 and board.last_step == 40
    final = shown.shown[-1]
    assert "fc1/affine/W" in final.text and "VANISHING" in final.text and "EXPLODING" in final.text
    html = final.html
    assert "<script" not in html and "&lt;script&gt;" in html and html.count("data:image/png;base64,") == 6
    uri = re.findall(r'data:image/png;base64,([^"]+)', html)[0]
    pic = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri))))
    assert pic.shape[1] == 3 * prog.BINS and pic.shape[0] >= len(board.steps)
    assert board.html() == _run(_params([1e-7, 1e-2, 1e3]), steps=40, step_s=0.05)[0].dashboard.html()


def test_histograms_bin_log_magnitudes():
    h = prog._log_hist(np.array([1e-8, 1e-3, -1e-3, 0.0, 1e5, np.inf], np.float64))
    lo, hi = prog.LOG_RANGE
    width = (hi - lo) / prog.BINS
    assert h.sum() == 4 and h[0] == 1 and h[-1] == 1  # zero and inf are not magnitudes; 1e5 clipped into the top
    assert h[int((-3 - lo) / width)] == 2


def test_snapshots_are_capped_keeping_the_span():
    board = prog.Dashboard({"w": _param(np.ones(3), np.ones(3))})
    for step in range(prog.MAX_ROWS * 3):
        board.sample(step)
    assert len(board.steps) <= prog.MAX_ROWS and board.steps[0] == 0 and board.last_step == prog.MAX_ROWS * 3 - 1
    assert len(board.weights["w"]) == len(board.steps)


def test_without_watch_nothing_changes():
    p, shown = _run(None, steps=3)
    assert p.dashboard is None and "parameters at" not in shown.shown[-1].text
