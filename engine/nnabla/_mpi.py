"""The transports under ``nnabla.communicators``: MPI through mpi4py on host buffers, NCCL through cupy on GPUs.

A communicator's collectives reduce, broadcast and gather contiguous backend arrays (numpy or cupy) over one group
of processes. ``MpiCollectives`` runs them with mpi4py (a GPU array goes through a host copy); ``NcclCollectives``
runs them with ``cupy.cuda.nccl`` on the device arrays themselves, on the current stream, with MPI only for the
bootstrap. ``select_collectives`` picks NCCL for a 'cuda'/'cudnn' context when cupy has it, and says once when it
falls back to MPI.

The watch dog is NNabla's: ``init`` and ``all_reduce`` must finish within a time limit (60 s and 50 s, 250 s on
ranks other than 0 for lists; ``NNABLA_MPI_WATCH_DOG_TIMEOUT`` seconds instead). Past it, a warning is printed once
and the watch stops, or, with ``NNABLA_MPI_WATCH_DOG_ENABLE`` set to a nonzero value, the whole job is aborted.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time

import numpy as np

from .logger import logger

_warned = set()


def mpi():
    """mpi4py's ``MPI`` module (initializing MPI once), or a clear error saying what to install."""
    if _MPI_MODULE:
        return _MPI_MODULE[0]
    try:
        from mpi4py import MPI
    except ImportError as e:  # mpi4py missing, or no MPI library for it to load
        raise RuntimeError(
            "MultiProcessDataParallelCommunicator needs mpi4py and an MPI library: "
            "pip install 'nnabla-nb[mpi]' (mpi4py and mpich), then start the processes with mpiexec"
            f" ({e})"
        ) from e
    _MPI_MODULE.append(MPI)
    return MPI


_MPI_MODULE: list = []


def mpiexec() -> str:
    """The ``mpiexec`` of the MPI library mpi4py loads: the one installed next to this Python (the mpich wheel's),
    else the first on PATH."""
    import shutil

    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.access(here, os.X_OK):
        return here
    found = shutil.which("mpiexec")
    if found is None:
        raise RuntimeError("no mpiexec found next to this Python or on PATH: pip install 'nnabla-nb[mpi]'")
    return found


def abort_on_uncaught_exception(comm) -> None:
    """Make an exception that ends this process abort the whole job, so the other processes stop instead of
    waiting forever in their next collective (what ``python -m mpi4py`` does)."""
    previous = sys.excepthook
    if getattr(previous, "_aborts_mpi", False):
        return

    def hook(kind, value, tb):
        previous(kind, value, tb)
        sys.stderr.flush()
        comm.Abort(1)

    hook._aborts_mpi = True
    sys.excepthook = hook


# -- the watch dog ------------------------------------------------------------------------------------------
class Watchdog:
    """Times the collectives between ``arm`` and ``disarm``: a thread that sleeps until the current deadline.

    Arming and disarming only set the state; the thread is woken only when it was idle or must wake earlier, so a
    training loop's thousands of collectives cost no thread switches."""

    def __init__(self, abort):
        self._abort = abort  # called with the message when the job must stop
        env = os.environ.get("NNABLA_MPI_WATCH_DOG_TIMEOUT", "")
        self._env_seconds = int(env) if env.strip().isdigit() and int(env) > 0 else None
        self._cond = threading.Condition(threading.Lock())
        self._armed = None  # (what, seconds, deadline) while a collective is watched
        self._idle = False  # the thread waits for the next arming
        self._waking = 0.0  # else, when it wakes next
        self._thread = None
        self._stopped = False

    def arm(self, what: str, seconds: float) -> None:
        if self._stopped:
            return
        seconds = self._env_seconds or seconds
        deadline = time.monotonic() + seconds
        self._armed = (what, seconds, deadline)  # read by the thread when it wakes (at the latest in a second)
        if self._thread is None or self._idle or deadline < self._waking:
            with self._cond:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._loop, name="nnabla-mpi-watch-dog", daemon=True)
                    self._thread.start()
                self._cond.notify()

    def disarm(self) -> None:
        self._armed = None

    def _loop(self):
        with self._cond:
            while True:
                armed = self._armed
                if armed is None:
                    self._idle = True
                    self._cond.wait(1.0)
                    self._idle = False
                    continue
                what, seconds, deadline = armed
                left = deadline - time.monotonic()
                if left > 0:
                    self._waking = deadline
                    self._cond.wait(left)
                    continue
                enabled = os.environ.get("NNABLA_MPI_WATCH_DOG_ENABLE", "0") not in ("", "0")
                if not enabled:
                    print(f"WARNING: some node stop response for {seconds:8.2f} seconds! ({what})", file=sys.stderr)
                    self._stopped = True
                    return
                self._abort(f"System stop response within {seconds:8.2f} seconds! ({what})")
                return


# -- collectives over one group -----------------------------------------------------------------------------
class MpiCollectives:
    """The collectives of one group over MPI, on host buffers (a cupy array is copied to the host and back)."""

    name = "mpi"

    def __init__(self, comm):
        self.comm = comm  # an mpi4py communicator of the group's processes
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()

    @property
    def _MPI(self):
        return mpi()

    def all_reduce(self, buf, average: bool) -> None:
        # the hot one (every training step), written out without ``_on_host``
        host = buf if type(buf) is np.ndarray else buf.get()
        if self.size > 1:
            MPI = self._MPI
            self.comm.Allreduce(MPI.IN_PLACE, host, op=MPI.SUM)
        if average:
            host /= host.dtype.type(self.size)
        if host is not buf:
            buf.set(host)

    def reduce(self, buf, root: int, average: bool) -> None:
        with _on_host(buf, write=self.rank == root) as host:
            if self.size > 1:
                send = self._MPI.IN_PLACE if self.rank == root else host
                self.comm.Reduce(send, host if self.rank == root else None, op=self._MPI.SUM, root=root)
            if average and self.rank == root:
                host /= host.dtype.type(self.size)

    def bcast(self, buf, root: int) -> None:
        with _on_host(buf, write=self.rank != root) as host:
            if self.size > 1:
                self.comm.Bcast(host, root=root)

    def all_gather(self, send, recv) -> None:
        with _on_host(send, write=False) as s, _on_host(recv) as r:
            self.comm.Allgather(s, r)

    def reduce_scatter(self, send, recv, average: bool) -> None:
        with _on_host(send, write=False) as s, _on_host(recv) as r:
            self.comm.Reduce_scatter_block(s, r, op=self._MPI.SUM)
            if average:
                r /= r.dtype.type(self.size)


@contextlib.contextmanager
def _on_host(buf, write=True):
    """``buf`` itself when it is a numpy array, else a host copy written back afterwards (when ``write``)."""
    if isinstance(buf, np.ndarray):
        yield buf
        return
    host = buf.get()
    yield host
    if write:
        buf.set(host)


class NcclCollectives:
    """The collectives of one group over NCCL (``cupy.cuda.nccl``), on device buffers, on the current stream."""

    name = "nccl"

    def __init__(self, nccl, comm):
        self.nccl = nccl
        self.comm = comm  # the group's mpi4py communicator: the bootstrap only
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        uid = nccl.get_unique_id() if self.rank == 0 else None
        uid = comm.bcast(uid, root=0)
        self.nccl_comm = nccl.NcclCommunicator(self.size, uid, self.rank)
        self._dtypes = {
            np.dtype(np.float32): nccl.NCCL_FLOAT32,
            np.dtype(np.float16): nccl.NCCL_FLOAT16,
            np.dtype(np.float64): nccl.NCCL_FLOAT64,
        }

    def _args(self, buf):
        import cupy

        return buf.size, self._dtypes[buf.dtype], cupy.cuda.get_current_stream().ptr

    def all_reduce(self, buf, average: bool) -> None:
        count, dtype, stream = self._args(buf)
        self.nccl_comm.allReduce(buf.data.ptr, buf.data.ptr, count, dtype, self.nccl.NCCL_SUM, stream)
        if average:
            buf /= buf.dtype.type(self.size)

    def reduce(self, buf, root: int, average: bool) -> None:
        count, dtype, stream = self._args(buf)
        self.nccl_comm.reduce(buf.data.ptr, buf.data.ptr, count, dtype, self.nccl.NCCL_SUM, root, stream)
        if average and self.rank == root:
            buf /= buf.dtype.type(self.size)

    def bcast(self, buf, root: int) -> None:
        count, dtype, stream = self._args(buf)
        self.nccl_comm.bcast(buf.data.ptr, count, dtype, root, stream)

    def all_gather(self, send, recv) -> None:
        count, dtype, stream = self._args(send)
        self.nccl_comm.allGather(send.data.ptr, recv.data.ptr, count, dtype, stream)

    def reduce_scatter(self, send, recv, average: bool) -> None:
        count, dtype, stream = self._args(recv)
        self.nccl_comm.reduceScatter(send.data.ptr, recv.data.ptr, count, dtype, self.nccl.NCCL_SUM, stream)
        if average:
            recv /= recv.dtype.type(self.size)


def nccl_module():
    """``cupy.cuda.nccl`` when cupy has NCCL, else None."""
    try:
        from cupy.cuda import nccl
    except ImportError:
        return None
    return nccl if getattr(nccl, "available", True) else None


def select_collectives(on_gpu: bool, comm, no_nccl=None):
    """NCCL for a GPU context when cupy has it, else MPI, saying once (for a GPU context) that it falls back and
    why: ``no_nccl`` is the reason NCCL cannot be used here even where cupy has it."""
    if on_gpu:
        nccl = nccl_module()
        reason = no_nccl or (None if nccl is not None else "NCCL is not available (cupy.cuda.nccl)")
        if reason is None:
            return NcclCollectives(nccl, comm)
        if "nccl" not in _warned:
            _warned.add("nccl")
            logger.warning(
                f"MultiProcessDataParallelCommunicator: {reason}: the collectives of this GPU context go through "
                "MPI, on host copies of the arrays"
            )
    return MpiCollectives(comm)
