"""Shared shapes of ops: elementwise unary, broadcasting binary, scalar-argument, and the helpers they use."""

from __future__ import annotations

import numpy as np

from ..function import Function, FunctionError, FunctionTypeError, keeps_shape


def unbroadcast(xp, g, shape):
    """Sum ``g`` down to ``shape`` (the reverse of numpy broadcasting)."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


_SAME_SIZE_INT = {2: np.int16, 4: np.int32, 8: np.int64}


def _all_ones_where(xp, cond, ints):
    """An integer array of dtype ``ints``: every bit set where ``cond``, none elsewhere."""
    if xp is np:  # (one pass: -1 or 0 made as it is cast)
        return np.negative(cond.view(np.int8), dtype=ints, casting="unsafe")
    keep = cond.view(xp.uint8).astype(ints)
    keep *= -1
    return keep


def where_else_zero(xp, cond, g, out=None):
    """``where(cond, g, 0)`` for a floating ``g``: g's values (NaN and inf too) where ``cond``, +0.0 elsewhere;
    written into ``out`` (an array of g's dtype and shape, a strided view too) where given.

    Done on the bits (g AND an all-ones or all-zeros mask), with no branch per element: numpy's ``where``
    mispredicts on a random mask, as a ReLU's is, and runs about nine times slower on an activation-sized array
    (and, unlike ``cond * g``, no -0.0 from a negative g nor NaN from an infinite one)."""
    ints = _SAME_SIZE_INT.get(g.dtype.itemsize) if g.dtype.kind == "f" and g.ndim else None
    if ints is None or cond.dtype != bool:  # (and 0-d arrays, whose arithmetic gives numpy scalars)
        if out is None:
            return xp.where(cond, g, 0)
        out[...] = xp.where(cond, g, 0)
        return out
    keep = _all_ones_where(xp, cond, ints)
    if out is not None:
        xp.bitwise_and(g.view(ints), keep, out=out.view(ints))
        return out
    return xp.bitwise_and(g.view(ints), keep, out=keep if keep.shape == g.shape else None).view(g.dtype)


def select(xp, cond, a, b):
    """``where(cond, a, b)`` for floating ``a`` and ``b`` of one dtype and cond's shape: a's bits where ``cond``,
    b's elsewhere (NaN payloads and signed zeros included), on the bits as ``where_else_zero``: b XOR ((a XOR b)
    AND an all-ones or all-zeros mask), about five times faster than numpy's ``where`` on a random mask. Any other
    operands (a scalar, broadcasting, integers) go to ``where``."""
    arrays = type(a) is type(b) and hasattr(a, "view")  # (np.dtype(None) is float64: compare dtypes of arrays only)
    ints = _SAME_SIZE_INT.get(a.dtype.itemsize) if arrays and a.dtype.kind == "f" and a.ndim else None
    if ints is None or b.dtype != a.dtype or cond.dtype != bool or not (cond.shape == a.shape == b.shape):
        return xp.where(cond, a, b)
    keep = _all_ones_where(xp, cond, ints)
    bits = b.view(ints)
    out = xp.bitwise_xor(a.view(ints), bits)
    out &= keep
    out ^= bits
    return out.view(a.dtype)


def negated_where(xp, cond, g):
    """``where(cond, -g, g)`` for a floating ``g`` of cond's shape, on the bits: g XOR the sign bit where ``cond``
    (negation flips only the sign bit, NaN's too), three passes where ``select`` takes six."""
    ints = _SAME_SIZE_INT.get(g.dtype.itemsize) if g.dtype.kind == "f" and g.ndim else None
    if ints is None or cond.dtype != bool or cond.shape != g.shape:
        return xp.where(cond, -g, g)
    flip = cond.view(xp.uint8).astype(ints)
    flip <<= 8 * g.dtype.itemsize - 1  # 1 -> the sign bit alone
    return xp.bitwise_xor(g.view(ints), flip, out=flip).view(g.dtype)


def in_memory_order(xp, strides, shape, dtype, fill=None):
    """A new array of ``shape`` laid out in the memory order that ``strides`` give (an array's: the largest stride
    outermost), so that a result keeps its input's layout (a channel-first view of channel-last memory stays
    channel-last); filled with ``fill``, or left empty."""
    order = sorted(range(len(shape)), key=lambda d: -strides[d])
    laid = [shape[d] for d in order]
    a = xp.empty(laid, dtype) if fill is None else xp.full(laid, fill, dtype)
    return a.transpose([order.index(d) for d in range(len(shape))])


def memory_flat(xp, a):
    """``a``'s elements as a 1-D view in their memory order, where they fill one block of memory in some order of
    the axes (C, Fortran, a transposed layout); else None."""
    if a.flags.c_contiguous:
        return a.reshape(-1)
    order = sorted(range(a.ndim), key=lambda d: -a.strides[d])
    moved = a.transpose(order)
    return moved.reshape(-1) if moved.flags.c_contiguous else None


SCALAR_ROW = 4096  # elements of the row a scalar is widened to (16 KiB in float32: stays in the first cache)
_scalar_rows = {}


def extreme(xp, ufunc, a, value):
    """``ufunc(a, value)`` for ``ufunc`` one of numpy's maximum, minimum, fmax and fmin, and a Python scalar.

    numpy runs these four on a float32 array and a scalar one element at a time: two to five times slower than
    against an array (timed on AVX2 and AVX-512 machines, 64 Ki elements: fmax 88 against 17 microseconds). On
    numpy, a float32 ``a`` whose elements fill one block of memory is taken as rows of ``SCALAR_ROW`` elements
    against one row holding ``value`` (broadcast down the rows), the few that are left against the scalar; the
    result is laid out as ``a`` and has the same bits (the same operation on the same pairs, ``a`` first). A numpy
    scalar ``value`` (whose own dtype would decide the result's) goes to numpy as is."""
    if xp is not np or a.dtype != np.float32 or a.size < 2 * SCALAR_ROW or type(value) not in (int, float):
        return ufunc(a, value)
    flat = memory_flat(xp, a)
    if flat is None:
        return ufunc(a, value)
    out = xp.empty_like(a)  # (a dense array's layout: empty_like keeps its order)
    flat_out = memory_flat(xp, out)
    key = np.float32(value).tobytes()  # (the value as the operation sees it: -0.0 and NaN kept apart)
    row = _scalar_rows.get(key)
    if row is None:
        row = _scalar_rows[key] = np.full((1, SCALAR_ROW), value, np.float32)
    bulk = flat.size - flat.size % SCALAR_ROW
    ufunc(flat[:bulk].reshape(-1, SCALAR_ROW), row, out=flat_out[:bulk].reshape(-1, SCALAR_ROW))
    if bulk < flat.size:
        ufunc(flat[bulk:], value, out=flat_out[bulk:])
    return out


def first_equal(xp, views, best, index):
    """Into ``index`` (uint8 where there are under 255 views): the position of the first of ``views`` equal to
    ``best`` (arrays of one shape), found as the count of views before it that each differ from it (so the count
    of all of them where none equals it: a NaN ``best``); -0.0 equals +0.0."""
    before = views[0] != best
    index[...] = before
    differs = xp.empty_like(before)
    for v in views[1:]:
        before &= xp.not_equal(v, best, out=differs)
        index += before.view(xp.uint8)
    return index


def merged_rows(n, c):
    """How many rows of a narrow matrix (n, c) to merge into one wide row (about 1024 elements, dividing n)."""
    g = max(1, min(n, 1024 // max(c, 1)))
    while n % g:
        g -= 1
    return g


def widened(xp, a, *per_channel):
    """A narrow contiguous matrix (N, C) as wide rows (N / g, g * C), its per-channel (1, C) factors tiled to
    match: numpy's loops then run a thousand elements at a time instead of C. Other arrays are returned as is."""
    if a.ndim != 2 or not a.flags.c_contiguous or a.shape[1] >= 256:
        return (a,) + per_channel
    n, c = a.shape
    if any(v is not None and v.shape != (1, c) for v in per_channel):
        return (a,) + per_channel
    g = merged_rows(n, c)
    wide = [None if v is None else xp.tile(v, (1, g)) for v in per_channel]
    return (a.reshape(n // g, g * c),) + tuple(wide)


def sum_rows(xp, a):
    """A contiguous (N, C) summed over its rows, (C,). numpy reduces across the rows of a narrow matrix slowly, a
    pass of C elements per row: the rows are first merged g at a time into wide ones (N / g, g * C), summed, then
    the g groups (ten times faster on a 16-channel convolution's bias gradient)."""
    n, c = a.shape
    g = merged_rows(n, c)
    return a.reshape(n // g, g * c).sum(axis=0).reshape(g, c).sum(axis=0)


def broadcast_shapes(func, *shapes):
    if len(shapes) == 2 and shapes[0] == shapes[1]:  # the common case, without numpy's general (slow) rule
        return tuple(shapes[0])
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise FunctionError(
            f"{func.type_name}: input shapes {' and '.join(map(str, shapes))} cannot be broadcast together"
        ) from None


def normalize_axis(func, axis, ndim, what="axis"):
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise FunctionTypeError(f"{func.type_name}: {what} must be an int, got {axis!r} ({type(axis).__name__})")
    if not -ndim <= axis < max(ndim, 1):
        raise FunctionError(f"{func.type_name}: {what}={axis} is out of range for an input of {ndim} dimension(s)")
    return axis % ndim if ndim else 0


def normalize_axes(func, axes, ndim, what="axes") -> tuple:
    """``axes`` (an int or a sequence) normalized and sorted, refusing out-of-range and repeated axes."""
    if isinstance(axes, (int, np.integer)):
        axes = [axes]
    axes = tuple(axes)
    if axes and not ndim:
        raise FunctionError(f"{func.type_name}: {what}={axes} given for a 0-dimensional input (it has no axes)")
    normalized = [normalize_axis(func, a, ndim, what) for a in axes]
    if len(set(normalized)) != len(normalized):
        raise FunctionError(
            f"{func.type_name}: {what}={tuple(axes)} names an axis twice (input of {ndim} dimension(s))"
        )
    return tuple(sorted(normalized))


class Unary(Function):
    """y = f(x) elementwise; subclasses write ``compute(xp, x)`` and ``backward_unary(xp, x, y, gy)``."""

    def compute(self, xp, x):
        raise NotImplementedError

    def backward_unary(self, xp, x, y, gy):
        raise NotImplementedError

    def grad(self, xp, xs, ys, gys, need):
        return (self.backward_unary(xp, xs[0], ys[0] if ys is not None else None, gys[0]),)


class Binary(Function):
    """y = f(x0, x1) elementwise with numpy broadcasting; gradients are summed back to each input's shape."""

    inputs_spec = ("x0", "x1")

    @keeps_shape
    def output_shapes(self, s0, s1):
        return [broadcast_shapes(self, s0, s1)]

    def backward_binary(self, xp, x0, x1, y, gy):
        raise NotImplementedError

    def grad(self, xp, xs, ys, gys, need):
        x0, x1 = xs
        g0, g1 = self.backward_binary(xp, x0, x1, ys[0] if ys is not None else None, gys[0])
        return (
            unbroadcast(xp, g0, x0.shape) if need[0] else None,
            unbroadcast(xp, g1, x1.shape) if need[1] else None,
        )


class NoGrad(Function):
    """Outputs carry no gradient (comparisons, logical ops, indices)."""

    differentiable = False
    grad_uses = ""

    def grad(self, xp, xs, ys, gys, need):
        return tuple(None for _ in xs)


class NoGradBinary(Binary, NoGrad):
    pass


def wrap_outputs(inputs, outputs):
    """NNabla's ``outputs=[NdArray]``: in a graph each NdArray becomes the data of that output Variable."""
    if outputs is None:
        return None
    from .._array import NdArray
    from .._variable import Variable

    if any(type(x) is NdArray for x in inputs):
        return outputs
    return [Variable._wrap_ndarray(o) if isinstance(o, NdArray) else o for o in outputs]
