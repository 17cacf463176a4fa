"""Parametric deformable convolution and synchronized batch normalization (NNabla's ``PF.deformable_convolution``
and ``PF.sync_batch_normalization``), built with the helpers of ``nnabla.parametric_functions``."""

from __future__ import annotations

from .. import functions as F
from ..parametric_functions import _bn_params, _filter_shape, _glorot, _weight_and_bias, parametric_function_api


@parametric_function_api("deformable_conv")
def deformable_convolution(
    inp,
    outmaps,
    kernel,
    offset,
    mask=None,
    pad=None,
    stride=None,
    dilation=None,
    group=1,
    deformable_group=1,
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
    """2-D deformable convolution: ``deformable_conv/W`` (outmaps, inmaps // group, *kernel) and
    ``deformable_conv/b`` (outmaps,), sampling at the kernel taps moved by ``offset`` (and weighted by ``mask``)."""
    kernel = tuple(kernel)
    channels, filter_shape = _filter_shape(inp, kernel, group, channel_last, base_axis)
    if w_init is None:
        w_init = _glorot(channels, outmaps, kernel, rng)
    w, b = _weight_and_bias(
        (outmaps,) + filter_shape, w_init, (outmaps,), b_init, with_bias, fix_parameters, apply_w, apply_b
    )
    return F.deformable_convolution(
        inp, w, offset, mask, b, base_axis, pad, stride, dilation, group, deformable_group, channel_last
    )


@parametric_function_api("bn")
def sync_batch_normalization(
    inp,
    comm,
    group="world",
    axes=[1],
    decay_rate=0.9,
    eps=1e-5,
    batch_stat=True,
    output_stat=False,
    fix_parameters=False,
    param_init=None,
    no_scale=False,
    no_bias=False,
):
    """Synchronized batch normalization with the parameters of ``PF.batch_normalization`` (``bn/beta``,
    ``bn/gamma``, running ``bn/mean`` and ``bn/var``); with one process it is batch normalization."""
    axes, beta, gamma, mean, var = _bn_params(inp, axes, fix_parameters, param_init, no_scale, no_bias)
    return F.sync_batch_normalization(
        inp, beta, gamma, mean, var, comm, group, axes, decay_rate, eps, batch_stat, output_stat
    )
