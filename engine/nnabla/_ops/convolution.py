"""Convolutions: Convolution, Deconvolution and their depthwise forms, N-D with pad, stride, dilation and groups.

Everything is built from three primitives on channel-first arrays ``(B, C, *spatial)``:
``conv_nd`` (im2col: a strided window view, then one matmul per group), ``conv_transpose_nd`` (its adjoint in
the input: matmul, then col2im) and ``conv_weight_grad_nd``. A deconvolution is the transpose of a convolution,
so it uses the same three with the roles swapped.
"""

from __future__ import annotations

import itertools

from ..function import Function, FunctionError, register

# -- windows (im2col) and their adjoint (col2im) ------------------------------------------------------------------


def windows(xp, x, kernel, stride, dilation, out):
    """View of ``x`` (lead..., *S) as (lead..., *kernel, *out): ``[.., k, o] = x[.., o*stride + k*dilation]``."""
    n = len(kernel)
    steps = x.strides[x.ndim - n :]
    shape = x.shape[: x.ndim - n] + tuple(kernel) + tuple(out)
    strides = (
        x.strides[: x.ndim - n]
        + tuple(st * d for st, d in zip(steps, dilation))
        + tuple(st * s for st, s in zip(steps, stride))
    )
    return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)


def fold(xp, cols, size, stride, dilation):
    """Adjoint of ``windows``: sum ``cols`` (lead..., *kernel, *out) into a zero array (lead..., *size)."""
    n = len(size)
    kernel = cols.shape[cols.ndim - 2 * n : cols.ndim - n]
    out = cols.shape[cols.ndim - n :]
    lead = cols.shape[: cols.ndim - 2 * n]
    result = xp.zeros(lead + tuple(size), dtype=cols.dtype)
    # one strided slice-add per kernel offset: the offsets of one window never overlap each other
    for k in itertools.product(*(range(kk) for kk in kernel)):
        target = tuple(slice(ki * d, ki * d + (o - 1) * s + 1, s) for ki, d, o, s in zip(k, dilation, out, stride))
        result[(Ellipsis,) + target] += cols[(Ellipsis,) + k + (slice(None),) * n]
    return result


def pad_spatial(xp, x, before, after=None, value=0):
    """Pad the last ``len(before)`` axes of ``x`` (by ``before`` at the start and ``after`` at the end)."""
    after = before if after is None else after
    if not any(before) and not any(after):
        return x
    widths = [(0, 0)] * (x.ndim - len(before)) + list(zip(before, after))
    return xp.pad(x, widths, mode="constant", constant_values=value)


def crop_spatial(x, before, size):
    """The inverse of ``pad_spatial``: the window of ``size`` starting at ``before`` on the last axes."""
    return x[(Ellipsis,) + tuple(slice(b, b + n) for b, n in zip(before, size))]


def conv_out_size(size, kernel, pad, stride, dilation):
    """Output length of a convolution along one axis (C++ integer division, as NNabla computes it)."""
    span = dilation * (kernel - 1) + 1
    return int((size + 2 * pad - span) / stride) + 1


def _im2col(xp, x, kernel, pad, stride, dilation, group):
    """(B, C, *S) -> columns (group, C/group * prod(kernel), B * prod(out)), and ``out``."""
    out = tuple(conv_out_size(s, k, p, st, d) for s, k, p, st, d in zip(x.shape[2:], kernel, pad, stride, dilation))
    view = windows(xp, pad_spatial(xp, x, pad), kernel, stride, dilation, out)
    n = len(kernel)
    # (B, C, *K, *O) -> (C, *K, B, *O): one reshape copy gives the matrix each group multiplies
    order = (1,) + tuple(range(2, 2 + n)) + (0,) + tuple(range(2 + n, 2 + 2 * n))
    return view.transpose(order).reshape(group, -1, x.shape[0] * _prod(out)), out


def conv_nd(xp, x, w, group, pad, stride, dilation):
    """Convolution of x (B, C, *S) with w (OC, C/group, *K) -> (B, OC, *out)."""
    kernel = w.shape[2:]
    cols, out = _im2col(xp, x, kernel, pad, stride, dilation, group)
    oc = w.shape[0]
    y = xp.matmul(w.reshape(group, oc // group, -1), cols)
    return y.reshape((oc, x.shape[0]) + out).swapaxes(0, 1)


def conv_transpose_nd(xp, y, w, group, pad, stride, dilation, size):
    """Adjoint of ``conv_nd`` in x: y (B, OC, *out) -> (B, C, *size)."""
    oc, cg = w.shape[:2]
    kernel = w.shape[2:]
    n = len(kernel)
    batch, out = y.shape[0], y.shape[2:]
    yg = y.swapaxes(0, 1).reshape(group, oc // group, -1)
    cols = xp.matmul(w.reshape(group, oc // group, -1).transpose(0, 2, 1), yg)
    cols = cols.reshape((cg * group,) + tuple(kernel) + (batch,) + tuple(out))
    order = (1 + n,) + (0,) + tuple(range(1, 1 + n)) + tuple(range(2 + n, 2 + 2 * n))
    padded = tuple(s + 2 * p for s, p in zip(size, pad))
    return crop_spatial(fold(xp, cols.transpose(order), padded, stride, dilation), pad, size)


def conv_weight_grad_nd(xp, x, gy, group, pad, stride, dilation, kernel):
    """Gradient of ``conv_nd`` in w: x (B, C, *S), gy (B, OC, *out) -> (OC, C/group, *kernel)."""
    cols, _ = _im2col(xp, x, kernel, pad, stride, dilation, group)
    oc = gy.shape[1]
    gyg = gy.swapaxes(0, 1).reshape(group, oc // group, -1)
    gw = xp.matmul(gyg, cols.transpose(0, 2, 1))
    return gw.reshape((oc, x.shape[1] // group) + tuple(kernel))


def _prod(values):
    p = 1
    for v in values:
        p *= v
    return p


# -- argument handling ----------------------------------------------------------------------------------------------


def shape_arg(func, name, value, n, default, minimum=None):
    """A Shape argument as a tuple of ``n`` ints; None gives ``(default,) * n`` as NNabla's wrappers do."""
    if value is None:
        return (default,) * n
    if isinstance(value, int):
        value = (value,)
    value = tuple(int(v) for v in value)
    if len(value) != n:
        raise FunctionError(
            f"{func.type_name}: {name}={value} has {len(value)} entries but there are {n} spatial dimension(s)"
        )
    if minimum is not None and any(v < minimum for v in value):
        raise FunctionError(f"{func.type_name}: {name}={value} must be >= {minimum} in every dimension")
    return value


class _ConvFamily(Function):
    """Shared plumbing: flatten the batch axes, move channels first, run a primitive, restore the layout.

    ``output_shapes`` fills ``self.plan`` (lead shape, spatial sizes, channels) and writes the resolved
    pad/stride/dilation back into ``args``, as NNabla's generated wrappers pass them to the C++ function.
    """

    linear_inputs, bilinear, additive_inputs = (0, 1), True, (2,)

    inputs_spec = ("x", "weight", "bias?")
    transposed = False  # Deconvolution: the forward pass is conv_transpose_nd
    depthwise = False

    def _spatial_args(self, xs, ws):
        ba = self.args["base_axis"]
        ba = ba + len(xs) if ba < 0 else ba
        if not 0 <= ba < len(xs) - 1:
            raise FunctionError(
                f"{self.type_name}: base_axis={self.args['base_axis']} must be less than ndim - 1 of "
                f"input x of shape {xs}"
            )
        nsp = len(xs) - ba - 1
        self.args["pad"] = shape_arg(self, "pad", self.args["pad"], nsp, 0, minimum=0)
        self.args["stride"] = shape_arg(self, "stride", self.args["stride"], nsp, 1, minimum=1)
        self.args["dilation"] = shape_arg(self, "dilation", self.args["dilation"], nsp, 1, minimum=1)
        return ba, nsp

    def _check_bias(self, ws, bs, channels):
        if bs is not None and tuple(bs) != (channels,):
            raise FunctionError(
                f"{self.type_name}: bias of shape {bs} does not match weight of shape {ws} (expects ({channels},))"
            )

    # layout helpers -----------------------------------------------------------------------------------------------
    def _channel_last(self):
        return self.args.get("channel_last", False)

    def _to_channel_first(self, xp, a):
        ba = self.plan["base_axis"]
        if self._channel_last():
            a = xp.moveaxis(a, -1, ba)
        return a.reshape((-1,) + a.shape[ba:])

    def _from_channel_first(self, xp, a):
        a = a.reshape(self.plan["lead"] + a.shape[1:])
        if self._channel_last():
            a = xp.moveaxis(a, len(self.plan["lead"]), -1)
        return xp.ascontiguousarray(a)

    def _weight_in(self, xp, w):
        """The weight in conv_nd's form (channels, channels per group, *kernel)."""
        if self.depthwise:
            return w.reshape((w.shape[0], 1) + w.shape[1:])
        if self._channel_last():
            return xp.moveaxis(w, -1, 1)
        return w

    def _weight_out(self, xp, gw, shape):
        if self._channel_last() and not self.depthwise:
            gw = xp.moveaxis(gw, 1, -1)
        return xp.ascontiguousarray(gw).reshape(shape)

    def _geometry(self):
        a = self.args
        return self.plan["group"], a["pad"], a["stride"], a["dilation"]

    # forward and backward -----------------------------------------------------------------------------------------
    def compute(self, xp, x, w, b=None):
        xc = self._to_channel_first(xp, x)
        wc = self._weight_in(xp, w)
        if self.transposed:
            y = conv_transpose_nd(xp, xc, wc, *self._geometry(), self.plan["out_size"])
        else:
            y = conv_nd(xp, xc, wc, *self._geometry())
        if b is not None:
            y = y + b.reshape((1, -1) + (1,) * (y.ndim - 2))
        return self._from_channel_first(xp, y)

    def grad(self, xp, xs, ys, gys, need):
        x, w = xs[0], xs[1]
        wc = self._weight_in(xp, w) if need[0] else None  # (the gradient of one input reads only the other)
        gy = self._to_channel_first(xp, gys[0])
        geometry = self._geometry()
        gx = gw = gb = None
        if need[0]:
            if self.transposed:
                gx = conv_nd(xp, gy, wc, *geometry)
            else:
                gx = conv_transpose_nd(xp, gy, wc, *geometry, self.plan["in_size"])
            gx = self._from_channel_first(xp, gx)
        if need[1]:
            xc = self._to_channel_first(xp, x)
            kernel = tuple(w.shape[1:] if self.depthwise else w.shape[1:-1] if self._channel_last() else w.shape[2:])
            if self.transposed:
                gwc = conv_weight_grad_nd(xp, gy, xc, *geometry, kernel)
            else:
                gwc = conv_weight_grad_nd(xp, xc, gy, *geometry, kernel)
            gw = self._weight_out(xp, gwc, w.shape)
        if len(xs) > 2 and need[2]:
            gb = gy.sum(axis=(0,) + tuple(range(2, gy.ndim)))
            return gx, gw, gb
        return (gx, gw) if len(xs) == 2 else (gx, gw, None)


@register
class Convolution(_ConvFamily):
    """N-D convolution; weight (outmaps, inmaps / group, *kernel), or (outmaps, *kernel, inmaps / group) when
    channel_last (NNabla's Convolution)."""

    args_spec = {"base_axis": 1, "pad": None, "stride": None, "dilation": None, "group": 1, "channel_last": False}

    def output_shapes(self, xs, ws, bs=None):
        ba, nsp = self._spatial_args(xs, ws)
        group, cl = self.args["group"], self.args["channel_last"]
        if len(ws) != 2 + nsp:
            raise FunctionError(
                f"Convolution: weight of shape {ws} must have {2 + nsp} dimensions for input x of shape {xs} "
                f"(base_axis={ba}, {nsp} spatial dimension(s))"
            )
        channels = xs[-1] if cl else xs[ba]
        spatial = xs[ba : ba + nsp] if cl else xs[ba + 1 :]
        per_group = ws[-1] if cl else ws[1]
        kernel = ws[1:-1] if cl else ws[2:]
        if group < 1 or channels % group or ws[0] % group:
            raise FunctionError(
                f"Convolution: group={group} must divide the input channels ({channels}, x of shape {xs}) and "
                f"the output channels ({ws[0]}, weight of shape {ws})"
            )
        if channels // group != per_group:
            raise FunctionError(
                f"Convolution: input x of shape {xs} has {channels} channels, {channels // group} per group "
                f"(group={group}), but weight of shape {ws} expects {per_group} channels per group"
            )
        out = _conv_spatial_out(self, spatial, kernel)
        self._check_bias(ws, bs, ws[0])
        self.plan = {"base_axis": ba, "lead": tuple(xs[:ba]), "group": group, "in_size": tuple(spatial)}
        if cl:
            return [tuple(xs[:ba]) + out + (ws[0],)]
        return [tuple(xs[:ba]) + (ws[0],) + out]


@register
class Deconvolution(_ConvFamily):
    """N-D transposed convolution; weight (inmaps, outmaps / group, *kernel), or (inmaps, *kernel, outmaps / group)
    when channel_last (NNabla's Deconvolution)."""

    args_spec = {
        "base_axis": 1,
        "pad": None,
        "stride": None,
        "dilation": None,
        "group": 1,
        "channel_last": False,
        "output_padding": None,
    }
    transposed = True

    def output_shapes(self, xs, ws, bs=None):
        ba, nsp = self._spatial_args(xs, ws)
        group, cl = self.args["group"], self.args["channel_last"]
        self.args["output_padding"] = shape_arg(self, "output_padding", self.args["output_padding"], nsp, 0, 0)
        if len(ws) != 2 + nsp:
            raise FunctionError(
                f"Deconvolution: weight of shape {ws} must have {2 + nsp} dimensions for input x of shape {xs} "
                f"(base_axis={ba}, {nsp} spatial dimension(s))"
            )
        channels = xs[-1] if cl else xs[ba]
        spatial = xs[ba : ba + nsp] if cl else xs[ba + 1 :]
        per_group = ws[-1] if cl else ws[1]
        kernel = ws[1:-1] if cl else ws[2:]
        if group < 1 or ws[0] % group:
            raise FunctionError(
                f"Deconvolution: group={group} must divide the input channels ({ws[0]}, weight of shape {ws})"
            )
        if channels != ws[0]:
            raise FunctionError(
                f"Deconvolution: input x of shape {xs} has {channels} channels but weight of shape {ws} "
                f"expects {ws[0]} (weight is (inmaps, outmaps / group, *kernel))"
            )
        out = _deconv_spatial_out(self, spatial, kernel, self.args["output_padding"])
        self._check_bias(ws, bs, per_group * group)
        self.plan = {"base_axis": ba, "lead": tuple(xs[:ba]), "group": group, "out_size": out}
        if cl:
            return [tuple(xs[:ba]) + out + (per_group * group,)]
        return [tuple(xs[:ba]) + (per_group * group,) + out]


@register
class DepthwiseConvolution(_ConvFamily):
    """Convolution of each channel on its own, ``multiplier`` maps per channel; weight (channels * multiplier,
    *kernel) (NNabla's DepthwiseConvolution)."""

    double_backward = False  # as in NNabla

    args_spec = {"base_axis": 1, "pad": None, "stride": None, "dilation": None, "multiplier": 1}
    depthwise = True

    def output_shapes(self, xs, ws, bs=None):
        ba, nsp = self._spatial_args(xs, ws)
        _check_depthwise_dims(self, xs, ws, nsp)
        channels, m = xs[ba], self.args["multiplier"]
        if m < 1 or ws[0] != channels * m:
            raise FunctionError(
                f"DepthwiseConvolution: weight of shape {ws} must have channels * multiplier = {channels} * {m} "
                f"= {channels * m} kernels for input x of shape {xs}"
            )
        out = _conv_spatial_out(self, xs[ba + 1 :], ws[1:])
        self._check_bias(ws, bs, ws[0])
        self.plan = {"base_axis": ba, "lead": tuple(xs[:ba]), "group": channels, "in_size": tuple(xs[ba + 1 :])}
        return [tuple(xs[:ba]) + (ws[0],) + out]


@register
class DepthwiseDeconvolution(_ConvFamily):
    """Transpose of DepthwiseConvolution: each group of ``divisor`` channels gives one output channel; weight
    (channels, *kernel) (NNabla's DepthwiseDeconvolution)."""

    double_backward = False  # as in NNabla

    args_spec = {"base_axis": 1, "pad": None, "stride": None, "dilation": None, "divisor": 1}
    transposed = True
    depthwise = True

    def output_shapes(self, xs, ws, bs=None):
        ba, nsp = self._spatial_args(xs, ws)
        _check_depthwise_dims(self, xs, ws, nsp)
        channels, divisor = xs[ba], self.args["divisor"]
        if ws[0] != channels:
            raise FunctionError(
                f"DepthwiseDeconvolution: weight of shape {ws} must have one kernel per input channel "
                f"({channels}, input x of shape {xs})"
            )
        if divisor < 1 or channels % divisor:
            raise FunctionError(
                f"DepthwiseDeconvolution: divisor={divisor} must divide the input channels ({channels}, "
                f"input x of shape {xs})"
            )
        out = _deconv_spatial_out(self, xs[ba + 1 :], ws[1:], (0,) * nsp)
        self._check_bias(ws, bs, channels // divisor)
        self.plan = {"base_axis": ba, "lead": tuple(xs[:ba]), "group": channels // divisor, "out_size": out}
        return [tuple(xs[:ba]) + (channels // divisor,) + out]


def _check_depthwise_dims(func, xs, ws, nsp):
    if nsp > 2:
        raise FunctionError(f"{func.type_name}: needs 1-D or 2-D spatial input, got x of shape {xs}")
    if len(ws) != 1 + nsp:
        raise FunctionError(
            f"{func.type_name}: weight of shape {ws} must have {1 + nsp} dimensions for input x of shape {xs}"
        )


def _conv_spatial_out(func, spatial, kernel):
    a = func.args
    out = []
    for i, (s, k, p, st, d) in enumerate(zip(spatial, kernel, a["pad"], a["stride"], a["dilation"])):
        o = conv_out_size(s, k, p, st, d)
        if o <= 0:
            raise FunctionError(
                f"{func.type_name}: no output at spatial dimension {i}: input {s}, kernel {k}, pad {p}, "
                f"stride {st}, dilation {d}"
            )
        out.append(o)
    return tuple(out)


def _deconv_spatial_out(func, spatial, kernel, output_padding):
    a = func.args
    out = []
    for i, (s, k, p, st, d, op) in enumerate(
        zip(spatial, kernel, a["pad"], a["stride"], a["dilation"], output_padding)
    ):
        o = st * (s - 1) + d * (k - 1) + 1 - 2 * p + op
        if o <= 0:
            raise FunctionError(
                f"{func.type_name}: no output at spatial dimension {i}: input {s}, kernel {k}, pad {p}, "
                f"stride {st}, dilation {d}"
            )
        if op >= st:
            raise FunctionError(
                f"{func.type_name}: output_padding={tuple(output_padding)} must be smaller than stride={a['stride']}"
            )
        out.append(o)
    return tuple(out)
