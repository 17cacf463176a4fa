"""Data augmentation: RandomCrop, RandomFlip, RandomShift, RandomErase and ImageAugmentation.

Each sample (the axes before ``base_axis``) draws its own parameters. The draws follow NNabla's C++ kernels
draw for draw: the generators are Mersenne twisters like NNabla's (``seed=s`` seeds one exactly as NNabla's
``std::mt19937(s)``), and the few standard-library distributions NNabla uses are written out below, so an
explicit seed reproduces NNabla's numbers. Crop, flip and shift are index remappings: forward gathers, backward
scatters the gradient back. Under CUDA, crop, flip and shift draw on the device's generator instead (as NNabla's
CUDA kernels draw on the GPU: other numbers than the CPU's), so nothing crosses; RandomErase and
ImageAugmentation still draw on the host and copy what they drew (ImageAugmentation computes on a host copy).
"""

from __future__ import annotations

import math

import numpy as np

from .._array import to_numpy
from ..function import FunctionError, register
from .array import kept_constant, scatter_add_flat
from .random_ops import Sampler

_TWO32 = 2.0**32


def raw32(rng, n=None):
    """The next ``n`` 32-bit outputs of the generator, as int64 (one output each, no rejection)."""
    return rng.randint(0, 2**32, size=n, dtype=np.uint32).astype(np.int64)


def uniform_float(rng, low, high, n=None):
    """C++ ``uniform_real_distribution<float>(low, high)`` over a 32-bit Mersenne twister (one output each)."""
    u = np.float32(raw32(rng, n)) / np.float32(_TWO32)
    u = np.where(u >= 1, np.nextafter(np.float32(1), np.float32(0)), u).astype(np.float32)
    return np.float32(low) + (np.float32(high) - np.float32(low)) * u


def uniform_int(rng, low, high):
    """C++ ``uniform_int_distribution<int>(low, high)``: Lemire's multiply-and-shift with rejection."""
    span = high - low + 1
    product = int(raw32(rng)) * span
    if (product & 0xFFFFFFFF) < span:
        threshold = (2**32 - span) % span
        while (product & 0xFFFFFFFF) < threshold:
            product = int(raw32(rng)) * span
    return low + (product >> 32)


def sample_order(lead_shape) -> np.ndarray:
    """Which drawn parameter set each sample uses. NNabla's kernels walk the sample axes recursively and advance
    the set at the end of every loop over a sample axis, so with two or more sample axes the sets repeat
    (e.g. 0, 1, 3, 0 for sample axes (2, 2)); with one sample axis sample i uses set i."""
    total = int(np.prod(lead_shape, dtype=np.int64))
    order, current = [], 0

    def walk(dim):
        nonlocal current
        if dim == len(lead_shape):
            order.append(current)
            return
        for _ in range(lead_shape[dim]):
            walk(dim + 1)
            current = (current + 1) % total

    walk(0)
    return np.asarray(order, dtype=np.int64)


class _Augment(Sampler):
    """Per-sample draws over the axes from ``base_axis``; subclasses resolve arguments in ``resolve(shape)``."""

    def _generator(self, xp):
        # NNabla's CPU kernels' draws (module docstring), made on the host whatever the context (RandomErase,
        # ImageAugmentation): under CUDA what they drew crosses to the device once per forward
        return super()._generator(np)

    def output_shapes(self, shape):
        base = self.args["base_axis"]
        if not 0 <= base < len(shape):
            raise FunctionError(f"{self.type_name}: base_axis={base} is out of range for x of shape {shape}")
        self.samples = int(np.prod(shape[:base], dtype=np.int64))
        return [self.resolve(tuple(shape))]

    def resolve(self, shape):
        return shape


class _Remap(_Augment):
    """y[s] = x[s] read at source indices drawn per sample (-1: the constant ``fill``); backward scatters.

    Each sample draws a few parameters (crop starts, flips, shifts): on the CPU from NNabla's generator, draw for
    draw; under CUDA on the device's own generator, all samples at once (NNabla's CUDA kernels draw on the device
    too), so nothing crosses. The index map is then built from them where they are (``index``).
    """

    grad_uses = ""
    fill = 0.0
    fills = False  # whether some sources may be -1 (the constant fill)

    _generator = Sampler._generator  # the device's generator under CUDA

    def params(self, rng, shape):
        """One sample's parameters (host ints), drawn as NNabla's CPU kernel draws them."""
        raise NotImplementedError

    def device_params(self, xp, rng, count, shape):
        """(count, k) parameters of ``count`` samples, drawn on the device."""
        raise NotImplementedError

    def index(self, xp, params, shape):
        """(samples, elements of one output sample): flat source indices into a sample of ``shape``."""
        raise NotImplementedError

    def sample(self, xp, rng, x):
        s = self.samples
        lead, in_sample = x.shape[: self.args["base_axis"]], x.shape[self.args["base_axis"] :]
        if xp is np:
            params = np.array([self.params(rng, in_sample) for _ in range(s)], dtype=np.int64).reshape(s, -1)
            params = params[sample_order(lead)]
        else:
            order = kept_constant(self, ("order", lead), xp, lambda: sample_order(lead))
            params = self.device_params(xp, rng, s, in_sample)[order]
        self._index = self.index(xp, params, in_sample)
        self._in_shape = x.shape
        flat = x.reshape(s, math.prod(in_sample))
        y = xp.take_along_axis(flat, xp.maximum(self._index, 0), axis=1)
        if self.fills:
            y = xp.where(self._index < 0, x.dtype.type(self.fill), y)
        return y.reshape(self.output_shapes(x.shape)[0])

    def select(self, xp, xs, u):
        """u read at the drawn sources (0 where the fill was written): y's derivative along u (double backward)."""
        picked = xp.take_along_axis(u.reshape(self.samples, -1), xp.maximum(self._index, 0), axis=1)
        return xp.where(self._index < 0, 0, picked).reshape(self.output_shapes(u.shape)[0])

    def grad(self, xp, xs, ys, gys, need):
        s, per = self._index.shape
        size = int(np.prod(self._in_shape[self.args["base_axis"] :], dtype=np.int64))
        valid = self._index >= 0
        offsets = (xp.arange(s) * size)[:, None]
        index = xp.where(valid, self._index + offsets, 0)
        values = xp.where(valid, gys[0].reshape(s, per), 0)
        return (scatter_add_flat(xp, index, values, s * size).reshape(self._in_shape),)


def _along_axis(xp, values, axis, ndim):
    """``values`` (n,) laid along ``axis`` of a (samples, *sample shape) grid of ``ndim`` sample axes."""
    return values.reshape((1,) * (axis + 1) + (-1,) + (1,) * (ndim - axis - 1))


def _per_sample(column, ndim):
    """A (samples,) parameter column broadcast over a sample of ``ndim`` axes."""
    return column.reshape((-1,) + (1,) * ndim)


def _flat(xp, sources, shape, count, out=None):
    """Flat indices into a sample of ``shape`` (count, prod(out)) from per-axis source grids that broadcast to
    (count, *out); ``out`` is ``shape`` unless given."""
    total = 0
    for k, g in enumerate(sources):
        total = total + g * math.prod(shape[k + 1 :])
    return xp.broadcast_to(total, (count,) + tuple(shape if out is None else out)).reshape(count, -1)


def _check_sample_axes(func, axes, base):
    bad = [a for a in axes if a < base]
    if bad:
        raise FunctionError(f"{func.type_name}: axes {bad} are sample axes (before base_axis={base}); not supported")


@register
class RandomCrop(_Remap):
    """A window of ``shape`` (the trailing axes) at a uniformly random position in each sample."""

    args_spec = {"shape": None, "base_axis": 1, "seed": -1}

    def resolve(self, shape):
        crop = tuple(shape) if self.args["shape"] is None else tuple(int(v) for v in self.args["shape"])
        if len(crop) > len(shape):
            raise FunctionError(f"RandomCrop: shape={crop} has more axes than x of shape {shape}")
        offset = len(shape) - len(crop)
        out = list(shape)
        for i, c in enumerate(crop):
            if not 0 < c <= shape[offset + i]:
                raise FunctionError(f"RandomCrop: shape={crop} must fit inside x of shape {shape}")
            out[offset + i] = c
        if any(out[i] != shape[i] for i in range(min(offset, self.args["base_axis"]), self.args["base_axis"])):
            raise FunctionError(f"RandomCrop: shape={crop} crops sample axes (before base_axis); not supported")
        self.args["shape"] = crop
        self.offset = offset
        return tuple(out)

    def params(self, rng, shape):
        base = self.args["base_axis"]
        full = self._full_shape
        starts = []
        for i in range(len(full)):
            size = self._out_shape[i]
            start = int(raw32(rng)) % (full[i] - size + 1) if i >= self.offset else 0
            if i >= base:
                starts.append(start)
        return starts

    def device_params(self, xp, rng, count, shape):
        base, full = self.args["base_axis"], self._full_shape
        columns = [
            rng.randint(0, full[i] - self._out_shape[i] + 1, size=count) if i >= self.offset else xp.zeros(count, int)
            for i in range(base, len(full))
        ]
        return xp.stack(columns, axis=1).astype(np.int64) if columns else xp.zeros((count, 0), np.int64)

    def index(self, xp, params, shape):
        out = self._out_shape[self.args["base_axis"] :]
        n = len(shape)
        sources = [_along_axis(xp, xp.arange(o), i, n) + _per_sample(params[:, i], n) for i, o in enumerate(out)]
        return _flat(xp, sources, shape, params.shape[0], out)

    def sample(self, xp, rng, x):
        self._full_shape = x.shape
        self._out_shape = self.output_shapes(x.shape)[0]
        return super().sample(xp, rng, x)


@register
class RandomFlip(_Remap):
    """Each sample reversed along each of ``axes`` (default: the last axis) with probability 1/2."""

    args_spec = {"axes": None, "base_axis": 1, "seed": -1}

    def resolve(self, shape):
        axes = self.args["axes"]
        axes = [len(shape) - 1] if axes is None else [int(a) % len(shape) for a in axes]
        _check_sample_axes(self, axes, self.args["base_axis"])
        self.args["axes"] = axes
        return shape

    def params(self, rng, shape):
        base = self.args["base_axis"]
        flips = raw32(rng, base + len(shape)) % 2  # one draw per axis, as NNabla's loop makes
        return [int(flips[base + i]) if base + i in self.args["axes"] else 0 for i in range(len(shape))]

    def device_params(self, xp, rng, count, shape):
        base = self.args["base_axis"]
        columns = [
            rng.randint(0, 2, size=count) if base + i in self.args["axes"] else xp.zeros(count, int)
            for i in range(len(shape))
        ]
        return xp.stack(columns, axis=1).astype(np.int64)

    def index(self, xp, params, shape):
        n = len(shape)
        sources = []
        for i, size in enumerate(shape):
            line = _along_axis(xp, xp.arange(size), i, n)
            sources.append(xp.where(_per_sample(params[:, i], n) != 0, size - 1 - line, line))
        return _flat(xp, sources, shape, params.shape[0])


@register
class RandomShift(_Remap):
    """Each sample shifted along the trailing axes by a uniform integer in [-shifts[i], shifts[i]], the border
    filled by 'nearest' (repeat), 'reflect' (mirror with the edge repeated) or 'constant' (``constant_value``)."""

    double_backward = False  # as in NNabla

    args_spec = {"shifts": None, "border_mode": "nearest", "constant_value": 0, "base_axis": 1, "seed": -1}

    def init(self):
        super().init()
        if self.args["border_mode"] not in ("nearest", "reflect", "constant"):
            raise FunctionError(
                f"RandomShift: border_mode={self.args['border_mode']!r} is not 'nearest', 'reflect' or 'constant'"
            )
        self.fill = float(self.args["constant_value"])

    def resolve(self, shape):
        shifts = self.args["shifts"]
        shifts = [0] * len(shape) if shifts is None else [int(s) for s in shifts]
        if len(shifts) > len(shape) or any(s < 0 for s in shifts):
            raise FunctionError(f"RandomShift: shifts={shifts} must be non-negative, at most one per axis of {shape}")
        offset = len(shape) - len(shifts)
        _check_sample_axes(self, [offset + i for i, s in enumerate(shifts) if s], self.args["base_axis"])
        self.args["shifts"] = shifts
        return shape

    @property
    def fills(self):
        return self.args["border_mode"] == "constant"

    def _table(self, xp, i, size, shift):
        """Source positions of positions ``i`` shifted by ``shift`` (arrays that broadcast), -1 outside."""
        mode = self.args["border_mode"]
        if mode == "reflect":
            a = xp.abs(i + size * 2 - shift) % (size * 2) if size > 1 else xp.zeros_like(i - shift)
            return xp.where(a >= size, size * 2 - 1 - a, a)
        if mode == "nearest":
            return xp.clip(i - shift, 0, size - 1)
        return xp.where((i - shift < 0) | (i - shift >= size), -1, i - shift)

    def params(self, rng, shape):
        shifts = self.args["shifts"]
        return [int(v) % (2 * s + 1) - s for v, s in zip(raw32(rng, len(shifts)), shifts)]

    def device_params(self, xp, rng, count, shape):
        columns = [rng.randint(-s, s + 1, size=count) for s in self.args["shifts"]]
        return xp.stack(columns, axis=1).astype(np.int64) if columns else xp.zeros((count, 0), np.int64)

    def index(self, xp, params, shape):
        shifts = self.args["shifts"]
        base = self.args["base_axis"]
        n = len(shape)
        ndim = base + n
        sources = []
        for i, size in enumerate(shape):
            k = len(shifts) - ndim + base + i
            shift = _per_sample(params[:, k], n) if k >= 0 else 0
            sources.append(self._table(xp, _along_axis(xp, xp.arange(size), i, n), size, shift))
        count = params.shape[0]
        outside = sources[0] < 0
        for g in sources[1:]:
            outside = outside | (g < 0)
        index = _flat(xp, [xp.maximum(g, 0) for g in sources], shape, count)
        return xp.where(xp.broadcast_to(outside, (count,) + tuple(shape)).reshape(count, -1), -1, index)


@register
class RandomErase(_Augment):
    """Random erasing (Zhong et al.): per sample and each of ``n`` tries, with probability ``prob`` a box of
    area ratio and aspect ratio drawn from the given ranges is filled with uniform values in ``replacements``
    (one box for all channels when ``share``). Backward zeroes the erased gradient (``ste_fine_grained``) or
    passes it all. ``inplace`` is ignored, as in NNabla."""

    double_backward = False  # as in NNabla

    args_spec = {
        "prob": 0.5,
        "area_ratios": (0.02, 0.4),
        "aspect_ratios": (0.3, 3.3333),
        "replacements": (0.0, 255.0),
        "n": None,
        "share": True,
        "inplace": False,
        "base_axis": 1,
        "seed": -1,
        "channel_last": False,
        "ste_fine_grained": True,
    }
    grad_uses = ""

    def init(self):
        super().init()
        a = self.args
        a["n"] = 1 if a["n"] is None else int(a["n"])
        if not 0.0 <= a["prob"] <= 1.0:
            raise FunctionError(f"RandomErase: prob={a['prob']} must be in [0, 1]")
        for key in ("area_ratios", "aspect_ratios", "replacements"):
            if len(a[key]) != 2:
                raise FunctionError(f"RandomErase: {key}={a[key]} must be a (low, high) pair")
        if a["n"] < 1:
            raise FunctionError(f"RandomErase: n={a['n']} must be positive")
        if a["channel_last"]:
            raise FunctionError("RandomErase: channel_last=True is not supported (as on NNabla's CPU)")

    def resolve(self, shape):
        if len(shape) - self.args["base_axis"] != 3:
            raise FunctionError(
                f"RandomErase: x of shape {shape} must have exactly 3 axes (C, H, W) from base_axis="
                f"{self.args['base_axis']}"
            )
        return shape

    def _boxes(self, rng, count, h, w):
        """``count`` boxes (erase, y0, x0, y1, x1), inclusive ends, drawn as NNabla draws them."""
        a = self.args
        area = np.float32(h * w)
        boxes = []
        for _ in range(count):
            se = uniform_float(rng, *a["area_ratios"]) * area
            re = uniform_float(rng, *a["aspect_ratios"])
            he = min(int(math.sqrt(np.float32(se * re))), h)
            we = min(int(math.sqrt(np.float32(se / re))), w)
            eprob = uniform_float(rng, 0.0, 1.0)
            y0 = uniform_int(rng, 0, h - he)
            x0 = uniform_int(rng, 0, w - we)
            boxes.append((eprob <= np.float32(a["prob"]), y0, x0, y0 + he, x0 + we))
        return boxes

    _generator = Sampler._generator  # the device's generator under CUDA

    def _device_sample(self, xp, rng, x):
        """All samples' boxes and replacement values drawn on the device at once (NNabla's CUDA kernel draws on
        the GPU too: the same distributions, other numbers than the CPU's)."""
        a = self.args
        s = self.samples
        c, h, w = x.shape[a["base_axis"] :]
        shape = (a["n"], s, 1 if a["share"] else c)
        se = rng.uniform(*a["area_ratios"], size=shape) * (h * w)
        re = rng.uniform(*a["aspect_ratios"], size=shape)
        he = xp.minimum(xp.sqrt(se * re).astype(np.int64), h)
        we = xp.minimum(xp.sqrt(se / re).astype(np.int64), w)
        hit = rng.uniform(0.0, 1.0, size=shape) <= a["prob"]
        y0 = xp.minimum((rng.uniform(0.0, 1.0, size=shape) * (h - he + 1)).astype(np.int64), h - he)
        x0 = xp.minimum((rng.uniform(0.0, 1.0, size=shape) * (w - we + 1)).astype(np.int64), w - we)
        box = lambda t: t[..., None, None]  # noqa: E731  (n, s, per) -> (n, s, per, 1, 1)
        rows, cols = xp.arange(h)[:, None], xp.arange(w)[None, :]
        region = box(hit) & (rows >= box(y0)) & (rows <= box(y0 + he)) & (cols >= box(x0)) & (cols <= box(x0 + we))
        values = rng.uniform(*a["replacements"], size=(a["n"], s, c, h, w)).astype(x.dtype)
        y = x.reshape(s, c, h, w)
        erased = xp.zeros(y.shape, dtype=bool)
        for k in range(a["n"]):  # later tries write over earlier ones, as on the CPU
            y = xp.where(region[k], values[k], y)
            erased = erased | region[k]
        self._erased = erased.reshape(x.shape)
        return y.reshape(x.shape)

    def sample(self, xp, rng, x):
        if xp is not np:
            return self._device_sample(xp, rng, x)
        a = self.args
        s = self.samples
        c, h, w = x.shape[a["base_axis"] :]
        per = 1 if a["share"] else c
        boxes = self._boxes(rng, a["n"] * s * per, h, w)
        # the replacement values, NaN where x is kept (uniform draws are never NaN): one copy to the device
        y = np.full((s, c, h, w), np.nan, dtype=x.dtype)
        low, high = a["replacements"]
        for k in range(a["n"]):
            for b in range(s):
                chosen = boxes[(k * s + b) * per : (k * s + b + 1) * per]
                region = np.zeros((c, h, w), bool)
                for ch in range(c):
                    hit, y0, x0, y1, x1 = chosen[0 if a["share"] else ch]
                    if hit:
                        region[ch, y0 : y1 + 1, x0 : x1 + 1] = True
                count = int(region.sum())
                if count:
                    y[b][region] = uniform_float(rng, low, high, count)
        values = xp.asarray(y.reshape(x.shape))
        self._erased = ~xp.isnan(values)
        return xp.where(self._erased, values, x)

    def grad(self, xp, xs, ys, gys, need):
        if not self.args["ste_fine_grained"]:
            return (gys[0],)
        return (xp.where(self._erased, 0, gys[0]),)


class _Drawn:
    """32-bit outputs drawn ahead, handed out one at a time as ``raw32`` asks the generator for them."""

    __slots__ = ("_values", "_next")

    def __init__(self, values):
        self._values, self._next = values.astype(np.uint32), 0

    def randint(self, low, high, size=None, dtype=None):
        assert size is None and low == 0 and high == 2**32, "only raw32's single draws"
        value = self._values[self._next]
        self._next += 1
        return value

    @property
    def left(self):
        return len(self._values) - self._next


@register
class ImageAugmentation(_Augment):
    """NNabla's image augmentation of the last two axes (H, W) of each image: random scale, aspect ratio,
    rotation, crop position, flips, lens distortion, brightness, contrast and Gaussian noise, bilinear sampling
    with borders repeated. NNabla has no gradient for it."""

    double_backward = False  # as in NNabla

    args_spec = {
        "shape": None,
        "pad": (0, 0),
        "min_scale": 1.0,
        "max_scale": 1.0,
        "angle": 0.0,
        "aspect_ratio": 1.0,
        "distortion": 0.0,
        "flip_lr": False,
        "flip_ud": False,
        "brightness": 0.0,
        "brightness_each": False,
        "contrast": 1.0,
        "contrast_center": 0.0,
        "contrast_each": False,
        "noise": 0.0,
        "seed": -1,
    }
    grad_uses = ""

    def output_shapes(self, shape):
        if len(shape) < 2:
            raise FunctionError(f"ImageAugmentation: x of shape {shape} must have at least 2 axes (H, W)")
        out_shape = tuple(shape) if self.args["shape"] is None else tuple(int(v) for v in self.args["shape"])
        if len(out_shape) < 2 or len(out_shape) > len(shape):
            raise FunctionError(f"ImageAugmentation: shape={out_shape} must have 2 to {len(shape)} axes")
        if len(self.args["pad"]) != 2:
            raise FunctionError(f"ImageAugmentation: pad={self.args['pad']} must be (height, width)")
        self.args["shape"] = out_shape
        out = list(shape)
        out[len(shape) - len(out_shape) :] = out_shape
        return [tuple(out)]

    def _image_params(self, rng, channels):
        a = self.args
        f32 = np.float32
        draw = lambda: f32((int(raw32(rng)) % 1001) * f32(0.001))  # noqa: E731
        p = {}
        p["scale"] = f32(a["min_scale"] * np.exp(draw() * np.log(f32(a["max_scale"] / a["min_scale"]))))
        p["scale_x"] = f32(np.exp(-np.log(a["aspect_ratio"]) * 0.5 + draw() * f32(np.log(f32(a["aspect_ratio"])))))
        p["angle"] = f32(-a["angle"] + draw() * f32(a["angle"]) * 2)
        p["tx"], p["ty"] = draw(), draw()
        p["flip_lr"] = bool(a["flip_lr"]) & bool(int(raw32(rng)) % 2)
        p["flip_ud"] = bool(a["flip_ud"]) & bool(int(raw32(rng)) % 2)
        bright = lambda: f32(draw() * f32(a["brightness"]) * f32(2.0) - f32(a["brightness"]))  # noqa: E731
        contrast = lambda: f32(np.exp(draw() * f32(np.log(f32(a["contrast"]))) * f32(2.0)) / f32(a["contrast"]))  # noqa: E731
        gb, gc = bright(), contrast()
        p["brightness"], p["contrast"] = [], []
        for _ in range(channels):
            p["brightness"].append((bright() if a["brightness_each"] else gb) - f32(a["contrast_center"]))
            p["contrast"].append(contrast() if a["contrast_each"] else gc)
        d = f32(a["distortion"])
        p["distortion"] = f32(np.exp(draw() * f32(2.0) * d - d) - f32(1.0))
        p["noise"] = f32(draw() * f32(a["noise"]))
        return p

    def _transform(self, p, h_in, w_in, h_out, w_out):
        """One image's map from output to source pixels: (y0, x_ay, y_ay, x0, x_ax, y_ax) in float32, each source
        coordinate the origin plus the output column times its *_a x step plus the output row times its *_a y."""
        f32 = np.float32
        pad_h, pad_w = self.args["pad"]
        scale, sx = p["scale"], p["scale_x"]
        sy = f32(1.0 / sx)
        isx, isy = f32(1.0) / (scale * sx), f32(1.0) / (scale * sy)
        cos, sin = f32(np.cos(p["angle"])), f32(np.sin(p["angle"]))
        x_ax = (-cos if p["flip_lr"] else cos) * isx
        y_ax = (sin if p["flip_lr"] else -sin) * isy
        x_ay = (-sin if p["flip_ud"] else sin) * isx
        y_ay = (-cos if p["flip_ud"] else cos) * isy
        cx, cy = f32((w_out - 1) * 0.5), f32((h_out - 1) * 0.5)
        cx_scaled = p["tx"] * (f32(w_in + 2 * pad_w) * scale * sx - w_out) + cx
        cy_scaled = p["ty"] * (f32(h_in + 2 * pad_h) * scale * sy - h_out) + cy
        x0 = cx_scaled * isx - (x_ax * cx + y_ax * cy) - pad_w
        y0 = cy_scaled * isy - (x_ay * cx + y_ay * cy) - pad_h
        return y0, x_ay, y_ay, x0, x_ax, y_ax

    def sample(self, xp, rng, x):
        out_shape = self.output_shapes(x.shape)[0]
        h_in, w_in = x.shape[-2:]
        h_out, w_out = out_shape[-2:]
        channels = x.shape[-3] if x.ndim >= 3 else 1
        f32 = np.float32
        # on a host copy (one explicit copy each way): each image's draws in NNabla's order (its parameters, then
        # its noise), then the whole batch at once, element by element the same float32 operations per image
        src = np.asarray(to_numpy(x), np.float32).reshape(-1, channels, h_in * w_in)
        batch = src.shape[0]
        params, noises = [], []
        a = self.args
        drawn = None
        if a["noise"] == 0:  # no normal draws between the images': the batch's 32-bit outputs in one call
            drawn = _Drawn(
                raw32(rng, batch * (11 + channels * (bool(a["brightness_each"]) + bool(a["contrast_each"]))))
            )
        for _ in range(batch):
            p = self._image_params(rng if drawn is None else drawn, channels)
            params.append(p)
            noises.append(
                rng.standard_normal((channels, h_out, w_out)).astype(np.float32) * p["noise"]
                if p["noise"] > 0
                else None
            )
        if drawn is not None and drawn.left:
            raise FunctionError(f"ImageAugmentation: {drawn.left} of the batch's random draws were not used")
        per_image = lambda values: np.array(values, np.float32).reshape(batch, 1, 1)  # noqa: E731
        y0, x_ay, y_ay, x0, x_ax, y_ax = (
            per_image(v) for v in zip(*(self._transform(p, h_in, w_in, h_out, w_out) for p in params))
        )
        iy, ix = np.meshgrid(np.arange(h_out, dtype=np.float32), np.arange(w_out, dtype=np.float32), indexing="ij")
        dist = per_image([p["distortion"] for p in params])
        if (dist != 0).any():
            hw, hh = f32(w_out * 0.5), f32(h_out * 0.5)
            dx, dy = (ix - hw) / hw, (iy - hh) / hh
            r2 = dx * dx + dy * dy
            k = f32(1.0) / (f32(1.0) + dist)
            dx = (dx + dx * dist * r2) * hw * k + hw
            dy = (dy + dy * dist * r2) * hh * k + hh
            # (an image without distortion takes the plain grid, as it would alone)
            plain = (dist == 0)[:, 0, 0]
            dx[plain], dy[plain] = ix, iy
            fy, fx = y0 + dx * x_ay + dy * y_ay, x0 + dx * x_ax + dy * y_ax
        else:
            fy, fx = y0 + ix * x_ay + iy * y_ay, x0 + ix * x_ax + iy * y_ax
        fy = np.clip(fy, 0, h_in - 1).astype(np.float32)
        fx = np.clip(fx, 0, w_in - 1).astype(np.float32)
        ry, rx = fy.astype(np.int64), fx.astype(np.int64)
        ly, lx = (fy - ry)[:, None], (fx - rx)[:, None]
        ry1, rx1 = np.where(ry < h_in - 1, ry + 1, ry), np.where(rx < w_in - 1, rx + 1, rx)
        # (each image's channels read at its own pixels: offsets into the flat batch, a row per channel)
        base = (np.arange(batch * channels, dtype=np.int64) * (h_in * w_in)).reshape(batch, channels, 1)
        flat = src.reshape(-1)

        def at(rows, cols):
            pixels = (rows * w_in + cols).reshape(batch, 1, -1)
            return flat.take(base + pixels).reshape(batch, channels, h_out, w_out)

        value = (
            at(ry, rx) * ((1 - lx) * (1 - ly))
            + at(ry, rx1) * (lx * (1 - ly))
            + at(ry1, rx) * ((1 - lx) * ly)
            + at(ry1, rx1) * (lx * ly)
        )
        bright = np.array([p["brightness"] for p in params], np.float32)[:, :, None, None]
        contrast = np.array([p["contrast"] for p in params], np.float32)[:, :, None, None]
        value = (value + bright) * contrast + np.float32(self.args["contrast_center"])
        for i, noise in enumerate(noises):
            if noise is not None:
                value[i] = value[i] + noise
        # (the weights are float64, as fy minus its integer part is: the images are float32 once sampled)
        return xp.asarray(value.astype(np.float32).reshape(out_shape), dtype=x.dtype)

    def grad(self, xp, xs, ys, gys, need):
        raise FunctionError("ImageAugmentation: there is no backward (NNabla has none)")
