"""``nnabla.function_bases``: where NNabla defines the F functions, and ``function_api``, the decorator behind them.

The functions themselves are generated from the registry in ``nnabla.functions``; this module re-exports them.
"""

from __future__ import annotations

import functools
import inspect

from .context import get_current_context
from .graph_utils import get_auto_forward  # noqa: F401  (NNabla's module has it)

FUNCTION_API_HEADER = "def {name}{signature}:"
FUNCTION_API_BODY = """ctx = get_current_context()
return _func_(ctx, {shortsignature})"""


def function_api(func):
    """``func(ctx, *args, **kw)`` becomes ``f(*args, **kw)`` called with the current context (NNabla's decorator)."""
    signature = inspect.signature(func)
    parameters = list(signature.parameters.values())
    if not parameters or parameters[0].name != "ctx":
        raise ValueError(f"function_api: the first argument of {func.__name__} must be named 'ctx'")

    @functools.wraps(func)
    def with_context(*args, **kwargs):
        return func(get_current_context(), *args, **kwargs)

    with_context.__signature__ = signature.replace(parameters=parameters[1:])
    with_context.__function_api_base__ = func
    return with_context


def __getattr__(name):
    from . import functions

    try:
        return getattr(functions, name)
    except AttributeError:
        raise AttributeError(f"module 'nnabla.function_bases' has no attribute {name!r}") from None
