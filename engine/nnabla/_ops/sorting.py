"""Sorting and selection: Sort along an axis and TopKData per sample."""

from __future__ import annotations

import numpy as np

from ..function import Function, FunctionError, _Shaped, apply, register
from ._base import normalize_axis
from .reduction import _no_grad_index


def _argsort(xp, x, axis, descending):
    # stable, so equal values keep their order and the result does not depend on the backend
    return xp.argsort(-x if descending else x, axis=axis, kind="stable")


@register
class Sort(Function):
    """y = x sorted along ``axis`` (descending when ``reverse``); optionally the sorting indices too."""

    double_backward = False  # as in NNabla

    args_spec = {"axis": -1, "reverse": False, "with_index": False, "only_index": False}

    def init(self):
        if self.args["only_index"]:
            self.differentiable = False

    def output_shapes(self, shape):
        if not shape:
            raise FunctionError(f"Sort: input x must have at least one dimension, got shape {shape}")
        self.axis = normalize_axis(self, self.args["axis"], len(shape))
        if self.args["with_index"] and not self.args["only_index"]:
            return [shape, shape]
        return [shape]

    def compute(self, xp, x):
        index = _argsort(xp, x, self.axis, self.args["reverse"])
        if self.args["only_index"]:
            return index.astype(xp.uint64)
        y = xp.take_along_axis(x, index, self.axis)
        return (y, index.astype(xp.uint64)) if self.args["with_index"] else y

    def grad(self, xp, xs, ys, gys, need):
        if self.args["only_index"]:
            return (None,)
        index = _argsort(xp, xs[0], self.axis, self.args["reverse"])
        # y[i] = x[index[i]], so x[index[i]] receives gy[i]: a scatter through the permutation on numpy, and
        # elsewhere a gather through its inverse (a second sort)
        if xp is np:
            gx = np.empty_like(gys[0])
            np.put_along_axis(gx, index, gys[0], self.axis)
            return (gx,)
        position = xp.argsort(index, axis=self.axis)
        return (xp.take_along_axis(gys[0], position, self.axis),)


@register
class TopKData(Function):
    """The ``k`` largest (or smallest, or largest in magnitude) values of each sample (axes from ``base_axis``).

    ``reduce``: y holds the k values, largest first (shape (samples..., k)); otherwise y has x's shape with every
    other value set to 0, and, as in NNabla, its gradient passes to all of x unchanged.
    """

    double_backward = False  # as in NNabla

    fname = "top_k_data"
    args_spec = {"k": None, "abs": False, "reduce": True, "base_axis": 1, "largest": True, "with_index": False}
    grad_uses = ""  # backward reads the columns forward kept, not x (NNabla: grad_depends_input_data False)
    _kept = None

    def init(self):
        if self.args["k"] is None:
            raise FunctionError("TopKData: argument k is required")

    def output_shapes(self, shape):
        a = self.args
        base = normalize_axis(self, a["base_axis"], len(shape), "base_axis")
        sample = 1
        for n in shape[base:]:
            sample *= n
        if not 1 <= a["k"] <= sample:
            raise FunctionError(f"TopKData: k={a['k']} must be in [1, {sample}] (the sample size of x {shape})")
        if a["with_index"] and not a["reduce"]:
            raise FunctionError("TopKData: with_index=True needs reduce=True")
        self.base = base
        y_shape = tuple(shape[:base]) + (a["k"],) if a["reduce"] else shape
        return [y_shape, y_shape] if a["with_index"] else [y_shape]

    def _top(self, xp, x):
        """Samples as rows, and the column index of each row's top k (best first; equal values by column, NaN
        last: a stable sort's first k)."""
        rows = x.reshape(tuple(x.shape[: self.base]) + (-1,))
        key = xp.abs(rows) if self.args["abs"] else rows
        k, n, largest = self.args["k"], rows.shape[-1], self.args["largest"]
        if k < n and xp is np:
            # a partition finds k best columns without sorting the rest; they are a stable sort's first k unless
            # values equal to the k-th best lie outside them (or a NaN is among them): then the sort decides
            # (on a device, which sorts fast, the check would be a copy to the host: the sort always decides)
            flat = key.reshape(-1, n)
            part = xp.argpartition(flat, n - k if largest else k - 1, axis=-1)
            columns = part[:, n - k :] if largest else part[:, :k]
            values = xp.take_along_axis(flat, columns, -1)
            if largest:
                inside = flat >= values.min(axis=-1, keepdims=True)
            else:
                inside = flat <= values.max(axis=-1, keepdims=True)
            if not xp.isnan(values).any() and bool((inside.sum(axis=-1) == k).all()):
                columns = xp.sort(columns, axis=-1)  # (column order first: the sort by value below is stable)
                values = xp.take_along_axis(flat, columns, -1)
                best = xp.argsort(-values if largest else values, axis=-1, kind="stable")
                return rows, xp.take_along_axis(columns, best, -1).reshape(key.shape[:-1] + (k,))
        return rows, _argsort(xp, key, -1, largest)[..., :k]

    def compute(self, xp, x):
        rows, top = self._top(xp, x)
        self._kept = top  # backward's columns, as NNabla keeps its top-k indices (the plan then frees x)
        if self.args["reduce"]:
            values = xp.take_along_axis(rows, top, -1)
            return (values, top.astype(xp.uint64)) if self.args["with_index"] else values
        kept = xp.zeros(rows.size, bool)
        kept[_flat_columns(xp, top, rows.shape[-1])] = True
        return xp.where(kept.reshape(rows.shape), rows, 0).reshape(x.shape)

    def grad(self, xp, xs, ys, gys, need):
        x, gy = xs[0], gys[0]
        if not self.args["reduce"]:
            return (gy,)
        if isinstance(x, _Shaped):  # the plan's backward: the columns forward kept
            if self._kept is None:
                raise FunctionError("TopKData: backward needs a forward first (it keeps the top k's columns)")
            top = self._kept
        else:  # a gradient at given inputs (nn.grad): found again
            top = self._top(xp, x)[1]
        # each chosen column (distinct within a row) gets its gradient, every other column 0
        gx = xp.zeros(x.size, gy.dtype)
        gx[_flat_columns(xp, top, x.size // (top.size // top.shape[-1]))] = gy.reshape(-1)
        return (gx.reshape(x.shape),)


def _flat_columns(xp, top, n):
    """Flat positions in the samples' rows (of ``n`` columns) of each row's chosen columns ``top``."""
    per_row = top.reshape(-1, top.shape[-1])
    return (per_row + xp.arange(0, per_row.shape[0] * n, n)[:, None]).reshape(-1)


def sort(x, axis=-1, reverse=False, with_index=False, only_index=False):
    """Sort along ``axis``; ``with_index`` also returns the indices, ``only_index`` returns just them."""
    func = Sort(None, axis=axis, reverse=reverse, with_index=with_index, only_index=only_index)
    return _no_grad_index(apply(func, (x,)), 1)


def top_k_data(x, k, abs=False, reduce=True, base_axis=1, largest=True, with_index=False, n_outputs=-1, outputs=None):  # noqa: A002
    """The k largest values of each sample (NNabla's ``F.top_k_data``); ``with_index`` adds their indices."""
    func = TopKData(None, k=k, abs=abs, reduce=reduce, base_axis=base_axis, largest=largest, with_index=with_index)
    return _no_grad_index(apply(func, (x,), outputs=outputs, n_outputs=n_outputs), 1)


PUBLIC = {"sort": sort, "top_k_data": top_k_data}
