"""``nnabla_nb.progress(..., comm=comm)``: rank 0 draws every rank's progress, the other ranks send what they log.

The ranks of one process here talk through an in-memory channel (the ``channel`` seam), so each exchange is
stepped by hand; ``test_progress_over_mpi`` runs the real thing, MPI messages between processes started by
``mpiexec`` (``mpi_progress_run.py``).
"""

import io
import os
import re
import subprocess
import sys
import sysconfig
import types

import numpy as np
import pytest

import nnabla_nb
from nnabla_nb.widgets import Progress, ranks


class Mailbox:
    """The ranks' messages in one process: what each rank sent, in order, until rank 0 takes it."""

    def __init__(self):
        self.queue = []  # (source, message)
        self.runs = {}

    def channel(self, rank):
        box = self

        class Channel:
            def next_run(self):
                box.runs[rank] = box.runs.get(rank, 0) + 1
                return box.runs[rank]

            def send(self, message):
                box.queue.append((rank, message))

            def flush(self, deadline):
                pass

            def receive(self, run):
                out = [(s, m) for s, m in box.queue if m[0] == run]
                box.queue = [(s, m) for s, m in box.queue if m[0] != run]
                return out

        return Channel()


class Clock:
    def __init__(self, step=1.0):
        self.t, self.step = 0.0, step

    def __call__(self):
        self.t += self.step
        return self.t


def _rank(rank, size, box, n=5, **kw):
    comm = types.SimpleNamespace(rank=rank, size=size)
    stream = io.StringIO()
    p = Progress(range(n), widget=False, clock=Clock(), stream=stream, comm=comm, channel=box.channel(rank), **kw)
    return p, stream


def test_rank0_draws_every_rank_and_the_others_nothing():
    box = Mailbox()
    p0, out0 = _rank(0, 2, box)
    p1, out1 = _rank(1, 2, box)
    loops = iter(p0), iter(p1)
    for i in range(5):  # the two ranks step by turns, as two processes would
        for p, loop in zip((p0, p1), loops):
            next(loop)
            p.log(loss=(p.rank + 1) * 10.0 - i)
    for loop in reversed(loops):  # rank 1 ends first: its last message is waiting when rank 0 closes
        assert next(loop, "end") == "end"
    assert out1.getvalue() == "" and p1.ranks.views == {}  # rank 1 drew nothing
    text = out0.getvalue().split("\r")[-1]
    assert re.search(r"done: 5/5  in [\d.]+s  \([\d.]+ it/s\)  loss 6\n  rank 0: done: 5/5  loss 6\n"
                     r"  rank 1: done: 5/5  loss 16\n", text)  # fmt: skip
    assert "  loss (rank 0): 10 -> 6, 5 values\n  loss (rank 1): 20 -> 16, 5 values" in text
    history = p0.rank_history
    assert list(history) == [0, 1] and history[1]["loss"].tolist() == [20.0, 19.0, 18.0, 17.0, 16.0]
    assert p1.rank_history == {1: {"loss": pytest.approx(np.array([20.0, 19.0, 18.0, 17.0, 16.0]))}}
    html = p0.frame(final=True).html
    assert html.count("width:160px;height:8px;background:#8a8a8a40") == 2  # one bar per rank
    assert "loss (rank 1): 20 &rarr; 16" in html and "data:image/svg+xml," in html


def test_live_line_names_every_rank_and_the_chart_has_their_curves():
    box = Mailbox()
    p0, out0 = _rank(0, 3, box, n=10)
    ps = [_rank(r, 3, box, n=10)[0] for r in (1, 2)]
    for p in [p0, *ps]:
        p.update(4)
        p.log(loss=float(p.rank), acc=0.5)
    p0.update()  # a redraw (the clock moves 1 s a read): it takes the messages that arrived
    live = out0.getvalue().split("\r")[-1]
    assert live.endswith("loss 0  acc 0.5 | rank 1 4/10 loss 1  acc 0.5 | rank 2 4/10 loss 2  acc 0.5")
    svg = p0._curves(None).decode()
    names = re.findall(r">([a-z]+ \(rank \d\)): ", svg)
    assert names == [f"{m} (rank {r})" for m in ("loss", "acc") for r in range(3)]


def test_a_rank_stopped_early_or_silent_is_said(monkeypatch):
    monkeypatch.setattr(ranks, "FINAL_WAIT", 0.05)
    box = Mailbox()
    p0, out0 = _rank(0, 4, box)
    p1, _ = _rank(1, 4, box)
    p2, _ = _rank(2, 4, box)
    _rank(3, 4, box)  # made, but never counts: it sends nothing
    for i in p1:
        if i == 2:
            break
    p2.update(3)  # counting, never closed
    p2.log(loss=1.5)
    p2._redraw()
    for _ in p0:
        pass
    text = out0.getvalue()
    assert "rank 1: interrupted at 2/5\n" in text and "rank 2: 3/5 (did not close)  loss 1.5\n" in text
    assert "rank 3: silent\n" in text
    assert "background:#e65100" in p0.frame(final=True).html  # rank 1's bar is orange


def test_rank0_widget_lists_every_rank(monkeypatch):
    import ipywidgets.comm

    class Quiet:  # a kernel comm that sends nowhere
        comm_id, kernel = "quiet", None
        open = on_msg = on_close = close = send = lambda self, *a, **k: None

    monkeypatch.setattr(ipywidgets.comm, "create_comm", lambda *a, **k: Quiet())
    box = Mailbox()
    shown = []
    comm0 = types.SimpleNamespace(rank=0, size=2)
    p0 = Progress(range(4), widget=True, clock=Clock(), comm=comm0, channel=box.channel(0),
                  display=lambda obj, display_id=None: shown.append(obj) or types.SimpleNamespace(update=shown.append))
    p1, _ = _rank(1, 2, box, n=4, watch={})
    assert p1.dashboard is None and p1.widget is None  # rank 0 draws (the ranks' parameters are the same)
    p1.update(2)
    p1.log(loss=3.0)
    p0.update(1)
    assert p0.widget.status.splitlines()[1:] == ["rank 0: 1/4", "rank 1: 2/4 (did not close)  loss 3"]
    assert "loss (rank 1)" in p0.widget.curves.decode()


def test_one_process_and_bad_communicators():
    single = Progress(range(3), widget=False, stream=io.StringIO(), comm=types.SimpleNamespace(rank=0, size=1))
    assert single.ranks is None and single.rank == 0  # size 1: the ordinary progress
    with pytest.raises(ValueError, match=r"nnabla_nb.progress: comm's rank must be in 0..size-1, got rank 2"):
        nnabla_nb.progress(3, comm=types.SimpleNamespace(rank=2, size=2))
    with pytest.raises(TypeError, match="comm must be a communicator with a rank and a size"):
        nnabla_nb.progress(3, comm="world")


def _mpiexec():
    path = os.path.join(sysconfig.get_path("scripts"), "mpiexec")
    assert os.path.exists(path), f"no mpiexec beside {sys.executable} (pip install mpich)"
    return path


@pytest.mark.parametrize("size", [2, 3])
def test_progress_over_mpi(size):
    """Processes started by mpiexec: rank 0 prints every rank's values (see mpi_progress_run.py)."""
    script = os.path.join(os.path.dirname(__file__), "mpi_progress_run.py")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    run = subprocess.run([_mpiexec(), "-n", str(size), sys.executable, script], capture_output=True, text=True,
                         timeout=90, env=env)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    final = run.stdout.split("\r")[-1]
    for r in range(size):
        values = " -> ".join(f"{v:g}" for v in (100.0 * r, 100.0 * r + 29))
        assert f"  rank {r}: done: 30/30  loss {100 * r + 29}\n" in final
        assert f"  loss (rank {r}): {values}, 30 values\n" in final
    assert f"history {[[100.0 * r + i for i in range(30)] for r in range(size)]}" in run.stdout
