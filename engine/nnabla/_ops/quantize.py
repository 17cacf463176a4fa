"""Quantization for simulation: fixed-point, power-of-two and min-max quantizers, ONNX-style linear
(de)quantization, pruning, and the layers that binarize or quantize their weight before an affine map or a
convolution (BinaryConnect, binary weight networks, INQ).

The quantizers pass the gradient straight through, as NNabla defines it: with ``ste_fine_grained`` only where
the input lies inside the representable range, otherwise everywhere. The weight-quantizing layers write the
quantized weight (and scale) into their extra inputs on forward, like NNabla, and pass the gradient of the
quantized weight to the float weight unchanged.
"""

from __future__ import annotations

import numpy as np

from .._array import NdArray, to_numpy
from ..function import Function, FunctionError, apply, register
from ._base import wrap_outputs
from .convolution import Convolution
from .linear import Affine
from .normalization import _write_back


def round_half_away(xp, v):
    """std::round: halves go away from zero (numpy's round goes to even)."""
    return xp.sign(v) * xp.floor(xp.abs(v) + 0.5)


def _check_int(func, name, value, minimum):
    if int(value) < minimum:
        raise FunctionError(f"{func.type_name}: {name}={value} must be at least {minimum}")


# -- elementwise quantizers ---------------------------------------------------------------------------------------
@register
class FixedPointQuantize(Function):
    """q = sign(x) floor(|x| / delta + 1/2) delta, clipped to +-(2^(n-1) - 1) delta (signed) or [0, (2^n - 1)
    delta] (unsigned)."""

    double_backward = False  # as in NNabla

    args_spec = {"sign": True, "n": 8, "delta": 0.0625, "ste_fine_grained": True}

    def init(self):
        a = self.args
        if a["n"] <= 0 or a["delta"] <= 0:
            raise FunctionError(f"FixedPointQuantize: n={a['n']} and delta={a['delta']} must both be positive")
        bits = a["n"] - 1 if a["sign"] else a["n"]
        _check_int(self, "n (less the sign bit)", bits, 1)
        self.max = float(np.float32((2.0**bits - 1) * a["delta"]))
        self.min = -self.max if a["sign"] else 0.0

    def compute(self, xp, x):
        delta = self.args["delta"]
        q = xp.sign(x) * xp.floor(xp.abs(x) / delta + 0.5) * delta
        return xp.where(x > self.max, self.max, xp.where(x < self.min, self.min, q)).astype(x.dtype)

    def grad(self, xp, xs, ys, gys, need):
        if not self.args["ste_fine_grained"]:
            return (gys[0],)
        x = xs[0]
        return (gys[0] * ((x >= self.min) & (x <= self.max)),)


@register
class Pow2Quantize(Function):
    """q = sign(x) 2^round(log2|x|), clipped to [2^(m - 2^k + 1), 2^m] in magnitude (k the bits left after sign
    and zero); with ``with_zero`` magnitudes below 2^-1/2 of the smallest level become 0."""

    double_backward = False  # as in NNabla

    args_spec = {"sign": True, "with_zero": True, "n": 8, "m": 1, "ste_fine_grained": True}

    def init(self):
        a = self.args
        _check_int(self, "n", a["n"], 1)
        bits = a["n"] - (1 if a["sign"] else 0) - (1 if a["with_zero"] else 0)
        _check_int(self, "n (less the sign and zero bits)", bits, 1)
        self.p_max = float(np.float32(2.0 ** a["m"]))
        self.p_min = float(np.float32(2.0 ** (a["m"] - ((1 << bits) - 1))))
        self.threshold = float(np.float32(self.p_min * 2.0**-0.5))

    def _levels(self, xp, x):
        with np.errstate(divide="ignore"):
            return xp.exp2(round_half_away(xp, xp.log2(xp.abs(x))))

    def compute(self, xp, x):
        a = self.args
        q = self._levels(xp, x)
        low = xp.where(xp.abs(x) < self.threshold, 0.0, self.p_min) if a["with_zero"] else self.p_min
        q = xp.where(q > self.p_max, self.p_max, xp.where(q < self.p_min, low, q))
        if a["sign"]:
            q = xp.where(x < 0, -q, q)
        else:  # unsigned: negative inputs go to the lowest level
            q = xp.where(x < 0, 0.0 if a["with_zero"] else self.p_min, q)
        return q.astype(x.dtype)

    def grad(self, xp, xs, ys, gys, need):
        if not self.args["ste_fine_grained"]:
            return (gys[0],)
        x = xs[0]
        keep = self._levels(xp, x) <= self.p_max
        if not self.args["sign"]:
            keep &= x >= 0
        return (gys[0] * keep,)


def _minmax_axes(func, shapes):
    xs, qr_min = shapes[0], shapes[1]
    if len({len(s) for s in shapes}) != 1:
        raise FunctionError(
            f"{func.type_name}: x, qr_min, qr_max, ql_min and ql_max must have the same number of dimensions, "
            f"got shapes {', '.join(map(str, shapes))}"
        )
    if len({tuple(s) for s in shapes[1:]}) != 1:
        raise FunctionError(
            f"{func.type_name}: qr_min, qr_max, ql_min and ql_max must have the same shape, "
            f"got {', '.join(map(str, shapes[1:]))}"
        )
    for i, (n, k) in enumerate(zip(xs, qr_min)):
        if k != 1 and k != n:
            raise FunctionError(
                f"{func.type_name}: the range inputs of shape {qr_min} must match x of shape {xs} wherever they "
                f"are not 1 (axis {i})"
            )
    return tuple(i for i, k in enumerate(qr_min) if k == 1)


@register
class MinMaxQuantize(Function):
    """y = round((clip(x, m, M) - m) / s) s + m with s = (M - m) / (ql_max - ql_min), where the range [m, M] is
    qr_min, qr_max nudged so that zero is a level; with ``x_min_max`` the range is first taken from x (as an
    exponential moving average with ``ema``) and stored into qr_min and qr_max."""

    double_backward = False  # as in NNabla

    inputs_spec = ("x", "qr_min", "qr_max", "ql_min", "ql_max")
    args_spec = {"decay": 0.999, "x_min_max": False, "ema": False, "ste_fine_grained": True, "eps": 0.01}

    def output_shapes(self, *shapes):
        self.axes = _minmax_axes(self, shapes)
        return [shapes[0]]

    def _nudged(self, xp, qr_min, qr_max, ql_min, ql_max):
        scale = (qr_max - qr_min) / (ql_max - ql_min)
        zero_point = ql_min - qr_min / scale
        zero_point = xp.where(
            zero_point <= ql_min, ql_min, xp.where(zero_point >= ql_max, ql_max, round_half_away(xp, zero_point))
        )
        return (ql_min - zero_point) * scale, (ql_max - zero_point) * scale, scale

    def _compute_outputs(self, variables):
        x, qr_min, qr_max, ql_min, ql_max = self._arrays_of(variables)
        xp, a = self.xp, self.args
        if a["x_min_max"]:
            lo, hi = x.min(axis=self.axes, keepdims=True), x.max(axis=self.axes, keepdims=True)
            if a["ema"]:
                lo = a["decay"] * qr_min + (1 - a["decay"]) * lo
                hi = a["decay"] * qr_max + (1 - a["decay"]) * hi
            qr_min, qr_max = lo, hi
            _write_back(variables[1], qr_min)
        # the range is widened to eps in place, also without x_min_max
        qr_max = xp.where(qr_max - qr_min < a["eps"], qr_min + a["eps"], qr_max)
        _write_back(variables[2], qr_max)
        lo, hi, scale = self._nudged(xp, qr_min, qr_max, ql_min, ql_max)
        y = round_half_away(xp, (xp.minimum(xp.maximum(x, lo), hi) - lo) / scale) * scale + lo
        return self._as_outputs(y.astype(x.dtype))

    def grad(self, xp, xs, ys, gys, need):
        if need[3] or need[4]:
            raise FunctionError("MinMaxQuantize: no gradient for ql_min and ql_max (give them need_grad=False)")
        x, qr_min, qr_max, ql_min, ql_max = xs
        gy = gys[0]
        lo, hi, _ = self._nudged(xp, qr_min, qr_max, ql_min, ql_max)
        gx = None
        if need[0]:
            gx = gy * ((x >= lo) & (x <= hi)) if self.args["ste_fine_grained"] else gy
        if self.args["x_min_max"] or self.args["ema"]:
            return gx, None, None, None, None
        g_min = (gy * (x < lo)).sum(axis=self.axes, keepdims=True) if need[1] else None
        g_max = (gy * (x > hi)).sum(axis=self.axes, keepdims=True) if need[2] else None
        return gx, g_min, g_max, None, None


def _check_quant_params(func, xs, ss, zs):
    if not len(xs) == len(ss) == len(zs):
        raise FunctionError(
            f"{func.type_name}: x of shape {xs}, scale of shape {ss} and zero_point of shape {zs} must have the "
            "same number of dimensions"
        )
    for i, (n, s, z) in enumerate(zip(xs, ss, zs)):
        if s not in (1, n) or z not in (1, n):
            raise FunctionError(
                f"{func.type_name}: scale of shape {ss} and zero_point of shape {zs} must be 1 or match x of shape "
                f"{xs} at axis {i}"
            )
    return [tuple(xs)]


_INT_RANGES = {1: (-128, 127), 2: (0, 255)}  # numpy's type numbers: NPY_BYTE (int8), NPY_UBYTE (uint8)


@register
class QuantizeLinear(Function):
    """y = saturate(round(x / scale) + zero_point) into int8 or uint8's range (ONNX QuantizeLinear), stored as
    float; zero_point is rounded and saturated in place."""

    inputs_spec = ("x", "scale", "zero_point")
    args_spec = {"round_mode": "HALF_AWAY_FROM_ZERO", "narrow_range": False, "dtype": 1}

    def init(self):
        a = self.args
        if a["round_mode"] not in ("HALF_AWAY_FROM_ZERO", "HALF_TO_EVEN"):
            raise FunctionError(
                f"QuantizeLinear: round_mode={a['round_mode']!r} must be 'HALF_AWAY_FROM_ZERO' or 'HALF_TO_EVEN'"
            )
        if a["dtype"] not in _INT_RANGES:
            raise FunctionError(f"QuantizeLinear: dtype={a['dtype']} must be numpy's int8 (1) or uint8 (2)")
        low, self.high = _INT_RANGES[a["dtype"]]
        self.low = low + 1 if a["narrow_range"] else low

    def output_shapes(self, xs, ss, zs):
        return _check_quant_params(self, xs, ss, zs)

    def _round(self, xp, v):
        t = round_half_away(xp, v)
        if self.args["round_mode"] == "HALF_TO_EVEN":
            t = xp.where(xp.abs(v - t) == 0.5, round_half_away(xp, v * 0.5) * 2, t)
        return t

    def _compute_outputs(self, variables):
        x, scale, zero_point = self._arrays_of(variables)
        xp = self.xp
        zero_point = xp.clip(self._round(xp, zero_point), self.low, self.high)
        _write_back(variables[2], zero_point)
        y = xp.clip(self._round(xp, x / scale) + zero_point, self.low, self.high)
        return self._as_outputs(y.astype(x.dtype))

    def grad(self, xp, xs, ys, gys, need):
        if need[1] or need[2]:
            raise FunctionError("QuantizeLinear: no gradient for scale and zero_point (give them need_grad=False)")
        return gys[0] / xs[1], None, None


@register
class DequantizeLinear(Function):
    """y = (x - zero_point) * scale (ONNX DequantizeLinear)."""

    inputs_spec = ("x", "scale", "zero_point")

    def output_shapes(self, xs, ss, zs):
        return _check_quant_params(self, xs, ss, zs)

    def compute(self, xp, x, scale, zero_point):
        return (x - zero_point) * scale

    def grad(self, xp, xs, ys, gys, need):
        if need[1] or need[2]:
            raise FunctionError("DequantizeLinear: no gradient for scale and zero_point (give them need_grad=False)")
        return gys[0] * xs[1], None, None


@register
class Prune(Function):
    """y = x where |x| reaches the threshold sort(|x|)[int((size - 1) * rate)], else 0; the gradient passes
    through unchanged."""

    args_spec = {"rate": 0.9}
    grad_uses = ""

    def init(self):
        if not 0 <= self.args["rate"] <= 1:
            raise FunctionError(f"Prune: rate={self.args['rate']} must be in [0, 1]")

    def compute(self, xp, x):
        rate = self.args["rate"]
        ax = xp.abs(x)
        if x.size == 0:
            return x.copy()
        threshold = xp.sort(ax.reshape(-1))[int((x.size - 1) * np.float32(rate))]
        if rate == 1:
            threshold = threshold + 1
        return xp.where(ax < threshold, 0, x).astype(x.dtype)

    def grad(self, xp, xs, ys, gys, need):
        return (gys[0],)


# -- layers with a quantized weight -----------------------------------------------------------------------------
class _QuantizedWeightLayer(Function):
    """x, weight, <extra weight-shaped or per-output inputs>, bias? -> Affine or Convolution of x with the
    quantized weight. Subclasses write ``quantize(xp, arrays)`` (returning the weight to use and the values to
    store into the extra inputs) and ``used_weight(xp, arrays)`` (that weight from the stored values)."""

    inner = Affine
    extras = ("binary_weight",)

    def init(self):
        names = [k for k in self.inner.args_spec if k in self.args]
        self._layer = self.inner(self.context, **{k: self.args[k] for k in names})

    def output_shapes(self, xs, ws, *rest):
        for name, s in zip(self.extras, rest):
            if name != "alpha" and tuple(s) != tuple(ws):
                raise FunctionError(f"{self.type_name}: {name} of shape {s} must have the shape of weight {ws}")
        bias = rest[len(self.extras) :]
        try:
            shapes = self._layer.output_shapes(xs, ws, *bias)
        except FunctionError as e:  # the layer's message, naming this function
            raise FunctionError(str(e).replace(self._layer.type_name, self.type_name, 1)) from None
        for k in ("pad", "stride", "dilation"):
            if k in self.args:
                self.args[k] = self._layer.args[k]
        return shapes

    def _bias(self, arrays):
        return arrays[2 + len(self.extras) :]

    def _compute_outputs(self, variables):
        arrays = self._arrays_of(variables)
        w, stored = self.quantize(self.xp, arrays)
        for k, values in enumerate(stored):
            _write_back(variables[2 + k], values.reshape(variables[2 + k].shape))
        return self._as_outputs(self._layer.compute(self.xp, arrays[0], w, *self._bias(arrays)))

    def grad(self, xp, xs, ys, gys, need):
        bias = self._bias(xs)
        w = self.used_weight(xp, xs)
        inner_need = [need[0], need[1] or need[2]] + [need[-1]] * len(bias)
        g = self._layer.grad(xp, [xs[0], w, *bias], ys, gys, inner_need)
        gw = g[1]
        out = [g[0], gw if need[1] else None, gw if need[2] else None]
        out += [None] * (len(self.extras) - 1)
        return tuple(out) + tuple(g[2:])


def _sign(xp, w, zero_to):
    return xp.where(w > 0, 1.0, xp.where(w < 0, -1.0, zero_to)).astype(w.dtype)


class _BinaryConnect(_QuantizedWeightLayer):
    def quantize(self, xp, arrays):
        wb = _sign(xp, arrays[1], self.args["quantize_zero_to"])
        return wb, [wb]

    def used_weight(self, xp, xs):
        return xs[2]


@register
class BinaryConnectAffine(_BinaryConnect):
    """y = x sign(W) + b; sign(W) (zero mapped to ``quantize_zero_to``) is stored into binary_weight."""

    double_backward = False  # as in NNabla

    inputs_spec = ("x", "weight", "binary_weight", "bias?")
    args_spec = {"base_axis": 1, "quantize_zero_to": 1.0}


_CONV_ARGS = {"base_axis": 1, "pad": None, "stride": None, "dilation": None, "group": 1}


@register
class BinaryConnectConvolution(_BinaryConnect):
    """Convolution of x with sign(W) (stored into binary_weight), plus b."""

    double_backward = False  # as in NNabla

    inputs_spec = ("x", "weight", "binary_weight", "bias?")
    args_spec = {**_CONV_ARGS, "quantize_zero_to": 1.0}
    inner = Convolution


class _BinaryWeight(_QuantizedWeightLayer):
    """The weight used is sign(W) * alpha with alpha the mean |W| per output (stored into alpha)."""

    extras = ("binary_weight", "alpha")

    def output_shapes(self, xs, ws, *rest):
        outputs = self._outputs_of(ws)
        if int(np.prod(rest[1])) != outputs:
            raise FunctionError(
                f"{self.type_name}: alpha of shape {rest[1]} must hold one value per output ({outputs}, weight of "
                f"shape {ws})"
            )
        return super().output_shapes(xs, ws, *rest)

    def quantize(self, xp, arrays):
        w = arrays[1]
        wb = _sign(xp, w, self.args["quantize_zero_to"])
        alpha = self._alpha(xp, w)
        return wb * self._per_output(alpha, w.shape), [wb, alpha]

    def used_weight(self, xp, xs):
        return xs[2] * self._per_output(xs[3].reshape(-1), xs[1].shape)


@register
class BinaryWeightAffine(_BinaryWeight):
    """y = x (sign(W) alpha) + b with alpha_j = mean_i |W_ij| (XNOR-Net's binary weight network)."""

    double_backward = False  # as in NNabla

    inputs_spec = ("x", "weight", "binary_weight", "alpha", "bias?")
    args_spec = {"base_axis": 1, "quantize_zero_to": 1.0}

    def _outputs_of(self, ws):
        return int(np.prod(ws[1:]))

    def _alpha(self, xp, w):
        return xp.abs(w.reshape(w.shape[0], -1)).sum(axis=0) * w.dtype.type(1.0 / w.shape[0])

    def _per_output(self, alpha, shape):
        return alpha.reshape(shape[1:])


@register
class BinaryWeightConvolution(_BinaryWeight):
    """Convolution of x with sign(W) alpha, alpha the mean |W| of each output channel's filter, plus b."""

    double_backward = False  # as in NNabla

    inputs_spec = ("x", "weight", "binary_weight", "alpha", "bias?")
    args_spec = {**_CONV_ARGS, "quantize_zero_to": 1.0}
    inner = Convolution

    def _outputs_of(self, ws):
        return ws[0]

    def _alpha(self, xp, w):
        flat = w.reshape(w.shape[0], -1)
        return xp.abs(flat).sum(axis=1) * w.dtype.type(1.0 / flat.shape[1])

    def _per_output(self, alpha, shape):
        return alpha.reshape((shape[0],) + (1,) * (len(shape) - 1))


class _INQ(_QuantizedWeightLayer):
    """Incremental network quantization: at each forward count listed in ``inq_iterations`` half of the still
    learnable weights (by largest |W| or at random) are fixed (indicator 1), all of them at the last count;
    fixed weights are kept at their power-of-two values (in place in W) while the others keep learning."""

    extras = ("indicator_fixedweights",)

    def init(self):
        super().init()
        a = self.args
        if a["selection_algorithm"] not in ("largest_abs", "random"):
            raise FunctionError(
                f"{self.type_name}: selection_algorithm={a['selection_algorithm']!r} must be 'largest_abs' or 'random'"
            )
        _check_int(self, "num_bits", a["num_bits"], 2)
        self.args["inq_iterations"] = tuple(int(i) for i in a["inq_iterations"])
        self._counter = 0  # forward passes so far
        self._previous = None  # (weights, indicators) after the last forward
        # std::mt19937(seed) is numpy's legacy MT19937 seeding; seed=-1 shares the functions' global generator
        self._rng = np.random.RandomState(int(a["seed"])) if a["seed"] != -1 else None

    def _coin_flips(self, n):
        """n draws of std::bernoulli_distribution(0.5) on a Mersenne twister (two 32-bit words each)."""
        from .. import random as _random

        rng = self._rng if self._rng is not None else _random.function_rng
        words = rng.randint(0, 2**32, size=2 * n, dtype=np.uint32).reshape(n, 2)
        return (words[:, 1] < 2**31).astype(np.int64)

    def quantize(self, xp, arrays):
        """The weight to use (fixed entries at powers of two) and the indicators, both flat."""
        a = self.args
        w = arrays[1].reshape(-1).copy()
        ind = arrays[2].reshape(-1).copy()
        if self._previous is not None:
            old_w, old_ind = self._previous
            w = xp.where(old_ind == 1, old_w, w)
        iterations = a["inq_iterations"]
        if self._counter in iterations:  # at those iterations only, the choice is made on a host copy
            if iterations[-1] == self._counter:
                ind[:] = 1
            elif a["selection_algorithm"] == "largest_abs":
                free = to_numpy(ind) == 0
                order = np.argsort(-np.abs(to_numpy(w)), kind="stable")
                half = int(free.sum()) // 2
                # NNabla's loop stops once half are fixed, checked after each weight: with half == 0 it still
                # fixes the largest weight when that one is learnable
                chosen = order[:1][free[order[:1]]] if half == 0 else order[free[order]][:half]
                ind[xp.asarray(chosen)] = 1
            else:
                free = np.flatnonzero(to_numpy(ind) == 0)
                ind[xp.asarray(free)] = xp.asarray(self._coin_flips(free.size).astype(ind.dtype))
        w = xp.where(ind == 1, self._power_of_two(xp, w), w)
        self._counter += 1
        self._previous = (w.copy(), ind.copy())
        return w, ind

    def _power_of_two(self, xp, w):
        ax = xp.abs(w)
        # the exponent range from the largest weight, kept where the weights are (no value read back)
        top = ax.max().astype(np.float64) if w.size else xp.zeros((), np.float64)
        top = xp.where(top == 0.0, 1.0, top)
        d = float(np.log2(1.5))
        n1 = xp.floor(xp.log2(top)) + (xp.log2(top) - xp.floor(xp.log2(top)) >= d)
        n2 = n1 + 1 - int(2 ** (self.args["num_bits"] - 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            b = xp.log2(ax)
            e = xp.clip(xp.floor(b) + (b - xp.floor(b) >= d), n2, n1)
        q = xp.where(w < 0, -1.0, 1.0) * xp.exp2(e)
        return xp.where(ax < xp.exp2(n2 - 1), 0.0, q).astype(w.dtype)

    # fixing weights happens once per forward: a recomputation runs the layer on the stored weights only
    def recompute(self, inputs, outputs) -> None:
        arrays = self._arrays_of(inputs)
        y = self._layer.compute(self.xp, arrays[0], arrays[1], *self._bias(arrays))
        outputs[0]._data._set_array(self._as_outputs(y)[0])

    def _compute_outputs(self, variables):
        arrays = self._arrays_of(variables)
        w, ind = self.quantize(self.xp, arrays)
        w = w.reshape(arrays[1].shape)
        _write_back(variables[1], w)
        # NNabla keeps the indicators as int32 once a forward has read them
        holder = variables[2] if type(variables[2]) is NdArray else variables[2]._data
        holder._set_array(self.xp.asarray(ind.reshape(holder.shape), dtype=np.int32))
        holder._written()
        return self._as_outputs(self._layer.compute(self.xp, arrays[0], w, *self._bias(arrays)))

    def grad(self, xp, xs, ys, gys, need):
        # the gradient reaches every weight, fixed or not (the next forward restores the fixed ones)
        bias = self._bias(xs)
        g = self._layer.grad(xp, [xs[0], xs[1], *bias], ys, gys, [need[0], need[1]] + [need[-1]] * len(bias))
        return (g[0], g[1], None) + tuple(g[2:])


_INQ_ARGS = {"num_bits": 4, "inq_iterations": (), "selection_algorithm": "largest_abs", "seed": -1}


@register
class INQAffine(_INQ):
    """y = x W + b with W quantized incrementally to powers of two (INQ)."""

    double_backward = False  # as in NNabla

    fname = "inq_affine"
    inputs_spec = ("x", "weight", "indicator_fixedweights", "bias?")
    args_spec = {"base_axis": 1, **_INQ_ARGS}


@register
class INQConvolution(_INQ):
    """Convolution with W quantized incrementally to powers of two (INQ), plus b."""

    double_backward = False  # as in NNabla

    fname = "inq_convolution"
    inputs_spec = ("x", "weight", "indicator_fixedweights", "bias?")
    args_spec = {**_CONV_ARGS, **_INQ_ARGS}
    inner = Convolution


# -- NNabla's Python wrappers --------------------------------------------------------------------------------------
def fixed_point_quantize(x, sign=True, n=8, delta=2**-4, quantize=True, ste_fine_grained=True, outputs=None):
    """Fixed-point quantization (``x`` itself when ``quantize`` is False)."""
    if not quantize:
        return x
    func = FixedPointQuantize(None, sign=sign, n=n, delta=delta, ste_fine_grained=ste_fine_grained)
    return apply(func, (x,), outputs=wrap_outputs((x,), outputs))


def pow2_quantize(x, sign=True, with_zero=True, n=8, m=1, quantize=True, ste_fine_grained=True, outputs=None):
    """Power-of-two quantization (``x`` itself when ``quantize`` is False)."""
    if not quantize:
        return x
    func = Pow2Quantize(None, sign=sign, with_zero=with_zero, n=n, m=m, ste_fine_grained=ste_fine_grained)
    return apply(func, (x,), outputs=wrap_outputs((x,), outputs))


def min_max_quantize(
    x,
    qr_min,
    qr_max,
    ql_min,
    ql_max,
    decay=0.999,
    x_min_max=False,
    ema=False,
    ste_fine_grained=True,
    eps=0.01,
    quantize=True,
    outputs=None,
):
    """Min-max quantization (``x`` itself when ``quantize`` is False)."""
    if not quantize:
        return x
    func = MinMaxQuantize(None, decay=decay, x_min_max=x_min_max, ema=ema, ste_fine_grained=ste_fine_grained, eps=eps)
    inputs = (x, qr_min, qr_max, ql_min, ql_max)
    return apply(func, inputs, outputs=wrap_outputs(inputs, outputs))


def quantize_linear(x, scale, zero_point, round_mode="HALF_AWAY_FROM_ZERO", narrow_range=False, dtype=np.int8):
    """Linear quantization to int8 or uint8 levels (values stored as float)."""
    codes = {np.dtype(np.int8): 1, np.dtype(np.uint8): 2}
    try:
        code = codes[np.dtype(dtype)]
    except (TypeError, KeyError):
        raise FunctionError(f"QuantizeLinear: dtype={dtype!r} must be numpy.int8 or numpy.uint8") from None
    func = QuantizeLinear(None, round_mode=round_mode, narrow_range=narrow_range, dtype=code)
    return apply(func, (x, scale, zero_point))


def prune(x, rate=0.9, n_outputs=-1, outputs=None):
    """Zero all but the largest (1 - rate) share of |x|."""
    return apply(Prune(None, rate=rate), (x,), outputs=wrap_outputs((x,), outputs))


PUBLIC = {
    "fixed_point_quantize": fixed_point_quantize,
    "pow2_quantize": pow2_quantize,
    "min_max_quantize": min_max_quantize,
    "quantize_linear": quantize_linear,
    "prune": prune,
}
