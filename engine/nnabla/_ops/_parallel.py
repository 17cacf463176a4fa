"""Work split over the CPU's cores: the batch slices of a convolution, the row blocks of an elementwise pass.

numpy releases the GIL inside its copies, its ufunc loops and its BLAS calls, so a small pool of Python threads
runs such pieces of work on all cores at once. There are as many workers as the BLAS library may use threads
(``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``, threadpoolctl's limits: what a user sets to limit numpy). While
the workers run, every BLAS call runs in its own worker alone (one BLAS thread), so the cores are shared out, not
oversubscribed.

The split never depends on the number of workers: the pieces are the same, and a result that sums pieces sums
them in the same order, so one worker or eight give the same numbers. One worker, an array module other than
numpy (cupy: the device is parallel already), or a call from inside a worker runs the pieces in the calling
thread, in order.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

_busy = threading.Lock()  # one split at a time; a second caller (another user thread) runs its pieces itself
_worker = threading.local()
_libraries = None  # the BLAS libraries' threadpoolctl controllers, found on first use
_pool = None
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1  # ours to use


def _blas():
    global _libraries
    if _libraries is None:
        try:
            from threadpoolctl import ThreadpoolController

            _libraries = ThreadpoolController().select(user_api="blas").lib_controllers
        except Exception:  # no threadpoolctl, or a BLAS it does not know: no split
            _libraries = []
    return _libraries


def workers(xp) -> int:
    """How many workers a split gets now (1: the calling thread does everything)."""
    if xp is not np or getattr(_worker, "inside", False):
        return 1
    libraries = _blas()
    if not libraries:
        return 1
    return max(1, min(libraries[0].get_num_threads(), _CORES))


def _in_worker(task):
    _worker.inside = True
    return task()


def run(xp, tasks):
    """The results of ``tasks`` (callables without arguments) in order, the tasks spread over the workers."""
    n = workers(xp) if len(tasks) > 1 else 1
    if n < 2 or not _busy.acquire(blocking=False):
        return [task() for task in tasks]
    global _pool
    try:
        if _pool is None or _pool._max_workers != n:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="nnabla-worker")
        libraries = _blas()
        before = [library.get_num_threads() for library in libraries]
        for library in libraries:
            library.set_num_threads(1)
        try:
            return list(_pool.map(_in_worker, tasks))
        finally:
            for library, threads in zip(libraries, before):
                library.set_num_threads(threads)
    finally:
        _busy.release()


def blocks(length: int, size: int):
    """``range(length)`` as slices of ``size`` (the last one shorter)."""
    size = max(1, size)
    return [slice(lo, min(lo + size, length)) for lo in range(0, length, size)]


MIN_BLOCK = 1 << 16  # elements: a smaller piece costs more to hand over than to compute


def worth_sharing(xp, a) -> bool:
    """Whether elementwise work on ``a`` goes through ``by_rows``: a numpy array of 128 Ki elements or more, with
    two workers or more."""
    return xp is np and getattr(a, "ndim", 0) > 0 and a.shape[0] > 1 and a.size >= 2 * MIN_BLOCK and workers(xp) > 1


def by_rows(xp, write, out, *arrays):
    """``write(out[rows], *(a[rows] for a in arrays))`` over blocks of rows (axis 0), the blocks shared out.

    For elementwise work: ``out`` and ``arrays`` have the same length along axis 0 (a broadcast view too).
    Returns ``out``."""
    if not worth_sharing(xp, out):
        write(out, *arrays)
        return out
    length = out.shape[0]
    per_row = out.size // length
    parts = blocks(length, max(-(-length // 4), -(-MIN_BLOCK // per_row)))
    run(xp, [lambda part=part: write(out[part], *(a[part] for a in arrays)) for part in parts])
    return out
