"""Threads for numpy's BLAS: one for a product of middle size, where a second does not pay; and a large
convolution's slices shared between as many Python threads as the BLAS may use (``share_slices``, below).

OpenBLAS (and MKL, BLIS) split a product among their threads once m * n * k passes a small size (OpenBLAS: about
262,144), and the helper threads then spin for a while waiting for the next one. A convolution runs many
products of a few million multiply-adds (one per slice of the batch), each between copies: there a second thread
buys less than it costs to start, and its spinning slows the thread doing the copies (on a two-core machine, a
spinning process on the other core slowed a pure-Python loop 1.3 to 2.3 times). Timed in interleaved runs on that
machine, LeNet's training step took 0.75 of the time with its convolutions' products on one thread, the ResNet
block's 0.67 (inference 0.69). A dense layer of the same middle size (LeNet's first, 64 x 256 x 50) runs on one
thread too; the large products (an MNIST MLP's, 205 million) keep every thread.

``serial_blas(xp, size)`` is a context: inside it numpy's BLAS uses one thread when ``size`` (multiply-adds of one
product) is between ``SPLIT_FROM`` and ``SERIAL_BELOW`` (``serial_pays``), and goes back to its own count on exit;
``one_blas_thread(xp)`` is the same for a caller that decided once, from its shapes. The user's limit (the
``OPENBLAS_NUM_THREADS`` environment, ``threadpoolctl.threadpool_limits``) is never raised. On cupy, or where the
BLAS cannot be told (no ``threadpoolctl``, a BLAS it does not know), it does nothing.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np

SERIAL_BELOW = 1 << 24  # multiply-adds per product (m * n * k) below which one BLAS thread is faster

SPLIT_FROM = 1 << 18  # and above which OpenBLAS splits a product at all (below it: nothing to change)

_controllers = None  # numpy's BLAS libraries, found on first use (numpy is loaded by then)


def _blas_controllers():
    global _controllers
    if _controllers is None:
        try:
            from threadpoolctl import ThreadpoolController

            found = ThreadpoolController().select(user_api="blas").lib_controllers
        except Exception:  # no threadpoolctl, or a library it cannot read: the BLAS keeps its threads
            found = []
        _controllers = [c for c in found if hasattr(c, "set_num_threads") and hasattr(c, "get_num_threads")]
    return _controllers


class _Serial:
    """One BLAS thread inside, each library's count restored on exit."""

    __slots__ = ("_before",)

    def __enter__(self):
        self._before = []
        for c in _blas_controllers():
            n = c.get_num_threads()
            if n is not None and n > 1:
                c.set_num_threads(1)
                self._before.append((c, n))
        return self

    def __exit__(self, *exc):
        for c, n in self._before:
            c.set_num_threads(n)
        return False


_UNCHANGED = nullcontext()


def serial_pays(size):
    """Whether a product of ``size`` multiply-adds is one the BLAS would split but one thread computes faster."""
    return SPLIT_FROM < size < SERIAL_BELOW


def one_blas_thread(xp):
    """A context in which numpy's BLAS uses one thread (for products the caller found ``serial_pays`` for)."""
    return _Serial() if xp is np else _UNCHANGED


def serial_blas(xp, size):
    """A context running products of ``size`` multiply-adds on one BLAS thread where that is faster (numpy only)."""
    return one_blas_thread(xp) if serial_pays(size) else _UNCHANGED


# -- a convolution's slices shared between threads -----------------------------------------------------------------
# numpy lets go of the GIL in its copies and in the BLAS, so the slices of one convolution (im2col, then a product)
# can run on as many Python threads as the BLAS may use, each product on one BLAS thread. The threads deal the
# slices out between them, the next to each that is free (a thread that started late, or whose core is busy, takes
# fewer), and every slice is computed exactly as it is on one thread: the results are bitwise the same, whatever
# the count. Timed in interleaved runs on a two-core machine, the ResNet block's training step took 0.74 of the
# time, its inference 0.77 (at a batch of 8, 0.76 and 0.78; of 4, whose convolutions are 38 million multiply-adds,
# 0.95 and 0.83). Smaller calls stay on the caller's thread: waking a helper that has idled a few milliseconds
# takes 110 to 160 microseconds there, and LeNet's convolutions (15 to 26 million multiply-adds at a batch of
# 64), faster shared when timed alone, gained nothing in a training step.

SHARE_FROM = 1 << 25  # multiply-adds of a whole call below which handing over to a thread costs more than it gains

_pool, _pool_size, _pool_pid = None, 0, None
_pool_lock = threading.Lock()


def blas_threads(xp):
    """How many threads numpy's BLAS may use now (its own count, the user's limit); 1 on cupy or where unknown."""
    if xp is not np:
        return 1
    counts = [c.get_num_threads() for c in _blas_controllers()]
    counts = [n for n in counts if n is not None]
    return max(1, min(counts)) if counts else 1


def _workers(n):
    """The helper threads (at least ``n``), started on first use and kept; a forked child starts its own (its
    parent's threads are not in it)."""
    global _pool, _pool_size, _pool_pid
    with _pool_lock:
        if _pool_pid != os.getpid():
            _pool, _pool_size, _pool_pid = None, 0, os.getpid()
        if _pool_size < n:
            old, _pool, _pool_size = _pool, ThreadPoolExecutor(n, thread_name_prefix="nnabla-slices"), n
            if old is not None:
                old.shutdown(wait=False)
        return _pool


class Dealer:
    """The parts, dealt out one at a time to whichever thread asks next (each sees its parts in order); after
    ``stop`` it deals no more."""

    __slots__ = ("_parts", "_next", "_lock")

    def __init__(self, parts):
        self._parts, self._next, self._lock = parts, 0, threading.Lock()

    def __iter__(self):
        return self

    def __next__(self):
        with self._lock:
            i = self._next
            if i >= len(self._parts):
                raise StopIteration
            self._next = i + 1
        return self._parts[i]

    def stop(self):
        with self._lock:
            self._next = len(self._parts)


def share_slices(xp, parts, size, work, shared=True, share_from=None):
    """``work(parts)`` for every part, on ``n`` threads at once (the BLAS's own count): a list of what each
    thread's ``work`` returned, the caller's first.

    ``size`` is the multiply-adds of one slice's product. With one thread, one part or a small call, it is one
    ``work(parts)`` (its products on one BLAS thread where ``serial_pays``); shared, each thread's ``work`` gets
    the same ``Dealer`` of the parts, and every product runs on one BLAS thread. ``work`` must write only its own
    parts' results; an error in any thread stops the dealing and is raised once every thread has ended.
    ``shared=False`` keeps it to the caller's thread (a caller whose results would not fit otherwise);
    ``share_from`` replaces ``SHARE_FROM`` as the whole call's size from which threads share it."""
    # (the size first: most calls are small, and the BLAS's count is a foreign call per library)
    least = SHARE_FROM if share_from is None else share_from
    n = min(blas_threads(xp), len(parts)) if shared and size * len(parts) >= least else 1
    if n < 2:
        with serial_blas(xp, size):
            return [work(parts)]
    dealer = Dealer(parts)

    def dealt():
        try:
            return work(dealer)
        except BaseException:
            dealer.stop()
            raise

    pool = _workers(n - 1)
    with one_blas_thread(xp):
        futures = [pool.submit(dealt) for _ in range(n - 1)]
        try:
            first = dealt()
        finally:
            done = [f.exception() for f in futures]  # every thread ends before the BLAS gets its threads back
        for error in done:
            if error is not None:
                raise error
        return [first] + [f.result() for f in futures]


# a native pass over memory (batch normalization's): rows in fixed blocks of about this many elements, shared
# between threads from this many in all (a block's sums are the same whichever thread adds them)
PASS_BLOCK = 1 << 18
PASS_SHARE_FROM = 1 << 19


def share_rows(xp, rows, row_size, work):
    """``work(block)`` for fixed blocks (slices) of ``rows`` rows of ``row_size`` elements, shared between threads
    for a large pass: what each block's ``work`` returned, in the blocks' order."""
    step = max(1, PASS_BLOCK // max(row_size, 1))
    parts = [slice(lo, min(lo + step, rows)) for lo in range(0, rows, step)]

    def run(blocks):
        return [(block.start, work(block)) for block in blocks]

    dealt = share_slices(xp, parts, step * row_size, run, share_from=PASS_SHARE_FROM)
    return [result for _, result in sorted((item for done in dealt for item in done), key=lambda item: item[0])]


NATIVE_MAP_FROM = 1 << 14  # elements from which one native elementwise pass beats numpy's


def native_map(xp, kernel, *arrays):
    """``kernel(*flat blocks, out block)`` over float32 ``arrays`` of one shape laid out alike in one dense block of
    memory (a channel-first view of channel-last memory too), blocks shared between threads: the new output, laid
    out as they are; None (nothing done) where they are not such arrays, are small, or no native kernels run."""
    from .. import _native
    from ._base import in_memory_order, memory_flat

    first = arrays[0]
    if xp is not np or first.size < NATIVE_MAP_FROM or not _native.available():
        return None
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != np.float32 or a.shape != first.shape or a.strides != first.strides:
            return None
    flats = [memory_flat(xp, a) for a in arrays]
    if flats[0] is None:
        return None
    out = in_memory_order(xp, first.strides, first.shape, first.dtype)
    flat_out = memory_flat(xp, out)

    def block(part):
        kernel(*(f[part] for f in flats), flat_out[part])

    share_rows(xp, flat_out.size, 1, block)
    return out
