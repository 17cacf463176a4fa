"""Contexts: which backend (numpy on the CPU, cupy on CUDA) and which float type a function computes in.

Mirrors NNabla's ``nn.Context``, ``get_current_context``, ``set_default_context`` and ``context_scope``.
"""

from __future__ import annotations

import contextlib

import numpy as np

# 'mixed_half' keeps half storage where NNabla's CUDA extension has it; here it computes like 'half'
_TYPE_CONFIGS = {"float": np.float32, "half": np.float16, "mixed_half": np.float16, "double": np.float64}


class Context:
    """``Context(backend=['cpu:float'], array_class='', device_id='0')``: where and in what type functions run."""

    __slots__ = ("_backend", "_array_class", "_device_id", "_resolved")

    def __init__(self, backend=None, array_class: str = "", device_id: str = "0"):
        self.backend = ["cpu:float"] if backend is None else backend
        self.array_class = array_class
        self.device_id = device_id

    # setters drop the cached resolution, so a context edited in place takes effect
    @property
    def backend(self) -> list:
        return list(self._backend)

    @backend.setter
    def backend(self, backends) -> None:
        self._backend = [backends] if isinstance(backends, str) else [str(b) for b in backends]
        self._resolved = None

    @property
    def array_class(self) -> str:
        return self._array_class

    @array_class.setter
    def array_class(self, value: str) -> None:
        self._array_class = str(value)
        self._resolved = None

    @property
    def device_id(self) -> str:
        return self._device_id

    @device_id.setter
    def device_id(self, value) -> None:
        self._device_id = str(value)
        self._resolved = None

    def __getitem__(self, key):
        return getattr(self, key)

    def __repr__(self) -> str:
        return f"Context(backend={self.backend}, array_class='{self.array_class}', device_id='{self.device_id}')"

    __str__ = __repr__

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Context)
            and self._backend == other._backend
            and self._array_class == other._array_class
            and self._device_id == other._device_id
        )

    def __hash__(self):
        return hash((tuple(self._backend), self._array_class, self._device_id))

    def resolve(self):
        """(array module, compute dtype) of the first backend; cached because every function asks.

        A 'cuda'/'cudnn' backend needs cupy and a GPU: without them this raises a RuntimeError saying so.
        """
        if self._resolved is None:
            first = self._backend[0] if self._backend else "cpu:float"
            device, _, type_config = first.partition(":")
            dtype = _TYPE_CONFIGS.get(type_config or "float")
            if dtype is None:
                raise ValueError(
                    f"Context: unknown type config {type_config!r} in backend {self.backend} "
                    f"(known: {', '.join(_TYPE_CONFIGS)})"
                )
            if device in ("cuda", "cudnn"):
                from ._array import cupy_module

                xp = cupy_module(self._device_id)
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
    """Make ``ctx`` the default context for functions created from now on (not allowed inside context_scope)."""
    if len(_current) > 1:
        raise AssertionError("It cannot be called inside any context_scope.")
    _current[0] = ctx


@contextlib.contextmanager
def context_scope(ctx: Context):
    """``with nn.context_scope(ctx):`` functions created inside use ``ctx``."""
    _current.append(ctx)
    try:
        yield
    finally:
        _current.pop()


available_contexts = ["cpu"]


def add_available_context(ctx) -> None:
    """Record an extension name (e.g. ``'cuda'``) as available, once."""
    if ctx not in available_contexts:
        available_contexts.append(ctx)


# NNabla's CPU array classes in their registration order; ``prefer_cached_array(True)`` runs at import, as there.
# The order only names the class a 'cpu' extension context reports: numpy manages the memory either way.
_ORIGINAL_ARRAY_CLASSES = ("CpuArray", "CpuCachedArray", "CpuDlpackArray")
_cpu_array_classes = list(_ORIGINAL_ARRAY_CLASSES)
_cache_preferred = [None]


def array_classes() -> list:
    """The CPU array classes, preferred first (``nn.array_classes()``)."""
    return list(_cpu_array_classes)


def prefer_cached_array(prefer: bool) -> None:
    """Move the cached array classes first (``True``) or last (``False``), keeping the order within each group."""
    if _cache_preferred[0] == prefer:
        return
    _cache_preferred[0] = prefer
    ranked = sorted(enumerate(_cpu_array_classes), key=lambda item: (bool(prefer) ^ ("Cached" in item[1]), item[0]))
    _cpu_array_classes[:] = [name for _, name in ranked]


def reset_array_preference() -> None:
    """Back to the registration order, with no preference."""
    _cache_preferred[0] = None
    _cpu_array_classes[:] = _ORIGINAL_ARRAY_CLASSES


prefer_cached_array(True)
