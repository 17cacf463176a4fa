"""Graph-wide switches and helpers: auto_forward (dynamic mode), no_grad, nn.grad (from ``nnabla.grad``), seed,
function hooks."""

from __future__ import annotations

import contextlib

from . import _state
from .grad import grad  # noqa: F401  (nn.grad)


@contextlib.contextmanager
def auto_forward(auto: bool = True):
    """``with nn.auto_forward():`` functions run as soon as they are created (dynamic mode)."""
    previous = _state.auto_forward[0]
    _state.auto_forward[0] = bool(auto)
    try:
        yield
    finally:
        _state.auto_forward[0] = previous


def set_auto_forward(auto: bool) -> None:
    _state.auto_forward[0] = bool(auto)


def get_auto_forward() -> bool:
    return _state.auto_forward[0]


from .parameter import no_grad  # noqa: E402,F401  (NNabla defines it with the parameters it affects)


def seed(seed_: int) -> None:
    """Reset the generators behind initializers and random functions."""
    from . import random

    random.seed(seed_)


def forward_all(
    variables, clear_buffer=False, clear_no_need_grad=False, function_pre_hook=None, function_post_hook=None
) -> None:
    """Forward several outputs that share a graph (each function runs once)."""
    from . import functions as F

    F.sink(*variables).forward(
        clear_buffer=clear_buffer,
        clear_no_need_grad=clear_no_need_grad,
        function_pre_hook=function_pre_hook,
        function_post_hook=function_post_hook,
    )


def set_function_pre_hook(key, hook) -> None:
    _state.function_pre_hooks[key] = hook


def set_function_post_hook(key, hook) -> None:
    _state.function_post_hooks[key] = hook


def unset_function_pre_hook(key) -> None:
    _state.function_pre_hooks.pop(key, None)


def unset_function_post_hook(key) -> None:
    _state.function_post_hooks.pop(key, None)


def set_solver_pre_hook(key, hook) -> None:
    _state.solver_pre_hooks[key] = hook


def set_solver_post_hook(key, hook) -> None:
    _state.solver_post_hooks[key] = hook


def unset_solver_pre_hook(key) -> None:
    _state.solver_pre_hooks.pop(key, None)


def unset_solver_post_hook(key) -> None:
    _state.solver_post_hooks.pop(key, None)
