"""Detection: RoiAlign, NmsDetection2d, ONNXNonMaxSuppression and ONNXResize.

RoiAlign and ONNXResize are separable: along each spatial axis every output position is a fixed weighted sum of
input positions, applied with a matmul (backward applies the transposes). RoiAlign builds those (out, in) weight
matrices for all boxes at once where the boxes are (on the device under CUDA); ONNXResize's come from shapes and
arguments alone, so it builds them on the host once and keeps them. Non-maximum suppression is sequential by
nature and runs on the host, as NNabla's (its CUDA extension has no kernel for it): one explicit copy each way.
"""

from __future__ import annotations

import math

import numpy as np

from .._array import to_numpy
from ..function import REQUIRED, Function, FunctionError, apply, register
from ._base import NoGrad
from .array import kept_constant, scatter_add_flat


def _along(xp, x, axis, matrix):
    """Apply ``matrix`` (out, in) along ``axis`` of x."""
    moved = xp.moveaxis(x, axis, -1)
    return xp.moveaxis(xp.matmul(moved, matrix.T), -1, axis)


# -- RoiAlign ---------------------------------------------------------------------------------------------------------


def _roi_axis(xp, start, end, bins, ratio, size):
    """(K, bins, size): per box, the average bilinear weights of the sampling points in each bin along one axis.

    ``start`` and ``end`` (K,) are the boxes' float64 bounds. All boxes at once, on the array module of the boxes:
    with ``ratio`` > 0 every bin has that many points; otherwise ceil(bin size), of which only those within
    [-1, size] count, at most 2 * size + 3 consecutive ones (they are spaced by more than a half), so a window of
    2 * size + 4 from the first of them covers every bin without reading the boxes back.
    """
    step = (end - start) / bins
    origin = start[:, None] + xp.arange(bins)[None, :] * step[:, None]  # (K, bins)
    if ratio > 0:
        grid = xp.full(step.shape, float(ratio))
        k = xp.arange(ratio)[None, None, :]
        sub = step / ratio
    else:
        grid = xp.ceil(step)
        sub = step / xp.where(grid > 0, grid, 1)
        spacing = xp.where(sub > 0, sub, 1)[:, None]
        first = xp.maximum(xp.ceil((-1 - origin) / spacing - 0.5), 0)
        k = first[..., None] + xp.arange(2 * size + 4)
    f = origin[..., None] + (k + 0.5) * sub[:, None, None]  # (K, bins, points)
    used = (k < grid[:, None, None]) & (f >= -1) & (f <= size)
    f = xp.clip(f, 0.0, size - 1.0)
    lo = xp.floor(f)
    frac = f - lo
    lo = lo.astype(np.int64)
    hi = xp.minimum(lo + 1, size - 1)
    n = step.shape[0] * bins * size
    row = (xp.arange(step.shape[0])[:, None, None] * bins + xp.arange(bins)[None, :, None]) * size
    weights = scatter_add_flat(xp, row + lo, xp.where(used, 1 - frac, 0.0), n)
    weights = weights + scatter_add_flat(xp, row + hi, xp.where(used, frac, 0.0), n)
    return weights.reshape(step.shape[0], bins, size) / grid[:, None, None]


@register
class RoiAlign(Function):
    """Features of each box (b, x1, y1, x2, y2) pooled to ``output_size`` by averaging bilinear samples
    (``sampling_ratio`` per bin and axis, or ceil(bin size) when <= 0); ``spatial_scale`` is (y, x) as NNabla
    reads it. No gradient reaches the boxes, as in NNabla."""

    double_backward = False  # as in NNabla

    inputs_spec = ("input", "boxes")
    args_spec = {"output_size": None, "spatial_scale": (1.0, 1.0), "sampling_ratio": None, "channel_last": None}
    signature_defaults = {"output_size": REQUIRED}
    grad_uses = "x"

    def init(self):
        a = self.args
        a["sampling_ratio"] = -1 if a["sampling_ratio"] is None else int(a["sampling_ratio"])
        a["channel_last"] = bool(a["channel_last"])
        if a["output_size"] is None or len(a["output_size"]) != 2 or min(a["output_size"]) < 1:
            raise FunctionError(f"RoiAlign: output_size={a['output_size']} must be a positive (height, width)")
        if len(a["spatial_scale"]) != 2:
            raise FunctionError(f"RoiAlign: spatial_scale={a['spatial_scale']} must hold two values")
        a["output_size"] = tuple(int(v) for v in a["output_size"])
        a["spatial_scale"] = tuple(float(v) for v in a["spatial_scale"])

    def output_shapes(self, xs, bs):
        if len(xs) != 4:
            raise FunctionError(f"RoiAlign: input of shape {xs} must be 4-D")
        if len(bs) != 2 or bs[1] != 5:
            raise FunctionError(f"RoiAlign: boxes of shape {bs} must be (K, 5) rows of (b, x1, y1, x2, y2)")
        h, w = self.args["output_size"]
        if self.args["channel_last"]:
            return [(bs[0], h, w, xs[3])]
        return [(bs[0], xs[1], h, w)]

    def _plan(self, xp, x, boxes):
        """(sample index (K,), weights along y (K, H, rows), weights along x (K, W, cols)) of all boxes."""
        cl = self.args["channel_last"]
        n, rows, cols = x.shape[0], x.shape[1 if cl else 2], x.shape[2 if cl else 3]
        sy, sx = self.args["spatial_scale"]
        oh, ow = self.args["output_size"]
        ratio = self.args["sampling_ratio"]
        b = boxes.astype(np.float64)
        index = b[:, 0].astype(np.int64)
        if xp is np:  # on the host only: on the device the check would read the boxes back on every call
            bad = np.flatnonzero((index < 0) | (index >= n))
            if bad.size:
                k = int(bad[0])
                raise FunctionError(f"RoiAlign: box {k} has batch index {int(index[k])}, outside the {n} input samples")
        wy = _roi_axis(xp, b[:, 2] * sy - 0.5, b[:, 4] * sy - 0.5, oh, ratio, rows)
        wx = _roi_axis(xp, b[:, 1] * sx - 0.5, b[:, 3] * sx - 0.5, ow, ratio, cols)
        return index, wy.astype(x.dtype), wx.astype(x.dtype)

    def _channel_first(self, xp, a):
        return xp.moveaxis(a, -1, -3) if self.args["channel_last"] else a

    def _restore(self, xp, a):
        return xp.ascontiguousarray(xp.moveaxis(a, -3, -1)) if self.args["channel_last"] else a

    def compute(self, xp, x, boxes):
        xc = self._channel_first(xp, x)
        h, w = self.args["output_size"]
        index, wy, wx = self._plan(xp, x, boxes)
        out = xp.matmul(xp.matmul(wy[:, None], xc[index]), xp.swapaxes(wx, 1, 2)[:, None])  # (K, C, h, w)
        return self._restore(xp, out)

    def grad(self, xp, xs, ys, gys, need):
        x, boxes = xs
        if not need[0]:
            return None, None
        gy = self._channel_first(xp, gys[0])
        shape = self._channel_first(xp, x).shape
        index, wy, wx = self._plan(xp, x, boxes)
        per_box = xp.matmul(xp.matmul(xp.swapaxes(wy, 1, 2)[:, None], gy), wx[:, None])  # (K, C, H, W)
        per = math.prod(shape[1:])
        flat = index[:, None] * per + xp.arange(per)[None, :]
        gx = scatter_add_flat(xp, flat, per_box.reshape(per_box.shape[0], per), shape[0] * per)  # the boxes' samples
        return self._restore(xp, gx.reshape(shape)), None


# -- non-maximum suppression ---------------------------------------------------------------------------------------


def _iou_center(a, b):
    """IoU of boxes given as (x, y, w, h) centres and sizes; 0 when they do not overlap."""
    w = min(a[0] + a[2] / 2, b[0] + b[2] / 2) - max(a[0] - a[2] / 2, b[0] - b[2] / 2)
    h = min(a[1] + a[3] / 2, b[1] + b[3] / 2) - max(a[1] - a[3] / 2, b[1] - b[3] / 2)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _iou_corners(a, b):
    """IoU of boxes given as (y1, x1, y2, x2) corners in either order."""
    ay0, ay1 = sorted((a[0], a[2]))
    ax0, ax1 = sorted((a[1], a[3]))
    by0, by1 = sorted((b[0], b[2]))
    bx0, bx1 = sorted((b[1], b[3]))
    w = min(ax1, bx1) - max(ax0, bx0)
    h = min(ay1, by1) - max(ay0, by0)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter)


def _ranked(scores):
    """Indices by descending score; ties keep their order."""
    return np.argsort(-np.asarray(scores), kind="stable")


@register
class NmsDetection2d(NoGrad):
    """YOLO-style NMS on x (B, N, 5 + C) rows of (x, y, w, h, objectness, class probabilities): scores below
    ``thresh`` become 0, class scores are objectness * probability, and boxes overlapping a better one by IoU >
    ``nms`` are zeroed (per class, or by objectness for all classes with ``nms_per_class=False``)."""

    args_spec = {"thresh": None, "nms": None, "nms_per_class": None}

    def init(self):
        a = self.args
        a["thresh"] = 0.5 if a["thresh"] is None else float(a["thresh"])
        a["nms"] = 0.45 if a["nms"] is None else float(a["nms"])
        a["nms_per_class"] = True if a["nms_per_class"] is None else bool(a["nms_per_class"])

    def output_shapes(self, shape):
        if len(shape) != 3 or shape[2] <= 5:
            raise FunctionError(f"NmsDetection2d: x of shape {shape} must be (B, N, 5 + classes) with classes >= 1")
        return [shape]

    def compute(self, xp, x):
        thresh, limit = self.args["thresh"], self.args["nms"]
        y = to_numpy(x).astype(x.dtype, copy=True)  # sequential: on the host (one explicit copy), as NNabla's
        obj = np.where(y[..., 4] < thresh, 0, y[..., 4]).astype(y.dtype)
        y[..., 4] = obj
        cls = obj[..., None] * y[..., 5:]
        y[..., 5:] = np.where(cls < thresh, 0, cls)
        for b in range(y.shape[0]):
            if self.args["nms_per_class"]:
                for k in range(5, y.shape[2]):
                    order = _ranked(y[b, :, k])
                    for i, first in enumerate(order):
                        if y[b, first, k] == 0:
                            continue
                        for second in order[i + 1 :]:
                            if y[b, second, k] != 0 and _iou_center(y[b, first], y[b, second]) > limit:
                                y[b, second, k] = 0
            else:
                order = _ranked(y[b, :, 4])
                for i in range(len(order) - 1, -1, -1):
                    row = y[b, order[i]]
                    if row[4] == 0:
                        continue
                    if any(_iou_center(row, y[b, order[j]]) > limit for j in range(i)):
                        row[4:] = 0
        return xp.asarray(y)  # the explicit copy back of the host computation


@register
class ONNXNonMaxSuppression(NoGrad):
    """ONNX NonMaxSuppression: (M, 3) indices (batch, class, box) of the boxes kept per batch and class, best
    first, at most ``max_output_boxes_per_class`` each. As in NNabla the selection is made from the inputs' data
    when the graph is built (the output size depends on it) and forward returns it."""

    fname = "onnx_non_max_suppression"
    inputs_spec = ("boxes", "scores")
    args_spec = {
        "center_point_box": None,
        "max_output_boxes_per_class": None,
        "iou_threshold": None,
        "score_threshold": None,
    }
    keep_dtype = (0, 1)
    selected = None  # the (M, 3) selection, made by ``select`` when the graph is built

    def init(self):
        a = self.args
        for key, default, kind in (
            ("center_point_box", 0, int),
            ("max_output_boxes_per_class", 0, int),
            ("iou_threshold", 0.0, float),
            ("score_threshold", 0.0, float),
        ):
            a[key] = default if a[key] is None else kind(a[key])
        if a["center_point_box"] not in (0, 1):
            raise FunctionError(f"ONNXNonMaxSuppression: center_point_box={a['center_point_box']} must be 0 or 1")
        if a["max_output_boxes_per_class"] < 0:
            raise FunctionError(
                f"ONNXNonMaxSuppression: max_output_boxes_per_class={a['max_output_boxes_per_class']} "
                "must be non-negative"
            )

    def output_shapes(self, bs, ss):
        if len(bs) != 3 or bs[2] != 4:
            raise FunctionError(f"ONNXNonMaxSuppression: boxes of shape {bs} must be (B, N, 4)")
        if len(ss) != 3 or ss[0] != bs[0] or ss[2] != bs[1]:
            raise FunctionError(
                f"ONNXNonMaxSuppression: scores of shape {ss} must be (B, classes, N) for boxes of shape {bs}"
            )
        if self.selected is None:
            raise FunctionError(
                "ONNXNonMaxSuppression: the output size depends on the inputs' values; build it with "
                "F.onnx_non_max_suppression"
            )
        return [self.selected.shape]

    def select(self, boxes: np.ndarray, scores: np.ndarray) -> None:
        a = self.args
        iou = _iou_center if a["center_point_box"] else _iou_corners
        limit = a["max_output_boxes_per_class"]
        chosen = []
        for b in range(scores.shape[0] if limit else 0):
            for k in range(scores.shape[1]):
                s = scores[b, k]
                order = _ranked(s)
                alive = s >= a["score_threshold"]
                for i, first in enumerate(order):
                    if not alive[first]:
                        continue
                    for second in order[i + 1 :]:
                        if alive[second] and iou(boxes[b, first], boxes[b, second]) > a["iou_threshold"]:
                            alive[second] = False
                kept = [int(i) for i in order if alive[i]][:limit]
                chosen += [(b, k, i) for i in kept]
        self.selected = np.array(chosen, dtype=np.uint64).reshape(-1, 3)

    def compute(self, xp, boxes, scores):
        return kept_constant(self, "selected", xp, lambda: self.selected)  # made on the host at graph building


def onnx_non_max_suppression(
    boxes,
    scores,
    center_point_box=None,
    max_output_boxes_per_class=None,
    iou_threshold=None,
    score_threshold=None,
    n_outputs=-1,
    outputs=None,
):
    """ONNX-compatible NMS (NNabla's ``F.onnx_non_max_suppression``): selected (batch, class, box) indices."""
    func = ONNXNonMaxSuppression(
        None,
        center_point_box=center_point_box,
        max_output_boxes_per_class=max_output_boxes_per_class,
        iou_threshold=iou_threshold,
        score_threshold=score_threshold,
    )
    for name, v in (("boxes", boxes), ("scores", scores)):
        if not hasattr(v, "shape") or len(v.shape) != 3:
            raise FunctionError(f"ONNXNonMaxSuppression: {name} must be a 3-D Variable or NdArray")
    func.select(_values(boxes), _values(scores))
    return apply(func, (boxes, scores), outputs=outputs)


def _values(v) -> np.ndarray:
    """The current data of a Variable or NdArray, as float32 numpy."""
    arr = v.d if hasattr(v, "need_grad") else v.data
    return np.asarray(to_numpy(arr), np.float32)


# -- ONNXResize -------------------------------------------------------------------------------------------------------

_COORD_MODES = (
    "half_pixel",
    "pytorch_half_pixel",
    "align_corners",
    "asymmetric",
    "tf_half_pixel_for_nn",
    "tf_crop_and_resize",
)
_NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")


def _cubic(a, t):
    """Cubic convolution weights of the four taps around a fraction t (ONNX's formulas, coefficient a)."""
    near = lambda x: (a + 2) * x**3 - (a + 3) * x**2 + 1  # noqa: E731
    far = lambda x: a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a  # noqa: E731
    return np.array([far(1 + t), near(t), near(1 - t), far(2 - t)], dtype=np.float32)


@register
class ONNXResize(Function):
    """ONNX Resize of the last 1 to 3 axes whose scale is not 1 (nearest, linear or cubic, every coordinate
    transformation mode); NNabla has no backward for it."""

    double_backward = False  # as in NNabla

    fname = "onnx_resize"
    args_spec = {
        "roi": (),
        "scales": (),
        "sizes": (),
        "mode": "nearest",
        "coordinate_transformation_mode": "half_pixel",
        "cubic_coeff_a": None,
        "exclude_outside": None,
        "extrapolation_value": None,
        "nearest_mode": "round_prefer_floor",
    }
    grad_uses = ""

    def init(self):
        a = self.args
        a["cubic_coeff_a"] = -0.75 if a["cubic_coeff_a"] is None else float(a["cubic_coeff_a"])
        a["exclude_outside"] = 0 if a["exclude_outside"] is None else int(a["exclude_outside"])
        a["extrapolation_value"] = 0.0 if a["extrapolation_value"] is None else float(a["extrapolation_value"])
        a["roi"], a["scales"] = [float(v) for v in a["roi"]], [float(v) for v in a["scales"]]
        a["sizes"] = [int(v) for v in a["sizes"]]
        if a["coordinate_transformation_mode"] not in _COORD_MODES:
            raise FunctionError(
                f"ONNXResize: coordinate_transformation_mode={a['coordinate_transformation_mode']!r} is not one of "
                f"{_COORD_MODES}"
            )
        if a["mode"] not in ("nearest", "linear", "cubic"):
            raise FunctionError(f"ONNXResize: mode={a['mode']!r} is not 'nearest', 'linear' or 'cubic'")
        if a["nearest_mode"] not in _NEAREST_MODES:
            raise FunctionError(f"ONNXResize: nearest_mode={a['nearest_mode']!r} is not one of {_NEAREST_MODES}")
        if bool(a["sizes"]) == bool(a["scales"]):
            raise FunctionError("ONNXResize: exactly one of sizes and scales must be given")

    def output_shapes(self, shape):
        a = self.args
        n = len(shape)
        if a["sizes"]:
            if len(a["sizes"]) != n:
                raise FunctionError(f"ONNXResize: sizes={a['sizes']} must have one entry per axis of x {shape}")
            out = tuple(a["sizes"])
            scales = [np.float32(o) / np.float32(i) for o, i in zip(out, shape)]
        else:
            if len(a["scales"]) != n:
                raise FunctionError(f"ONNXResize: scales={a['scales']} must have one entry per axis of x {shape}")
            scales = [np.float32(s) for s in a["scales"]]
            out = tuple(int(np.floor(np.float32(i) * s)) for i, s in zip(shape, scales))
        outer = 0
        while outer < n and scales[outer] == 1:
            outer += 1
        if not 1 <= n - outer <= 3:
            raise FunctionError(
                f"ONNXResize: only 1-D, 2-D and 3-D resizing is implemented (x of shape {shape} to {out})"
            )
        if a["coordinate_transformation_mode"] == "tf_crop_and_resize":
            roi = a["roi"]
            if len(roi) != 2 * n:
                raise FunctionError(f"ONNXResize: roi={roi} must have {2 * n} values for x of shape {shape}")
            if any(roi[i] != 0 or roi[n + i] != 1 for i in range(outer)):
                raise FunctionError("ONNXResize: the roi of axes that are not resized must be (0.0, 1.0)")
        self.plan = (outer, scales)
        return [out]

    def _source(self, scale, o, size_out, size_in, axis):
        """The source coordinate of output index ``o`` along one axis (float32, as NNabla computes it)."""
        f32 = np.float32
        x, lo, li = f32(o), f32(size_out), f32(size_in)
        mode = self.args["coordinate_transformation_mode"]
        if mode == "half_pixel":
            v = (x + f32(0.5)) / scale - f32(0.5)
        elif mode == "pytorch_half_pixel":
            v = (x + f32(0.5)) / scale - f32(0.5) if lo > 1 else f32(0)
        elif mode == "align_corners":
            v = f32(0) if lo == 1 else x * (li - 1) / (lo - 1)
        elif mode == "asymmetric":
            v = x / scale
        elif mode == "tf_half_pixel_for_nn":
            v = (x + f32(0.5)) / scale
        else:
            n = len(self.args["roi"]) // 2  # roi holds all starts, then all ends
            start, end = f32(self.args["roi"][axis]), f32(self.args["roi"][n + axis])
            if lo > 1:
                v = start * (li - 1) + x * (end - start) * (li - 1) / (lo - 1)
            else:
                v = f32(0.5) * (start + end) * (li - 1)
        return x if scale == 1 else f32(v)

    def _nearest(self, f):
        mode = self.args["nearest_mode"]
        if mode == "floor":
            return int(np.floor(f))
        if mode == "ceil":
            return int(np.ceil(f))
        rounded = int(np.sign(f) * np.floor(abs(f) + 0.5))
        if mode == "round_prefer_floor" and f == np.floor(f) + 0.5:
            return int(np.floor(f))
        return rounded

    def _axis_matrix(self, axis, size_in, size_out, scale):
        """(out, in) weights along one axis, and the outputs whose source is outside (tf_crop_and_resize)."""
        m = np.zeros((size_out, size_in), dtype=np.float64)
        outside = np.zeros(size_out, dtype=bool)
        clamp = lambda i: min(max(i, 0), size_in - 1)  # noqa: E731
        mode = self.args["mode"]
        for o in range(size_out):
            f = self._source(scale, o, size_out, size_in, axis)
            outside[o] = f < 0 or f > size_in - 1
            if mode == "nearest":
                m[o, clamp(self._nearest(f))] = 1
            elif mode == "linear":
                base = int(np.floor(f))
                frac = np.float32(f - np.float32(clamp(base)))
                m[o, clamp(base)] += 1 - frac
                m[o, clamp(base + 1)] += frac
            else:
                base = int(np.floor(f))
                c = _cubic(np.float32(self.args["cubic_coeff_a"]), np.float32(f - np.floor(f)))
                taps = [base - 1, base, base + 1, base + 2]
                if self.args["exclude_outside"]:
                    c = np.where([0 <= t < size_in for t in taps], c, 0)
                    c = c / c.sum()
                for t, w in zip(taps, c):
                    m[o, clamp(t)] += w
        return m, outside

    def compute(self, xp, x):
        outer, scales = self.plan
        out_shape = self.output_shapes(x.shape)[0]
        y = x
        outside = np.zeros(out_shape[outer:], dtype=bool)
        for k, axis in enumerate(range(outer, x.ndim)):
            m, off = self._axis_matrix(axis, x.shape[axis], out_shape[axis], scales[axis])
            key = ("weights", axis, x.shape[axis], np.dtype(x.dtype))  # from shapes and arguments: made once
            y = _along(xp, y, axis, kept_constant(self, key, xp, lambda: m.astype(x.dtype)))
            shape = [1] * (x.ndim - outer)
            shape[k] = -1
            outside = outside | off.reshape(shape)
        if self.args["coordinate_transformation_mode"] == "tf_crop_and_resize" and outside.any():
            mask = kept_constant(self, ("outside", x.shape), xp, lambda: outside)
            y = xp.where(mask, x.dtype.type(self.args["extrapolation_value"]), y)
        return xp.ascontiguousarray(y)

    def grad(self, xp, xs, ys, gys, need):
        raise FunctionError("ONNXResize: backward is not implemented (NNabla has none)")


PUBLIC = {"onnx_non_max_suppression": onnx_non_max_suppression}
