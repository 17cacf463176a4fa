"""``nnabla.callback``: the global function and solver hooks (NNabla's module)."""

from __future__ import annotations

from .graph_utils import (  # noqa: F401
    set_function_post_hook,
    set_function_pre_hook,
    set_solver_post_hook,
    set_solver_pre_hook,
    unset_function_post_hook,
    unset_function_pre_hook,
    unset_solver_post_hook,
    unset_solver_pre_hook,
)
