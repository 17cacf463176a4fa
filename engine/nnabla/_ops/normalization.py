"""Normalization: batch normalization (with running statistics), its fused form, layer, instance, group and
tensor normalization, weight standardization and mean subtraction.

All but mean subtraction standardize x over some axes ("reduced axes"), optionally on a reshaped view of x
(group normalization splits the channels), then scale by gamma and shift by beta. ``Standardize`` holds that
shared forward and backward; each op says which axes it reduces and what shapes beta and gamma take.
With three outputs (``output_stat=True``) the ops also return the mean and the biased variance they used.
Batch normalization reads an input that holds its channels last in memory (a convolution's output) as a matrix
(rows, channels), without a copy, and returns its result in the same memory order.
"""

from __future__ import annotations

import numpy as np

from .. import _native
from .._array import NdArray
from .._variable import Variable
from ..function import Function, FunctionError, apply, register
from ._base import normalize_axis, sum_rows, unbroadcast, where_else_zero, widened
from ._blas import share_rows
from .activation import _relu


def _as_list(axes):
    return list(axes) if isinstance(axes, (list, tuple)) else [axes]


def _shape_str(shape):
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _collapse(shape, kept):
    """Merge runs of adjacent axes that are all kept or all reduced: the same statistics on fewer, longer axes
    (a per-channel broadcast over (B, C, H * W) runs whole rows; over (B, C, H, W) it runs rows of W)."""
    view, reduced = [], []
    for i, n in enumerate(shape):
        r = i not in kept
        if view and reduced[-1] == r:
            view[-1] *= n
        else:
            view.append(n)
            reduced.append(r)
    return tuple(view), tuple(i for i, r in enumerate(reduced) if r)


def _dot(xp, a, b, raxes):
    """sum(a * b) over ``raxes``, keeping them as length-1 axes, without an array for the product."""
    letters = "abcdefghijklmnopqrstuvwxyz"[: a.ndim]
    kept = "".join(c for i, c in enumerate(letters) if i not in raxes)
    return xp.einsum(f"{letters},{letters}->{kept}", a, b).reshape(
        tuple(1 if i in raxes else n for i, n in enumerate(a.shape))
    )


def _sum(xp, a, raxes):
    """a.sum(axis=raxes, keepdims=True), over the rows of a narrow matrix (N, C) through ``sum_rows``."""
    if raxes == (0,) and a.ndim == 2 and a.flags.c_contiguous:
        return sum_rows(xp, a)[None]
    return a.sum(axis=raxes, keepdims=True)


def _minus_rows(xp, a, row):
    """a - row (a new array) for a matrix and its per-channel row, on wide rows where ``widened`` makes them."""
    wide, wide_row = widened(xp, a, row)
    return (wide - wide_row).reshape(a.shape)


ROWS_PER_CHUNK = 1 << 15  # elements of one chunk of ``_scale_add``: its temporary stays in the cache


def _scale_add(xp, a, sa, b, sb, shift):
    """a * sa + b * sb + shift written into ``a``, a chunk of rows at a time (sa, sb, shift broadcast per channel):
    no temporary the size of ``a``, and each chunk is read while it is in the cache."""
    out = a
    a, sa, sb, shift = widened(xp, a, sa, sb, shift)
    b = b.reshape(a.shape)
    rows = max(1, ROWS_PER_CHUNK // max(1, a[0].size))
    for lo in range(0, a.shape[0], rows):
        part = a[lo : lo + rows]
        part *= sa
        part += b[lo : lo + rows] * sb
        part += shift
    return out


def _write_back(holder, values) -> None:
    """Overwrite an input's data in place, keeping its dtype (running statistics are inputs NNabla updates)."""
    nd = holder if type(holder) is NdArray else holder._data
    arr = nd._get()
    arr[...] = values
    nd._written()  # conversions of the old values are stale


class RunningStatistics:
    """Mixin for functions that update running statistics in forward (``_updating`` gates the update)."""

    _updating = True

    def recompute(self, inputs, outputs) -> None:
        # recomputing a forward must not count the batch into the running statistics twice
        self._updating = False
        try:
            self.forward(inputs, outputs)
        finally:
            del self._updating


class Standardize(Function):
    """y = (x - mean) / sqrt(var + eps) * gamma + beta, mean and var taken over ``self.raxes`` of a view of x.

    Subclasses set, in ``output_shapes``: ``self.view`` (the shape statistics are taken on), ``self.raxes``
    (reduced axes of that view) and the input indices ``self.beta_index`` / ``self.gamma_index`` (None when
    absent, following the ``no_bias`` / ``no_scale`` arguments).
    """

    grad_uses = "x"

    def setup(self, inputs, outputs) -> None:
        self.n_outputs = len(outputs)
        super().setup(inputs, outputs)

    def _param_indices(self, n_inputs, n_stat_inputs=0):
        """Where beta and gamma sit among the inputs (NNabla drops absent ones from the list)."""
        no_bias, no_scale = self.args.get("no_bias", True), self.args.get("no_scale", True)
        expected = 1 + (not no_bias) + (not no_scale) + n_stat_inputs
        if n_inputs != expected:
            raise FunctionError(
                f"{self.type_name}: expects {expected} inputs with no_bias={no_bias}, no_scale={no_scale}, "
                f"got {n_inputs}"
            )
        self.beta_index = None if no_bias else 1
        self.gamma_index = None if no_scale else (1 if no_bias else 2)

    def _check_param(self, shapes, index, what, expected, broadcastable=False):
        if index is None:
            return
        shape = tuple(shapes[index])
        if shape == tuple(expected):
            return
        if broadcastable and len(shape) == len(expected) and all(s in (1, e) for s, e in zip(shape, expected)):
            return
        raise FunctionError(
            f"{self.type_name}: {what} of shape {_shape_str(shape)} does not match input x of shape "
            f"{_shape_str(shapes[0])} (expected {what} of shape {_shape_str(expected)})"
        )

    def _stat_shapes(self, x_shape):
        shapes = [tuple(x_shape)]
        if self.n_outputs == 3:
            stat = tuple(1 if i in self.raxes else n for i, n in enumerate(self.view))
            shapes += [stat, stat]
        return shapes

    def _params(self, xs):
        beta = xs[self.beta_index] if self.beta_index is not None else None
        gamma = xs[self.gamma_index] if self.gamma_index is not None else None
        return beta, gamma

    def _standardize(self, xp, x):
        xv = x.reshape(self.view)
        mean = xv.mean(axis=self.raxes, keepdims=True)
        centered = xv - mean
        var = (centered * centered).mean(axis=self.raxes, keepdims=True)
        inv_std = 1 / xp.sqrt(var + self.args["eps"])
        return mean, var, inv_std, centered * inv_std

    def _affine(self, xhat, x_shape, beta, gamma):
        y = xhat.reshape(x_shape)
        if gamma is not None:
            y = y * gamma
        if beta is not None:
            y = y + beta
        return y

    def compute(self, xp, x, *rest):
        beta, gamma = self._params((x,) + rest)
        mean, var, _, xhat = self._standardize(xp, x)
        y = self._affine(xhat, x.shape, beta, gamma)
        return (y, mean, var) if self.n_outputs == 3 else y

    def _standardize_grad(self, xp, x, gamma, gy, gmean=None, gvar=None):
        """Gradient wrt x of the standardized output (and of the returned mean/var when they are used)."""
        _, _, inv_std, xhat = self._standardize(xp, x)
        gxhat = gy * gamma if gamma is not None else gy
        gxhat = gxhat.reshape(self.view)
        count = xhat.size // inv_std.size
        gx = inv_std * (
            gxhat
            - gxhat.mean(axis=self.raxes, keepdims=True)
            - xhat * (gxhat * xhat).mean(axis=self.raxes, keepdims=True)
        )
        if gmean is not None:
            gx = gx + gmean / count
        if gvar is not None:
            gx = gx + gvar * (2.0 / count) * (xhat / inv_std)
        return gx.reshape(x.shape), xhat.reshape(x.shape)

    def grad(self, xp, xs, ys, gys, need):
        x = xs[0]
        beta, gamma = self._params(xs)
        gy = gys[0]
        gmean, gvar = (gys[1], gys[2]) if len(gys) == 3 else (None, None)
        gx, xhat = self._standardize_grad(xp, x, gamma, gy, gmean, gvar)
        out = [gx if need[0] else None] + [None] * (len(xs) - 1)
        if self.beta_index is not None and need[self.beta_index]:
            out[self.beta_index] = unbroadcast(xp, gy, beta.shape)
        if self.gamma_index is not None and need[self.gamma_index]:
            out[self.gamma_index] = unbroadcast(xp, gy * xhat, gamma.shape)
        return tuple(out)


@register
class BatchNormalization(RunningStatistics, Standardize):
    """Batch normalization over all axes but ``axes``; in training (``batch_stat``) it uses the batch statistics
    and updates the running mean and variance inputs in place: r = decay_rate * r + (1 - decay_rate) * batch,
    with the unbiased batch variance going into the running variance."""

    inputs_spec = ("x", "beta?", "gamma?", "mean?", "variance?")
    args_spec = {"axes": (1,), "decay_rate": 0.9, "eps": 1e-05, "batch_stat": True, "no_scale": False, "no_bias": False}

    _forward_stats = None  # (the statistics' view shape, batch mean, 1 / std) of the last training forward

    def output_shapes(self, *shapes):
        self._param_indices(len(shapes), n_stat_inputs=2)
        self.mean_index, self.var_index = len(shapes) - 2, len(shapes) - 1
        return self._bn_shapes(shapes)

    def _bn_shapes(self, shapes):
        xs = tuple(shapes[0])
        axes = [normalize_axis(self, a, len(xs), "axes") for a in _as_list(self.args["axes"])]
        self.raxes = tuple(i for i in range(len(xs)) if i not in axes)
        self.view = xs
        self.channels_view = _collapse(xs, axes)  # (view, reduced axes) for the per-channel arithmetic
        # one channel axis that is not the last: x may hold it last in memory (a convolution's output does)
        self._moved_axis = axes[0] if len(axes) == 1 and axes[0] != len(xs) - 1 else None
        param = tuple(n if i in axes else 1 for i, n in enumerate(xs))
        self._check_param(shapes, self.beta_index, "beta", param)
        self._check_param(shapes, self.gamma_index, "gamma", param)
        self._check_param(shapes, self.mean_index, "mean", param)
        self._check_param(shapes, self.var_index, "variance", param)
        if not self.args["batch_stat"] and self.n_outputs == 3:
            raise FunctionError(f"{self.type_name}: batch_stat=False cannot output the batch mean and variance")
        return self._stat_shapes(xs)

    def _running(self, xs):
        return xs[self.mean_index], xs[self.var_index]

    def _per_channel(self, a, like):
        return None if a is None else a.reshape(like.shape)

    # the per-channel arithmetic runs on a view of x with the statistics' axes merged: (rows, C) where x holds
    # its channels last in memory (no copy, whole rows), else the collapsed channel-first view
    def _layout(self, xp, x):
        """The moved shape (x's shape with the channel axis last) where that order is x's memory, else None."""
        axis = self._moved_axis
        if axis is None or x.ndim < 2:
            return None
        moved = xp.moveaxis(x, axis, -1)
        return moved.shape if moved.flags.c_contiguous and not x.flags.c_contiguous else None

    def _view(self, xp, a, moved):
        """``a`` (x's shape) on the arithmetic's view, and the reduced axes of that view."""
        if moved is None:
            view, raxes = self.channels_view
            return a.reshape(view), raxes
        return xp.moveaxis(a, self._moved_axis, -1).reshape(-1, moved[-1]), (0,)

    def _unview(self, xp, a, shape, moved):
        """The inverse of ``_view``: ``a`` back in x's shape (channel-last memory stays so)."""
        if moved is None:
            return a.reshape(shape)
        return xp.moveaxis(a.reshape(moved), -1, self._moved_axis)

    def _centered(self, xp, xv, raxes):
        """xv minus its batch mean (a new array), the mean, the biased variance and 1 / std."""
        count = xv.size // _prod(xv.shape[i] for i in range(xv.ndim) if i not in raxes)
        mean = _sum(xp, xv, raxes) / count
        centered = _minus_rows(xp, xv, mean)
        var = _dot(xp, centered, centered, raxes) / count
        return centered, mean, var, 1 / xp.sqrt(var + self.args["eps"])

    def _native_rows(self, xp, *arrays):
        """Whether the native passes take these views: float32 (rows, C) matrices in memory order, on numpy."""
        return (
            xp is np
            and all(a.ndim == 2 and a.dtype == np.float32 and a.flags.c_contiguous for a in arrays)
            and _native.available()
        )

    def _native_stats(self, xp, xv):
        """The batch mean (1, C), biased variance and 1 / std in one native pass: float64 sums of x - k and of its
        square, k the first row (a sample of each channel, so the difference of the two terms loses little)."""
        rows, c = xv.shape
        k = np.ascontiguousarray(xv[0])

        def moments(block):
            sums = np.zeros((2, c))
            _native.channel_moments(xv[block], k, *sums)
            return sums

        total, squares = sum(share_rows(xp, rows, c, moments)) / rows
        mean = (k + total).astype(np.float32)
        var = np.maximum(squares - total * total, 0).astype(np.float32)
        inv_std = (1 / np.sqrt(var + np.float32(self.args["eps"]))).astype(np.float32)
        return mean[None], var[None], inv_std[None]

    def _native_affine(self, xp, xv, mean, scale, shift):
        """(xv - mean) * scale + shift (mean None: xv * scale + shift) per channel, a new array."""
        y = np.empty_like(xv)
        c = xv.shape[1]
        vector = lambda a: None if a is None else np.ascontiguousarray(np.broadcast_to(a, (1, c))[0], np.float32)
        m, sc, sh = vector(mean), vector(scale), vector(np.zeros(c, np.float32) if shift is None else shift)

        def apply(block):
            _native.channel_affine(xv[block], y[block], m, sc, sh)

        share_rows(xp, xv.shape[0], c, apply)
        return y

    def compute(self, xp, x, *rest):
        xs = (x,) + rest
        beta, gamma = self._params(xs)
        moved = self._layout(xp, x)
        xv, raxes = self._view(xp, x, moved)
        native = raxes == (0,) and self._native_rows(xp, xv)  # (x channel-last in memory: the native passes)
        if self.args["batch_stat"]:
            if native:
                mean, var, inv_std = self._native_stats(xp, xv)
            else:
                y, mean, var, inv_std = self._centered(xp, xv, raxes)
            self._forward_stats = (xv.shape, mean, inv_std)  # backward uses them, as NNabla's saved mean_, var_
            scale = inv_std if gamma is None else inv_std * self._per_channel(gamma, mean)
            shift = self._per_channel(beta, mean)
            if native:
                y = self._native_affine(xp, xv, mean, scale, shift)
            else:
                wide, scale, shift = widened(xp, y, scale, shift)
                wide *= scale  # in place: the centered copy becomes the output
                if shift is not None:
                    wide += shift
            stat = self._stat_shape(x.shape)
            mean, var = mean.reshape(stat), var.reshape(stat)
            self._batch_stats = (mean, var, x.size // var.size)
        else:
            rmean, rvar = self._running(xs)
            mean, var = rmean, rvar
            # (x - mean) / std * gamma + beta as one scale and one shift per channel
            scale = 1 / xp.sqrt(rvar + self.args["eps"])
            if gamma is not None:
                scale = scale * gamma
            shift = -rmean * scale if beta is None else beta - rmean * scale
            if native:
                y = self._native_affine(xp, xv, None, scale.reshape(-1), shift.reshape(-1))
            else:
                shape = tuple(1 if i in raxes else n for i, n in enumerate(xv.shape))
                wide, scale, shift = widened(xp, xv, scale.reshape(shape), shift.reshape(shape))
                y = wide * scale
                y += shift
                y = y.reshape(xv.shape)
        y = self._unview(xp, y, x.shape, moved)
        return (y, mean, var) if self.n_outputs == 3 else y

    def _stat_shape(self, x_shape):
        return tuple(1 if i in self.raxes else n for i, n in enumerate(x_shape))

    def _native_grad(self, xp, x, xv, gy, beta, gamma, need):
        """The batch-statistics gradients by two native passes: (gx view or None, gbeta (1, C), ggamma (1, C))."""
        saved = self._forward_stats
        if saved is not None and saved[0] == xv.shape:
            _, mean, inv_std = saved
        else:
            mean, _, inv_std = self._native_stats(xp, xv)
        rows, c = xv.shape
        m = np.ascontiguousarray(mean[0])

        def moments(block):
            sums = np.zeros((3, c))
            _native.channel_grad_moments(xv[block], gy[block], m, *sums)
            return sums

        gsum, csum, dot = sum(share_rows(xp, rows, c, moments))
        gbeta = gsum.astype(np.float32)[None]
        offset = (csum / rows).astype(np.float32)[None]
        ggamma = dot.astype(np.float32)[None] * inv_std
        gx = None
        if need[0]:
            k = inv_std if gamma is None else inv_std * self._per_channel(gamma, inv_std)
            a = -k * inv_std * ggamma / rows
            shift = -k * gbeta / rows - a * offset
            gx = np.empty_like(xv)
            vectors = [np.ascontiguousarray(v[0], np.float32) for v in (a, k, shift)]

            def apply(block):
                _native.channel_grad_apply(xv[block], gy[block], gx[block], m, *vectors)

            share_rows(xp, rows, c, apply)
        return gx, gbeta, ggamma

    def _compute_outputs(self, variables):
        ys = super()._compute_outputs(variables)
        if self.args["batch_stat"] and self._updating:
            mean, var, count = self._batch_stats
            decay = self.args["decay_rate"]
            # a batch of one has no unbiased variance; keep the biased one instead of dividing by zero
            unbiased = var * (count / max(count - 1, 1))
            rmean = variables[self.mean_index]
            rvar = variables[self.var_index]
            _write_back(rmean, decay * _data_of(rmean) + (1 - decay) * mean)
            _write_back(rvar, decay * _data_of(rvar) + (1 - decay) * unbiased)
        self._batch_stats = None
        return ys

    def grad(self, xp, xs, ys, gys, need):
        through_stats = len(gys) == 3 and (gys[1] is not None or gys[2] is not None)
        if xp is not self.xp or through_stats:  # a gradient graph (nn.grad), or one through the mean and variance
            return self._composed_grad(xp, xs, gys, need)
        x = xs[0]
        beta, gamma = self._params(xs)
        moved = self._layout(xp, x)
        xv, raxes = self._view(xp, x, moved)
        gy, _ = self._view(xp, gys[0], moved)
        if self.args["batch_stat"] and raxes == (0,) and self._native_rows(xp, xv, gy):
            gx, gbeta, ggamma = self._native_grad(xp, x, xv, gy, beta, gamma, need)
            return self._grads_out(xp, xs, x, moved, need, gx, gbeta, ggamma, beta, gamma)
        gbeta = _sum(xp, gy, raxes)
        if self.args["batch_stat"]:
            saved = self._forward_stats
            if saved is not None and saved[0] == xv.shape:  # the batch statistics of the last forward
                _, mean, inv_std = saved
                centered = _minus_rows(xp, xv, mean)
            else:
                centered, _, _, inv_std = self._centered(xp, xv, raxes)
            # mean(x - mean): 0 up to rounding, unless x changed after the forward; NNabla's dmean keeps it
            offset = _sum(xp, centered, raxes) / (x.size // inv_std.size)
            ggamma = _dot(xp, gy, centered, raxes) * inv_std  # sum(gy * xhat)
            if need[0]:
                # dx = k (gy - mean(gy) - xhat mean(gy xhat)), k = gamma / std: one scale per channel of
                # gy, of the centered x, and one shift
                k = inv_std if gamma is None else inv_std * self._per_channel(gamma, inv_std)
                count = x.size // inv_std.size
                a = -k * inv_std * ggamma / count
                gx = _scale_add(xp, centered, a, gy, k, -k * gbeta / count - a * offset)
        else:
            rmean, rvar = (self._per_channel(a, gbeta) for a in self._running(xs))
            inv_std = 1 / xp.sqrt(rvar + self.args["eps"])
            ggamma = (_dot(xp, gy, xv, raxes) - rmean * gbeta) * inv_std
            if need[0]:
                gx = gy * (inv_std if gamma is None else inv_std * self._per_channel(gamma, inv_std))
        return self._grads_out(xp, xs, x, moved, need, gx if need[0] else None, gbeta, ggamma, beta, gamma)

    def _grads_out(self, xp, xs, x, moved, need, gx, gbeta, ggamma, beta, gamma):
        out = [None] * len(xs)
        if need[0]:
            out[0] = self._unview(xp, gx, x.shape, moved)
        if self.beta_index is not None and need[self.beta_index]:
            out[self.beta_index] = gbeta.reshape(beta.shape)
        if self.gamma_index is not None and need[self.gamma_index]:
            out[self.gamma_index] = ggamma.reshape(gamma.shape)
        return tuple(out)

    def _composed_grad(self, xp, xs, gys, need):
        """The same gradients without in-place arithmetic, so that ``nn.grad`` can build them as a graph."""
        if self.args["batch_stat"]:
            return Standardize.grad(self, xp, xs, None, gys, need)
        x = xs[0]
        beta, gamma = self._params(xs)
        rmean, rvar = self._running(xs)
        inv_std = 1 / xp.sqrt(rvar + self.args["eps"])
        gy = gys[0]
        out = [None] * len(xs)
        if need[0]:
            out[0] = gy * (gamma * inv_std if gamma is not None else inv_std)
        if self.beta_index is not None and need[self.beta_index]:
            out[self.beta_index] = unbroadcast(xp, gy, beta.shape)
        if self.gamma_index is not None and need[self.gamma_index]:
            out[self.gamma_index] = unbroadcast(xp, gy * (x - rmean) * inv_std, gamma.shape)
        return tuple(out)


def _prod(values):
    p = 1
    for v in values:
        p *= v
    return p


def _data_of(holder):
    return (holder if type(holder) is NdArray else holder._data)._get()


@register
class FusedBatchNormalization(BatchNormalization):
    """y = relu(batch_normalization(x, ...) + z): batch normalization, an optional residual z, then ReLU."""

    inputs_spec = ("x", "beta", "gamma", "mean", "variance", "z?")
    args_spec = {"axes": (1,), "decay_rate": 0.9, "eps": 1e-05, "batch_stat": True, "nonlinearity": "relu"}
    grad_uses = "xy"

    def init(self):
        if self.args["nonlinearity"] != "relu":
            raise FunctionError(
                f"FusedBatchNormalization: nonlinearity={self.args['nonlinearity']!r} is not supported (only 'relu')"
            )

    def output_shapes(self, *shapes):
        if len(shapes) not in (5, 6):
            raise FunctionError(f"FusedBatchNormalization: expects 5 or 6 inputs, got {len(shapes)}")
        self.beta_index, self.gamma_index, self.mean_index, self.var_index = 1, 2, 3, 4
        out = self._bn_shapes(shapes[:5])
        if len(shapes) == 6 and tuple(shapes[5]) != tuple(shapes[0]):
            raise FunctionError(
                f"FusedBatchNormalization: z of shape {_shape_str(shapes[5])} does not match input x of shape "
                f"{_shape_str(shapes[0])}"
            )
        return out

    def compute(self, xp, x, *rest):
        ys = super().compute(xp, x, *rest[:4])
        y = ys[0] if isinstance(ys, tuple) else ys
        if len(rest) == 5:
            y = y + rest[4]
        y = _relu(xp, y)
        return (y,) + ys[1:] if isinstance(ys, tuple) else y

    def grad(self, xp, xs, ys, gys, need):
        g = where_else_zero(xp, ys[0] > 0, gys[0])
        out = list(super().grad(xp, xs[:5], ys, [g] + list(gys[1:]), need[:5]))
        if len(xs) == 6:
            out.append(g if need[5] else None)
        return tuple(out)


@register
class TensorNormalization(Standardize):
    """Standardize x over all axes but ``axes`` with the batch statistics (no running statistics)."""

    inputs_spec = ("x", "beta?", "gamma?")
    args_spec = {"axes": (1,), "eps": 1e-05, "no_scale": False, "no_bias": False}

    def output_shapes(self, *shapes):
        self._param_indices(len(shapes))
        xs = tuple(shapes[0])
        axes = [normalize_axis(self, a, len(xs), "axes") for a in _as_list(self.args["axes"])]
        self.raxes = tuple(i for i in range(len(xs)) if i not in axes)
        self.view = xs
        param = tuple(n if i in axes else 1 for i, n in enumerate(xs))
        self._check_param(shapes, self.beta_index, "beta", param)
        self._check_param(shapes, self.gamma_index, "gamma", param)
        return self._stat_shapes(xs)


@register
class LayerNormalization(Standardize):
    """Standardize each sample over all axes but ``batch_axis``; beta and gamma have x's shape with the batch
    axes set to 1."""

    inputs_spec = ("x", "beta?", "gamma?")
    args_spec = {"batch_axis": (0,), "eps": 1e-05, "no_scale": False, "no_bias": False}

    def output_shapes(self, *shapes):
        self._param_indices(len(shapes))
        xs = tuple(shapes[0])
        batch = [normalize_axis(self, a, len(xs), "batch_axis") for a in _as_list(self.args["batch_axis"])]
        self.raxes = tuple(i for i in range(len(xs)) if i not in batch)
        self.view = xs
        param = tuple(1 if i in batch else n for i, n in enumerate(xs))
        self._check_param(shapes, self.beta_index, "beta", param)
        self._check_param(shapes, self.gamma_index, "gamma", param)
        return self._stat_shapes(xs)


@register
class InstanceNormalization(Standardize):
    """Standardize each sample and channel over the remaining axes; beta and gamma broadcast along the batch."""

    inputs_spec = ("x", "beta?", "gamma?")
    args_spec = {"channel_axis": 1, "batch_axis": (0,), "eps": 1e-05, "no_scale": False, "no_bias": False}

    def output_shapes(self, *shapes):
        self._param_indices(len(shapes))
        xs = tuple(shapes[0])
        channel = normalize_axis(self, self.args["channel_axis"], len(xs), "channel_axis")
        batch = [normalize_axis(self, a, len(xs), "batch_axis") for a in _as_list(self.args["batch_axis"])]
        kept = set(batch) | {channel}
        self.raxes = tuple(i for i in range(len(xs)) if i not in kept)
        self.view = xs
        param = tuple(n if i in kept else 1 for i, n in enumerate(xs))
        self._check_param(shapes, self.beta_index, "beta", param, broadcastable=True)
        self._check_param(shapes, self.gamma_index, "gamma", param, broadcastable=True)
        return self._stat_shapes(xs)


@register
class GroupNormalization(Standardize):
    """Split the channels into ``num_groups`` groups and standardize each sample's group; beta and gamma are
    per channel."""

    inputs_spec = ("x", "beta?", "gamma?")
    args_spec = {
        "num_groups": 1,
        "channel_axis": 1,
        "batch_axis": (0,),
        "eps": 1e-05,
        "no_scale": False,
        "no_bias": False,
    }

    def output_shapes(self, *shapes):
        self._param_indices(len(shapes))
        xs = tuple(shapes[0])
        channel = normalize_axis(self, self.args["channel_axis"], len(xs), "channel_axis")
        batch = [normalize_axis(self, a, len(xs), "batch_axis") for a in _as_list(self.args["batch_axis"])]
        groups = self.args["num_groups"]
        if groups <= 0 or xs[channel] % groups:
            raise FunctionError(
                f"GroupNormalization: channel dimension {xs[channel]} of input x of shape {_shape_str(xs)} "
                f"(channel_axis={channel}) must be a multiple of num_groups={groups}"
            )
        # the view splits the channel axis into (groups, channels per group); axes after it shift by one
        self.view = xs[:channel] + (groups, xs[channel] // groups) + xs[channel + 1 :]
        kept = {a if a <= channel else a + 1 for a in batch} | {channel}
        self.raxes = tuple(i for i in range(len(self.view)) if i not in kept)
        param = tuple(n if i == channel else 1 for i, n in enumerate(xs))
        self._check_param(shapes, self.beta_index, "beta", param)
        self._check_param(shapes, self.gamma_index, "gamma", param)
        return self._stat_shapes(xs)


@register
class WeightStandardization(Standardize):
    """Standardize a weight over all axes but its output-channel axis ``channel_axis``."""

    inputs_spec = ("w",)
    args_spec = {"channel_axis": 0, "eps": 1e-05}
    beta_index = gamma_index = None

    def output_shapes(self, ws):
        ws = tuple(ws)
        channel = normalize_axis(self, self.args["channel_axis"], len(ws), "channel_axis")
        self.raxes = tuple(i for i in range(len(ws)) if i != channel)
        self.view = ws
        return self._stat_shapes(ws)


@register
class MeanSubtraction(RunningStatistics, Function):
    """y = x - running mean; in training the running mean first absorbs the batch mean as a running average
    over the ``t`` batches seen so far (``t`` counts them)."""

    double_backward = False  # as in NNabla

    inputs_spec = ("x", "rmean", "t?")
    args_spec = {"base_axis": 1, "update_running_mean": True}

    def output_shapes(self, xs, ms, ts=None):
        ba = normalize_axis(self, self.args["base_axis"], len(xs), "base_axis")  # negative: from the end
        if tuple(ms) != tuple(xs[ba:]):
            raise FunctionError(
                f"MeanSubtraction: rmean of shape {_shape_str(ms)} does not match input x of shape "
                f"{_shape_str(xs)} (expected rmean of shape {_shape_str(xs[ba:])})"
            )
        if ts is None and self.args["update_running_mean"]:
            raise FunctionError("MeanSubtraction: update_running_mean=True needs the counter input t")
        if ts is not None and int(np.prod(ts)) != 1:
            raise FunctionError(f"MeanSubtraction: t must hold one value, got shape {_shape_str(ts)}")
        return [tuple(xs)]

    def _compute_outputs(self, variables):
        arrays = self._arrays_of(variables)
        x, rmean = arrays[:2]
        if self.args["update_running_mean"] and self._updating:
            t = arrays[2].reshape(())  # the counter stays where the data is: no value read back
            batch_mean = x.reshape((-1,) + rmean.shape).mean(axis=0)
            rmean = rmean + (batch_mean - rmean) / (t + 1)
            _write_back(variables[1], rmean)
            _write_back(variables[2], t + 1)
        return self._as_outputs(x - rmean)

    def grad(self, xp, xs, ys, gys, need):
        if not self.args["update_running_mean"]:
            return (gys[0], None) + ((None,) if len(xs) == 3 else ())
        # NNabla's approximation: only the latest batch's share of the running mean depends on x
        x, t = xs[0], xs[2]
        batch = x.size // xs[1].size
        factor = 1.0 / (t.reshape(()) * batch)
        return (gys[0] * (1 - factor), None, None)


# -- F wrappers with NNabla's Python signatures -----------------------------------------------------------------
def _dummy_stat(x, axes):
    """A running-statistics stand-in for callers that pass None (its values are never read)."""
    shape = tuple(n if i in axes else 1 for i, n in enumerate(x.shape))
    return Variable(shape, need_grad=False)


def _run(func, inputs, n_outputs, requested=None):
    if requested is not None and requested != n_outputs:
        raise FunctionError(
            f"{func.type_name}: n_outputs={requested} does not match output_stat (which gives {n_outputs} output(s))"
        )
    func.n_outputs = n_outputs
    return apply(func, tuple(inputs))


def batch_normalization(
    x,
    beta,
    gamma,
    mean,
    variance,
    axes=[1],
    decay_rate=0.9,
    eps=1e-05,
    batch_stat=True,
    output_stat=False,
    n_outputs=None,
):
    """Batch normalization (NNabla's ``F.batch_normalization``); returns (y, mean, var) with ``output_stat``."""
    return _batch_normalization(
        BatchNormalization,
        {},
        x,
        beta,
        gamma,
        mean,
        variance,
        axes,
        decay_rate,
        eps,
        batch_stat,
        output_stat,
        n_outputs,
    )


def _batch_normalization(
    cls, extra, x, beta, gamma, mean, variance, axes, decay_rate, eps, batch_stat, output_stat, n_outputs
):
    name = cls.__name__
    axes = [a + x.ndim * (a < 0) for a in _as_list(axes)]
    if output_stat and not batch_stat:
        raise FunctionError(f"{name}: output_stat=True requires batch_stat=True")
    if not batch_stat and (mean is None or variance is None):
        raise FunctionError(f"{name}: batch_stat=False needs the running mean and variance inputs")
    mean = mean if mean is not None else _dummy_stat(x, axes)
    variance = variance if variance is not None else _dummy_stat(x, axes)
    if batch_stat and (getattr(mean, "parent", None) or getattr(variance, "parent", None)) is not None:
        raise FunctionError(f"{name}: with batch_stat=True, mean and variance must not have a parent")
    func = cls(
        None,
        **extra,
        axes=axes,
        decay_rate=decay_rate,
        eps=eps,
        batch_stat=batch_stat,
        no_scale=gamma is None,
        no_bias=beta is None,
    )
    inputs = [x] + [p for p in (beta, gamma) if p is not None] + [mean, variance]
    return _run(func, inputs, 3 if output_stat else 1, n_outputs)


def _constant_like(x, shape, value):
    arr = np.full(shape, value, np.float32)
    return NdArray.from_numpy_array(arr) if type(x) is NdArray else Variable.from_numpy_array(arr)


def fused_batch_normalization(
    x,
    beta,
    gamma,
    mean,
    variance,
    z=None,
    axes=[1],
    decay_rate=0.9,
    eps=1e-05,
    batch_stat=True,
    nonlinearity="relu",
    output_stat=False,
    n_outputs=None,
):
    """relu(batch_normalization(x) + z) (NNabla's ``F.fused_batch_normalization``)."""
    axes = [a + x.ndim * (a < 0) for a in _as_list(axes)]
    if not batch_stat and (mean is None or variance is None):
        raise FunctionError("FusedBatchNormalization: batch_stat=False needs the running mean and variance inputs")
    param = tuple(n if i in axes else 1 for i, n in enumerate(x.shape))
    beta = beta if beta is not None else _constant_like(x, param, 0)
    gamma = gamma if gamma is not None else _constant_like(x, param, 1)
    mean = mean if mean is not None else _dummy_stat(x, axes)
    variance = variance if variance is not None else _dummy_stat(x, axes)
    func = FusedBatchNormalization(
        None, axes=axes, decay_rate=decay_rate, eps=eps, batch_stat=batch_stat, nonlinearity=nonlinearity
    )
    inputs = [x, beta, gamma, mean, variance] + ([z] if z is not None else [])
    return _run(func, inputs, 3 if output_stat else 1, n_outputs)


def tensor_normalization(x, axes, beta=None, gamma=None, eps=1e-05, output_stat=False):
    """Standardize over all axes but ``axes`` (NNabla builds it from batch normalization with decay_rate 0)."""
    return batch_normalization(
        x, beta, gamma, None, None, axes=axes, decay_rate=0.0, eps=eps, batch_stat=True, output_stat=output_stat
    )


def _with_params(x, beta, gamma):
    return [x] + [p for p in (beta, gamma) if p is not None]


def layer_normalization(x, beta, gamma, batch_axis=0, eps=1e-05, output_stat=False):
    """Layer normalization (NNabla's ``F.layer_normalization``)."""
    func = LayerNormalization(
        None, batch_axis=_as_list(batch_axis), eps=eps, no_scale=gamma is None, no_bias=beta is None
    )
    return _run(func, _with_params(x, beta, gamma), 3 if output_stat else 1)


def instance_normalization(x, beta, gamma, channel_axis=1, batch_axis=0, eps=1e-05, output_stat=False):
    """Instance normalization (NNabla's ``F.instance_normalization``)."""
    func = InstanceNormalization(
        None,
        channel_axis=channel_axis,
        batch_axis=_as_list(batch_axis),
        eps=eps,
        no_scale=gamma is None,
        no_bias=beta is None,
    )
    return _run(func, _with_params(x, beta, gamma), 3 if output_stat else 1)


def group_normalization(x, beta, gamma, num_groups, channel_axis=1, batch_axis=0, eps=1e-05, output_stat=False):
    """Group normalization (NNabla's ``F.group_normalization``)."""
    func = GroupNormalization(
        None,
        num_groups=num_groups,
        channel_axis=channel_axis,
        batch_axis=_as_list(batch_axis),
        eps=eps,
        no_scale=gamma is None,
        no_bias=beta is None,
    )
    return _run(func, _with_params(x, beta, gamma), 3 if output_stat else 1)


def weight_standardization(w, channel_axis=0, eps=1e-05, output_stat=False):
    """Weight standardization (NNabla's ``F.weight_standardization``)."""
    return _run(WeightStandardization(None, channel_axis=channel_axis, eps=eps), [w], 3 if output_stat else 1)


def mean_subtraction(x, mean, t, base_axis=1, update_running_mean=True):
    """x minus a running mean that training updates (NNabla's ``F.mean_subtraction``)."""
    func = MeanSubtraction(None, base_axis=base_axis, update_running_mean=update_running_mean)
    return apply(func, (x, mean) + ((t,) if t is not None else ()))


@register
class SyncBatchNormalization(BatchNormalization):
    """Batch normalization whose batch statistics are those of the whole batch of the processes of ``comm``'s
    ``group`` (each with a batch of the same size): the mean and the variance are all-reduced in forward, and the
    sums the input's gradient needs in backward; beta's and gamma's gradients stay this process's, for the usual
    all-reduce of the gradients (NNabla's). With no ``comm``, or one of size 1, it is batch normalization."""

    double_backward = False  # as in NNabla

    args_spec = {"comm": None, "group": "world", **BatchNormalization.args_spec}

    def init(self):
        super().init()
        comm, group = self.args["comm"], self.args["group"]
        self.processes = getattr(comm, "size", 1) if comm is not None else 1
        find_group = getattr(comm, "find_group", None)
        if self.processes == 1 and group == "world":
            return
        ranks = find_group(group) if find_group is not None else []
        if not ranks:
            raise FunctionError(
                f"SyncBatchNormalization: group={group!r} is not a group of comm={comm!r} "
                "(a communicator of nnabla.communicators, initialized)"
            )
        self.processes = len(ranks)

    def _all_reduce(self, *arrays):
        """The sums over the group's processes of per-channel ``arrays``, in one exchange."""
        xp = self.xp
        flat = NdArray._wrap(xp.concatenate([a.reshape(-1) for a in arrays]))
        self.args["comm"].all_reduce(flat, group=self.args["group"])
        sums, offset = [], 0
        for a in arrays:
            sums.append(flat._get()[offset : offset + a.size].reshape(a.shape).astype(a.dtype, copy=False))
            offset += a.size
        return sums

    def _centered(self, xp, xv, raxes):
        if self.processes == 1:
            return super()._centered(xp, xv, raxes)
        count = self.processes * (xv.size // _channels(xv, raxes))
        (total,) = self._all_reduce(xv.sum(axis=raxes, keepdims=True))
        mean = total / count
        centered = xv - mean
        (squares,) = self._all_reduce(_dot(xp, centered, centered, raxes))  # two passes: as exact as one process
        var = squares / count
        return centered, mean, var, 1 / xp.sqrt(var + self.args["eps"])

    def compute(self, xp, x, *rest):
        out = super().compute(xp, x, *rest)
        if self.processes > 1 and self.args["batch_stat"]:
            mean, var, count = self._batch_stats
            self._batch_stats = (mean, var, count * self.processes)  # the running variance's unbiased count
        return out

    def grad(self, xp, xs, ys, gys, need):
        if self.processes == 1 or not self.args["batch_stat"]:
            return super().grad(xp, xs, ys, gys, need)
        if xp is not self.xp or (len(gys) == 3 and (gys[1] is not None or gys[2] is not None)):
            raise FunctionError(
                f"SyncBatchNormalization over {self.processes} processes: no gradient graph (nn.grad) and no "
                "gradient through the batch mean and variance outputs"
            )
        x = xs[0]
        beta, gamma = self._params(xs)
        view, raxes = self.channels_view
        gy = gys[0].reshape(view)
        centered, _, _, inv_std = self._centered(xp, x.reshape(view), raxes)
        gbeta = gy.sum(axis=raxes, keepdims=True)
        gdot = _dot(xp, gy, centered, raxes)  # sum(gy * (x - mean))
        out = [None] * len(xs)
        if need[0]:  # as batch normalization's, with the sums and the count of the whole batch
            all_gbeta, all_gdot = self._all_reduce(gbeta, gdot)
            k = inv_std if gamma is None else inv_std * self._per_channel(gamma, inv_std)
            count = self.processes * (x.size // inv_std.size)
            gx = centered
            gx *= -k * inv_std * inv_std * all_gdot / count
            gx += gy * k
            gx -= k * all_gbeta / count
            out[0] = gx.reshape(x.shape)
        if self.beta_index is not None and need[self.beta_index]:
            out[self.beta_index] = gbeta.reshape(beta.shape)
        if self.gamma_index is not None and need[self.gamma_index]:
            out[self.gamma_index] = (gdot * inv_std).reshape(gamma.shape)
        return tuple(out)


def _channels(xv, raxes):
    return int(np.prod([n for i, n in enumerate(xv.shape) if i not in raxes], dtype=np.int64))


def sync_batch_normalization(
    x,
    beta,
    gamma,
    mean,
    variance,
    comm,
    group="world",
    axes=[1],
    decay_rate=0.9,
    eps=1e-05,
    batch_stat=True,
    output_stat=False,
    n_outputs=None,
):
    """Synchronized batch normalization (NNabla's ``F.sync_batch_normalization``): the batch statistics of all the
    processes of ``comm``'s ``group``; with one process, batch normalization."""
    extra = {"comm": comm, "group": group}
    return _batch_normalization(
        SyncBatchNormalization,
        extra,
        x,
        beta,
        gamma,
        mean,
        variance,
        axes,
        decay_rate,
        eps,
        batch_stat,
        output_stat,
        n_outputs,
    )


PUBLIC = {
    "sync_batch_normalization": sync_batch_normalization,
    "batch_normalization": batch_normalization,
    "fused_batch_normalization": fused_batch_normalization,
    "tensor_normalization": tensor_normalization,
    "layer_normalization": layer_normalization,
    "instance_normalization": instance_normalization,
    "group_normalization": group_normalization,
    "weight_standardization": weight_standardization,
    "mean_subtraction": mean_subtraction,
}
