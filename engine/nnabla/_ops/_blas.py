"""How many threads numpy's BLAS may use for a product of middle size: one, where a second does not pay.

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
