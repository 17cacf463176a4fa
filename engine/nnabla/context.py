"""Contexts: which backend (numpy on the CPU, cupy on CUDA) and which float type a function computes in.

Mirrors NNabla's ``nn.Context``, ``get_current_context``, ``set_default_context`` and ``context_scope``.
"""

from __future__ import annotations

import contextlib

import numpy as np

_TYPE_CONFIGS = {"float": np.float32, "half": np.float16, "double": np.float64}


class Context:
    """``Context(backend=['cpu:float'], array_class='', device_id='0')``: where and in what type functions run."""

    __slots__ = ("backend", "array_class", "device_id", "_resolved")

    def __init__(self, backend=None, array_class: str = "", device_id: str = "0"):
        if backend is None:
            backend = ["cpu:float"]
        if isinstance(backend, str):
            backend = [backend]
        self.backend = list(backend)
        self.array_class = array_class
        self.device_id = str(device_id)
        self._resolved = None

    def __repr__(self) -> str:
        return f"Context(backend={self.backend!r}, array_class={self.array_class!r}, device_id={self.device_id!r})"

    __str__ = __repr__

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Context)
            and self.backend == other.backend
            and self.array_class == other.array_class
            and self.device_id == other.device_id
        )

    def __hash__(self):
        return hash((tuple(self.backend), self.array_class, self.device_id))

    def resolve(self):
        """(array module, compute dtype) for this context; cached because every function asks."""
        if self._resolved is None:
            first = self.backend[0] if self.backend else "cpu:float"
            device, _, type_config = first.partition(":")
            dtype = _TYPE_CONFIGS.get(type_config or "float")
            if dtype is None:
                raise ValueError(f"Context: unknown type config {type_config!r} in backend {self.backend!r}")
            if device in ("cuda", "cudnn"):
                from ._array import cupy_module

                xp = cupy_module(self.device_id)
            elif device == "cpu":
                xp = np
            else:
                raise ValueError(f"Context: unknown backend {first!r} (expected 'cpu', 'cuda' or 'cudnn')")
            self._resolved = (xp, dtype)
        return self._resolved


_current = [Context()]


def get_current_context() -> Context:
    """The context new functions are created in."""
    return _current[-1]


def set_default_context(ctx: Context) -> None:
    """Make ``ctx`` the default context for functions created from now on."""
    _current[0] = ctx


@contextlib.contextmanager
def context_scope(ctx: Context):
    """``with nn.context_scope(ctx):`` functions created inside use ``ctx``."""
    _current.append(ctx)
    try:
        yield ctx
    finally:
        _current.pop()


_available = []


def add_available_context(ctx) -> None:
    _available.append(ctx)
