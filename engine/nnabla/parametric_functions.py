"""``nnabla.parametric_functions`` (PF): functions that create their parameters under the current scope.

Each creates exactly NNabla's parameter names, shapes, need_grad flags and default initializers. The ``name=``
argument of every PF opens a parameter scope of that name around the call.
"""

from __future__ import annotations

import contextlib
import functools
import inspect

import numpy as np

from . import functions as F
from .initializer import (  # noqa: F401  (NNabla's PF namespace re-exports these)
    ConstantInitializer,
    NormalInitializer,
    UniformInitializer,
    WeightNormalizationScaleInitializer,
    calc_uniform_lim_glorot,
)
from .parameter import get_parameter, get_parameter_or_create, parameter_scope  # noqa: F401


def parametric_function_api(scope_name=None, param_desc=None):
    """Decorator of a PF: runs it inside the parameter scope ``scope_name`` and adds a ``name=`` argument that
    opens one more scope around it (so ``PF.affine(x, 4, name="fc1")`` creates ``fc1/affine/W``)."""

    def decorator(func):
        scope = scope_name if scope_name is not None else func.__name__

        sig = inspect.signature(func)
        # where each argument _check_pf_arguments knows sits among the positional ones
        checked = {n: k for k, n in enumerate(sig.parameters) if n in _PF_ARGUMENT_RULES}
        pf_name = f"PF.{func.__name__}"

        @functools.wraps(func)
        def wrapped(*args, name=None, **kwargs):
            if checked:
                args = _check_pf_arguments(pf_name, checked, args, kwargs)
            with contextlib.ExitStack() as stack:
                if name is not None:
                    stack.enter_context(parameter_scope(name))
                stack.enter_context(parameter_scope(scope))
                return func(*args, **kwargs)

        params = list(sig.parameters.values())
        if "name" not in sig.parameters:
            params.append(inspect.Parameter("name", inspect.Parameter.KEYWORD_ONLY, default=None))
        wrapped.__signature__ = sig.replace(parameters=params)
        wrapped._scope_name = scope
        wrapped._param_desc = param_desc
        return wrapped

    return decorator


def _positive_ints(value, allow_int=True, minimum=1):
    """Whether ``value`` is an int >= minimum (with ``allow_int``) or a sequence of such ints."""
    values = (value,) if allow_int and isinstance(value, (int, np.integer)) else value
    if not isinstance(values, (tuple, list)) or not values:
        return False
    return all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum for v in values)


# argument name -> (test, what it must be); None passes everywhere (the PF's own default)
_PF_ARGUMENT_RULES = {
    "n_outmaps": (lambda v: _positive_ints(v), "a positive int or a tuple of positive ints"),
    "outmaps": (lambda v: _positive_ints((v,), False), "a positive int"),
    "n_inputs": (lambda v: _positive_ints((v,), False), "a positive int"),
    "n_features": (lambda v: _positive_ints((v,), False), "a positive int"),
    "state_size": (lambda v: _positive_ints((v,), False), "a positive int"),
    "num_groups": (lambda v: _positive_ints((v,), False), "a positive int"),
    "group": (lambda v: _positive_ints((v,), False), "a positive int"),
    "multiplier": (lambda v: _positive_ints((v,), False), "a positive int"),
    "divisor": (lambda v: _positive_ints((v,), False), "a positive int"),
    "kernel": (lambda v: _positive_ints(v, False), "a tuple of positive ints, one per spatial axis, e.g. (3, 3)"),
    "stride": (lambda v: _positive_ints(v, False), "a tuple of positive ints, one per spatial axis"),
    "dilation": (lambda v: _positive_ints(v, False), "a tuple of positive ints, one per spatial axis"),
    "pad": (lambda v: _positive_ints(v, False, 0), "a tuple of non-negative ints, one per spatial axis"),
    "base_axis": (lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, bool), "an int"),
}


# sizes that NNabla takes as whole-number floats too (``maxh / 2`` in its DCGAN tutorial): made ints before the check
_SIZES = {"n_outmaps", "outmaps", "n_inputs", "n_features", "state_size"}


def _whole_floats_to_ints(value):
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_whole_floats_to_ints(v) for v in value)
    return value


def _check_pf_arguments(pf_name, positions, args, kwargs) -> tuple:
    """Refuse a bad size, kernel, stride... before any parameter is created, naming the PF and the argument.

    Returns ``args`` with whole-number float sizes made ints (``kwargs`` is updated in place)."""
    from .function import FunctionError, FunctionTypeError

    args = list(args)
    for arg, k in positions.items():
        value = args[k] if k < len(args) else kwargs.get(arg)
        if value is None:
            continue
        if arg in _SIZES:
            value = _whole_floats_to_ints(value)
            if k < len(args):
                args[k] = value
            else:
                kwargs[arg] = value
        test, what = _PF_ARGUMENT_RULES[arg]
        if not test(value):
            numeric = isinstance(value, (int, np.integer, tuple, list)) and not isinstance(value, bool)
            kind = FunctionError if numeric else FunctionTypeError
            raise kind(f"{pf_name}: {arg} must be {what}, got {value!r}")
    return tuple(args)


def _as_tuple(v):
    return tuple(v) if isinstance(v, (list, tuple)) else (int(v),)


def _param(name, shape, init, need_grad, fix_parameters):
    return get_parameter_or_create(name, shape, init, need_grad, not fix_parameters)


def _weight_and_bias(w_shape, w_init, b_shape, b_init, with_bias, fix_parameters, apply_w=None, apply_b=None):
    """``W`` (and ``b`` unless ``with_bias`` is False, zeros by default) in the current scope, each passed through
    its ``apply_*`` hook: the pair every affine/convolution-like PF creates."""
    w = _param("W", w_shape, w_init, True, fix_parameters)
    if apply_w is not None:
        w = apply_w(w)
    if not with_bias:
        return w, None
    b = _param("b", b_shape, b_init if b_init is not None else ConstantInitializer(), True, fix_parameters)
    if apply_b is not None:
        b = apply_b(b)
    return w, b


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
    w, b = _weight_and_bias(
        (inmaps,) + n_outmaps, w_init, n_outmaps, b_init, with_bias, fix_parameters, apply_w, apply_b
    )
    return F.affine(inp, w, b, base_axis)


def _glorot(inmaps, outmaps, kernel, rng):
    return UniformInitializer(calc_uniform_lim_glorot(inmaps, outmaps, tuple(kernel)), rng=rng)


def _filter_shape(inp, kernel, group, channel_last, base_axis):
    """Input channels and a convolution filter's shape after ``outmaps``: (C // group, *kernel), or channel last."""
    if channel_last:
        channels = inp.shape[-1]
        return channels, kernel + (channels // group,)
    channels = inp.shape[base_axis]
    return channels, (channels // group,) + kernel


@parametric_function_api("conv")
def convolution(
    inp,
    outmaps,
    kernel,
    pad=None,
    stride=None,
    dilation=None,
    group=1,
    channel_last=False,
    w_init=None,
    b_init=None,
    base_axis=1,
    fix_parameters=False,
    rng=None,
    with_bias=True,
    apply_w=None,
    apply_b=None,
):
    """N-D convolution: ``conv/W`` of shape (outmaps, inmaps // group, *kernel) and ``conv/b`` of (outmaps,)."""
    kernel = tuple(kernel)
    channels, filter_shape = _filter_shape(inp, kernel, group, channel_last, base_axis)
    if w_init is None:
        w_init = _glorot(channels, outmaps, kernel, rng)
    w, b = _weight_and_bias(
        (outmaps,) + filter_shape, w_init, (outmaps,), b_init, with_bias, fix_parameters, apply_w, apply_b
    )
    return F.convolution(
        inp,
        w,
        b,
        base_axis=base_axis,
        pad=pad,
        stride=stride,
        dilation=dilation,
        group=group,
        channel_last=channel_last,
    )


@parametric_function_api("deconv")
def deconvolution(
    inp,
    outmaps,
    kernel,
    pad=None,
    stride=None,
    dilation=None,
    group=1,
    channel_last=False,
    output_padding=None,
    w_init=None,
    b_init=None,
    base_axis=1,
    fix_parameters=False,
    rng=None,
    with_bias=True,
    apply_w=None,
    apply_b=None,
):
    """N-D transposed convolution: ``deconv/W`` of shape (inmaps, outmaps // group, *kernel), ``deconv/b``."""
    kernel = tuple(kernel)
    if channel_last:
        channels = inp.shape[-1]
        w_shape = (channels,) + kernel + (outmaps // group,)
    else:
        channels = inp.shape[base_axis]
        w_shape = (channels, outmaps // group) + kernel
    if w_init is None:
        w_init = _glorot(outmaps, channels, kernel, rng)
    w, b = _weight_and_bias(w_shape, w_init, (outmaps,), b_init, with_bias, fix_parameters, apply_w, apply_b)
    return F.deconvolution(
        inp,
        w,
        b,
        base_axis=base_axis,
        pad=pad,
        stride=stride,
        dilation=dilation,
        group=group,
        channel_last=channel_last,
        output_padding=output_padding,
    )


@parametric_function_api("depthwise_conv")
def depthwise_convolution(
    inp,
    kernel,
    pad=None,
    stride=None,
    dilation=None,
    multiplier=1,
    w_init=None,
    b_init=None,
    base_axis=1,
    fix_parameters=False,
    rng=None,
    with_bias=True,
):
    """Depthwise convolution: ``depthwise_conv/W`` of shape (inmaps * multiplier, *kernel), ``depthwise_conv/b``."""
    kernel = tuple(kernel)
    channels = inp.shape[base_axis]
    if w_init is None:
        w_init = _glorot(channels * multiplier, channels, kernel, rng)
    outmaps = channels * multiplier
    w, b = _weight_and_bias((outmaps,) + kernel, w_init, (outmaps,), b_init, with_bias, fix_parameters)
    return F.depthwise_convolution(
        inp, w, b, base_axis=base_axis, pad=pad, stride=stride, dilation=dilation, multiplier=multiplier
    )


@parametric_function_api("depthwise_deconv")
def depthwise_deconvolution(
    inp,
    kernel,
    pad=None,
    stride=None,
    dilation=None,
    divisor=1,
    w_init=None,
    b_init=None,
    base_axis=1,
    fix_parameters=False,
    rng=None,
    with_bias=True,
):
    """Depthwise transposed convolution: ``depthwise_deconv/W`` of shape (inmaps, *kernel), ``depthwise_deconv/b``
    of (inmaps // divisor,)."""
    kernel = tuple(kernel)
    channels = inp.shape[base_axis]
    if w_init is None:
        w_init = _glorot(channels, channels, kernel, rng)
    w, b = _weight_and_bias((channels,) + kernel, w_init, (channels // divisor,), b_init, with_bias, fix_parameters)
    return F.depthwise_deconvolution(
        inp, w, b, base_axis=base_axis, pad=pad, stride=stride, dilation=dilation, divisor=divisor
    )


def _beta_gamma(shape, fix_parameters, param_init, no_bias, no_scale):
    """The trainable shift ``beta`` (init 0) and scale ``gamma`` (init 1) of a normalization layer."""
    beta = None
    if not no_bias:
        beta = _param("beta", shape, param_init.get("beta", ConstantInitializer(0)), True, fix_parameters)
    gamma = None
    if not no_scale:
        gamma = _param("gamma", shape, param_init.get("gamma", ConstantInitializer(1)), True, fix_parameters)
    return beta, gamma


def _bn_params(inp, axes, fix_parameters, param_init, no_scale, no_bias):
    axes = [axes] if isinstance(axes, int) else list(axes)
    shape = [1] * len(inp.shape)
    for a in axes:
        shape[a] = inp.shape[a]
    param_init = param_init or {}
    beta, gamma = _beta_gamma(shape, fix_parameters, param_init, no_bias, no_scale)
    # running statistics never take gradients
    mean = get_parameter_or_create("mean", shape, param_init.get("mean", ConstantInitializer(0)), False)
    var = get_parameter_or_create("var", shape, param_init.get("var", ConstantInitializer(1)), False)
    return axes, beta, gamma, mean, var


@parametric_function_api("bn")
def batch_normalization(
    inp,
    axes=[1],
    decay_rate=0.9,
    eps=1e-05,
    batch_stat=True,
    output_stat=False,
    fix_parameters=False,
    param_init=None,
    no_scale=False,
    no_bias=False,
):
    """Batch normalization: ``bn/beta``, ``bn/gamma``, and the running ``bn/mean``, ``bn/var`` (no grad), all of
    x's shape reduced to 1 outside ``axes``."""
    axes, beta, gamma, mean, var = _bn_params(inp, axes, fix_parameters, param_init, no_scale, no_bias)
    return F.batch_normalization(inp, beta, gamma, mean, var, axes, decay_rate, eps, batch_stat, output_stat)


@parametric_function_api("bn")
def fused_batch_normalization(
    inp,
    z=None,
    axes=[1],
    decay_rate=0.9,
    eps=1e-05,
    batch_stat=True,
    nonlinearity="relu",
    output_stat=False,
    fix_parameters=False,
    param_init=None,
    no_scale=False,
    no_bias=False,
):
    """relu(batch normalization + z), with the parameters of ``batch_normalization``."""
    axes, beta, gamma, mean, var = _bn_params(inp, axes, fix_parameters, param_init, no_scale, no_bias)
    return F.fused_batch_normalization(
        inp, beta, gamma, mean, var, z, axes, decay_rate, eps, batch_stat, nonlinearity, output_stat
    )


@parametric_function_api("layer_normalization")
def layer_normalization(
    inp,
    batch_axis=0,
    eps=1e-05,
    output_stat=False,
    fix_parameters=False,
    param_init=None,
    no_scale=False,
    no_bias=False,
):
    """Layer normalization: ``beta`` and ``gamma`` of x's shape with the batch axes set to 1."""
    batch_axis = [batch_axis] if isinstance(batch_axis, int) else list(batch_axis)
    shape = list(inp.shape)
    for a in batch_axis:
        shape[a] = 1
    beta, gamma = _beta_gamma(shape, fix_parameters, param_init or {}, no_bias, no_scale)
    return F.layer_normalization(inp, beta, gamma, batch_axis=batch_axis, eps=eps, output_stat=output_stat)


def _channel_shape(inp, channel_axis):
    shape = [1] * len(inp.shape)
    shape[channel_axis] = inp.shape[channel_axis]
    return shape


@parametric_function_api("instance_normalization")
def instance_normalization(
    inp,
    channel_axis=1,
    batch_axis=0,
    eps=1e-05,
    output_stat=False,
    fix_parameters=False,
    param_init=None,
    no_scale=False,
    no_bias=False,
):
    """Instance normalization: per-channel ``beta`` and ``gamma`` (1 outside ``channel_axis``)."""
    shape = _channel_shape(inp, channel_axis)
    beta, gamma = _beta_gamma(shape, fix_parameters, param_init or {}, no_bias, no_scale)
    return F.instance_normalization(
        inp, beta, gamma, channel_axis=channel_axis, batch_axis=batch_axis, eps=eps, output_stat=output_stat
    )


@parametric_function_api("group_normalization")
def group_normalization(
    inp,
    num_groups,
    channel_axis=1,
    batch_axis=0,
    eps=1e-05,
    output_stat=False,
    fix_parameters=False,
    param_init=None,
    no_scale=False,
    no_bias=False,
):
    """Group normalization: per-channel ``beta`` and ``gamma`` (1 outside ``channel_axis``)."""
    shape = _channel_shape(inp, channel_axis)
    beta, gamma = _beta_gamma(shape, fix_parameters, param_init or {}, no_bias, no_scale)
    return F.group_normalization(
        inp,
        beta,
        gamma,
        num_groups=num_groups,
        channel_axis=channel_axis,
        batch_axis=batch_axis,
        eps=eps,
        output_stat=output_stat,
    )


@parametric_function_api("mean_subtraction")
def mean_subtraction(inp, base_axis=1, update_running_mean=True, fix_parameters=False):
    """Mean subtraction: the running ``mean`` of x.shape[base_axis:] and the batch counter ``t`` (1,), no grad."""
    mean = get_parameter_or_create("mean", inp.shape[base_axis:], ConstantInitializer(0), False)
    t = get_parameter_or_create("t", (1,), ConstantInitializer(0), False)
    return F.mean_subtraction(inp, mean, t, base_axis=base_axis, update_running_mean=update_running_mean)


@parametric_function_api("embed")
def embed(inp, n_inputs, n_features, initializer=None, fix_parameters=False, apply_w=None):
    """Embedding: ``embed/W`` of shape (n_inputs, n_features), uniform in [-sqrt(3), sqrt(3)] by default."""
    if not initializer:
        initializer = UniformInitializer((-np.sqrt(3.0), np.sqrt(3.0)))
    w = _param("W", (n_inputs, n_features), initializer, True, fix_parameters)
    if apply_w is not None:
        w = apply_w(w)
    return F.embed(inp, w)


@parametric_function_api("prelu")
def prelu(inp, base_axis=1, shared=True, fix_parameters=False, slope_init=None):
    """Parametric ReLU: ``prelu/slope`` of shape () when shared, else (channels,), initialized to 0.25."""
    shape = () if shared else (inp.shape[base_axis],)
    if slope_init is None:
        slope_init = ConstantInitializer(0.25)
    w = _param("slope", shape, slope_init, True, fix_parameters)
    return F.prelu(inp, w, base_axis)


@parametric_function_api("lstm")
def lstm_cell(x, h, c, state_size, w_init=None, b_init=None, fix_parameters=False):
    """One LSTM step from (x, h, c): returns (h_t, c_t); ``lstm/affine/W`` of shape (inmaps + state_size, 4,
    state_size) and ``lstm/affine/b`` of (4, state_size) hold the stacked input, output, forget and cell gates."""
    xh = F.concatenate(x, h, axis=1)
    gates = affine(xh, (4, state_size), w_init=w_init, b_init=b_init, fix_parameters=fix_parameters)
    i_t, o_t, f_t, cell = F.split(gates, axis=1)
    c_t = F.sigmoid(f_t) * c + F.sigmoid(i_t) * F.tanh(cell)
    h_t = F.sigmoid(o_t) * F.tanh(c_t)
    return h_t, c_t


from ._parametric.lowrank import *  # noqa: E402, F403
from ._parametric.misc import deformable_convolution, sync_batch_normalization  # noqa: E402, F401
from ._parametric.quantized import *  # noqa: E402, F403
from ._parametric.recurrent import *  # noqa: E402, F403  (rnn, lstm, gru, LSTMCell, attention, transformer)
from ._parametric.reparam import *  # noqa: E402, F403
