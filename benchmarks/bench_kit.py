"""Timings of the Jupyter kit, medians in one process.

1. Graph rendering: the whole MIME bundle of ``nnabla_nb.graph(y)`` (model, DOT, SVG laid out by the pinned
   WebAssembly Graphviz, HTML, JSON, text) for MLPs of ~100 and ~1,000 functions, with the default view (scopes
   collapsed past ``AUTO_COLLAPSE_NODES`` nodes, capped at ``DEFAULT_MAX_NODES``). The SVG cache is cleared
   before every run, so each run lays the graph out. Limit: 1 s for 1,000 functions.
2. Progress overhead: a loop with ``nnabla_nb.progress`` (and ``p.log`` every step) over the same loop bare,
   for the tutorial's MLP training step and for an almost empty step; each rendered frame (text, HTML, PNG of
   the curves) is built as in a notebook, only the transport to the frontend is left out.

    .venv/bin/python benchmarks/bench_kit.py           # full
    .venv/bin/python benchmarks/bench_kit.py --quick   # a few seconds (run by tests/kit/test_bench.py)
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import nnabla as nn  # noqa: E402
import nnabla.functions as F  # noqa: E402
import nnabla.parametric_functions as PF  # noqa: E402
import nnabla.solvers as S  # noqa: E402
import nnabla_nb  # noqa: E402
from nnabla_nb import render  # noqa: E402
from nnabla_nb.widgets.progress import Progress  # noqa: E402

GRAPH_LIMIT_S = 1.0


def mlp(layers: int):
    """``layers`` affine+tanh pairs: 2 * layers + 1 functions."""
    nn.clear_parameters()
    h = nn.Variable((16, 8))
    for i in range(layers):
        h = F.tanh(PF.affine(h, 8, name=f"fc{i}"))
    return F.mean(h)


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bench_graph(repeat: int) -> list:
    render.to_svg(nnabla_nb.build(mlp(1)))  # compile the WebAssembly Graphviz once (~0.5 s), as a kernel does
    rows = []
    for layers in (50, 500):
        y = mlp(layers)
        functions = 2 * layers + 1

        def bundle():
            render.svg_from_dot.cache_clear()
            return nnabla_nb.graph(y)._repr_mimebundle_()

        view = nnabla_nb.graph(y)
        t = median_time(bundle, repeat)
        rows.append((functions, len(view.full.nodes), len(view.model.nodes), view.model.count("group"), t))
    nn.clear_parameters()
    return rows


class _NoDisplay:
    """Receives frames as IPython's display would (the frames are built; nothing is sent)."""

    def __call__(self, obj, display_id=None):
        return self

    def update(self, obj):
        pass


def _tutorial_step():
    """The tutorial's MLP (5 affine, 4 tanh) and one Adam step on a batch of 100: returns step()."""
    nn.clear_parameters()
    nn.seed(0)
    rng = np.random.RandomState(0)
    x = nn.Variable([100, 2])
    h = x
    for i, hnum in enumerate([4, 8, 4, 2]):
        h = F.tanh(PF.affine(h, hnum, name=f"fc{i}"))
    y = PF.affine(h, 1, name="fc")
    label = nn.Variable([100, 1])
    loss = F.reduce_mean(F.squared_error(y, label))
    solver = S.Adam(alpha=0.01)
    solver.set_parameters(nn.get_parameters())

    def step():
        x.d = rng.uniform(-1, 1, x.shape)
        label.d = np.sqrt((x.d**2).sum(1, keepdims=True))
        loss.forward(clear_no_need_grad=True)
        solver.zero_grad()
        loss.backward(clear_buffer=True)
        solver.update()
        return loss.d

    return step


def _tiny_step():
    a = np.ones(8, np.float32)

    def step():
        return a.sum()

    return step


def bench_progress(name: str, step, steps: int, repeat: int) -> tuple:
    def bare():
        for _ in range(steps):
            step()

    def with_progress():
        p = Progress(range(steps), widget=False, display=_NoDisplay())
        for _ in p:
            p.log(loss=step())
        return p

    bare()  # warm up caches (graph walk, solver state)
    bares, progs, redraws = [], [], []
    for _ in range(repeat):  # interleaved, so drifts hit both alike
        bares.append(median_time(bare, 1))
        t = time.perf_counter()
        p = with_progress()
        progs.append(time.perf_counter() - t)
        redraws.append(p.redraws)
    b, w = statistics.median(bares), statistics.median(progs)
    return name, steps, b, w, w / b, max(redraws)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and steps (a few seconds)")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 7
    out = {"graph": bench_graph(repeat), "progress": []}
    pairs = 5 if args.quick else 15  # this machine is shared: many interleaved pairs, then medians

    print("graph bundle (default view: scopes collapsed past 200 nodes, at most 400 drawn), median of", repeat)
    print(f"{'functions':>10}{'nodes':>7}{'drawn':>7}{'groups':>8}{'bundle s':>10}  limit {GRAPH_LIMIT_S} s")
    for functions, nodes, drawn, groups, t in out["graph"]:
        flag = "ok" if t < GRAPH_LIMIT_S else "OVER LIMIT"
        print(f"{functions:>10}{nodes:>7}{drawn:>7}{groups:>8}{t:>10.3f}  {flag}")

    mlp_steps = 300 if args.quick else 1000
    tiny_steps = 20000 if args.quick else 200000
    sink = io.StringIO()
    old, sys.stdout = sys.stdout, sink  # nothing should print, but keep the table clean if it does
    try:
        out["progress"] = [
            bench_progress("tutorial MLP step", _tutorial_step(), mlp_steps, pairs),
            bench_progress("tiny step (np.sum)", _tiny_step(), tiny_steps, pairs),
        ]
    finally:
        sys.stdout = old
    print("\nprogress overhead: loop with progress + log every step / bare loop, medians of", pairs, "pairs")
    print(f"{'loop':<22}{'steps':>8}{'bare s':>9}{'progress s':>12}{'ratio':>8}{'frames':>8}")
    for name, steps, b, w, ratio, frames in out["progress"]:
        print(f"{name:<22}{steps:>8}{b:>9.3f}{w:>12.3f}{ratio:>8.3f}{frames:>8}")
    nn.clear_parameters()
    return out


if __name__ == "__main__":
    main()
