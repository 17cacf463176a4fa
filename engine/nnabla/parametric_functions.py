"""``nnabla.parametric_functions`` (PF): functions that create their parameters under the current scope.

Each creates exactly NNabla's parameter names, shapes, need_grad flags and default initializers. The ``name=``
argument of every PF opens a parameter scope of that name around the call.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from . import functions as F
from .initializer import ConstantInitializer, UniformInitializer, calc_uniform_lim_glorot
from .parameter import get_parameter_or_create, parameter_scope


def parametric_function_api(scope_name=None, param_desc=None):
    """Decorator giving a PF its ``name=`` argument (a parameter scope around the call)."""

    def decorator(func):
        @functools.wraps(func)
        def wrapped(*args, name=None, **kwargs):
            if name is None:
                return func(*args, **kwargs)
            with parameter_scope(name):
                return func(*args, **kwargs)

        sig = inspect.signature(func)
        params = list(sig.parameters.values())
        if "name" not in sig.parameters:
            params.append(inspect.Parameter("name", inspect.Parameter.KEYWORD_ONLY, default=None))
        wrapped.__signature__ = sig.replace(parameters=params)
        wrapped._scope_name = scope_name
        return wrapped

    return decorator


def _as_tuple(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (int(v),)


def _param(name, shape, init, need_grad, fix_parameters):
    return get_parameter_or_create(name, shape, init, need_grad, not fix_parameters)


@parametric_function_api("affine")
def affine(
    inp,
    n_outmaps,
    base_axis=1,
    w_init=None,
    b_init=None,
    fix_parameters=False,
    rng=None,
    with_bias=True,
    apply_w=None,
    apply_b=None,
):
    """Fully connected layer: ``affine/W`` of shape (inmaps, *n_outmaps) and ``affine/b`` of n_outmaps."""
    n_outmaps = _as_tuple(n_outmaps)
    inmaps = int(np.prod(inp.shape[base_axis:]))
    if w_init is None:
        w_init = UniformInitializer(calc_uniform_lim_glorot(inmaps, int(np.prod(n_outmaps))), rng=rng)
    if with_bias and b_init is None:
        b_init = ConstantInitializer()
    with parameter_scope("affine"):
        w = _param("W", (inmaps,) + n_outmaps, w_init, True, fix_parameters)
        if apply_w is not None:
            w = apply_w(w)
        b = None
        if with_bias:
            b = _param("b", n_outmaps, b_init, True, fix_parameters)
            if apply_b is not None:
                b = apply_b(b)
    return F.affine(inp, w, b, base_axis)
