"""``nnabla.function_bases``: the ``function_api`` decorator (also ``F.function_api``), which turns a function
taking a context first into one that takes the current context itself, as NNabla's generated functions do."""

from __future__ import annotations

import functools
import inspect

from .context import get_current_context

FUNCTION_API_HEADER = "def {name}{signature}:"
FUNCTION_API_BODY = """ctx = get_current_context()
return _func_(ctx, {shortsignature})"""


def function_api(func):
    """Decorator: ``func(ctx, *args, **kwargs)`` becomes ``f(*args, **kwargs)`` called with the current context;
    the signature (without ``ctx``) and the docstring carry over."""
    sig = inspect.signature(func)
    params = list(sig.parameters.values())
    if not params or params[0].name != "ctx":
        raise ValueError(f"function_api: {func.__name__} must take 'ctx' as its first argument")

    @functools.wraps(func)
    def with_current_context(*args, **kwargs):
        return func(get_current_context(), *args, **kwargs)

    with_current_context.__signature__ = sig.replace(parameters=params[1:])
    with_current_context.__function_api_base__ = func
    del with_current_context.__wrapped__  # inspect should show the signature without ctx
    return with_current_context
