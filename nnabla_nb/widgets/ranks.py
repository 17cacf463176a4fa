"""Every rank's progress in one output: what ``nnabla_nb.progress(..., comm=comm)`` adds to a data-parallel run.

    comm = C.MultiProcessDataParalellCommunicator(ctx); comm.init()
    for i in (p := nnabla_nb.progress(range(n), comm=comm)):
        ...
        p.log(loss=loss.d)

Every rank runs the same loop with its own progress. Rank 0 draws: one bar per rank, their latest values, and
each rank's curves on one chart ("loss (rank 1)"). The other ranks draw nothing; they send rank 0 what they
counted and logged since their previous message, at their own (throttled) redraws and once when they close.

The messages are MPI point-to-point and non-blocking, between the communicator's processes (MPI's COMM_WORLD),
with a tag of their own. They are not collectives on purpose: a collective needs every rank inside it at the
same time, while each rank redraws on its own clock; one collective per ``log`` would add a synchronization to
every training step and would hang the others when one rank stops logging. Rank 0 takes what has arrived when
it redraws (a probe: nothing waits) and, when it closes, waits for every rank's last message, at most
``FINAL_WAIT`` seconds (a rank that never closed is then shown as silent). MPI delivers the messages from one
rank with one tag in order, so the last message means everything arrived. While the ranks run, rank 0's picture
of another rank is as old as that rank's last redraw (at most ``1 / max_fps`` seconds). A point-to-point message never
matches a collective, so the engine's own all_reduce traffic is untouched.

A communicator of one process (``size`` 1, or NNabla's single-process ``DataParalellCommunicator`` over several
devices) has no other process to hear from: the progress is then the ordinary one.
"""

from __future__ import annotations

import itertools
import time

import numpy as np

TAG = 0x6E6E  # the MPI tag of progress messages (MPI guarantees tags up to 32767)
FINAL_WAIT = 30.0  # seconds rank 0 waits, when it closes, for the other ranks' last messages


class RankView:
    """What rank 0 knows of one rank: its count and total, its metric series, whether it has closed."""

    def __init__(self, rank: int, series_type):
        self.rank = rank
        self.n = 0
        self.total = None
        self.series: dict = {}
        self.closed = False
        self.interrupted = False
        self.heard = False  # at least one message arrived
        self._series_type = series_type

    def merge(self, message: tuple) -> int:
        """Apply one message; the number of metric values it brought."""
        _, n, total, closed, interrupted, series = message
        self.n, self.total, self.heard = n, total, True
        self.closed, self.interrupted = self.closed or closed, interrupted
        added = 0
        for name, (steps, values) in series.items():
            s = self.series.get(name)
            if s is None:
                s = self.series[name] = self._series_type()
            for x, y in zip(steps.tolist(), values.tolist()):
                s.append(x, y)
            added += len(values)
        return added


class Ranks:
    """One progress's side of the exchange: rank > 0 sends (``send``), rank 0 receives (``receive``)."""

    def __init__(self, rank: int, size: int, channel, series_type):
        self.rank, self.size, self.channel = rank, size, channel
        self.run = channel.next_run()  # the same on every rank when every rank makes the same progresses
        self.views = {r: RankView(r, series_type) for r in range(1, size)} if rank == 0 else {}
        self._sent: dict = {}  # metric name -> values already sent (rank > 0)

    def send(self, progress, final: bool = False) -> None:
        """Rank > 0: what ``progress`` logged since the last message, its count, and (``final``) that it closed."""
        series = {}
        for name, s in progress.series.items():
            k = self._sent.get(name, 0)
            if s.n > k:
                series[name] = (s.steps[k:].copy(), s.values[k:].copy())
                self._sent[name] = s.n
        self.channel.send((self.run, progress.n, progress.total, final, progress.interrupted, series))
        if final:
            self.channel.flush(time.monotonic() + FINAL_WAIT)

    def receive(self) -> int:
        """Rank 0: apply every message that has arrived (none waits); the number of metric values they brought."""
        added = 0
        for source, message in self.channel.receive(self.run):
            view = self.views.get(source)
            if view is not None:
                added += view.merge(message)
        return added

    def finish(self, wait: float | None = None) -> int:
        """Rank 0: receive until every rank has closed, for at most ``wait`` (``FINAL_WAIT``) seconds."""
        deadline = time.monotonic() + (FINAL_WAIT if wait is None else wait)
        added = self.receive()
        while not all(v.closed for v in self.views.values()) and time.monotonic() < deadline:
            time.sleep(0.001)
            added += self.receive()
        return added


class MPIChannel:
    """Progress messages over an mpi4py communicator: non-blocking sends to rank 0, probed receives there.

    Messages of a later progress (another rank already in the next loop) wait in ``pending`` for it; messages
    of an earlier one that rank 0 stopped waiting for are dropped.
    """

    def __init__(self, world):
        self.world = world
        self._runs = itertools.count(1)
        self._requests: list = []
        self.pending: list = []  # (source, message) of later runs

    def next_run(self) -> int:
        return next(self._runs)

    def send(self, message) -> None:
        self._requests = [r for r in self._requests if not r.Test()]
        self._requests.append(self.world.isend(message, dest=0, tag=TAG))

    def flush(self, deadline: float) -> None:
        """Wait (until ``deadline``) for the sends to complete: a large message needs rank 0 to receive it."""
        while self._requests and time.monotonic() < deadline:
            self._requests = [r for r in self._requests if not r.Test()]
            if self._requests:
                time.sleep(0.001)

    def receive(self, run: int) -> list:
        from mpi4py import MPI

        out = [(s, m) for s, m in self.pending if m[0] == run]
        self.pending = [(s, m) for s, m in self.pending if m[0] > run]
        status = MPI.Status()
        while True:
            probed = self.world.improbe(source=MPI.ANY_SOURCE, tag=TAG, status=status)
            if probed is None:
                return out
            source, message = status.Get_source(), probed.recv()
            if message[0] == run:
                out.append((source, message))
            elif message[0] > run:
                self.pending.append((source, message))


_channels: dict = {}


def mpi_channel(world) -> MPIChannel:
    """The one channel of an MPI communicator in this process (its run counter and pending messages)."""
    key = id(world)
    if key not in _channels:
        _channels[key] = MPIChannel(world)
    return _channels[key]


def mpi_world(comm):
    """MPI's COMM_WORLD when this process is one of several MPI processes, else None.

    A multi-process nnabla communicator's ranks are COMM_WORLD's (``comm.rank`` is the process's world rank);
    its collectives run on a duplicate of it, so the progress messages here never meet them.
    """
    try:
        from mpi4py import MPI
    except ImportError:
        return None
    if not MPI.Is_initialized():
        return None
    world = MPI.COMM_WORLD
    return world if world.Get_size() > 1 else None


def checked_comm(comm, where: str, use: str):
    """``comm``'s (rank, size), or an ArgumentError: it must be a communicator with whole rank < size."""
    from ..errors import describe, fail

    rank, size = getattr(comm, "rank", None), getattr(comm, "size", None)
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (rank, size)):
        what = f"comm must be a communicator with a rank and a size (nnabla.communicators), got {describe(comm)}"
        fail(where, what, use, type_error=True)
    if not 0 <= rank < size:
        fail(where, f"comm's rank must be in 0..size-1, got rank {rank} of size {size}", use)
    return int(rank), int(size)
