"""Pooling and resizing: MaxPooling, AveragePooling, SumPooling, GlobalAveragePooling, Unpooling, Interpolate.

Windowed pooling reads one strided view of the (padded) input per kernel offset, and the gradient is written
through the same views; ``select`` reads the convolution module's strided window view (``windows``).
Output sizes follow NNabla's rule ``(size + pad - (kernel - pad if ignore_border else 1)) / stride + 1``; a window
is clipped to the input (padding never wins a max and adds nothing to a sum).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .. import _native
from ..function import REQUIRED, Function, FunctionError, _Shaped, apply, register
from ._base import first_equal, in_memory_order, where_else_zero
from ._blas import share_rows
from .convolution import crop_spatial, pad_spatial, shape_arg, windows


class _Pooling(Function):
    """Shared window geometry; ``output_shapes`` fills ``self.plan`` and resolves stride and pad into ``args``."""

    args_spec = {"kernel": None, "stride": None, "ignore_border": True, "pad": None, "channel_last": False}
    signature_defaults = {"kernel": REQUIRED}

    def output_shapes(self, xs):
        a = self.args
        if a["kernel"] is None:
            raise FunctionError(f"{self.type_name}: kernel is required")
        kernel = tuple(int(k) for k in a["kernel"])
        nk = len(kernel)
        if nk not in (2, 3):
            raise FunctionError(f"{self.type_name}: kernel={kernel}: only 2-D and 3-D pooling are supported")
        if any(k < 1 for k in kernel):
            raise FunctionError(f"{self.type_name}: kernel={kernel} must be >= 1 in every dimension")
        cl = a["channel_last"]
        if len(xs) < nk + (1 if cl else 0):
            raise FunctionError(
                f"{self.type_name}: kernel={kernel} has more dimensions than input x of shape {xs}"
                + (" allows with channel_last" if cl else "")
            )
        a["kernel"] = kernel
        a["stride"] = shape_arg(self, "stride", a["stride"] if a["stride"] is not None else kernel, nk, 1, minimum=1)
        a["pad"] = shape_arg(self, "pad", a["pad"], nk, 0, minimum=0)
        first = len(xs) - nk - (1 if cl else 0)
        size = tuple(xs[first : first + nk])
        out = []
        for i, (s, k, st, p) in enumerate(zip(size, kernel, a["stride"], a["pad"])):
            o = int((s + p - (k - p if a["ignore_border"] else 1)) / st) + 1
            if o <= 0:
                raise FunctionError(
                    f"{self.type_name}: no output at spatial dimension {i} of input x of shape {xs}: "
                    f"kernel {k}, stride {st}, pad {p}"
                )
            out.append(o)
        out = tuple(out)
        # right padding so that every window fits; the clipping rules decide what it counts for
        after = tuple(
            max(0, (o - 1) * st + k - s - p) for o, st, k, s, p in zip(out, a["stride"], kernel, size, a["pad"])
        )
        # windows that tile the input exactly: stride = kernel, no padding, nothing left over
        tiled = all(
            st == k and p == 0 and e == 0 and s == o * k
            for st, k, p, e, s, o in zip(a["stride"], kernel, a["pad"], after, size, out)
        )
        self.plan = {"size": size, "out": out, "after": after, "in_shape": tuple(xs), "tiled": tiled}
        return [tuple(xs[:first]) + out + tuple(xs[first + nk :])]

    # layout: pooled axes last ---------------------------------------------------------------------------------------
    def _spatial_last(self, xp, a):
        if self.args["channel_last"]:
            return xp.moveaxis(a, -1, -len(self.args["kernel"]) - 1)
        return a

    def _restore(self, xp, a):
        if self.args["channel_last"]:
            a = xp.moveaxis(a, -len(self.args["kernel"]) - 1, -1)
        return xp.ascontiguousarray(a)

    def _unmoved(self, xp, a):
        """``_restore`` without its copy: the result keeps the memory order of the input (no transposing copy)."""
        return xp.moveaxis(a, -len(self.args["kernel"]) - 1, -1) if self.args["channel_last"] else a

    def _windows(self, xp, x, fill):
        """Windows of x (pooled axes last, padded with ``fill``) as (lead..., *kernel, *out)."""
        a, plan = self.args, self.plan
        padded = pad_spatial(xp, x, a["pad"], plan["after"], value=fill)
        return windows(xp, padded, a["kernel"], a["stride"], (1,) * len(a["kernel"]), plan["out"])

    def _offsets(self, padded):
        """Per kernel offset, in a window's order (the last axis fastest): the view of ``padded`` (pooled axes last)
        it reads for every output."""
        a, out = self.args, self.plan["out"]
        lead = (slice(None),) * (padded.ndim - len(out))
        for k in itertools.product(*(range(n) for n in a["kernel"])):
            yield padded[lead + tuple(slice(i, i + (o - 1) * s + 1, s) for i, o, s in zip(k, out, a["stride"]))]


NATIVE_POOL_CHANNELS = 8  # channels (contiguous in memory) from which native max pooling beats numpy's


@register
class MaxPooling(_Pooling):
    """y = max over each window (NNabla's MaxPooling); the gradient goes to the first maximum of a window.

    Forward keeps which kernel offset holds each window's first maximum (a byte per output where the window has
    under 255 positions), as NNabla keeps its max indices: backward then reads no input data, so clearing buffers
    frees the input once forward is done with it. A gradient asked at given inputs (``nn.grad``'s graphs,
    MaxPoolingBackward) finds the maxima again from x."""

    grad_uses = ""
    _index = None  # (the first maximum's offset per output, the padded input's shape) from the last forward

    def _flat_windows(self, xp, x):
        nk = len(self.args["kernel"])
        view = self._windows(xp, self._spatial_last(xp, x), -xp.inf)
        lead = view.shape[: view.ndim - 2 * nk]
        return view.reshape(lead + (-1,) + self.plan["out"]), len(lead)

    def _padded(self, xp, x):
        a, plan = self.args, self.plan
        return pad_spatial(xp, self._spatial_last(xp, x), a["pad"], plan["after"], value=-xp.inf)

    def _max(self, xp, views):
        """The elementwise max of the views, in their memory order (a channel-last input gives channel-last)."""
        best = xp.maximum(views[0], views[1]) if len(views) > 1 else views[0].copy(order="K")
        for v in views[2:]:
            xp.maximum(best, v, out=best)
        return best

    # -- the native pass: 2-D windows that do not overlap, no padding, float32 on numpy -------------------------------
    def _native_memory(self, xp, x):
        """x's memory as (N, H, W, C) and how the op's layout maps onto it ("last": channel_last, "moved": a
        channel-first view of channel-last memory), or None where the native pass does not apply."""
        a, plan = self.args, self.plan
        fits = (
            xp is np
            and x.dtype == np.float32
            and x.ndim == 4
            and len(a["kernel"]) == 2
            and not any(a["pad"])
            and not any(plan["after"])
            and all(s >= k for s, k in zip(a["stride"], a["kernel"]))
            and a["kernel"][0] * a["kernel"][1] < 255
            and _native.available()
        )
        if not fits:
            return None
        if a["channel_last"]:
            return (x, "last") if x.flags.c_contiguous and x.shape[-1] >= NATIVE_POOL_CHANNELS else None
        moved = np.moveaxis(x, 1, -1)
        # (channel-first memory goes to numpy: one channel per image would leave the kernel's vectors unfilled)
        return (moved, "moved") if moved.flags.c_contiguous and x.shape[1] >= NATIVE_POOL_CHANNELS else None

    @staticmethod
    def _to_memory(a, kind):
        """An array of the op's layout in the memory layout ``kind`` (contiguous (N, H, W, C))."""
        return np.ascontiguousarray(np.moveaxis(a, 1, -1) if kind == "moved" else a)

    @staticmethod
    def _from_memory(m, kind, shape):
        """The memory-layout array ``m`` in the op's layout of ``shape`` (a view: the memory order stays)."""
        return np.moveaxis(m, -1, 1) if kind == "moved" else m

    def _native_compute(self, xp, mem, kind, x_shape):
        a, out = self.args, self.plan["out"]
        n, c = mem.shape[0], mem.shape[-1]
        index = np.empty((n,) + out + (c,), np.uint8)
        y = np.empty((n,) + out + (c,), np.float32)

        def block(part):
            _native.max_pool(mem[part], a["kernel"], a["stride"], y[part], index[part])

        share_rows(xp, n, mem[0].size, block)
        self._index = ("native", index, kind, mem.shape, x_shape)
        return self._from_memory(y, kind, self._out_shape(x_shape))

    def _out_shape(self, x_shape):
        a, out = self.args, self.plan["out"]
        if a["channel_last"]:
            return tuple(x_shape[:-3]) + out + (x_shape[-1],)
        return tuple(x_shape[:-2]) + out

    def _native_grad(self, xp, gy):
        _, index, kind, mem_shape, x_shape = self._index
        a = self.args
        g = self._to_memory(gy, kind)
        gx = np.empty(mem_shape, np.float32)

        def block(part):
            _native.max_pool_grad(g[part], index[part], a["kernel"], a["stride"], gx[part])

        share_rows(xp, mem_shape[0], gx[0].size, block)
        return self._from_memory(gx, kind, x_shape)

    def compute(self, xp, x):
        native = self._native_memory(xp, x)
        if native is not None:
            return self._native_compute(xp, *native, x.shape)
        padded = self._padded(xp, x)
        views = list(self._offsets(padded))
        # (the index, kept until backward, is made first: below the output and the temporaries in the heap, it
        # leaves one free span behind them when they go)
        index = xp.empty_like(views[0], dtype=xp.uint8 if len(views) < 255 else xp.int32)
        best = self._max(xp, views)
        self._index = (first_equal(xp, views, best, index), padded.shape)
        return self._unmoved(xp, best)

    def grad(self, xp, xs, ys, gys, need):
        if isinstance(xs[0], _Shaped):  # the plan's backward: the offsets forward kept
            return (self._grad_from_index(xp, gys[0]),)
        padded = self._padded(xp, xs[0])
        views = list(self._offsets(padded))
        index = xp.empty_like(views[0], dtype=xp.uint8 if len(views) < 255 else xp.int32)
        index = first_equal(xp, views, self._max(xp, views), index)
        return (self._scatter(xp, index, padded.shape, gys[0]),)

    def _grad_from_index(self, xp, gy):
        if self._index is None:
            raise FunctionError(f"{self.type_name}: backward needs a forward first (it keeps the maxima's offsets)")
        if isinstance(self._index[0], str):  # ("native", ...) from the native pass
            return self._native_grad(xp, gy)
        return self._scatter(xp, *self._index, gy)

    def _scatter(self, xp, index, shape, gy):
        """Each window's gradient onto its first maximum (``index``, the offset per output, of a padded input of
        ``shape``), in the memory order of the index (the input's: a channel-last input gives channel-last)."""
        a, plan = self.args, self.plan
        gy = self._spatial_last(xp, gy)
        disjoint = all(s >= k for s, k in zip(a["stride"], a["kernel"]))  # each input in one window at most
        # (tiling windows write every element: no zeros first)
        gx = in_memory_order(xp, index.strides, shape, gy.dtype, fill=None if plan["tiled"] else 0)
        targets = list(enumerate(self._offsets(gx)))
        if disjoint:
            for i, target in targets:  # (+0.0 off the maximum, as NNabla's zeroed gradient: not 0 * gy's -0.0 or NaN)
                where_else_zero(xp, index == i, gy, out=target)
        else:
            # overlapping windows: an input gets its windows' gradients in the outputs' order (the offsets last
            # first), as NNabla's loop adds them; elsewhere +0.0, which leaves every sum's bits as they are (a sum
            # that starts from +0.0 is never -0.0) and, unlike 0 * gy, no NaN from an infinite gradient
            for i, target in reversed(targets):
                target += where_else_zero(xp, index == i, gy)
        return self._unmoved(xp, crop_spatial(gx, a["pad"], plan["size"]))

    def select(self, xp, xs, u):
        """u at each window's first maximum of x: the derivative of y along u (double backward)."""
        cols, axis = self._flat_windows(xp, xs[0])
        first = xp.expand_dims(cols.argmax(axis=axis), axis)
        view = self._windows(xp, self._spatial_last(xp, u), 0).reshape(cols.shape)
        return self._restore(xp, xp.take_along_axis(view, first, axis).squeeze(axis))


@register
class SumPooling(_Pooling):
    """y = sum over each window (NNabla's SumPooling)."""

    linear_inputs = (0,)

    grad_uses = ""

    def _divisor(self, xp):
        return None

    def compute(self, xp, x):
        # each window's elements added in its own order, then divided (NNabla's loop), one pass per kernel offset
        # over the whole output, in the input's memory order (a channel-last input gives channel-last)
        a, plan = self.args, self.plan
        padded = pad_spatial(xp, self._spatial_last(xp, x), a["pad"], plan["after"], value=0)
        views = list(self._offsets(padded))
        y = xp.add(views[0], views[1]) if len(views) > 1 else views[0].copy(order="K")
        for v in views[2:]:
            y += v
        div = self._divisor(xp)
        if div is not None:
            y /= div.astype(y.dtype)
        return self._unmoved(xp, y)

    def grad(self, xp, xs, ys, gys, need):
        a, plan = self.args, self.plan
        gy = self._spatial_last(xp, gys[0])
        div = self._divisor(xp)
        if div is not None:
            gy = gy / div.astype(gy.dtype)
        # the gradient in gy's memory order (x may be cleared); every offset's view of it takes gy, added where
        # windows overlap, written where they are disjoint (zeros first unless the windows tile the input)
        nk = len(plan["out"])
        shape = gy.shape[: gy.ndim - nk] + tuple(s + p + e for s, p, e in zip(plan["size"], a["pad"], plan["after"]))
        disjoint = all(st >= k for st, k in zip(a["stride"], a["kernel"]))
        gx = in_memory_order(xp, gy.strides, shape, gy.dtype, fill=None if plan["tiled"] else 0)
        # (the offsets last first: an input then gets its windows' shares in the outputs' order, as in NNabla)
        for target in reversed(list(self._offsets(gx))):
            if disjoint:
                target[...] = gy
            else:
                target += gy
        return (self._unmoved(xp, crop_spatial(gx, a["pad"], plan["size"])),)


@register
class AveragePooling(SumPooling):
    """y = mean over each window (NNabla's AveragePooling); ``including_pad`` counts padded positions too."""

    args_spec = {**_Pooling.args_spec, "including_pad": True}

    def _divisor(self, xp):
        """Window sizes (*out): the window clipped to the padded input, or to the input without ``including_pad``."""
        a, plan = self.args, self.plan
        count = None
        for axis, (s, k, st, p, o) in enumerate(zip(plan["size"], a["kernel"], a["stride"], a["pad"], plan["out"])):
            start = xp.arange(o) * st - p
            if a["including_pad"]:
                n = xp.minimum(start + k, s + p) - start
            else:
                n = xp.minimum(start + k, s) - xp.maximum(start, 0)
            n = n.reshape((-1,) + (1,) * (len(plan["out"]) - axis - 1))
            count = n if count is None else count * n
        return count


@register
class GlobalAveragePooling(Function):
    """y = mean of x over every axis after the first two, shaped (N, C, 1, 1) (NNabla's GlobalAveragePooling)."""

    grad_uses = ""

    def output_shapes(self, xs):
        if len(xs) < 2:
            raise FunctionError(f"GlobalAveragePooling: input x of shape {xs} needs at least 2 dimensions")
        self.in_shape = tuple(xs)
        return [(xs[0], xs[1], 1, 1)]

    def compute(self, xp, x):
        b, c = x.shape[:2]
        moved = xp.moveaxis(x, 1, -1)
        if x.ndim > 2 and moved.flags.c_contiguous and not x.flags.c_contiguous:  # channels last in memory
            rows = moved.reshape(b, -1, c)
            if xp is np and rows.dtype == np.float32 and rows.shape[1] and _native.available():
                out = np.empty((b, c), np.float32)  # (one native pass, numpy's bits)

                def block(part):
                    _native.rows_mean(rows[part], out[part])

                share_rows(xp, b, rows[0].size, block)
                return out.reshape(b, c, 1, 1)
            return rows.mean(axis=1).reshape(b, c, 1, 1)
        return x.reshape(b, c, math.prod(x.shape[2:])).mean(axis=2).reshape(b, c, 1, 1)

    def grad(self, xp, xs, ys, gys, need):
        shape = self.in_shape
        count = math.prod(shape[2:])
        g = (gys[0] / count).reshape(shape[:2] + (1,) * (len(shape) - 2))
        return (xp.broadcast_to(g, shape),)


@register
class Unpooling(Function):
    """Repeat each element ``kernel`` times along the last axes (NNabla's Unpooling, nearest upsampling)."""

    args_spec = {"kernel": None, "channel_last": False}
    signature_defaults = {"kernel": REQUIRED}
    grad_uses = ""

    def output_shapes(self, xs):
        if self.args["kernel"] is None:
            raise FunctionError("Unpooling: kernel is required")
        kernel = self.args["kernel"] = tuple(int(k) for k in self.args["kernel"])
        if any(k < 1 for k in kernel):
            raise FunctionError(f"Unpooling: kernel={kernel} must be >= 1 in every dimension")
        cl = self.args["channel_last"]
        if len(kernel) + (1 if cl else 0) > len(xs):
            raise FunctionError(f"Unpooling: kernel={kernel} has more dimensions than input x of shape {xs}")
        self.first = len(xs) - len(kernel) - (1 if cl else 0)
        self.in_shape = tuple(xs)
        out = list(xs)
        for i, k in enumerate(kernel):
            out[self.first + i] *= k
        return [tuple(out)]

    def compute(self, xp, x):
        for i, k in enumerate(self.args["kernel"]):
            if k > 1:
                x = xp.repeat(x, k, axis=self.first + i)
        return x

    def grad(self, xp, xs, ys, gys, need):
        g = gys[0]
        split = []
        for axis, n in enumerate(self.in_shape):
            i = axis - self.first
            split += [n, self.args["kernel"][i]] if 0 <= i < len(self.args["kernel"]) else [n]
        g = g.reshape(split)
        axes = tuple(self.first + 2 * i + 1 for i in range(len(self.args["kernel"])))
        return (g.sum(axis=axes),)


@register
class Interpolate(Function):
    """Resize the last axes to ``output_size`` by 'linear' or 'nearest' interpolation (NNabla's Interpolate)."""

    linear_inputs = (0,)

    args_spec = {
        "output_size": None,
        "mode": None,
        "align_corners": True,
        "half_pixel": False,
        "half_pixel_for_nn": False,
        "channel_last": False,
    }
    grad_uses = ""

    def output_shapes(self, xs):
        a = self.args
        if a["output_size"] is None:
            raise FunctionError("Interpolate: output_size is required")
        size = a["output_size"] = tuple(int(s) for s in a["output_size"])
        if not 1 <= len(size) <= 3:
            raise FunctionError(f"Interpolate: output_size={size}: only 1-D, 2-D and 3-D interpolation are supported")
        if a["mode"] not in ("linear", "nearest"):
            raise FunctionError(f"Interpolate: mode={a['mode']!r} must be 'linear' or 'nearest'")
        if a["align_corners"] and a["half_pixel"]:
            raise FunctionError("Interpolate: align_corners=True and half_pixel=True cannot be combined")
        if any(s < 1 for s in size):
            raise FunctionError(f"Interpolate: output_size={size} must be >= 1 in every dimension")
        cl = a["channel_last"]
        if len(size) + (1 if cl else 0) > len(xs):
            raise FunctionError(f"Interpolate: output_size={size} has more dimensions than input x of shape {xs}")
        self.first = len(xs) - len(size) - (1 if cl else 0)
        out = list(xs)
        out[self.first : self.first + len(size)] = size
        self.in_shape = tuple(xs)
        return [tuple(out)]

    def _sources(self, xp, isize, osize):
        """Per output position: (low index, high index, high weight) in float32, as NNabla computes them."""
        a = self.args
        f32 = xp.float32
        nearest = a["mode"] == "nearest"
        if nearest and a["half_pixel_for_nn"]:
            scale = f32(isize) / f32(osize)
        elif osize <= 1:
            scale = f32(0)
        elif a["align_corners"]:
            scale = f32(isize - 1) / f32(osize - 1)
        else:
            scale = f32(isize) / f32(osize)
        dst = xp.arange(osize, dtype=f32)
        if nearest and a["half_pixel_for_nn"]:
            src = scale * (dst + f32(0.5))
        elif a["half_pixel"]:
            src = xp.maximum(f32(0), scale * (dst + f32(0.5)) - f32(0.5))
        else:
            src = scale * dst
        low = xp.minimum(src.astype(xp.int64), isize - 1)
        if nearest:
            return low, low, None
        return low, xp.minimum(low + 1, isize - 1), src - low.astype(f32)

    def _axes(self):
        return [(self.first + i, self.in_shape[self.first + i], o) for i, o in enumerate(self.args["output_size"])]

    def compute(self, xp, x):
        for axis, isize, osize in self._axes():
            low, high, weight = self._sources(xp, isize, osize)
            if weight is None:
                x = xp.take(x, low, axis=axis)
                continue
            shape = (-1,) + (1,) * (x.ndim - axis - 1)
            w = weight.astype(x.dtype).reshape(shape)
            lows, highs = xp.take(x, low, axis=axis), xp.take(x, high, axis=axis)
            lows *= 1 - w  # (in place: the same products and sum as low * (1 - w) + high * w, no temporaries)
            highs *= w
            lows += highs
            x = lows
        return x

    def grad(self, xp, xs, ys, gys, need):
        g = gys[0]
        for axis, isize, osize in reversed(self._axes()):
            low, high, weight = self._sources(xp, isize, osize)
            # the resize along one axis is a (osize, isize) matrix; its transpose carries the gradient back
            positions = xp.arange(isize)
            if weight is None:
                m = (low[:, None] == positions).astype(g.dtype)
            else:
                w = weight.astype(g.dtype)[:, None]
                m = (low[:, None] == positions) * (1 - w) + (high[:, None] == positions) * w
            g = xp.moveaxis(xp.tensordot(g, m, axes=([axis], [0])), -1, axis)
        return (xp.ascontiguousarray(g),)


def interpolate(
    x,
    scale=None,
    output_size=None,
    mode="linear",
    align_corners=False,
    half_pixel=False,
    half_pixel_for_nn=False,
    channel_last=False,
):
    """Resize the last axes by ``scale`` (size = floor(scale * size)) or to ``output_size`` (NNabla F.interpolate)."""
    if scale is None and output_size is None:
        raise ValueError("Either scale or output_size must be given")
    if output_size is None:
        n = len(scale)
        size = x.shape[-n - 1 : -1] if channel_last else x.shape[-n:]
        output_size = [int(math.floor(s * d)) for d, s in zip(size, scale)]
    func = Interpolate(
        None,
        output_size=output_size,
        mode=mode,
        align_corners=align_corners,
        half_pixel=half_pixel,
        half_pixel_for_nn=half_pixel_for_nn,
        channel_last=channel_last,
    )
    return apply(func, (x,))


PUBLIC = {"interpolate": interpolate}
