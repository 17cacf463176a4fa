"""Array manipulation: reshape, transpose, concatenate, slice, broadcast, pad and friends, plus array creation."""

from __future__ import annotations

import builtins

import numpy as np

from ..function import ALL_INPUTS, REQUIRED, Function, FunctionError, apply, register
from ._base import NoGrad, normalize_axis, unbroadcast


def scatter_add_flat(xp, index, values, size):
    """A flat array of ``size`` holding the sum of ``values`` at ``index`` (repeated indices accumulate)."""
    out = xp.bincount(index.reshape(-1), weights=values.reshape(-1), minlength=size)
    return out.astype(values.dtype, copy=False)


def scatter_add_in_order(xp, index, values, size):
    """``scatter_add_flat`` as NNabla's loops add (its gathers' backward): in the values' own float dtype, one
    value after another in their order (numpy's ``add.at``, a third faster than the float64 bincount here). On a
    device, whose parallel scatter has no order, and for other dtypes: ``scatter_add_flat``."""
    if xp is not np or values.dtype not in (np.float32, np.float64):
        return scatter_add_flat(xp, index, values, size)
    out = np.zeros(size, values.dtype)
    np.add.at(out, index.reshape(-1), values.reshape(-1))
    return out


def kept_constant(func, key, xp, make):
    """``make()`` (a host array made from shapes and arguments) as an array of ``xp``: made and copied to the device
    once per ``key``, then kept on the function ``func`` for the calls that follow."""
    kept = func.__dict__.setdefault("_kept_constants", {})
    if (key, xp) not in kept:
        kept[key, xp] = xp.asarray(make())
    return kept[key, xp]


def _prod(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _int_list(value):
    values = [value] if isinstance(value, (int, np.integer)) else list(value)
    for v in values:  # int() would truncate 1.5 silently
        if isinstance(v, bool) or not isinstance(v, (int, np.integer, float, np.floating)) or v != int(v):
            raise TypeError(f"expected whole numbers, got {v!r} in {value!r}")
    return [int(v) for v in values]


@register
class Reshape(Function):
    """y = x with a new shape (one entry may be -1)."""

    args_spec = {"shape": (), "inplace": True}
    signature_defaults = {"shape": REQUIRED}
    grad_uses = ""

    def output_shapes(self, shape):
        target = list(self.args["shape"])
        size = _prod(shape)
        if target.count(-1) > 1:
            raise FunctionError(f"Reshape: at most one -1 allowed in shape {tuple(target)}")
        if -1 in target:
            known = _prod(d for d in target if d != -1)
            if known == 0 or size % known:
                raise FunctionError(f"Reshape: cannot reshape input of shape {shape} to {tuple(target)}")
            target[target.index(-1)] = size // known
        if _prod(target) != size:
            raise FunctionError(f"Reshape: cannot reshape input of shape {shape} ({size} elements) to {tuple(target)}")
        self._in_shape = shape
        return [tuple(target)]

    def compute(self, xp, x):
        return x.reshape(self.output_shapes(x.shape)[0])

    def grad(self, xp, xs, ys, gys, need):
        return (gys[0].reshape(xs[0].shape),)


@register
class Transpose(Function):
    """y = x with its axes permuted: y.shape[i] = x.shape[axes[i]]."""

    args_spec = {"axes": None}
    signature_defaults = {"axes": REQUIRED}
    grad_uses = ""

    def output_shapes(self, shape):
        axes = _int_list(self.args["axes"])
        if len(axes) != len(shape):
            raise FunctionError(f"Transpose: axes={tuple(axes)} must have one entry per axis of x of shape {shape}")
        axes = [normalize_axis(self, a, len(shape), "axes") for a in axes]
        if len(set(axes)) != len(axes):
            raise FunctionError(f"Transpose: axes={tuple(self.args['axes'])} repeats an axis")
        self.axes = tuple(axes)
        return [tuple(shape[a] for a in axes)]

    def compute(self, xp, x):
        return xp.transpose(x, self.axes)

    def grad(self, xp, xs, ys, gys, need):
        return (xp.transpose(gys[0], tuple(int(i) for i in np.argsort(self.axes))),)


@register
class Concatenate(Function):
    """y = the inputs joined along ``axis`` (NNabla's default: the last axis)."""

    inputs_spec = ("*x",)
    args_spec = {"axis": None}
    grad_uses = ""

    def output_shapes(self, *shapes):
        first = shapes[0]
        axis = self.args["axis"]
        if not first:
            raise FunctionError(f"Concatenate: inputs must have at least one axis, got x[0] of shape {first}")
        self.axis = normalize_axis(self, len(first) - 1 if axis is None else axis, len(first))
        for i, s in enumerate(shapes[1:], 1):
            if len(s) != len(first) or any(a != b for k, (a, b) in enumerate(zip(s, first)) if k != self.axis):
                raise FunctionError(
                    f"Concatenate: x[{i}] of shape {s} does not match x[0] of shape {first} outside axis={self.axis}"
                )
        self.sizes = [s[self.axis] for s in shapes]
        out = list(first)
        out[self.axis] = builtins.sum(self.sizes)
        return [tuple(out)]

    def compute(self, xp, *xs):
        return xp.concatenate(xs, axis=self.axis)

    def grad(self, xp, xs, ys, gys, need):
        bounds = np.cumsum(self.sizes)[:-1].tolist()
        parts = xp.split(gys[0], bounds, axis=self.axis)
        return tuple(p if n else None for p, n in zip(parts, need))


@register
class Split(Function):
    """The slices of x along ``axis`` as ``x.shape[axis]`` outputs, that axis removed."""

    args_spec = {"axis": 0}
    grad_uses = ""
    n_outputs = -1

    def output_shapes(self, shape):
        if not shape:
            raise FunctionError("Split: x must have at least one axis, got a scalar")
        self.axis = normalize_axis(self, self.args["axis"], len(shape))
        if shape[self.axis] == 0:
            raise FunctionError(f"Split: x of shape {shape} has size 0 along axis={self.axis}")
        out = shape[: self.axis] + shape[self.axis + 1 :]
        self._in_shape = shape
        return [out] * shape[self.axis]

    def compute(self, xp, x):
        return tuple(xp.take(x, i, axis=self.axis) for i in range(x.shape[self.axis]))

    def grad(self, xp, xs, ys, gys, need):
        out = self._in_shape[: self.axis] + self._in_shape[self.axis + 1 :]
        dtype = next((g.dtype for g in gys if g is not None), self.dtype)
        parts = [g if g is not None else xp.zeros(out, dtype) for g in gys]
        return (xp.stack(parts, axis=self.axis),)


@register
class Stack(Function):
    """y = the inputs (all of one shape) joined along a new ``axis``."""

    linear_inputs = ALL_INPUTS

    inputs_spec = ("*x",)
    args_spec = {"axis": 0}
    grad_uses = ""

    def output_shapes(self, *shapes):
        first = shapes[0]
        self.axis = normalize_axis(self, self.args["axis"], len(first) + 1)
        for i, s in enumerate(shapes[1:], 1):
            if s != first:
                raise FunctionError(f"Stack: x[{i}] of shape {s} differs from x[0] of shape {first}")
        return [first[: self.axis] + (len(shapes),) + first[self.axis :]]

    def compute(self, xp, *xs):
        return xp.stack(xs, axis=self.axis)

    def grad(self, xp, xs, ys, gys, need):
        return tuple(xp.take(gys[0], i, axis=self.axis) if n else None for i, n in enumerate(need))


@register
class Slice(Function):
    """y = x[start:stop:step] on every axis (Python's rules; lists shorter than x.ndim cover the last axes)."""

    linear_inputs = (0,)

    args_spec = {"start": None, "stop": None, "step": None}
    grad_uses = ""

    def output_shapes(self, shape):
        n = len(shape)
        start = list(self.args["start"]) if self.args["start"] is not None else [0] * n
        stop = list(self.args["stop"]) if self.args["stop"] is not None else list(shape)
        step = list(self.args["step"]) if self.args["step"] is not None else [1] * n
        if not len(start) == len(stop) == len(step):
            raise FunctionError(
                f"Slice: start={tuple(start)}, stop={tuple(stop)} and step={tuple(step)} must have the same length"
            )
        if len(start) > n:
            raise FunctionError(f"Slice: start={tuple(start)} has more entries than x of shape {shape} has axes")
        lead = n - len(start)
        start, stop, step = [0] * lead + start, list(shape[:lead]) + stop, [1] * lead + step
        self.slices, out = [], []
        for axis, (size, a, b, s) in enumerate(zip(shape, start, stop, step)):
            s = 1 if s is None else int(s)
            if s == 0:
                raise FunctionError(f"Slice: step must not be 0 (step={tuple(step)}, axis {axis})")
            a = (0 if s > 0 else size - 1) if a is None else int(a)
            b = (size if s > 0 else -1) if b is None else int(b)
            a, b = a + size if a < 0 else a, b + size if b < 0 else b
            # NNabla reads a stop of -1 with a negative step as "through index 0"
            low, high = (0, size) if s > 0 else (-1, size - 1)
            a, b = min(max(a, low), high), min(max(b, low), high)
            count = max(0, -(-(b - a) // s))
            end = a + s * count
            self.slices.append(builtins.slice(a, end if end >= 0 else None, s))
            out.append(count)
        return [tuple(out)]

    def compute(self, xp, x):
        return x[tuple(self.slices)]

    def grad(self, xp, xs, ys, gys, need):
        gx = xp.zeros(xs[0].shape, gys[0].dtype)
        gx[tuple(self.slices)] = gys[0]
        return (gx,)


@register
class Broadcast(Function):
    """y = x repeated along its size-1 axes (and new leading axes) to ``shape``."""

    args_spec = {"shape": ()}
    signature_defaults = {"shape": REQUIRED}
    grad_uses = ""

    def output_shapes(self, shape):
        target = tuple(_int_list(self.args["shape"]))
        if len(target) < len(shape) or any(a not in (b, 1) for a, b in zip(shape[::-1], target[::-1])):
            raise FunctionError(f"Broadcast: x of shape {shape} cannot be broadcast to shape={target}")
        self._target = target
        return [target]

    def compute(self, xp, x):
        return xp.broadcast_to(x, self._target).copy()

    def grad(self, xp, xs, ys, gys, need):
        return (unbroadcast(xp, gys[0], xs[0].shape),)


@register
class BroadcastTo(Function):
    """z = y repeated to the shape of x, y's axes matching x's from ``axis`` (the last axes when negative)."""

    double_backward = False  # as in NNabla

    inputs_spec = ("x", "y")
    args_spec = {"axis": -1}
    signature_defaults = {"axis": None}
    grad_uses = ""

    def output_shapes(self, xs, ys):
        axis = self.args["axis"]
        if len(ys) > len(xs):
            raise FunctionError(f"BroadcastTo: y of shape {ys} has more axes than x of shape {xs}")
        if axis >= len(xs):
            raise FunctionError(f"BroadcastTo: axis={axis} is out of range for x of shape {xs}")
        self.offset = len(xs) - len(ys) if axis < 0 else axis
        if tuple(xs[self.offset : self.offset + len(ys)]) != tuple(ys):
            raise FunctionError(f"BroadcastTo: y of shape {ys} does not match x of shape {xs} at axis={self.offset}")
        self._shapes = (xs, ys)
        return [xs]

    def _aligned(self):
        xs, ys = self._shapes
        return (1,) * self.offset + ys + (1,) * (len(xs) - self.offset - len(ys))

    def compute(self, xp, x, y):
        return xp.broadcast_to(y.reshape(self._aligned()), x.shape).astype(self.dtype)

    def grad(self, xp, xs, ys, gys, need):
        gy = unbroadcast(xp, gys[0], self._aligned()).reshape(self._shapes[1]) if need[1] else None
        return None, gy


@register
class Tile(Function):
    """y = x repeated ``reps`` times along each axis (numpy's ``tile``)."""

    args_spec = {"reps": ()}
    grad_uses = ""

    def output_shapes(self, shape):
        reps = _int_list(self.args["reps"])
        if any(r < 1 for r in reps):
            raise FunctionError(f"Tile: every repetition must be at least 1, got reps={tuple(reps)}")
        d = max(len(reps), len(shape))
        self.reps = (1,) * (d - len(reps)) + tuple(reps)
        self.src = (1,) * (d - len(shape)) + tuple(shape)
        return [tuple(r * s for r, s in zip(self.reps, self.src))]

    def compute(self, xp, x):
        return xp.tile(x, self.reps)

    def grad(self, xp, xs, ys, gys, need):
        paired = [n for r, s in zip(self.reps, self.src) for n in (r, s)]
        g = gys[0].reshape(paired).sum(axis=tuple(range(0, len(paired), 2)))
        return (g.reshape(xs[0].shape),)


@register
class Pad(Function):
    """y = x padded on its last axes by ``pad_width`` (before, after) pairs: 'constant', 'reflect' or 'repeat'."""

    double_backward = False  # as in NNabla

    args_spec = {"pad_width": (), "mode": "constant", "constant_value": 0}
    signature_defaults = {"pad_width": REQUIRED}
    grad_uses = ""

    def output_shapes(self, shape):
        width = _int_list(self.args["pad_width"])
        mode = self.args["mode"]
        if mode not in ("constant", "reflect", "repeat"):
            raise FunctionError(f"Pad: mode={mode!r} is not one of 'constant', 'reflect', 'repeat'")
        if len(width) % 2 or len(width) > 2 * len(shape) or any(w < 0 for w in width):
            raise FunctionError(
                f"Pad: pad_width={tuple(width)} must hold non-negative (before, after) pairs, "
                f"at most one per axis of x of shape {shape}"
            )
        lead = len(shape) - len(width) // 2
        self.pairs = [(0, 0)] * lead + [(width[i], width[i + 1]) for i in range(0, len(width), 2)]
        if mode == "reflect":
            for axis, (size, (a, b)) in enumerate(zip(shape, self.pairs)):
                if size == 0 and (a or b):
                    raise FunctionError(f"Pad: cannot reflect-pad axis {axis} of size 0 (x of shape {shape})")
        return [tuple(s + a + b for s, (a, b) in zip(shape, self.pairs))]

    def _sources(self, xp, shape):
        """For each axis, the input index every output position reads (reflect and repeat modes)."""
        out = []
        for size, (a, b) in zip(shape, self.pairs):
            pos = xp.arange(-a, size + b)
            if self.args["mode"] == "repeat":
                pos = xp.clip(pos, 0, size - 1)
            elif size > 1:
                period = size - 1
                pos = xp.abs(pos)
                pos = xp.abs((pos // period & 1) * period - pos % period)
            else:
                pos = xp.zeros_like(pos)
            out.append(pos)
        return out

    def compute(self, xp, x):
        if not self.pairs:  # a 0-dimensional input: nothing to pad
            return x.copy()
        if self.args["mode"] == "constant":
            return xp.pad(x, self.pairs, mode="constant", constant_values=self.args["constant_value"])
        return x[xp.ix_(*self._sources(xp, x.shape))]

    def grad(self, xp, xs, ys, gys, need):
        shape, gy = xs[0].shape, gys[0]
        if self.args["mode"] == "constant":
            return (gy[tuple(builtins.slice(a, a + s) for s, (a, _) in zip(shape, self.pairs))],)
        flat = xp.arange(_prod(shape)).reshape(shape)[xp.ix_(*self._sources(xp, shape))]
        return (scatter_add_flat(xp, flat, gy, _prod(shape)).reshape(shape),)


@register
class Flip(Function):
    """y = x reversed along ``axes`` (default: the last axis)."""

    double_backward = False  # as in NNabla

    args_spec = {"axes": None}
    grad_uses = ""

    def output_shapes(self, shape):
        axes = self.args["axes"]
        axes = ([len(shape) - 1] if shape else []) if axes is None else _int_list(axes)
        if axes and not shape:
            raise FunctionError(f"Flip: axes={tuple(axes)} given for a 0-dimensional input (it has no axes)")
        self.axes = tuple(sorted({normalize_axis(self, a, len(shape), "axes") for a in axes}))
        return [shape]

    def compute(self, xp, x):
        return xp.flip(x, self.axes) if self.axes else x.copy()

    def grad(self, xp, xs, ys, gys, need):
        return (xp.flip(gys[0], self.axes) if self.axes else gys[0],)


@register
class Where(Function):
    """y = x_true where condition is nonzero, else x_false; condition's shape is a prefix of x_true's."""

    inputs_spec = ("condition", "x_true", "x_false")
    keep_dtype = (0,)
    grad_uses = "x"

    def output_shapes(self, cs, ts, fs):
        if ts != fs:
            raise FunctionError(f"Where: x_true of shape {ts} and x_false of shape {fs} must have the same shape")
        if tuple(ts[: len(cs)]) != tuple(cs):
            raise FunctionError(f"Where: condition of shape {cs} must be the leading part of x_true's shape {ts}")
        return [ts]

    def _mask(self, xp, c, shape):
        return (c != 0).reshape(c.shape + (1,) * (len(shape) - c.ndim))

    def compute(self, xp, c, t, f):
        return xp.where(self._mask(xp, c, t.shape), t, f)

    def grad(self, xp, xs, ys, gys, need):
        c, gy = xs[0], gys[0]
        mask = self._mask(xp, c, gy.shape)
        zero = xp.zeros((), gy.dtype)
        return (
            None,
            xp.where(mask, gy, zero) if need[1] else None,
            xp.where(mask, zero, gy) if need[2] else None,
        )


@register
class OneHot(NoGrad):
    """output = one-hot encoding of the integer class ids on x's last axis, into classes of ``shape``."""

    keep_dtype = (0,)
    args_spec = {"shape": ()}
    signature_defaults = {"shape": REQUIRED}

    def output_shapes(self, shape):
        classes = tuple(_int_list(self.args["shape"]))
        if not shape or shape[-1] != len(classes):
            raise FunctionError(
                f"OneHot: shape={classes} must have one entry per id on the last axis of x of shape {shape}"
            )
        return [shape[:-1] + classes]

    def compute(self, xp, x):
        classes = tuple(_int_list(self.args["shape"]))
        ids = x.reshape(-1, len(classes)).astype(np.int64)
        valid = xp.ones(ids.shape[0], dtype=bool)
        addr = xp.zeros(ids.shape[0], dtype=np.int64)
        for k, size in enumerate(classes):  # one column per axis of the one-hot shape (host ints, no transfer)
            column = ids[:, k]
            column = xp.where(column < 0, column + size, column)
            valid = valid & (column >= 0) & (column < size)
            addr = addr + column * _prod(classes[k + 1 :])
        total = _prod(classes)
        y = xp.zeros((ids.shape[0], total), self.dtype)
        # one write per row (0 where an id is out of range), without a mask whose count the device would report
        y[xp.arange(ids.shape[0]), xp.where(valid, addr, 0)] = valid.astype(self.dtype)
        return y.reshape(x.shape[:-1] + classes)


@register
class MatrixDiag(Function):
    """y[..., i, j] = x[..., i] when i == j, else 0: the last axis becomes a diagonal matrix."""

    linear_inputs = (0,)

    grad_uses = ""

    def output_shapes(self, shape):
        if not shape:
            raise FunctionError("MatrixDiag: x must have at least one axis, got a scalar")
        return [shape + (shape[-1],)]

    def compute(self, xp, x):
        return x[..., None] * xp.eye(x.shape[-1], dtype=x.dtype)

    def grad(self, xp, xs, ys, gys, need):
        return (xp.diagonal(gys[0], axis1=-2, axis2=-1).copy(),)


@register
class MatrixDiagPart(Function):
    """y[..., i] = x[..., i, i]: the diagonals of the square matrices on x's last two axes."""

    grad_uses = ""

    def output_shapes(self, shape):
        if len(shape) < 2 or shape[-1] != shape[-2]:
            raise FunctionError(f"MatrixDiagPart: x of shape {shape} must end in two axes of the same size")
        return [shape[:-1]]

    def compute(self, xp, x):
        return xp.diagonal(x, axis1=-2, axis2=-1).copy()

    def grad(self, xp, xs, ys, gys, need):
        return (gys[0][..., None] * xp.eye(gys[0].shape[-1], dtype=gys[0].dtype),)


@register
class Meshgrid(Function):
    """Coordinate grids from 1-D inputs: one output per input ('xy' indexing unless ``ij_indexing``)."""

    double_backward = False  # as in NNabla

    inputs_spec = ("*x",)
    args_spec = {"ij_indexing": False}
    grad_uses = ""
    n_outputs = -1

    def output_shapes(self, *shapes):
        for i, s in enumerate(shapes):
            if len(s) != 1:
                raise FunctionError(f"Meshgrid: every input must be 1-D, got x[{i}] of shape {s}")
        self.order = list(range(len(shapes)))
        if not self.args["ij_indexing"] and len(shapes) > 1:
            self.order[0], self.order[1] = 1, 0
        out = [0] * len(shapes)
        for i, s in enumerate(shapes):
            out[self.order[i]] = s[0]
        return [tuple(out)] * len(shapes)

    def compute(self, xp, *xs):
        n = len(xs)
        shape = [0] * n
        for i, x in enumerate(xs):
            shape[self.order[i]] = x.shape[0]
        return tuple(
            xp.broadcast_to(x.reshape([-1 if k == self.order[i] else 1 for k in range(n)]), shape).copy()
            for i, x in enumerate(xs)
        )

    def grad(self, xp, xs, ys, gys, need):
        out = []
        for i, g in enumerate(gys):
            if not need[i] or g is None:
                out.append(None if not need[i] else xp.zeros(xs[i].shape, self.dtype))
                continue
            axes = tuple(k for k in range(g.ndim) if k != self.order[i])
            out.append(g.sum(axis=axes))
        return tuple(out)


@register
class Sink(Function):
    """A scalar joining its inputs, so one ``forward``/``backward`` call runs every graph leading to them."""

    double_backward = False  # as in NNabla

    inputs_spec = ("*x",)
    args_spec = {"one_input_grad": True}
    grad_uses = ""
    prohibit_clear_input_buffers = True  # the joined outputs are what the caller reads

    def output_shapes(self, *shapes):
        return [()]

    def compute(self, xp, *xs):
        return xp.zeros((), self.dtype)

    def _input_grads(self, inputs, outputs, need):
        # NNabla seeds each input's gradient with ones, or (one_input_grad=False) starts from the ones already set
        xp = self.xp
        if self.args["one_input_grad"]:
            return [xp.ones(x.shape, self.dtype) if n else None for x, n in zip(inputs, need)]
        # re-deliver the gradients the user set on intermediate inputs, so their producers run;
        # a leaf's own gradient is already in place and must not be added again
        return [x._grad_nd()._get().copy() if n and x._parent is not None else None for x, n in zip(inputs, need)]


@register
class Shape(NoGrad):
    """shape = x.shape[start:end] as a 1-D array (end 0 means through the last axis)."""

    args_spec = {"start": 0, "end": 0}
    signature_defaults = {"start": None, "end": None}

    def output_shapes(self, shape):
        n = len(shape)
        if n == 0:
            raise FunctionError("Shape: x must have at least one axis, got a scalar")
        start, end = self.args["start"], self.args["end"]
        s = start + n if start < 0 else min(start, n)
        e = n + end if end < 0 else (min(end, n) if end > 0 else n)
        self.values = list(shape[s:e]) if e > s else []
        return [(len(self.values),)]

    def compute(self, xp, x):
        # the shape is host metadata: copied to the device once per shape, and kept
        values = tuple(self.values)
        return kept_constant(self, values, xp, lambda: np.array(values, dtype=self.dtype).reshape(len(values)))


@register
class Assign(Function):
    """y = src, and dst's data is overwritten with src as a side effect of forward."""

    double_backward = False  # as in NNabla

    inputs_spec = ("dst", "src")
    grad_uses = ""

    def output_shapes(self, dst, src):
        if dst != src:
            raise FunctionError(f"Assign: dst of shape {dst} and src of shape {src} must have the same shape")
        return [dst]

    def compute(self, xp, dst, src):
        return src.copy()

    def _compute_outputs(self, variables):
        ys = super()._compute_outputs(variables)
        dst = variables[0]
        target = dst._data if hasattr(dst, "_parent") else dst
        target._set_array(ys[0].astype(target.dtype, copy=True))
        return ys

    def grad(self, xp, xs, ys, gys, need):
        return (gys[0] if need[0] else None, None)


class _Creation(NoGrad):
    """An op without inputs that makes a new array from its arguments."""

    inputs_spec = ()


@register
class Constant(_Creation):
    """y = an array of ``shape`` filled with ``val``."""

    args_spec = {"val": 0.0, "shape": ()}
    signature_defaults = {"val": 0, "shape": []}

    def output_shapes(self):
        return [tuple(_int_list(self.args["shape"]))]

    def compute(self, xp):
        return xp.full(tuple(_int_list(self.args["shape"])), self.args["val"], dtype=self.dtype)


@register
class Arange(_Creation):
    """y = start, start + step, ... up to (not including) stop, accumulated in float32 as NNabla does."""

    args_spec = {"start": 0.0, "stop": 0.0, "step": 1.0}
    signature_defaults = {"start": REQUIRED, "stop": REQUIRED, "step": 1}

    def output_shapes(self):
        start, stop, step = (np.float32(self.args[k]) for k in ("start", "stop", "step"))
        if step == 0:
            raise FunctionError("Arange: step must not be 0")
        guess = max(0, int(np.ceil((float(stop) - float(start)) / float(step)))) + 2
        steps = np.full(guess, step, np.float32)
        steps[0] = start
        values = np.cumsum(steps, dtype=np.float32)
        inside = values < stop if step > 0 else values > stop
        self.values = values[: int(np.argmin(inside)) if not inside.all() else guess]
        return [(len(self.values),)]

    def compute(self, xp):
        # NNabla's float32 accumulation, made on the host from the arguments: copied once, then kept
        values = self.values
        return kept_constant(self, "values", xp, lambda: values.astype(self.dtype))


@register
class Linspace(_Creation):
    """y = ``num`` evenly spaced values from start to stop, both included."""

    args_spec = {"start": 0.0, "stop": 0.0, "num": 0}

    def output_shapes(self):
        num = self.args["num"]
        if not isinstance(num, (int, np.integer)) or num < 0:
            raise FunctionError(f"Linspace: num={num!r} must be a non-negative integer")
        return [(int(num),)]

    def compute(self, xp):
        start, stop, num = float(self.args["start"]), float(self.args["stop"]), int(self.args["num"])
        step = (stop - start) / (num - 1) if num > 1 else 0.0
        return (start + step * xp.arange(num, dtype=np.float64)).astype(self.dtype)


# -- NNabla's hand-written wrappers ---------------------------------------------------------------------------------


def concatenate(*x, **kw):
    """Join the inputs along ``axis`` (default: the last axis of x[0]); ``axis`` is a keyword, as in NNabla."""
    axis, n_outputs, outputs = kw.pop("axis", None), kw.pop("n_outputs", -1), kw.pop("outputs", None)
    if kw:
        raise TypeError(f"concatenate() got unexpected keyword argument(s) {sorted(kw)}")
    if axis is None and x:
        axis = len(x[0].shape) - 1
    return apply(Concatenate(None, axis=axis), x, outputs=outputs, n_outputs=n_outputs)


def split(x, axis=0):
    """The slices of x along ``axis``: a tuple of ``x.shape[axis]`` Variables."""
    return apply(Split(None, axis=axis), (x,))


def slice(x, start=None, stop=None, step=None, n_outputs=-1, outputs=None):  # noqa: A001 - NNabla's name
    """x[start:stop:step] per axis; None entries follow Python's slice rules."""
    n = len(x.shape)
    start = list(start) if start is not None else [0] * n
    stop = list(stop) if stop is not None else list(x.shape)
    step = list(step) if step is not None else [1] * n
    lead = n - len(start)
    for i, (a, b, s) in enumerate(zip(start, stop, step)):
        size = x.shape[lead + i] if 0 <= lead + i < n else 0
        backwards = s is not None and s < 0
        if a is None:
            start[i] = -1 if backwards else 0
        if b is None:
            stop[i] = -size - 1 if backwards else size
        if s is None:
            step[i] = 1
    return apply(Slice(None, start=start, stop=stop, step=step), (x,), outputs=outputs, n_outputs=n_outputs)


def tile(x, reps):
    """x repeated ``reps`` times along each axis (an int repeats the last axis)."""
    return apply(Tile(None, reps=_int_list(reps)), (x,))


def meshgrid(*x, ij_indexing=False):
    """Coordinate grids from 1-D inputs, one per input."""
    return apply(Meshgrid(None, ij_indexing=ij_indexing), x)


def linspace(start, stop, num):
    """``num`` evenly spaced values from start to stop, both included."""
    if not isinstance(num, (int, np.integer)):
        raise TypeError(f"'{type(num).__name__}' object cannot be interpreted as an integer")
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    return apply(Linspace(None, start=start, stop=stop, num=int(num)), ())


PUBLIC = {
    "concatenate": concatenate,
    "split": split,
    "slice": slice,
    "tile": tile,
    "meshgrid": meshgrid,
    "linspace": linspace,
}
