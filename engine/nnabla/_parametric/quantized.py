"""Quantized layers: binary-connect, binary-weight and INQ affine/convolution, and the affine/convolution layers
whose weight and bias pass through a fixed-point, power-of-two, min-max quantizer or pruning into stored
``W_q`` / ``b_q`` parameters (NNabla's parameter names, shapes, need_grad flags and initializers)."""

from __future__ import annotations

import numpy as np

from .. import functions as F
from ..initializer import ConstantInitializer
from ..parameter import get_parameter_or_create
from ..parametric_functions import _filter_shape, _glorot, _param, parametric_function_api

__all__ = [
    "binary_connect_affine",
    "binary_connect_convolution",
    "binary_weight_affine",
    "binary_weight_convolution",
    "inq_affine",
    "inq_convolution",
    "fixed_point_quantized_affine",
    "fixed_point_quantized_convolution",
    "pow2_quantized_affine",
    "pow2_quantized_convolution",
    "pruned_affine",
    "pruned_convolution",
    "min_max_quantize",
    "min_max_quantized_affine",
    "min_max_quantized_convolution",
]


def _outmaps(n_outmaps):
    n_outmaps = list(n_outmaps) if hasattr(n_outmaps, "__iter__") else [n_outmaps]
    return n_outmaps, int(np.prod(n_outmaps))


def _inmaps(inp, base_axis):
    return int(np.prod(inp.shape[base_axis:]))


def _affine_init(w_init, inp, base_axis, n_outmap, rng):
    return w_init if w_init is not None else _glorot(_inmaps(inp, base_axis), n_outmap, (1, 1), rng)


def _conv_init(w_init, channels, outmaps, kernel, rng):
    return w_init if w_init is not None else _glorot(channels, outmaps, kernel, rng)


# -- binary and INQ layers: W, then the stored binary weight / indicator (no grad), then b ------------------------
def _with_stored(extra, w_shape, w_init, extra_init, b_shape, b_init, with_bias, fix_parameters, alpha_shape=None):
    w = _param("W", w_shape, w_init, True, fix_parameters)
    stored = [get_parameter_or_create(extra, w_shape, extra_init, False)]
    if alpha_shape is not None:
        stored.append(get_parameter_or_create("alpha", alpha_shape, ConstantInitializer(0), False))
    b = None
    if with_bias:
        b = _param("b", b_shape, b_init if b_init is not None else ConstantInitializer(), True, fix_parameters)
    return w, stored, b


@parametric_function_api("bicon_affine")
def binary_connect_affine(
    inp,
    n_outmaps,
    base_axis=1,
    quantize_zero_to=1.0,
    w_init=None,
    wb_init=None,
    b_init=None,
    fix_parameters=False,
    rng=None,
    with_bias=True,
):
    """BinaryConnect affine: ``W`` (float) and ``Wb`` (its sign, no grad) of (inmaps, *n_outmaps), ``b``."""
    n_outmaps, n_outmap = _outmaps(n_outmaps)
    w_init = _affine_init(w_init, inp, base_axis, n_outmap, rng)
    wb_init = _affine_init(wb_init, inp, base_axis, n_outmap, rng)
    shape = [_inmaps(inp, base_axis)] + n_outmaps
    w, (wb,), b = _with_stored("Wb", shape, w_init, wb_init, n_outmaps, b_init, with_bias, fix_parameters)
    return F.binary_connect_affine(inp, w, wb, b, base_axis, quantize_zero_to)


@parametric_function_api("bicon_conv")
def binary_connect_convolution(
    inp,
    outmaps,
    kernel,
    pad=None,
    stride=None,
    dilation=None,
    group=1,
    quantize_zero_to=1.0,
    w_init=None,
    wb_init=None,
    b_init=None,
    base_axis=1,
    fix_parameters=False,
    rng=None,
    with_bias=True,
):
    """BinaryConnect convolution: ``W`` and ``Wb`` (no grad) of (outmaps, inmaps, *kernel), ``b``."""
    kernel = tuple(kernel)
    channels = inp.shape[base_axis]
    w_init = _conv_init(w_init, channels, outmaps, kernel, rng)
    wb_init = _conv_init(wb_init, channels, outmaps, kernel, rng)
    shape = (outmaps, channels) + kernel
    w, (wb,), b = _with_stored("Wb", shape, w_init, wb_init, (outmaps,), b_init, with_bias, fix_parameters)
    return F.binary_connect_convolution(inp, w, wb, b, base_axis, pad, stride, dilation, group, quantize_zero_to)


@parametric_function_api("bwn_affine")
def binary_weight_affine(
    inp,
    n_outmaps,
    base_axis=1,
    quantize_zero_to=1.0,
    w_init=None,
    wb_init=None,
    b_init=None,
    fix_parameters=False,
    rng=None,
    with_bias=True,
):
    """Binary weight network affine: ``W``, ``Wb`` (no grad), the scale ``alpha`` of n_outmaps (no grad), ``b``."""
    n_outmaps, n_outmap = _outmaps(n_outmaps)
    w_init = _affine_init(w_init, inp, base_axis, n_outmap, rng)
    wb_init = _affine_init(wb_init, inp, base_axis, n_outmap, rng)
    shape = [_inmaps(inp, base_axis)] + n_outmaps
    w, (wb, alpha), b = _with_stored(
        "Wb", shape, w_init, wb_init, n_outmaps, b_init, with_bias, fix_parameters, alpha_shape=n_outmaps
    )
    return F.binary_weight_affine(inp, w, wb, alpha, b, base_axis, quantize_zero_to)


@parametric_function_api("bwn_conv")
def binary_weight_convolution(
    inp,
    outmaps,
    kernel,
    pad=None,
    stride=None,
    dilation=None,
    group=1,
    quantize_zero_to=1.0,
    w_init=None,
    wb_init=None,
    b_init=None,
    base_axis=1,
    fix_parameters=False,
    rng=None,
    with_bias=True,
):
    """Binary weight network convolution: ``W``, ``Wb`` (no grad), ``alpha`` of (outmaps,) (no grad), ``b``."""
    kernel = tuple(kernel)
    channels = inp.shape[base_axis]
    w_init = _conv_init(w_init, channels, outmaps, kernel, rng)
    wb_init = _conv_init(wb_init, channels, outmaps, kernel, rng)
    shape = (outmaps, channels) + kernel
    w, (wb, alpha), b = _with_stored(
        "Wb", shape, w_init, wb_init, (outmaps,), b_init, with_bias, fix_parameters, alpha_shape=(outmaps,)
    )
    return F.binary_weight_convolution(inp, w, wb, alpha, b, base_axis, pad, stride, dilation, group, quantize_zero_to)


@parametric_function_api("inq_affine")
def inq_affine(
    inp,
    n_outmaps,
    base_axis=1,
    num_bits=4,
    inq_iterations=(),
    selection_algorithm="random",
    seed=-1,
    w_init=None,
    i_init=None,
    b_init=None,
    fix_parameters=False,
    rng=None,
    with_bias=True,
):
    """INQ affine: ``W`` and the fixed-weight indicator ``I`` (zeros, no grad) of (inmaps, *n_outmaps), ``b``."""
    n_outmaps, n_outmap = _outmaps(n_outmaps)
    w_init = _affine_init(w_init, inp, base_axis, n_outmap, rng)
    i_init = i_init if i_init is not None else ConstantInitializer()
    shape = [_inmaps(inp, base_axis)] + n_outmaps
    w, (i,), b = _with_stored("I", shape, w_init, i_init, n_outmaps, b_init, with_bias, fix_parameters)
    return F.inq_affine(inp, w, i, b, base_axis, num_bits, inq_iterations, selection_algorithm, seed)


@parametric_function_api("inq_conv")
def inq_convolution(
    inp,
    outmaps,
    kernel,
    pad=None,
    stride=None,
    dilation=None,
    group=1,
    num_bits=4,
    inq_iterations=(),
    selection_algorithm="random",
    seed=-1,
    w_init=None,
    i_init=None,
    b_init=None,
    base_axis=1,
    fix_parameters=False,
    rng=None,
    with_bias=True,
):
    """INQ convolution: ``W`` and ``I`` (zeros, no grad) of (outmaps, inmaps, *kernel), ``b``."""
    kernel = tuple(kernel)
    channels = inp.shape[base_axis]
    w_init = _conv_init(w_init, channels, outmaps, kernel, rng)
    i_init = i_init if i_init is not None else ConstantInitializer()
    shape = (outmaps, channels) + kernel
    w, (i,), b = _with_stored("I", shape, w_init, i_init, (outmaps,), b_init, with_bias, fix_parameters)
    return F.inq_convolution(
        inp, w, i, b, base_axis, pad, stride, dilation, group, num_bits, inq_iterations, selection_algorithm, seed
    )


# -- layers over a quantized copy: W, W_q (no grad, written on forward), b, b_q -----------------------------------
def _quantized(w_shape, wq_shape, w_init, b_shape, b_init, with_bias, fix_parameters, quantize_w, quantize_b, qw, qb):
    """The weight and bias a quantized layer uses: ``qw(W, W_q's array)`` when ``quantize_w`` (likewise for b)."""
    b_init = b_init if b_init is not None else ConstantInitializer()
    w = _param("W", w_shape, w_init, True, fix_parameters)
    if quantize_w:
        w_q = get_parameter_or_create("W_q", wq_shape, w_init, False)
        w = qw(w, w_q.data)
        w.persistent = True
    if not with_bias:
        return w, None
    b = _param("b", b_shape, b_init, True, fix_parameters)
    if quantize_b:
        b_q = get_parameter_or_create("b_q", b_shape, b_init, False)
        b = qb(b, b_q.data)
        b.persistent = True
    return w, b


def _fixed_point(sign, n, delta, fine):
    return lambda v, out: F.fixed_point_quantize(v, sign=sign, n=n, delta=delta, ste_fine_grained=fine, outputs=[out])


@parametric_function_api("fp_quantized_affine")
def fixed_point_quantized_affine(
    inp,
    n_outmaps,
    base_axis=1,
    w_init=None,
    b_init=None,
    fix_parameters=False,
    rng=None,
    with_bias=True,
    quantize_w=True,
    sign_w=True,
    n_w=8,
    delta_w=2**-4,
    ste_fine_grained_w=True,
    quantize_b=True,
    sign_b=True,
    n_b=8,
    delta_b=2**-4,
    ste_fine_grained_b=True,
):
    """Affine with fixed-point quantized ``W_q`` / ``b_q`` computed from the float ``W`` / ``b``."""
    n_outmaps, n_outmap = _outmaps(n_outmaps)
    w_init = _affine_init(w_init, inp, base_axis, n_outmap, rng)
    shape = [_inmaps(inp, base_axis)] + n_outmaps
    w, b = _quantized(
        shape, shape, w_init, n_outmaps, b_init, with_bias, fix_parameters, quantize_w, quantize_b,
        _fixed_point(sign_w, n_w, delta_w, ste_fine_grained_w), _fixed_point(sign_b, n_b, delta_b, ste_fine_grained_b),
    )  # fmt: skip
    return F.affine(inp, w, b, base_axis)


@parametric_function_api("fp_quantized_conv")
def fixed_point_quantized_convolution(
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
    quantize_w=True,
    sign_w=True,
    n_w=8,
    delta_w=2**-4,
    ste_fine_grained_w=True,
    quantize_b=True,
    sign_b=True,
    n_b=8,
    delta_b=2**-4,
    ste_fine_grained_b=True,
):
    """Convolution with fixed-point quantized ``W_q`` / ``b_q`` (NNabla shapes ``W`` channels-first and runs the
    convolution channels-first whatever ``channel_last`` says)."""
    kernel = tuple(kernel)
    channels, filter_shape = _filter_shape(inp, kernel, group, channel_last, base_axis)
    w_init = _conv_init(w_init, channels, outmaps, kernel, rng)
    w, b = _quantized(
        (outmaps, inp.shape[base_axis] // group) + kernel, (outmaps,) + filter_shape, w_init, (outmaps,), b_init,
        with_bias, fix_parameters, quantize_w, quantize_b,
        _fixed_point(sign_w, n_w, delta_w, ste_fine_grained_w), _fixed_point(sign_b, n_b, delta_b, ste_fine_grained_b),
    )  # fmt: skip
    return F.convolution(inp, w, b, base_axis, pad, stride, dilation, group)


def _pow2(sign, with_zero, n, m, fine):
    return lambda v, out: F.pow2_quantize(
        v, sign=sign, with_zero=with_zero, n=n, m=m, ste_fine_grained=fine, outputs=[out]
    )


@parametric_function_api("pow2_quantized_affine")
def pow2_quantized_affine(
    inp,
    n_outmaps,
    base_axis=1,
    w_init=None,
    b_init=None,
    fix_parameters=False,
    rng=None,
    with_bias=True,
    quantize_w=True,
    sign_w=True,
    with_zero_w=False,
    n_w=8,
    m_w=2,
    ste_fine_grained_w=True,
    quantize_b=True,
    sign_b=True,
    with_zero_b=False,
    n_b=8,
    m_b=2,
    ste_fine_grained_b=True,
):
    """Affine with power-of-two quantized ``W_q`` / ``b_q`` computed from the float ``W`` / ``b``."""
    n_outmaps, n_outmap = _outmaps(n_outmaps)
    w_init = _affine_init(w_init, inp, base_axis, n_outmap, rng)
    shape = [_inmaps(inp, base_axis)] + n_outmaps
    w, b = _quantized(
        shape, shape, w_init, n_outmaps, b_init, with_bias, fix_parameters, quantize_w, quantize_b,
        _pow2(sign_w, with_zero_w, n_w, m_w, ste_fine_grained_w),
        _pow2(sign_b, with_zero_b, n_b, m_b, ste_fine_grained_b),
    )  # fmt: skip
    return F.affine(inp, w, b, base_axis)


@parametric_function_api("pow2_quantized_conv")
def pow2_quantized_convolution(
    inp,
    outmaps,
    kernel,
    pad=None,
    stride=None,
    dilation=None,
    group=1,
    w_init=None,
    b_init=None,
    base_axis=1,
    fix_parameters=False,
    rng=None,
    with_bias=True,
    quantize_w=True,
    with_zero_w=False,
    sign_w=True,
    n_w=8,
    m_w=2,
    ste_fine_grained_w=True,
    quantize_b=True,
    with_zero_b=False,
    sign_b=True,
    n_b=8,
    m_b=2,
    ste_fine_grained_b=True,
):
    """Convolution with power-of-two quantized ``W_q`` / ``b_q``."""
    kernel = tuple(kernel)
    w_init = _conv_init(w_init, inp.shape[base_axis], outmaps, kernel, rng)
    shape = (outmaps, inp.shape[base_axis] // group) + kernel
    w, b = _quantized(
        shape, shape, w_init, (outmaps,), b_init, with_bias, fix_parameters, quantize_w, quantize_b,
        _pow2(sign_w, with_zero_w, n_w, m_w, ste_fine_grained_w),
        _pow2(sign_b, with_zero_b, n_b, m_b, ste_fine_grained_b),
    )  # fmt: skip
    return F.convolution(inp, w, b, base_axis, pad, stride, dilation, group)


def _prune(rate):
    return lambda v, out: F.prune(v, rate=rate, outputs=[out])


@parametric_function_api("pruned_affine")
def pruned_affine(
    inp,
    n_outmaps,
    base_axis=1,
    w_init=None,
    b_init=None,
    fix_parameters=False,
    rng=None,
    with_bias=True,
    prune_w=True,
    rate_w=0.9,
    prune_b=True,
    rate_b=0.9,
):
    """Affine with pruned ``W_q`` / ``b_q`` (all but the largest magnitudes zeroed) from ``W`` / ``b``."""
    n_outmaps, n_outmap = _outmaps(n_outmaps)
    w_init = _affine_init(w_init, inp, base_axis, n_outmap, rng)
    shape = [_inmaps(inp, base_axis)] + n_outmaps
    w, b = _quantized(
        shape, shape, w_init, n_outmaps, b_init, with_bias, fix_parameters, prune_w, prune_b,
        _prune(rate_w), _prune(rate_b),
    )  # fmt: skip
    return F.affine(inp, w, b, base_axis)


@parametric_function_api("pruned_conv")
def pruned_convolution(
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
    prune_w=True,
    rate_w=0.9,
    prune_b=True,
    rate_b=0.9,
):
    """Convolution with pruned ``W_q`` / ``b_q``."""
    kernel = tuple(kernel)
    channels, filter_shape = _filter_shape(inp, kernel, group, channel_last, base_axis)
    w_init = _conv_init(w_init, channels, outmaps, kernel, rng)
    w, b = _quantized(
        (outmaps,) + filter_shape, (outmaps, inp.shape[base_axis] // group) + kernel, w_init, (outmaps,), b_init,
        with_bias, fix_parameters, prune_w, prune_b, _prune(rate_w), _prune(rate_b),
    )  # fmt: skip
    return F.convolution(inp, w, b, base_axis, pad, stride, dilation, group, channel_last)


@parametric_function_api("min_max_quantize")
def min_max_quantize(
    x,
    ql_min=0,
    ql_max=255,
    decay=0.999,
    x_min_max=False,
    ema=False,
    ste_fine_grained=True,
    eps=0.01,
    qr_min_init=None,
    qr_max_init=None,
    fix_parameters=False,
    outputs=None,
):
    """Min-max quantization with its range as parameters: ``ql_min`` / ``ql_max`` (numbers become parameters of
    shape (1,) * x.ndim, no grad) and ``qr_min`` / ``qr_max`` (initialized -6 and 6; no grad when the range is
    an exponential moving average of x's)."""
    levels = []
    for name, level in (("ql_min", ql_min), ("ql_max", ql_max)):
        if isinstance(level, (int, float)):
            shape = [1] * x.ndim
            level = get_parameter_or_create(name, shape, np.array(level).reshape(shape), False, False)
        levels.append(level)
    ql_min, ql_max = levels
    qr_min_init = qr_min_init if qr_min_init else ConstantInitializer(-6.0)
    qr_max_init = qr_max_init if qr_max_init else ConstantInitializer(6.0)
    trainable = not (x_min_max and ema)
    qr_min = get_parameter_or_create("qr_min", ql_min.shape, qr_min_init, trainable, not fix_parameters)
    qr_max = get_parameter_or_create("qr_max", ql_min.shape, qr_max_init, trainable, not fix_parameters)
    return F.min_max_quantize(
        x, qr_min, qr_max, ql_min, ql_max, decay, x_min_max, ema, ste_fine_grained, eps, outputs=outputs
    )


def _min_max(ql_min, ql_max, min_max, qr_min_init, qr_max_init, fine, eps, fix_parameters, name):
    return lambda v, out: min_max_quantize(
        v, ql_min, ql_max, 0.999, min_max, False, qr_min_init=qr_min_init, qr_max_init=qr_max_init,
        ste_fine_grained=fine, eps=eps, fix_parameters=fix_parameters, outputs=[out], name=name,
    )  # fmt: skip


def _min_max_layer(
    w_shape, wq_shape, w_init, b_shape, b_init, with_bias, fix_parameters, quantize_w, quantize_b, w_args, b_args, eps
):
    """The weight and bias of a min-max quantized layer; the ranges of W default to [-2, 2], of b to [-6, 6]."""
    (ql_min_w, ql_max_w, w_min_max, qr_min_w_init, qr_max_w_init, fine_w) = w_args
    (ql_min_b, ql_max_b, b_min_max, qr_min_b_init, qr_max_b_init, fine_b) = b_args
    qw = _min_max(
        ql_min_w, ql_max_w, w_min_max, qr_min_w_init or ConstantInitializer(-2.0),
        qr_max_w_init or ConstantInitializer(2.0), fine_w, eps, fix_parameters, "min_max_quantize_w",
    )  # fmt: skip
    qb = _min_max(
        ql_min_b, ql_max_b, b_min_max, qr_min_b_init or ConstantInitializer(-6.0),
        qr_max_b_init or ConstantInitializer(6.0), fine_b, eps, fix_parameters, "min_max_quantize_b",
    )  # fmt: skip
    return _quantized(
        w_shape, wq_shape, w_init, b_shape, b_init, with_bias, fix_parameters, quantize_w, quantize_b, qw, qb
    )


@parametric_function_api("min_max_quantized_affine")
def min_max_quantized_affine(
    inp,
    n_outmaps,
    base_axis=1,
    w_init=None,
    b_init=None,
    fix_parameters=False,
    rng=None,
    with_bias=True,
    quantize_w=True,
    ql_min_w=0,
    ql_max_w=255,
    w_min_max=False,
    qr_min_w_init=None,
    qr_max_w_init=None,
    ste_fine_grained_w=True,
    quantize_b=True,
    ql_min_b=0,
    ql_max_b=255,
    b_min_max=False,
    qr_min_b_init=None,
    qr_max_b_init=None,
    ste_fine_grained_b=True,
    eps=0.01,
):
    """Affine with min-max quantized ``W_q`` / ``b_q``; each quantizer's range lives under
    ``min_max_quantize_w`` / ``min_max_quantize_b``."""
    n_outmaps, n_outmap = _outmaps(n_outmaps)
    w_init = _affine_init(w_init, inp, base_axis, n_outmap, rng)
    shape = [_inmaps(inp, base_axis)] + n_outmaps
    w, b = _min_max_layer(
        shape, shape, w_init, n_outmaps, b_init, with_bias, fix_parameters, quantize_w, quantize_b,
        (ql_min_w, ql_max_w, w_min_max, qr_min_w_init, qr_max_w_init, ste_fine_grained_w),
        (ql_min_b, ql_max_b, b_min_max, qr_min_b_init, qr_max_b_init, ste_fine_grained_b), eps,
    )  # fmt: skip
    return F.affine(inp, w, b, base_axis)


@parametric_function_api("min_max_quantized_conv")
def min_max_quantized_convolution(
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
    quantize_w=True,
    ql_min_w=0,
    ql_max_w=255,
    w_min_max=False,
    qr_min_w_init=None,
    qr_max_w_init=None,
    ste_fine_grained_w=True,
    quantize_b=True,
    ql_min_b=0,
    ql_max_b=255,
    b_min_max=False,
    qr_min_b_init=None,
    qr_max_b_init=None,
    ste_fine_grained_b=True,
    eps=0.01,
):
    """Convolution with min-max quantized ``W_q`` / ``b_q``."""
    kernel = tuple(kernel)
    channels, filter_shape = _filter_shape(inp, kernel, group, channel_last, base_axis)
    w_init = _conv_init(w_init, channels, outmaps, kernel, rng)
    shape = (outmaps,) + filter_shape
    w, b = _min_max_layer(
        shape, shape, w_init, (outmaps,), b_init, with_bias, fix_parameters, quantize_w, quantize_b,
        (ql_min_w, ql_max_w, w_min_max, qr_min_w_init, qr_max_w_init, ste_fine_grained_w),
        (ql_min_b, ql_max_b, b_min_max, qr_min_b_init, qr_max_b_init, ste_fine_grained_b), eps,
    )  # fmt: skip
    return F.convolution(inp, w, b, base_axis, pad, stride, dilation, group, channel_last)
