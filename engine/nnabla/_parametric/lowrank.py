"""Low-rank layers: an affine map and a convolution factored by the SVD of an initial weight, and a convolution
factored by a rank-r CP decomposition (alternating least squares, as NNabla's ``nnabla.utils.factorization``)."""

from __future__ import annotations

import functools

import numpy as np

from .. import functions as F
from .._variable import Variable
from ..initializer import ConstantInitializer
from ..parameter import get_parameter, set_parameter
from ..parametric_functions import _glorot, _param, parametric_function_api

__all__ = ["svd_affine", "svd_convolution", "cpd3_convolution"]


def _initial(init, shape):
    """An initializer's values for ``shape``, or the array given instead of one."""
    return init if isinstance(init, np.ndarray) else init(shape)


def _factor(name, values):
    v = Variable(values.shape, need_grad=True)
    v.d = values
    set_parameter(name, v)
    return v


def _as_used(v, fix_parameters):
    return v.get_unlinked_variable(need_grad=not fix_parameters) if fix_parameters == v.need_grad else v


def _bias(with_bias, b_init, outmaps, fix_parameters):
    if not with_bias:
        return None
    return _param("b", outmaps, b_init if b_init is not None else ConstantInitializer(), True, fix_parameters)


@parametric_function_api("svd_affine")
def svd_affine(
    inp, n_outmaps, r, base_axis=1, uv_init=None, b_init=None, fix_parameters=False, rng=None, with_bias=True
):
    """y = (x U) V + b with ``U`` (inmaps, r) and ``V`` (r, *n_outmaps) the rank-r truncated SVD of an initial
    weight (singular values folded into U)."""
    n_outmaps = list(n_outmaps) if hasattr(n_outmaps, "__iter__") else [n_outmaps]
    n_outmap = int(np.prod(n_outmaps))
    inmaps = int(np.prod(inp.shape[base_axis:]))
    if uv_init is None:
        uv_init = _glorot(inmaps, n_outmap, (1, 1), rng)
    uv = _initial(uv_init, [inmaps] + n_outmaps)  # drawn on every call, as NNabla
    u, v = get_parameter("U"), get_parameter("V")
    if u is None or v is None:
        if r <= 0:
            raise ValueError(f"svd_affine: the rank r={r} must be positive")
        left, s, right = np.linalg.svd(uv.reshape(inmaps, n_outmap), full_matrices=False)
        u = _factor("U", (left @ np.diag(s))[:, :r])
        v = _factor("V", right[:r, :].reshape([r] + n_outmaps))
    u, v = _as_used(u, fix_parameters), _as_used(v, fix_parameters)
    b = _bias(with_bias, b_init, n_outmaps, fix_parameters)
    return F.affine(F.affine(inp, u, bias=None, base_axis=base_axis), v, bias=b, base_axis=base_axis)


@parametric_function_api("svd_conv")
def svd_convolution(
    inp,
    outmaps,
    kernel,
    r,
    pad=None,
    stride=None,
    dilation=None,
    uv_init=None,
    b_init=None,
    base_axis=1,
    fix_parameters=False,
    rng=None,
    with_bias=True,
):
    """A depthwise convolution with ``U`` (inmaps * r, *kernel), then a 1x1 convolution with ``V`` (outmaps,
    inmaps * r, 1, ...): per input channel, the rank-r SVD of an initial filter bank."""
    if r <= 0:
        raise ValueError(f"svd_convolution: the rank r={r} must be positive")
    kernel = tuple(kernel)
    inmaps = inp.shape[base_axis]
    if uv_init is None:
        uv_init = _glorot(inmaps, outmaps, kernel, rng)
    uv = _initial(uv_init, (outmaps, inmaps) + kernel).reshape((outmaps, inmaps, int(np.prod(kernel))))
    u, v = get_parameter("U"), get_parameter("V")
    if u is None or v is None:
        u_low = np.zeros((inmaps, int(np.prod(kernel)), r))
        v_low = np.zeros((inmaps, r, outmaps))
        for i in range(inmaps):
            left, s, right = np.linalg.svd(uv[:, i, :].T, full_matrices=False)
            u_low[i] = left[:, :r] @ np.diag(s[:r])
            v_low[i] = right[:r, :]
        u = _factor("U", u_low.transpose(0, 2, 1).reshape((inmaps * r,) + kernel))
        v = _factor("V", v_low.transpose(2, 0, 1).reshape((outmaps, inmaps * r) + (1,) * len(kernel)))
    u, v = _as_used(u, fix_parameters), _as_used(v, fix_parameters)
    b = _bias(with_bias, b_init, (outmaps,), fix_parameters)
    y = F.depthwise_convolution(
        inp, u, bias=None, base_axis=base_axis, pad=pad, stride=stride, dilation=dilation, multiplier=r
    )
    return F.convolution(y, v, bias=b, base_axis=base_axis, pad=None, stride=None, dilation=None, group=1)


def _khatri_rao(a, b):
    """Column-wise Kronecker product, kept as (rows of a, rows of b, columns), in float64."""
    return np.asarray(a[:, None, :] * b[None, :, :], np.float64)


def cp_als(x, rank, max_iter=500, stopping_criterion=1e-5, lambda_reg=0.0, dtype=np.float32, rng=None):
    """Rank-``rank`` CP decomposition of ``x`` by alternating least squares: factor matrices and their weights."""
    n_modes = x.ndim
    squared_norm = np.sum(x**2)
    rng = rng if rng is not None else np.random.RandomState(313)
    factors = [None] + [np.array(rng.rand(x.shape[n], rank), dtype=dtype) for n in range(1, n_modes)]
    criterion = 0
    weights = None
    for itr in range(max_iter):
        previous = criterion
        for n in range(n_modes):
            others = [o for o in range(n_modes) if o != n]
            gram = 1.0
            for o in others:
                gram = gram * (factors[o].T @ factors[o])
            product = functools.reduce(_khatri_rao, [factors[o] for o in sorted(others, reverse=True)])
            a_n = np.tensordot(x, product, axes=(others, np.arange(n_modes - 1)[::-1]))
            a_n = a_n @ np.linalg.pinv(gram + np.eye(rank) * lambda_reg)
            if itr == 0:
                weights = np.sqrt((a_n**2).sum(axis=0))
            else:
                weights = a_n.max(axis=0)
                weights[weights < 1] = 1
            factors[n] = a_n / weights
        if stopping_criterion < 0:
            continue
        approx = np.zeros(x.shape)
        for k in range(rank):
            outer = factors[0][:, k]
            for f in factors[1:]:
                outer = np.multiply.outer(outer, f[:, k])
            approx += weights[k] * outer
        residual = squared_norm + np.sum(approx**2) - 2 * np.sum(x * approx)
        criterion = 1.0 - residual / squared_norm
        if itr > 0 and abs(previous - criterion) < stopping_criterion:
            break
    return factors, weights


@parametric_function_api("cpd3_conv")
def cpd3_convolution(
    inp,
    outmaps,
    kernel,
    r,
    pad=None,
    stride=None,
    dilation=None,
    oik_init=None,
    b_init=None,
    base_axis=1,
    fix_parameters=False,
    rng=None,
    with_bias=True,
    max_iter=500,
    stopping_criterion=1e-05,
    lambda_reg=0.0,
):
    """A 1x1 convolution with ``I`` (r, inmaps, 1, ...), a depthwise convolution with ``K`` (r, *kernel), then a
    1x1 convolution with ``O`` (outmaps, r, 1, ...): the rank-r CP decomposition of an initial filter bank."""
    kernel = tuple(kernel)
    inmaps = inp.shape[base_axis]
    if oik_init is None:
        oik_init = _glorot(inmaps, outmaps, kernel, rng)
    oik = _initial(oik_init, (outmaps, inmaps) + kernel).reshape((outmaps, inmaps, int(np.prod(kernel))))
    o, i, k = get_parameter("O"), get_parameter("I"), get_parameter("K")
    if o is None or i is None or k is None:
        if r <= 0:
            raise ValueError(f"cpd3_convolution: the rank r={r} must be positive")
        (fo, fi, fk), weights = cp_als(oik, r, max_iter, stopping_criterion, lambda_reg, oik.dtype, rng)
        ones = (1,) * len(kernel)
        i = _factor("I", fi.T.reshape((r, inmaps) + ones))
        o = _factor("O", (fo * weights).reshape((outmaps, r) + ones))
        k = _factor("K", fk.T.reshape((r,) + kernel))
    o, i, k = (_as_used(p, fix_parameters) for p in (o, i, k))
    b = _bias(with_bias, b_init, (outmaps,), fix_parameters)
    y = F.convolution(inp, i, bias=None, base_axis=base_axis, pad=None, stride=None, dilation=None, group=1)
    y = F.depthwise_convolution(
        y, k, bias=None, base_axis=base_axis, pad=pad, stride=stride, dilation=dilation, multiplier=1
    )
    return F.convolution(y, o, bias=b, base_axis=base_axis, pad=None, stride=None, dilation=None, group=1)
