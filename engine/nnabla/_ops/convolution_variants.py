"""Convolution variants: DeformableConvolution (kernel taps moved by learned offsets, optionally masked),
AdaptiveSeparableConvolution (per-pixel separable kernels) and FusedConvolution (pad, convolution, batch
normalization, add and activation as one node, run as a small chain of the engine's own ops)."""

from __future__ import annotations

import numpy as np

from .._array import NdArray
from ..function import Function, FunctionError, register
from .activation import ELU, LeakyReLU, ReLU, ReLU6, Sigmoid, Tanh
from .arithmetic import Add2
from .array import Pad, scatter_add_flat
from .convolution import Convolution, conv_out_size, fold, shape_arg, windows
from .normalization import BatchNormalization, RunningStatistics

# -- DeformableConvolution ---------------------------------------------------------------------------------------------


@register
class DeformableConvolution(Function):
    """2-D convolution sampling each kernel tap (i, j) at its grid position plus (offset_h, offset_w), read from
    ``offset`` at the strided input position, bilinearly (zero outside) and weighted by ``mask`` when given.
    ``offset`` is (B, 2 * deformable_group * kh * kw, H, W) with (dh, dw) pairs per tap; ``mask`` has one
    channel per tap and deformable group."""

    double_backward = False  # as in NNabla

    inputs_spec = ("x", "weight", "offset", "mask?", "bias?")
    args_spec = {
        "base_axis": 1,
        "pad": None,
        "stride": None,
        "dilation": None,
        "group": 1,
        "deformable_group": 1,
        "channel_last": False,
    }

    def output_shapes(self, xs, ws, os, *rest):
        a = self.args
        if a["channel_last"]:
            raise FunctionError("DeformableConvolution: channel_last=True is not supported")
        if a["base_axis"] != len(xs) - 3 or len(xs) != 4:
            raise FunctionError(f"DeformableConvolution: x of shape {xs} must be 2-D images (B, C, H, W)")
        if len(ws) != 4:
            raise FunctionError(f"DeformableConvolution: weight of shape {ws} must be (OC, C / group, kh, kw)")
        a["pad"] = shape_arg(self, "pad", a["pad"], 2, 0, minimum=0)
        a["stride"] = shape_arg(self, "stride", a["stride"], 2, 1, minimum=1)
        a["dilation"] = shape_arg(self, "dilation", a["dilation"], 2, 1, minimum=1)
        b, c, h, w = xs
        oc, cg, kh, kw = ws
        g, dg = a["group"], a["deformable_group"]
        if c % g or oc % g or c // g != cg:
            raise FunctionError(
                f"DeformableConvolution: x of shape {xs} and weight of shape {ws} do not match group={g}"
            )
        if c % dg or oc % dg:
            raise FunctionError(f"DeformableConvolution: channels must be divisible by deformable_group={dg}")
        taps = kh * kw
        if tuple(os) != (b, 2 * dg * taps, h, w):
            raise FunctionError(
                f"DeformableConvolution: offset of shape {os} must be {(b, 2 * dg * taps, h, w)} "
                "(the input's spatial size)"
            )
        self.mask_index = self.bias_index = None
        for i, s in enumerate(rest):
            if len(s) == 1 and self.bias_index is None and (i == 1 or len(rest) == 1):
                if tuple(s) != (oc,):
                    raise FunctionError(f"DeformableConvolution: bias of shape {s} must be ({oc},)")
                self.bias_index = 3 + i
            else:
                if tuple(s) != (b, dg * taps, h, w):
                    raise FunctionError(f"DeformableConvolution: mask of shape {s} must be {(b, dg * taps, h, w)}")
                self.mask_index = 3 + i
        out = tuple(
            conv_out_size(n, k, p, st, d)
            for n, k, p, st, d in zip((h, w), (kh, kw), a["pad"], a["stride"], a["dilation"])
        )
        if min(out) < 1:
            raise FunctionError(f"DeformableConvolution: no output for x of shape {xs} and weight of shape {ws}")
        if (out[0] - 1) * a["stride"][0] >= h or (out[1] - 1) * a["stride"][1] >= w:
            raise FunctionError(
                "DeformableConvolution: offsets are read at strided input positions, which this padding moves "
                "outside the input"
            )
        self.out = out
        return [(b, oc) + out]

    def _sampling(self, xp, x, offset, mask):
        """Bilinear taps of every (deformable group, kernel tap, output position) and the sampled columns."""
        a = self.args
        b, c, h, w = x.shape
        dg = a["deformable_group"]
        kh, kw = self.kernel
        ho, wo = self.out
        (sh, sw), (ph, pw), (dh, dw) = a["stride"], a["pad"], a["dilation"]
        taps = kh * kw
        off = offset.reshape(b, dg, taps, 2, h, w)[..., : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw]
        ki, kj = xp.divmod(xp.arange(taps), kw)
        base_h = (xp.arange(ho) * sh)[:, None] + (ki * dh - ph)[:, None, None]  # (taps, ho, 1)
        base_w = (xp.arange(wo) * sw)[None, :] + (kj * dw - pw)[:, None, None]  # (taps, 1, wo)
        fh = base_h + off[:, :, :, 0]  # (B, dg, taps, ho, wo)
        fw = base_w + off[:, :, :, 1]
        inside = (fh > -1) & (fw > -1) & (fh < h) & (fw < w)
        h0, w0 = xp.floor(fh), xp.floor(fw)
        lh, lw = fh - h0, fw - w0
        corners = []
        for dy, dx, weight, d_h, d_w in (
            (0, 0, (1 - lh) * (1 - lw), -(1 - lw), -(1 - lh)),
            (0, 1, (1 - lh) * lw, -lw, 1 - lh),
            (1, 0, lh * (1 - lw), 1 - lw, -lh),
            (1, 1, lh * lw, lw, lh),
        ):
            hh, ww = h0 + dy, w0 + dx
            ok = inside & (hh >= 0) & (ww >= 0) & (hh <= h - 1) & (ww <= w - 1)
            flat = (xp.clip(hh, 0, h - 1) * w + xp.clip(ww, 0, w - 1)).astype(np.int64)
            corners.append((flat, ok.astype(x.dtype), weight, d_h, d_w))
        xg = x.reshape(b, dg, c // dg, h * w)
        values = []
        for flat, ok, _, _, _ in corners:
            index = xp.broadcast_to(flat.reshape(b, dg, 1, -1), (b, dg, c // dg, flat[0, 0].size))
            values.append(
                xp.take_along_axis(xg, index, axis=3).reshape((b, dg, c // dg) + flat.shape[2:]) * ok[:, :, None]
            )
        sampled = sum(v * cw[:, :, None] for v, (_, _, cw, _, _) in zip(values, corners))  # (B, dg, Cg, taps, ho, wo)
        m = None
        if mask is not None:
            m = mask.reshape(b, dg, taps, h, w)[..., : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw]
        return corners, values, sampled, m

    def _columns(self, sampled, m, b, c):
        cols = sampled if m is None else sampled * m[:, :, None]
        return cols.reshape(b, self.args["group"], -1, self.out[0] * self.out[1])

    def _inputs(self, xs):
        x, weight, offset = xs[:3]
        mask = xs[self.mask_index] if self.mask_index is not None else None
        bias = xs[self.bias_index] if self.bias_index is not None else None
        return x, weight, offset, mask, bias

    def compute(self, xp, *xs):
        x, weight, offset, mask, bias = self._inputs(xs)
        self.kernel = weight.shape[2:]
        b, c = x.shape[:2]
        _, _, sampled, m = self._sampling(xp, x, offset, mask)
        # columns are grouped (deformable group, channel, tap) = (channel, tap): the order a convolution weight reads
        g = self.args["group"]
        oc = weight.shape[0]
        cols = self._columns(sampled, m, b, c)
        y = xp.matmul(weight.reshape(g, oc // g, -1), cols).reshape((b, oc) + self.out)
        if bias is not None:
            y = y + bias.reshape(1, -1, 1, 1)
        return y

    def grad(self, xp, xs, ys, gys, need):
        x, weight, offset, mask, bias = self._inputs(xs)
        self.kernel = weight.shape[2:]
        a = self.args
        b, c, h, w = x.shape
        g, dg = a["group"], a["deformable_group"]
        oc = weight.shape[0]
        taps = self.kernel[0] * self.kernel[1]
        ho, wo = self.out
        (sh, sw) = a["stride"]
        corners, values, sampled, m = self._sampling(xp, x, offset, mask)
        gy = gys[0].reshape(b, g, oc // g, ho * wo)
        out = [None] * len(xs)
        if need[1]:
            cols = self._columns(sampled, m, b, c)
            out[1] = xp.matmul(gy, cols.transpose(0, 1, 3, 2)).sum(0).reshape(weight.shape)
        if self.bias_index is not None and need[self.bias_index]:
            out[self.bias_index] = gys[0].sum(axis=(0, 2, 3))
        gcols = xp.matmul(weight.reshape(g, oc // g, -1).transpose(0, 2, 1), gy)  # (B, g, C/g * taps, P)
        gcols = gcols.reshape(b, dg, c // dg, taps, ho, wo)
        gsampled = gcols if m is None else gcols * m[:, :, None]

        def place(per_position, channels):
            """Values at the strided positions (B, dg, k, ho, wo) written into a zero (B, dg * k, H, W)."""
            full = xp.zeros((b, dg, per_position.shape[2], h, w), dtype=per_position.dtype)
            full[..., : (ho - 1) * sh + 1 : sh, : (wo - 1) * sw + 1 : sw] = per_position
            return full.reshape(b, channels, h, w)

        if need[0]:
            total = 0
            cg = c // dg
            base = (xp.arange(b * dg * cg) * (h * w)).reshape(b, dg, cg, 1, 1, 1)
            for flat, ok, cw, _, _ in corners:
                index = base + flat[:, :, None]
                total = total + scatter_add_flat(xp, index, gsampled * (cw * ok)[:, :, None], b * c * h * w)
            out[0] = total.reshape(x.shape)
        if need[2]:
            gh = sum(v * d_h[:, :, None] for v, (_, _, _, d_h, _) in zip(values, corners))
            gw = sum(v * d_w[:, :, None] for v, (_, _, _, _, d_w) in zip(values, corners))
            goff = xp.stack([(gsampled * gh).sum(2), (gsampled * gw).sum(2)], axis=3)  # (B, dg, taps, 2, ho, wo)
            out[2] = place(goff.reshape(b, dg, taps * 2, ho, wo), 2 * dg * taps)
        if self.mask_index is not None and need[self.mask_index]:
            gm = (gcols * sampled).sum(2)
            out[self.mask_index] = place(gm, dg * taps)
        return tuple(out)


# -- AdaptiveSeparableConvolution --------------------------------------------------------------------------------------


@register
class AdaptiveSeparableConvolution(Function):
    """y[b, c, h, w] = sum_{j, i} kv[b, j, h, w] * kh[b, i, h, w] * x[b, c, h + j, w + i]; the kernels are
    (B, Kv, H - Kv + 1, W - Kh + 1) and (B, Kh, H - Kv + 1, W - Kh + 1)."""

    double_backward = False  # as in NNabla

    inputs_spec = ("x", "vertical_kernel", "horizontal_kernel")

    def output_shapes(self, xs, vs, hs):
        if len(xs) != 4 or len(vs) != 4 or len(hs) != 4:
            raise FunctionError("AdaptiveSeparableConvolution: x and both kernels must be 4-D")
        b, c, h, w = xs
        out = (h - vs[1] + 1, w - hs[1] + 1)
        if min(out) < 1 or tuple(vs) != (b, vs[1]) + out or tuple(hs) != (b, hs[1]) + out:
            raise FunctionError(
                f"AdaptiveSeparableConvolution: kernels of shapes {vs} and {hs} must be (B, K, H - Kv + 1, "
                f"W - Kh + 1) for x of shape {xs}"
            )
        return [(b, c) + out]

    def _patches(self, xp, x, kv, kh):
        """x at (h + j, w + i) as (B, C, Kv, Kh, Ho, Wo)."""
        return windows(xp, x, (kv, kh), (1, 1), (1, 1), (x.shape[2] - kv + 1, x.shape[3] - kh + 1))

    def compute(self, xp, x, vk, hk):
        p = self._patches(xp, x, vk.shape[1], hk.shape[1])
        return xp.einsum("bcjihw,bjhw,bihw->bchw", p, vk, hk)

    def grad(self, xp, xs, ys, gys, need):
        x, vk, hk = xs
        gy = gys[0]
        p = self._patches(xp, x, vk.shape[1], hk.shape[1])
        gx = gv = gh = None
        if need[0]:
            cols = xp.einsum("bchw,bjhw,bihw->bcjihw", gy, vk, hk)
            gx = fold(xp, xp.ascontiguousarray(cols), x.shape[2:], (1, 1), (1, 1))
        if need[1]:
            gv = xp.einsum("bcjihw,bchw,bihw->bjhw", p, gy, hk)
        if need[2]:
            gh = xp.einsum("bcjihw,bchw,bjhw->bihw", p, gy, vk)
        return gx, gv, gh


# -- FusedConvolution --------------------------------------------------------------------------------------------------

_ACTIVATIONS = {
    "identity": None,
    "": None,
    "relu": (ReLU, 0),
    "sigmoid": (Sigmoid, 0),
    "tanh": (Tanh, 0),
    "leaky_relu": (LeakyReLU, 1),
    "elu": (ELU, 1),
    "relu6": (ReLU6, 0),
}


@register
class FusedConvolution(RunningStatistics, Function):
    """h = pad(x); h = convolution(h, weight, bias); h = batch_normalization(h, beta, gamma, mean, variance);
    y = activation(h + z), one node. ``pad`` of 2 * n values pads each side separately; a non-zero
    ``constant_value`` or another ``pad_mode`` pads with F.pad before a pad-free convolution."""

    double_backward = False  # as in NNabla

    inputs_spec = ("x", "weight", "bias?", "beta?", "gamma?", "mean?", "variance?", "z?")
    args_spec = {
        "base_axis": 1,
        "pad": None,
        "stride": None,
        "dilation": None,
        "group": 1,
        "channel_last": False,
        "decay_rate": 0.9,
        "eps": 1e-05,
        "batch_stat": True,
        "nonlinearity": "relu",
        "nonlinearity_args": [],
        "pad_mode": "constant",
        "constant_value": 0,
    }
    grad_uses = "xy"

    def _roles(self, shapes):
        """Which input is which: NNabla tells bias (1-D) from z by shape, as here."""
        n = len(shapes)
        roles = ["x", "weight"]
        if n == 3:
            roles.append("bias" if len(shapes[2]) == 1 else "z")
        elif n == 4:
            roles += ["bias", "z"]
        elif n in (6, 7):
            if len(shapes[2]) == 1:
                raise FunctionError("FusedConvolution: a convolution bias and batch normalization are exclusive")
            roles += ["beta", "gamma", "mean", "variance"] + (["z"] if n == 7 else [])
        elif n != 2:
            raise FunctionError(f"FusedConvolution: {n} inputs do not form (x, weight[, bias][, bn inputs][, z])")
        return roles

    def output_shapes(self, *shapes):
        a = self.args
        roles = self._roles(shapes)
        where = {r: i for i, r in enumerate(roles)}
        xs = shapes[0]
        n = len(xs) - a["base_axis"] - 1
        pad = [int(p) for p in a["pad"]] if a["pad"] is not None else [0] * n
        if len(pad) not in (n, 2 * n):
            raise FunctionError(f"FusedConvolution: pad={pad} must have {n} or {2 * n} values")
        act = a["nonlinearity"]
        if act not in _ACTIVATIONS:
            raise FunctionError(f"FusedConvolution: nonlinearity={act!r} is not one of {sorted(_ACTIVATIONS)}")
        if _ACTIVATIONS[act] and len(a["nonlinearity_args"]) != _ACTIVATIONS[act][1]:
            raise FunctionError(f"FusedConvolution: nonlinearity {act!r} takes {_ACTIVATIONS[act][1]} argument(s)")
        skip_pad = len(pad) == n and a["pad_mode"] == "constant" and a["constant_value"] == 0
        stages = []  # (function, input slots); slot k < len(inputs) is an input, beyond: earlier stage outputs
        current = 0
        slot = len(shapes)
        if not skip_pad:
            width = [p for p in pad for _ in (0, 1)] if len(pad) == n else pad
            if a["channel_last"]:
                width = width + [0, 0]
            stages.append((Pad(None, pad_width=width, mode=a["pad_mode"], constant_value=a["constant_value"]), [0]))
            current, slot = slot, slot + 1
        conv = Convolution(
            None,
            base_axis=a["base_axis"],
            pad=pad if skip_pad else [0] * n,
            stride=a["stride"],
            dilation=a["dilation"],
            group=a["group"],
            channel_last=a["channel_last"],
        )
        stages.append((conv, [current, where["weight"]] + ([where["bias"]] if "bias" in where else [])))
        current, slot = slot, slot + 1
        if "beta" in where:
            axes = [len(xs) - 1 if a["channel_last"] else a["base_axis"]]
            bn = BatchNormalization(
                None, axes=axes, decay_rate=a["decay_rate"], eps=a["eps"], batch_stat=a["batch_stat"]
            )
            stages.append((bn, [current] + [where[r] for r in ("beta", "gamma", "mean", "variance")]))
            current, slot = slot, slot + 1
        if "z" in where:
            stages.append((Add2(None), [current, where["z"]]))
            current, slot = slot, slot + 1
        if _ACTIVATIONS[act]:
            cls, nargs = _ACTIVATIONS[act]
            kw = {}
            if cls is LeakyReLU:
                kw["alpha"] = float(a["nonlinearity_args"][0])
            elif cls is ELU:
                kw["alpha"] = float(a["nonlinearity_args"][0])
            stages.append((cls(None, **kw), [current]))
            current, slot = slot, slot + 1
        known = list(shapes)
        for func, slots in stages:
            known.append(func._shapes_checked([known[k] for k in slots])[0])
        self.stages = stages
        return [known[-1]]

    def _compute_outputs(self, variables):
        values = list(variables)
        arrays = []
        for func, slots in self.stages:
            if isinstance(func, RunningStatistics):
                func._updating = self._updating
            y = func._compute_outputs([values[k] for k in slots])[0]
            values.append(NdArray._wrap(y))
            arrays.append(y)
        self._saved = arrays
        return [arrays[-1]]

    def _input_grads(self, inputs, outputs, need):
        n = len(inputs)
        xp = self.xp
        arrays = [v._data._get() if type(v) is not NdArray else v._get() for v in inputs]
        arrays = [a if a.dtype.type is self.dtype else a.astype(self.dtype) for a in arrays] + list(self._saved)
        grads = [None] * len(arrays)
        grads[-1] = outputs[0]._grad._get()
        wanted = list(need) + [True] * len(self.stages)
        for k in range(len(self.stages) - 1, -1, -1):
            func, slots = self.stages[k]
            gy = grads[n + k]
            if gy is None:
                continue
            sub_need = [wanted[s] for s in slots]
            gxs = func.grad(xp, [arrays[s] for s in slots], [arrays[n + k]], [gy], sub_need)
            for s, gx in zip(slots, gxs):
                if gx is not None and wanted[s]:
                    grads[s] = gx if grads[s] is None else grads[s] + gx
        return grads[:n]
