"""Indexing: gather and scatter by index arrays or boolean masks, and ``x[key]`` on Variables and NdArrays."""

from __future__ import annotations

import numbers

import numpy as np

from .._array import NdArray
from ..function import Function, FunctionError, FunctionIndexError, apply, register
from .array import Reshape, Stack, scatter_add_flat, scatter_add_in_order
from .array import slice as slice_


def _prod(shape):
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _strides(shape):
    return [_prod(shape[k + 1 :]) for k in range(len(shape))]


def _check_range(xp, func, idx, low, high, what):
    """Refuse indices outside [low, high), on the host: on the device the check would read the indices back on every
    call (NNabla's CUDA kernels do not check either)."""
    if xp is np and idx.size and bool(xp.any((idx < low) | (idx >= high))):
        bad = idx[(idx < low) | (idx >= high)].reshape(-1)[:1]
        raise FunctionIndexError(f"{func}: {what} index {int(bad[0])} is out of range [{low}, {high})")


class FlatGather(Function):
    """y = source.flat[index] for a flat index per output element; backward adds back where reads repeat, in the
    outputs' order and the gradient's dtype, as NNabla 1.36's loops do (checked for Gather, GatherNd, Embed)."""

    source = 0
    grad_uses = "x"

    def flat_index(self, xp, xs):
        raise NotImplementedError

    def compute(self, xp, *xs):
        return xs[self.source].reshape(-1)[self.flat_index(xp, xs)]

    def grad(self, xp, xs, ys, gys, need):
        out = [None] * len(xs)
        src = xs[self.source]
        if need[self.source]:
            flat = self.flat_index(xp, xs)
            out[self.source] = scatter_add_in_order(xp, flat, gys[0], src.size).reshape(src.shape)
        return tuple(out)


@register
class Gather(FlatGather):
    """y = x taken at ``Indices`` along ``axis``; the first ``batch_dims`` axes of x and Indices are paired."""

    double_backward = False  # as in NNabla

    inputs_spec = ("x", "Indices")
    args_spec = {"axis": 0, "batch_dims": 0}
    signature_defaults = {"axis": None, "batch_dims": None}
    keep_dtype = (1,)

    def output_shapes(self, xs, ishape):
        bd = self.args["batch_dims"]
        self.axis = axis = self._axis(len(xs))
        if not 0 <= bd <= min(len(xs), len(ishape)) or axis < bd:
            raise FunctionError(
                f"Gather: batch_dims={bd} must be within the axes of x of shape {xs} and Indices of shape "
                f"{ishape}, and not above axis={axis}"
            )
        if tuple(xs[:bd]) != tuple(ishape[:bd]):
            raise FunctionError(
                f"Gather: the first batch_dims={bd} axes of x of shape {xs} and Indices of shape {ishape} differ"
            )
        self._xs, self._is = xs, ishape
        return [tuple(xs[:axis]) + tuple(ishape[bd:]) + tuple(xs[axis + 1 :])]

    def _axis(self, ndim):
        axis = self.args["axis"]
        if not -ndim <= axis < max(ndim, 1):
            raise FunctionError(f"Gather: axis={axis} is out of range for x with {ndim} dimension(s)")
        return axis % ndim

    def flat_index(self, xp, xs):
        xshape, ishape, bd, axis = self._xs, self._is, self.args["batch_dims"], self.axis
        b, lead, n, inner = _prod(xshape[:bd]), _prod(xshape[bd:axis]), xshape[axis], _prod(xshape[axis + 1 :])
        idx = xs[1].astype(np.int64).reshape(b, 1, _prod(ishape[bd:]), 1)
        _check_range(xp, "Gather", idx, 0, n, "Indices")
        rows = (xp.arange(b).reshape(b, 1, 1, 1) * lead + xp.arange(lead).reshape(1, lead, 1, 1)) * n
        flat = (rows + idx) * inner + xp.arange(inner).reshape(1, 1, 1, inner)
        return flat.reshape(self.output_shapes(xshape, ishape)[0])


def _nd_offsets(xp, func, idx, shape):
    """Flat offsets into ``shape`` for the index columns ``idx`` of shape (M, ...): one row of the slice each."""
    m = idx.shape[0]
    idx = idx.astype(np.int64).reshape(m, _prod(idx.shape[1:]))
    strides = _strides(shape)
    offsets = xp.zeros(idx.shape[1], dtype=np.int64)
    for axis in range(m):  # M is at most x's ndim: sizes and strides stay host ints
        row, size = idx[axis], shape[axis]
        if xp is np and row.size and bool(xp.any((row < -size) | (row >= size))):  # host only, as _check_range
            raise FunctionIndexError(f"{func}: an index for axis {axis} is out of range for shape {tuple(shape)}")
        offsets = offsets + xp.where(row < 0, row + size, row) * strides[axis]
    inner = _prod(shape[m:])
    return offsets.reshape(-1, 1) + xp.arange(inner).reshape(1, inner)


@register
class GatherNd(FlatGather):
    """y[i...] = x[indices[:, i...]]: each column of ``indices`` (M, ...) picks an element or slice of x."""

    linear_inputs = (0,)

    inputs_spec = ("x", "indices")
    keep_dtype = (1,)

    def output_shapes(self, xs, ishape):
        if len(ishape) < 2:
            raise FunctionError(f"GatherNd: indices of shape {ishape} must have at least 2 dimensions")
        if ishape[0] > len(xs):
            raise FunctionError(f"GatherNd: indices of shape {ishape} index more axes than x of shape {xs} has")
        self._out = tuple(ishape[1:]) + tuple(xs[ishape[0] :])
        return [self._out]

    def flat_index(self, xp, xs):
        return _nd_offsets(xp, "GatherNd", xs[1], xs[0].shape).reshape(self._out)


@register
class ScatterNd(Function):
    """y = zeros of ``shape`` (or a copy of ``out``) with ``data`` written (or added) at ``indices`` (M, ...)."""

    linear_inputs = (0, 2)

    inputs_spec = ("data", "indices", "out?")
    args_spec = {"shape": None, "add": False}
    keep_dtype = (1,)

    def output_shapes(self, ds, ishape, os=None):
        shape = tuple(int(d) for d in (self.args["shape"] if self.args["shape"] is not None else os or ()))
        if len(ishape) < 2:
            raise FunctionError(f"ScatterNd: indices of shape {ishape} must have at least 2 dimensions")
        m, k = ishape[0], len(ishape) - 1
        expected = tuple(ishape[1:]) + shape[m:]
        if m > len(shape) or tuple(ds) != expected:
            raise FunctionError(
                f"ScatterNd: data of shape {ds} does not fit indices of shape {ishape} into shape={shape} "
                f"(data must have shape {expected} with {k} index axes)"
            )
        if os is not None and tuple(os) != shape:
            raise FunctionError(f"ScatterNd: out of shape {os} differs from shape={shape}")
        self._shape = shape
        return [shape]

    def compute(self, xp, data, idx, out=None):
        y = out.copy() if out is not None else xp.zeros(self._shape, data.dtype)
        flat = _nd_offsets(xp, "ScatterNd", idx, self._shape).reshape(-1)
        if self.args["add"]:
            y += scatter_add_flat(xp, flat, data, y.size).reshape(y.shape)
        else:
            y.reshape(-1)[flat] = data.reshape(-1)
        return y

    def grad(self, xp, xs, ys, gys, need):
        gy = gys[0]
        flat = _nd_offsets(xp, "ScatterNd", xs[1], self._shape).reshape(-1)
        gdata = gy.reshape(-1)[flat].reshape(xs[0].shape) if need[0] else None
        if len(xs) < 3:
            return gdata, None
        gout = None
        if need[2]:
            gout = gy.copy()
            if not self.args["add"]:  # overwritten elements of out do not reach y
                gout.reshape(-1)[flat] = 0
        return gdata, None, gout


@register
class ScatterAdd(Function):
    """y = x0 with x1 added along ``axis`` at the positions ``indices`` gives (the other axes index alike)."""

    double_backward = False  # as in NNabla

    inputs_spec = ("x0", "indices", "x1")
    args_spec = {"axis": 0}
    keep_dtype = (1,)

    def output_shapes(self, s0, si, s1):
        if not len(s0) == len(si) == len(s1):
            raise FunctionError(
                f"ScatterAdd: x0 of shape {s0}, indices of shape {si} and x1 of shape {s1} must have the same ndim"
            )
        axis = self.args["axis"]
        if not s0:
            raise FunctionError(f"ScatterAdd: x0 must have at least 1 dimension, got shape {s0}")
        if not -len(s0) <= axis < max(len(s0), 1):
            raise FunctionError(f"ScatterAdd: axis={axis} is out of range for x0 of shape {s0}")
        self.axis = axis % len(s0) if s0 else 0
        for d, n in enumerate(si):
            if (d != self.axis and n > s0[d]) or n > s1[d]:
                raise FunctionError(
                    f"ScatterAdd: indices of shape {si} exceed x0 of shape {s0} or x1 of shape {s1} on axis {d}"
                )
        self._shapes = (s0, si, s1)
        return [s0]

    def _positions(self, xp, idx):
        s0, si, s1 = self._shapes
        idx = idx.astype(np.int64)
        _check_range(xp, "ScatterAdd", idx, 0, s0[self.axis], "indices")
        grid = xp.indices(si)
        dst = sum((idx if d == self.axis else grid[d]) * st for d, st in enumerate(_strides(s0)))
        src = sum(grid[d] * st for d, st in enumerate(_strides(s1)))
        return dst.reshape(-1), src.reshape(-1)

    def compute(self, xp, x0, idx, x1):
        dst, src = self._positions(xp, idx)
        return x0 + scatter_add_flat(xp, dst, x1.reshape(-1)[src], x0.size).reshape(x0.shape)

    def grad(self, xp, xs, ys, gys, need):
        gy = gys[0]
        g1 = None
        if need[2]:
            dst, src = self._positions(xp, xs[1])
            g1 = xp.zeros(xs[2].size, gy.dtype)
            g1[src] = gy.reshape(-1)[dst]
            g1 = g1.reshape(xs[2].shape)
        return (gy if need[0] else None), None, g1


def _mask_rows(xp, func, mask, count):
    """(flat mask as booleans, the positions of its ``count`` nonzero entries), ``count`` known from graph building.

    The positions come from a cumulative sum, not from boolean indexing, whose size the device would have to report
    back on every call; for the same reason the count is checked against the mask's values on the host only.
    """
    m = mask.reshape(-1) != 0
    if xp is np:
        found = int(m.sum())
        if found != count:
            raise FunctionError(f"{func}: the mask now has {found} nonzero entries, the graph was built for {count}")
    return m, mask_positions(xp, m, count)


def mask_positions(xp, m, count):
    """The flat positions of the ``count`` set entries of the boolean array ``m``, in order, by a cumulative sum."""
    m = m.reshape(-1)
    rows = xp.zeros(count + 1, dtype=np.int64)  # one spare slot takes the writes of the unset entries
    rows[xp.where(m, xp.minimum(xp.cumsum(m) - 1, count), count)] = xp.arange(m.size)
    return rows[:count]


@register
class BoolGather(Function):
    """output = the entries (or sub-arrays) of input where ``mask`` (input's leading shape) is nonzero."""

    linear_inputs = (0,)

    inputs_spec = ("input", "mask")
    keep_dtype = (1,)

    nnz = None  # the mask's count of nonzeros, read when the graph is built

    def output_shapes(self, gs, ms):
        if len(ms) > len(gs) or tuple(gs[: len(ms)]) != tuple(ms):
            raise FunctionError(f"BoolGather: mask of shape {ms} must be the leading part of input's shape {gs}")
        if self.nnz is None:
            raise FunctionError("BoolGather: the output size depends on the mask's values; build it with F.bool_gather")
        self._rest = _prod(gs[len(ms) :])
        return [(self.nnz,) if len(gs) == len(ms) else (self.nnz, self._rest)]

    def compute(self, xp, g, mask):
        m, rows = _mask_rows(xp, "BoolGather", mask, self.nnz)
        return g.reshape(m.size, -1)[rows].reshape((self.nnz,) + ((self._rest,) if g.ndim > mask.ndim else ()))

    def grad(self, xp, xs, ys, gys, need):
        g, mask = xs
        m, rows = _mask_rows(xp, "BoolGather", mask, self.nnz)
        gx = xp.zeros((m.size, self._rest), gys[0].dtype)
        gx[rows] = gys[0].reshape(self.nnz, self._rest)
        return gx.reshape(g.shape), None


@register
class BoolScatter(Function):
    """y = zeros of mask.shape + input.shape[1:] (or a copy of ``output``) with input's rows put where mask is set."""

    linear_inputs = (0, 2)

    inputs_spec = ("input", "mask", "output?")
    keep_dtype = (1,)

    def output_shapes(self, ss, ms, os=None):
        if not ss:
            raise FunctionError("BoolScatter: input must have at least one axis (the gathered entries)")
        out = tuple(ms) + tuple(ss[1:])
        if os is not None and tuple(os) != out:
            raise FunctionError(f"BoolScatter: output of shape {os} differs from mask.shape + input.shape[1:] = {out}")
        return [out]

    def compute(self, xp, s, mask, out=None):
        m, rows = _mask_rows(xp, "BoolScatter", mask, s.shape[0])
        y = out.copy() if out is not None else xp.zeros(mask.shape + s.shape[1:], s.dtype)
        rest = _prod(s.shape[1:])  # explicit: a zero-size mask leaves -1 undefined
        y.reshape(m.size, rest)[rows] = s.reshape(s.shape[0], rest)
        return y

    def grad(self, xp, xs, ys, gys, need):
        s, mask = xs[0], xs[1]
        m, rows = _mask_rows(xp, "BoolScatter", mask, s.shape[0])
        gy = gys[0].reshape(m.size, _prod(s.shape[1:]))
        gs = gy[rows].reshape(s.shape) if need[0] else None
        if len(xs) < 3:
            return gs, None
        gout = (gy * (~m)[:, None]).reshape(xs[2].shape) if need[2] else None
        return gs, None, gout


# -- NNabla's hand-written wrappers ---------------------------------------------------------------------------------


def _index_input(indices, like):
    """Index data as an NdArray (imperative ``like``) or a Variable (graph), as NNabla accepts lists and arrays."""
    from .._variable import Variable

    if isinstance(indices, (Variable, NdArray)):
        return indices
    arr = np.asarray(indices)
    if not np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.int64)
    return NdArray.from_numpy_array(arr) if isinstance(like, NdArray) else Variable.from_numpy_array(arr)


def gather_nd(data, indices):
    """Elements or slices of ``data`` picked by the columns of ``indices`` (M, ...)."""
    return apply(GatherNd(None), (data, _index_input(indices, data)))


def scatter_nd(data, indices, shape=None, out=None, add=False):
    """``data`` written (or added) into a new array of ``shape``, or into a copy of ``out``, at ``indices``."""
    if shape is None and out is None:
        raise TypeError("One of `shape` or `out` argument must be supplied.")
    if shape is not None and out is not None:
        raise TypeError("Only one of `shape` or `out` argument may be used.")
    inputs = (data, _index_input(indices, data))
    if out is not None:
        shape = out.shape
        inputs += (out,)
    y = apply(ScatterNd(None, shape=[int(d) for d in shape], add=add), inputs)
    if isinstance(out, NdArray):  # NNabla writes into an NdArray ``out`` in place
        out.copy_from(y)
        return out
    return y


def scatter_add(x0, indices, x1, axis=None):
    """A copy of x0 with x1 added at ``indices`` along ``axis`` (default 0)."""
    return apply(ScatterAdd(None, axis=0 if axis is None else axis), (x0, indices, x1))


def bool_gather(input, mask, n_outputs=-1, outputs=None):  # noqa: A002 - NNabla's name
    """The entries of ``input`` where ``mask`` is nonzero (the mask's values fix the output size now)."""
    func = BoolGather(None)
    values = mask.data if isinstance(mask, NdArray) else mask.d
    func.nnz = int(np.count_nonzero(values))
    return apply(func, (input, mask), outputs=outputs, n_outputs=n_outputs)


def _is_bool(k):
    from .._variable import Variable

    if isinstance(k, np.ndarray):
        return k.dtype == bool
    if isinstance(k, NdArray):
        return k.dtype == np.bool_
    if isinstance(k, Variable):
        return k.data.dtype == np.bool_
    return isinstance(k, (list, tuple)) and len(k) > 0 and all(isinstance(v, (bool, np.bool_)) for v in k)


def _basic_getitem(x, key):
    """Integers, slices, None and Ellipsis: one Slice, then a Reshape where axes are dropped or added."""
    real = [k for k in key if k is not None and k is not Ellipsis]
    if sum(k is Ellipsis for k in key) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if len(real) > x.ndim:
        raise IndexError(f"too many indices for {x.ndim}-D array")
    fill = [slice(None)] * (x.ndim - len(real))
    if Ellipsis in key:
        pos = key.index(Ellipsis)
        key = key[:pos] + fill + key[pos + 1 :]
    else:
        key = key + fill
    start, stop, step, axis = [], [], [], 0
    for k in key:
        if k is None:
            continue
        if isinstance(k, slice):
            start.append(k.start)
            stop.append(k.stop)
            step.append(k.step)
        else:
            size, i = x.shape[axis], int(k)
            if not -size <= i < size:
                raise IndexError(f"index {i} is out of bounds for axis {axis} with size {size}")
            start.append(i % size)
            stop.append(i % size + 1)
            step.append(1)
        axis += 1
    y = slice_(x, start, stop, step)
    shape, axis = [], 0
    for k in key:
        if k is None:
            shape.append(1)
            continue
        if isinstance(k, slice):
            shape.append(y.shape[axis])
        axis += 1
    if tuple(shape) != y.shape:
        y = apply(Reshape(None, shape=tuple(shape)), (y,))
    return y


def _advanced_getitem(x, key):
    """Integer arrays (lists, numpy arrays, Variables) or one boolean mask: a GatherNd node."""
    from .._variable import Variable

    idx = [k for k in key if k is not None]
    if len(idx) == 1 and _is_bool(idx[0]):
        m = idx[0]
        values = m.data if isinstance(m, NdArray) else (m.d if isinstance(m, Variable) else np.asarray(m))
        y = gather_nd(x, np.vstack(np.nonzero(values)))
    elif all(isinstance(k, (Variable, NdArray)) for k in idx):
        if isinstance(x, NdArray):  # imperative: index with the values the Variables hold now
            idx = [k.data if isinstance(k, Variable) else k for k in idx]
        y = gather_nd(x, apply(Stack(None, axis=0), tuple(idx)))
    elif all(isinstance(k, (numbers.Integral, tuple, list, np.ndarray)) for k in idx):
        y = gather_nd(x, np.stack(np.broadcast_arrays(*[np.asarray(k) for k in idx])))
    else:
        raise NotImplementedError(f"mixed advanced indexing: {', '.join(repr(k) for k in key)}")
    newaxes = [k is None for k in key]
    if any(newaxes):
        first = newaxes.index(False)
        shape = [1] * first + [y.shape[0]] + [1] * sum(newaxes[first:]) + list(y.shape[1:])
        y = apply(Reshape(None, shape=tuple(shape)), (y,))
    return y


def _getitem(x, key):
    """``x[key]`` for a Variable or NdArray, with numpy's basic and (integer or boolean) advanced indexing."""
    from .._variable import Variable

    arrays = (list, np.ndarray, NdArray, Variable)
    if isinstance(key, arrays):
        return _advanced_getitem(x, [key])
    if isinstance(key, (slice, numbers.Integral, type(Ellipsis), type(None))):
        return _basic_getitem(x, [key])
    if isinstance(key, tuple):
        if any(isinstance(k, arrays + (tuple,)) for k in key):
            return _advanced_getitem(x, list(key))
        return _basic_getitem(x, list(key))
    raise TypeError(f"invalid index {key!r}")


PUBLIC = {
    "gather_nd": gather_nd,
    "scatter_nd": scatter_nd,
    "scatter_add": scatter_add,
    "bool_gather": bool_gather,
    "_getitem": _getitem,
}
