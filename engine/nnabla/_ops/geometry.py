"""Geometry: AffineGrid, WarpByGrid (spatial transformers), WarpByFlow (optical-flow warping), PatchCorrelation.

WarpByGrid samples x at grid positions given in [-1, 1] (x first, as NNabla orders them) in 2-D or 3-D; one
N-D sampler serves both: every output position reads the 2**n corners around its source position (``linear``)
or the nearest one (``nearest``), and backward scatters the same weights back.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..function import REQUIRED, Function, FunctionError, apply, register
from .array import Reshape, Transpose, scatter_add_flat
from .convolution import fold, windows


@register
class AffineGrid(Function):
    """The source grid (B, *size, n) of the affine maps theta (B, n, n + 1) applied to a regular target grid in
    [-1, 1] (scaled by (S - 1) / S unless ``align_corners``); coordinates ordered (x, y[, z])."""

    double_backward = False  # as in NNabla

    inputs_spec = ("theta",)
    args_spec = {"size": None, "align_corners": False}
    signature_defaults = {"size": REQUIRED}
    grad_uses = ""

    def output_shapes(self, ts):
        size = self.args["size"]
        size = tuple(int(s) for s in size) if size is not None else ()
        n = len(size)
        if n not in (2, 3):
            raise FunctionError(f"AffineGrid: size={size} must give 2 (H, W) or 3 (D, H, W) sizes")
        if len(ts) != 3 or tuple(ts[1:]) != (n, n + 1):
            raise FunctionError(f"AffineGrid: theta of shape {ts} must be (B, {n}, {n + 1}) for size={size}")
        self.size = size
        return [(ts[0],) + size + (n,)]

    def _target(self, xp, dtype):
        """(prod(size), n + 1): the normalized target coordinates (x, y[, z], 1) of every grid point."""
        axes = []
        for s in self.size:
            line = xp.linspace(-1.0, 1.0, s)
            axes.append(line if self.args["align_corners"] else line * (s - 1) / s)
        mesh = xp.meshgrid(*axes, indexing="ij")
        coords = [m.reshape(-1) for m in reversed(mesh)] + [xp.ones(mesh[0].size)]
        return xp.stack(coords, axis=1).astype(dtype)

    def compute(self, xp, theta):
        grid = xp.matmul(self._target(xp, theta.dtype), theta.transpose(0, 2, 1))
        return grid.reshape((theta.shape[0],) + self.size + (len(self.size),))

    def grad(self, xp, xs, ys, gys, need):
        n = len(self.size)
        gy = gys[0].reshape(gys[0].shape[0], -1, n)
        return (xp.matmul(gy.transpose(0, 2, 1), self._target(xp, gy.dtype)),)


# -- sampling ---------------------------------------------------------------------------------------------------------


def _reflect(xp, s, low, high):
    """Mirror ``s`` into [low, high] (repeatedly), and the sign of ds_out/ds_in."""
    length = high - low
    below, above = s < low, s > high
    d = xp.where(below, low - s, xp.where(above, s - high, 0))
    n = xp.floor(d / length)
    r = d - n * length
    even = n % 2 == 0
    out = xp.where(below, xp.where(even, low + r, high - r), xp.where(above, xp.where(even, high - r, low + r), s))
    sign = xp.where((below | above) & even, -1.0, 1.0)
    return out, sign


@register
class WarpByGrid(Function):
    """y[b, c, *p] = x[b, c] sampled at grid[b, *p] (normalized to [-1, 1]); padding 'zero', 'repeat' (border) or
    'reflect' outside; 'linear' or 'nearest'. NNabla has no gradient in the grid for 'nearest', nor channel_last."""

    double_backward = False  # as in NNabla

    inputs_spec = ("x", "grid")
    args_spec = {"mode": "linear", "padding_mode": "zero", "align_corners": False, "channel_last": False}

    def output_shapes(self, xs, gs):
        a = self.args
        if a["mode"] not in ("linear", "nearest"):
            raise FunctionError(f"WarpByGrid: mode={a['mode']!r} is not 'linear' or 'nearest'")
        if a["padding_mode"] not in ("zero", "repeat", "reflect"):
            raise FunctionError(f"WarpByGrid: padding_mode={a['padding_mode']!r} is not 'zero', 'repeat' or 'reflect'")
        if a["channel_last"]:
            raise FunctionError("WarpByGrid: channel_last=True is not supported (as in NNabla)")
        n = len(gs) - 2
        if n not in (2, 3) or gs[-1] != n or len(xs) != n + 2:
            raise FunctionError(
                f"WarpByGrid: x of shape {xs} and grid of shape {gs} must be (B, C, H, W) with (B, Ho, Wo, 2), "
                "or (B, C, D, H, W) with (B, Do, Ho, Wo, 3)"
            )
        if xs[0] != gs[0]:
            raise FunctionError(f"WarpByGrid: x of shape {xs} and grid of shape {gs} differ in batch size")
        return [tuple(xs[:2]) + tuple(gs[1:-1])]

    def _source(self, xp, grid, sizes):
        """Per spatial axis: the padded source coordinate and d(coordinate)/d(grid value)."""
        a = self.args
        n = len(sizes)
        coords, slopes = [], []
        for i, s in enumerate(sizes):
            g = grid[..., n - 1 - i]
            if a["align_corners"]:
                f, scale = (g + 1) * (s - 1) / 2, (s - 1) / 2
            else:
                f, scale = ((g + 1) * s - 1) / 2, s / 2
            coef = xp.ones_like(f)
            if a["padding_mode"] == "repeat":
                coef = ((f >= 0) & (f <= s - 1)).astype(f.dtype)
                f = xp.clip(f, 0, s - 1)
            elif a["padding_mode"] == "reflect":
                if a["align_corners"]:
                    f, coef = _reflect(xp, f, 0, s - 1)
                else:
                    f2, coef = _reflect(xp, 2 * f, -1, 2 * s - 1)
                    f = f2 * 0.5
                    coef = coef * ((f >= 0) & (f <= s - 1))
                    f = xp.clip(f, 0, s - 1)
            coords.append(f)
            slopes.append(coef * scale)
        return coords, slopes

    def _corners(self, xp, coords, sizes):
        """(flat index, validity, weight factors) for every corner read: the 2**n neighbours, or the nearest."""
        if self.args["mode"] == "nearest":
            picks = [[xp.sign(f) * xp.floor(xp.abs(f) + 0.5)] for f in coords]
            combos = [(0,) * len(coords)]
            factors = None
        else:
            lows = [xp.floor(f) for f in coords]
            picks = [[lo, lo + 1] for lo in lows]
            combos = list(itertools.product((0, 1), repeat=len(coords)))
            factors = [(1 - (f - lo), f - lo) for f, lo in zip(coords, lows)]
        out = []
        for combo in combos:
            flat, valid = 0, True
            for i, c in enumerate(combo):
                idx = picks[i][c]
                valid = valid & (idx >= 0) & (idx <= sizes[i] - 1)
                flat = flat * sizes[i] + xp.clip(idx, 0, sizes[i] - 1).astype(np.int64)
            out.append((combo, flat, valid))
        return out, factors

    def _setup(self, xp, x, grid):
        sizes = x.shape[2:]
        b, c = x.shape[:2]
        g = grid.reshape(b, -1, len(sizes))
        coords, slopes = self._source(xp, g, sizes)
        corners, factors = self._corners(xp, coords, sizes)
        return sizes, corners, factors, slopes

    @staticmethod
    def _weight(factors, combo, skip=None):
        w = 1.0
        if factors is None:
            return w
        for i, c in enumerate(combo):
            if i != skip:
                w = w * factors[i][c]
        return w

    def compute(self, xp, x, grid):
        sizes, corners, factors, _ = self._setup(xp, x, grid)
        b, c = x.shape[:2]
        xt = x.reshape(b, c, -1).transpose(0, 2, 1)  # (B, N, C)
        rows = xp.arange(b)[:, None]
        y = 0
        for combo, flat, valid in corners:
            y = y + xt[rows, flat] * (self._weight(factors, combo) * valid)[..., None]
        y = xp.asarray(y).transpose(0, 2, 1)
        return xp.ascontiguousarray(y).reshape(x.shape[:2] + grid.shape[1:-1])

    def grad(self, xp, xs, ys, gys, need):
        x, grid = xs
        sizes, corners, factors, slopes = self._setup(xp, x, grid)
        b, c = x.shape[:2]
        n_src = x[0, 0].size
        gy = gys[0].reshape(b, c, -1).transpose(0, 2, 1)  # (B, P, C)
        gx = ggrid = None
        if need[0]:
            total = 0
            for combo, flat, valid in corners:
                index = ((xp.arange(b)[:, None] * n_src + flat)[..., None] * c + xp.arange(c)).reshape(-1)
                values = gy * (self._weight(factors, combo) * valid)[..., None]
                total = total + scatter_add_flat(xp, index, values, b * n_src * c)
            gx = total.reshape(b, n_src, c).transpose(0, 2, 1).reshape(x.shape)
        if need[1]:
            if self.args["mode"] == "nearest":
                raise FunctionError("WarpByGrid: there is no gradient in the grid in 'nearest' mode (as in NNabla)")
            xt = x.reshape(b, c, -1).transpose(0, 2, 1)
            rows = xp.arange(b)[:, None]
            n = len(sizes)
            parts = [0] * n
            for combo, flat, valid in corners:
                read = (xt[rows, flat] * gy).sum(-1) * valid
                for i in range(n):
                    sign = 1 if combo[i] else -1
                    parts[i] = parts[i] + sign * read * self._weight(factors, combo, skip=i)
            # grid components are ordered (x, y[, z]): the reverse of the spatial axes
            comps = [parts[n - 1 - k] * slopes[n - 1 - k] for k in range(n)]
            ggrid = xp.stack(comps, axis=-1).reshape(grid.shape)
        return gx, ggrid


@register
class WarpByFlow(Function):
    """y[n, c, y, x] = data[n, c] bilinearly sampled at (y + flow[n, 1], x + flow[n, 0]), border pixels repeated."""

    double_backward = False  # as in NNabla

    inputs_spec = ("data", "flow")

    def output_shapes(self, ds, fs):
        if len(ds) != 4 or len(fs) != 4 or fs[0] != ds[0] or fs[1] != 2 or tuple(fs[2:]) != tuple(ds[2:]):
            raise FunctionError(
                f"WarpByFlow: data of shape {ds} and flow of shape {fs} must be (N, C, H, W) and (N, 2, H, W)"
            )
        return [ds]

    def _taps(self, xp, flow):
        h, w = flow.shape[2:]
        xf = xp.arange(w)[None, :] + flow[:, 0]
        yf = xp.arange(h)[:, None] + flow[:, 1]
        x0, y0 = xp.floor(xf), xp.floor(yf)
        xl, xr = (xp.clip(v, 0, w - 1).astype(np.int64) for v in (x0, x0 + 1))
        yt, yb = (xp.clip(v, 0, h - 1).astype(np.int64) for v in (y0, y0 + 1))
        # NNabla's weights are measured from the clamped left/top taps
        return xl, xr, yt, yb, xf - xl, yf - yt

    def _corners(self, xp, data, taps):
        xl, xr, yt, yb, _, _ = taps
        n, c, h, w = data.shape
        flat = data.reshape(n, c, h * w)
        pick = lambda yy, xx: xp.take_along_axis(flat, (yy * w + xx).reshape(n, 1, -1), axis=2).reshape(n, c, h, w)  # noqa: E731
        return pick(yt, xl), pick(yt, xr), pick(yb, xl), pick(yb, xr)

    def compute(self, xp, data, flow):
        taps = self._taps(xp, flow)
        tl, tr, bl, br = self._corners(xp, data, taps)
        alpha, beta = taps[4][:, None], taps[5][:, None]
        upper = alpha * (tr - tl) + tl
        lower = alpha * (br - bl) + bl
        return beta * (lower - upper) + upper

    def grad(self, xp, xs, ys, gys, need):
        data, flow = xs
        taps = self._taps(xp, flow)
        xl, xr, yt, yb, alpha, beta = taps
        n, c, h, w = data.shape
        gy = gys[0]
        gdata = gflow = None
        if need[0]:
            a, bt = alpha[:, None], beta[:, None]
            total = 0
            base = (xp.arange(n * c) * h * w).reshape(n, c, 1, 1)
            for yy, xx, weight in (
                (yt, xl, (1 - a) * (1 - bt)),
                (yb, xl, (1 - a) * bt),
                (yt, xr, a * (1 - bt)),
                (yb, xr, a * bt),
            ):
                index = base + (yy * w + xx)[:, None]
                total = total + scatter_add_flat(xp, index, gy * weight, n * c * h * w)
            gdata = total.reshape(data.shape)
        if need[1]:
            tl, tr, bl, br = self._corners(xp, data, taps)
            a, bt = alpha[:, None], beta[:, None]
            gx = ((1 - bt) * (tr - tl) + bt * (br - bl)) * gy
            gyy = ((1 - a) * (bl - tl) + a * (br - tr)) * gy
            gflow = xp.stack([gx.sum(1), gyy.sum(1)], axis=1)
        return gdata, gflow


def _pair(value, n=2):
    return (int(value),) * n if isinstance(value, (int, np.integer)) else tuple(int(v) for v in value)


@register
class PatchCorrelation(Function):
    """Channel-last patch correlation (the node under ``F.patch_correlation``): y[n, oy, ox, sy, sx] sums
    x1 * x2 over a patch at each position and the patch of x2 shifted by (sy, sx), zero outside."""

    double_backward = False  # as in NNabla

    inputs_spec = ("x1", "x2")
    args_spec = {"patch": (1, 1), "shift": (0, 0), "patch_step": (1, 1), "shift_step": (1, 1), "padding": (0, 0, 0, 0)}

    def output_shapes(self, s1, s2):
        if len(s1) != 4 or tuple(s1) != tuple(s2):
            raise FunctionError(f"PatchCorrelation: x1 of shape {s1} and x2 of shape {s2} must be equal and 4-D")
        a = self.args
        (ph, pw), (sh, sw) = a["patch"], a["shift"]
        (psh, psw), (ssh, ssw) = a["patch_step"], a["shift_step"]
        t, b, left, r = a["padding"]
        for name, values, low in (
            ("patch", a["patch"], 1),
            ("shift", a["shift"], 0),
            ("patch_step", a["patch_step"], 1),
            ("shift_step", a["shift_step"], 1),
            ("padding", a["padding"], 0),
        ):
            if any(v < low for v in values):
                raise FunctionError(f"PatchCorrelation: {name}={tuple(values)} must be >= {low}")
        _, h, w, _ = s1
        oh, ow = (h + t + b - ph + psh) // psh, (w + left + r - pw + psw) // psw
        if oh < 1 or ow < 1:
            raise FunctionError(f"PatchCorrelation: patch={a['patch']} does not fit the padded input of shape {s1}")
        self.out = (oh, ow)
        self.shifts = [(dy, dx) for dy in range(-sh, sh + 1, ssh) for dx in range(-sw, sw + 1, ssw)]
        return [(s1[0], oh, ow, (2 * sh + ssh) // ssh, (2 * sw + ssw) // ssw)]

    def _padded(self, xp, x1, x2):
        t, b, left, r = self.args["padding"]
        sh, sw = self.args["shift"]
        p1 = xp.pad(x1, ((0, 0), (t, b), (left, r), (0, 0)))
        p2 = xp.pad(x2, ((0, 0), (t + sh, b + sh), (left + sw, r + sw), (0, 0)))
        return p1, p2

    def _shifted(self, p2, shape, dy, dx):
        sh, sw = self.args["shift"]
        return (slice(None), slice(sh + dy, sh + dy + shape[1]), slice(sw + dx, sw + dx + shape[2]))

    def compute(self, xp, x1, x2):
        p1, p2 = self._padded(xp, x1, x2)
        patch, step = tuple(self.args["patch"]), tuple(self.args["patch_step"])
        planes = []
        for dy, dx in self.shifts:
            prod = (p1 * p2[self._shifted(p2, p1.shape, dy, dx)]).sum(-1)
            planes.append(windows(xp, prod, patch, step, (1, 1), self.out).sum(axis=(1, 2)))
        return xp.stack(planes, axis=-1).reshape((x1.shape[0],) + self.out + self._shape_tail())

    def _shape_tail(self):
        (sh, sw), (ssh, ssw) = self.args["shift"], self.args["shift_step"]
        return ((2 * sh + ssh) // ssh, (2 * sw + ssw) // ssw)

    def grad(self, xp, xs, ys, gys, need):
        x1, x2 = xs
        p1, p2 = self._padded(xp, x1, x2)
        patch, step = tuple(self.args["patch"]), tuple(self.args["patch_step"])
        gy = gys[0].reshape((x1.shape[0],) + self.out + (-1,))
        g1, g2 = xp.zeros_like(p1), xp.zeros_like(p2)
        kernel_shape = (x1.shape[0],) + patch + self.out
        for k, (dy, dx) in enumerate(self.shifts):
            spread = xp.broadcast_to(gy[:, None, None, :, :, k], kernel_shape)
            g = fold(xp, xp.ascontiguousarray(spread), p1.shape[1:3], step, (1, 1))[..., None]
            where = self._shifted(p2, p1.shape, dy, dx)
            g1 += g * p2[where]
            g2[where] += g * p1
        t, b, left, r = self.args["padding"]
        sh, sw = self.args["shift"]
        h, w = x1.shape[1:3]
        return (
            g1[:, t : t + h, left : left + w] if need[0] else None,
            g2[:, t + sh : t + sh + h, left + sw : left + sw + w] if need[1] else None,
        )


def patch_correlation(
    x1, x2, patch=(1, 1), shift=(0, 0), patch_step=(1, 1), shift_step=(1, 1), padding=(0, 0, 0, 0), channel_last=False
):
    """Patch-wise correlation of x1 and x2 (NNabla's ``F.patch_correlation``): (N, Cy, Cx, Ho, Wo), or
    (N, Ho, Wo, Cy, Cx) with ``channel_last``; integers expand to both axes (padding: to all four sides)."""
    if not len(x1.shape) == len(x2.shape) == 4:
        raise FunctionError(f"PatchCorrelation: x1 of shape {x1.shape} and x2 of shape {x2.shape} must be 4-D")
    if tuple(x1.shape) != tuple(x2.shape):
        raise FunctionError(f"PatchCorrelation: x1 of shape {x1.shape} and x2 of shape {x2.shape} must be equal")
    padding = _pair(padding, 4)
    if len(padding) == 2:
        padding = (padding[0],) * 2 + (padding[1],) * 2
    if not channel_last:
        if x1.shape[1] == 1:
            shape = (x1.shape[0],) + tuple(x1.shape[2:4]) + (1,)
            x1, x2 = (apply(Reshape(None, shape=shape), (v,)) for v in (x1, x2))
        else:
            x1, x2 = (apply(Transpose(None, axes=(0, 2, 3, 1)), (v,)) for v in (x1, x2))
    func = PatchCorrelation(
        None,
        patch=_pair(patch),
        shift=_pair(shift),
        patch_step=_pair(patch_step),
        shift_step=_pair(shift_step),
        padding=padding,
    )
    y = apply(func, (x1, x2))
    return y if channel_last else apply(Transpose(None, axes=(0, 3, 4, 1, 2)), (y,))


PUBLIC = {"patch_correlation": patch_correlation}
