"""``nnabla.recompute``: mark variables whose data forward frees and backward recomputes (NNabla's recompute)."""

from __future__ import annotations

import functools
from contextlib import contextmanager

from . import _state


def set_global_recompute(recompute: bool) -> None:
    """Whether variables created from now on are marked ``recompute``."""
    _state.recompute[0] = bool(recompute)


def get_global_recompute() -> bool:
    return _state.recompute[0]


@contextmanager
def recompute(recompute_: bool = True):
    """``with nn.recompute():`` marks the variables created inside ``recompute`` (nestable; False unmarks)."""
    previous = _state.recompute[0]
    _state.recompute[0] = bool(recompute_)
    try:
        yield
    finally:
        _state.recompute[0] = previous


def recompute_fn(recompute_: bool = True):
    """Decorator form of ``recompute``: the variables a call of the function creates are marked."""

    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with recompute(recompute_):
                return func(*args, **kwargs)

        return wrapper

    return decorator
