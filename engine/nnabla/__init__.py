"""nnabla: NNabla's Python API on numpy (and cupy), from the nnabla-nb teaching kit."""

from __future__ import annotations

from . import _state
from ._array import NdArray
from ._variable import Variable
from .context import (
    Context,
    add_available_context,
    array_classes,
    available_contexts,
    context_scope,
    get_current_context,
    prefer_cached_array,
    reset_array_preference,
    set_default_context,
)
from .logger import logger

__version__ = "1.36.0"

from . import auto_forward as _auto_forward_module  # noqa: E402,F401  (before the function of that name)
from . import functions  # noqa: E402,F401  (registers the ops)
from .graph_utils import (  # noqa: E402
    auto_forward,
    forward_all,
    get_auto_forward,
    grad,
    no_grad,
    seed,
    set_auto_forward,
    set_function_post_hook,
    set_function_pre_hook,
    set_solver_post_hook,
    set_solver_pre_hook,
    unset_function_post_hook,
    unset_function_pre_hook,
    unset_solver_post_hook,
    unset_solver_pre_hook,
)
from .parameter import (  # noqa: E402
    clear_parameters,
    get_current_parameter_scope,
    get_parameters,
    load_parameters,
    parameter_scope,
    save_parameters,
)
from .recompute import recompute, recompute_fn, set_global_recompute  # noqa: E402

_ = _state

from .core import graph_def  # noqa: E402  (nn.graph_def, as NNabla; protobuf is imported on first use)
from .core.graph_def import ProtoVariable  # noqa: E402
from .core.module import Module  # noqa: E402
from .core.sequential import Sequential  # noqa: E402

# the submodules NNabla's own import brings in, reachable as attributes (nn.utils, nn.callback, ...); here
# imported when first named, so that ``import nnabla`` stays quick
_SUBMODULES = frozenset(
    "backward_functions callback communicator dtypes normalization_functions solver utils variable".split()
)


def __getattr__(name):
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'nnabla' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES)
