"""Selecting and moving elements: fill where a mask is set, indices of nonzero entries, insertion indices in
sorted rows, shifting with replicated or reflected borders; and the two small ones NNabla keeps beside them,
``bc_add2`` (Add2 that broadcasts) and ``clip_by_norm`` (composed)."""

from __future__ import annotations

import numpy as np

from ..function import Function, FunctionError, apply, register
from ._base import wrap_outputs
from .arithmetic import Add2
from .array import scatter_add_flat
from .indexing import _mask_rows


@register
class BoolFill(Function):
    """y = value where mask (broadcast to data's shape) is nonzero, else data; no gradient reaches the mask."""

    inputs_spec = ("data", "mask")
    args_spec = {"value": 0}
    keep_dtype = (1,)

    def output_shapes(self, ds, ms):
        if len(ms) > len(ds) or any(m not in (1, d) for m, d in zip(ms[::-1], ds[::-1])):
            raise FunctionError(f"BoolFill: mask of shape {ms} cannot be broadcast to data of shape {ds}")
        return [ds]

    def compute(self, xp, data, mask):
        return xp.where(mask != 0, data.dtype.type(self.args["value"]), data)

    def grad(self, xp, xs, ys, gys, need):
        return gys[0] * (xs[1] == 0), None


def bool_fill(data, mask, value=0, n_outputs=-1, outputs=None):
    """``value`` where ``mask`` is nonzero, else ``data`` (``outputs`` may name NdArrays to write into)."""
    inputs = (data, mask)
    return apply(BoolFill(None, value=value), inputs, outputs=wrap_outputs(inputs, outputs))


@register
class NonZero(Function):
    """y = the indices of x's nonzero entries, one row per axis (ONNX NonZero); the count is read from x's
    values when the graph is built."""

    fname = "nonzero"
    differentiable = False
    grad_uses = ""
    nnz = None

    def output_shapes(self, xs):
        if self.nnz is None:
            raise FunctionError("NonZero: the output size depends on x's values; build it with F.nonzero")
        return [(len(xs), self.nnz)]

    def compute(self, xp, x):
        _, flat = _mask_rows(xp, "NonZero", x, self.nnz)  # positions without a count read back from the device
        return xp.stack(xp.unravel_index(flat, x.shape)).astype(xp.uint64).reshape(x.ndim, self.nnz)


def nonzero(x, n_outputs=-1, outputs=None):
    """Indices of the nonzero entries of ``x``, shape (x.ndim, count)."""
    from .._array import NdArray

    func = NonZero(None)
    func.nnz = int(np.count_nonzero(x.data if isinstance(x, NdArray) else x.d))
    return apply(func, (x,), outputs=outputs)


@register
class SearchSorted(Function):
    """y[..., j] = where values[..., j] would be inserted into the sorted row sorted_sequence[...] (after equal
    entries with ``right``), as float."""

    fname = "searchsorted"
    inputs_spec = ("sorted_sequence", "values")
    args_spec = {"right": False}
    differentiable = False
    grad_uses = ""

    def output_shapes(self, ss, vs):
        if not ss:
            raise FunctionError(f"SearchSorted: sorted_sequence must have at least 1 dimension, got shape {ss}")
        if len(ss) != len(vs) or tuple(ss[:-1]) != tuple(vs[:-1]):
            raise FunctionError(
                f"SearchSorted: sorted_sequence of shape {ss} and values of shape {vs} must have the same shape "
                "but for the last axis"
            )
        return [vs]

    def compute(self, xp, seq, values):
        rows, points = seq[..., None, :], values[..., :, None]
        before = rows <= points if self.args["right"] else rows < points
        return before.sum(axis=-1).astype(seq.dtype)


def searchsorted(sorted_sequence, values, right=None, n_outputs=-1, outputs=None):
    """Insertion indices of ``values`` in the rows of ``sorted_sequence`` (``right=None`` means False)."""
    func = SearchSorted(None, right=bool(right))
    return apply(func, (sorted_sequence, values), outputs=outputs)


@register
class Shift(Function):
    """y[i] = x[i - shifts] per axis (shifts align with the trailing axes), borders replicated ('nearest') or
    mirrored ('reflect')."""

    double_backward = False  # as in NNabla

    args_spec = {"shifts": None, "border_mode": "nearest"}
    grad_uses = ""

    def init(self):
        if self.args["border_mode"] not in ("nearest", "reflect"):
            raise FunctionError(f"Shift: border_mode={self.args['border_mode']!r} must be 'nearest' or 'reflect'")

    def output_shapes(self, xs):
        shifts = tuple(int(s) for s in (self.args["shifts"] or ()))
        if len(shifts) > len(xs):
            raise FunctionError(f"Shift: {len(shifts)} shifts for input x of shape {xs} ({len(xs)} axes)")
        self._sources = [self._source(n, shifts, len(xs), d) for d, n in enumerate(xs)]
        return [xs]

    def _source(self, size, shifts, ndim, axis, xp=np):
        """The index each position of ``axis`` reads, made by ``xp`` (from the shape, not the data)."""
        k = len(shifts) - ndim + axis
        offset = -shifts[k] if k >= 0 else 0
        i = xp.arange(size) + offset
        if self.args["border_mode"] == "reflect":
            a = xp.abs(i + 2 * size) % (2 * size) if size > 1 else xp.zeros_like(i)
            return xp.where(a >= size, 2 * size - 1 - a, a)
        return xp.clip(i, 0, size - 1)

    def _moved(self):
        """(axis, source index per position) of the axes whose elements move (host arrays, from the shape)."""
        return [(axis, src) for axis, src in enumerate(self._sources) if (src != np.arange(src.size)).any()]

    def compute(self, xp, x):
        for axis, src in self._moved():
            offset = self._offset(axis)
            x = xp.take(x, self._source(x.shape[axis], (offset,), 1, 0, xp), axis=axis)
        return x

    def grad(self, xp, xs, ys, gys, need):
        g = gys[0]
        for axis, src in self._moved():
            index = self._source(src.size, (self._offset(axis),), 1, 0, xp)
            # each output position adds into the one it reads: a flat scatter-add along the axis
            moved = xp.moveaxis(g, axis, -1)
            rows = moved.reshape(-1, src.size)
            flat = (xp.arange(rows.shape[0])[:, None] * src.size + index[None, :]).reshape(-1)
            summed = scatter_add_flat(xp, flat, rows, rows.size).reshape(moved.shape)
            g = xp.moveaxis(summed, -1, axis)
        return (g,)

    def _offset(self, axis):
        shifts = tuple(int(s) for s in (self.args["shifts"] or ()))
        k = len(shifts) - len(self._sources) + axis
        return shifts[k] if k >= 0 else 0


def shift(x, shifts=None, border_mode="nearest", n_outputs=-1, outputs=None):
    """Shift the elements of ``x`` by ``shifts`` (default: no shift on every axis)."""
    if shifts is None:
        shifts = (0,) * len(x.shape)
    return apply(Shift(None, shifts=tuple(shifts), border_mode=border_mode), (x,), outputs=outputs)


@register
class BcAdd2(Add2):
    """y = x0 + x1, broadcasting axes of size 1 between inputs of the same number of dimensions."""

    double_backward = False  # as in NNabla

    def output_shapes(self, s0, s1):
        if len(s0) != len(s1):
            raise FunctionError(f"BcAdd2: inputs of shapes {s0} and {s1} must have the same number of dimensions")
        return super().output_shapes(s0, s1)


PUBLIC = {"bool_fill": bool_fill, "nonzero": nonzero, "searchsorted": searchsorted, "shift": shift}
