"""Convolutions: Convolution, Deconvolution and their depthwise forms, N-D with pad, stride, dilation and groups.

Everything is built from three primitives on channel-last arrays ``(B, *spatial, C)``: ``conv_cl`` (im2col into
a reused buffer, then one matrix product per slice of the batch, stacked over groups), ``conv_transpose_cl`` (its
adjoint in the input: the product with the weight's transpose, then col2im) and ``conv_weight_grad_cl``.
A channel-first op returns its channel-last result as a channel-first view (NCHW shape, NHWC memory), with no
transposing copy: batch normalization, pooling and the elementwise ops keep that memory order, so the next
convolution reads its input as it is. A deconvolution is the transpose of a convolution, so it uses the same three
with the roles swapped.

Where the engine's native kernels are built (``nnabla._native``), ``conv_cl`` and ``conv_weight_grad_cl`` hand a
float32 convolution of one group and one or two spatial axes to them instead (``_native_conv``,
``_native_weight_grad``): no im2col, the batch in fixed slices shared between threads.
"""

from __future__ import annotations

import ctypes
import itertools
import threading

import numpy as np

from .. import _native
from ..function import Function, FunctionError, register
from ._base import in_memory_order, sum_rows, widened
from ._blas import share_slices

# -- windows (im2col) and their adjoint (col2im) ------------------------------------------------------------------


def windows(xp, x, kernel, stride, dilation, out):
    """View of ``x`` (lead..., *S) as (lead..., *kernel, *out): ``[.., k, o] = x[.., o*stride + k*dilation]``."""
    n = len(kernel)
    steps = x.strides[x.ndim - n :]
    shape = x.shape[: x.ndim - n] + tuple(kernel) + tuple(out)
    strides = (
        x.strides[: x.ndim - n]
        + tuple(st * d for st, d in zip(steps, dilation))
        + tuple(st * s for st, s in zip(steps, stride))
    )
    return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides)


def fold(xp, cols, size, stride, dilation):
    """Adjoint of ``windows``: sum ``cols`` (lead..., *kernel, *out) into a zero array (lead..., *size)."""
    n = len(size)
    kernel = cols.shape[cols.ndim - 2 * n : cols.ndim - n]
    out = cols.shape[cols.ndim - n :]
    lead = cols.shape[: cols.ndim - 2 * n]
    result = xp.zeros(lead + tuple(size), dtype=cols.dtype)
    # one strided slice-add per kernel offset: the offsets of one window never overlap each other
    for k in itertools.product(*(range(kk) for kk in kernel)):
        target = tuple(slice(ki * d, ki * d + (o - 1) * s + 1, s) for ki, d, o, s in zip(k, dilation, out, stride))
        result[(Ellipsis,) + target] += cols[(Ellipsis,) + k + (slice(None),) * n]
    return result


def pad_spatial(xp, x, before, after=None, value=0):
    """Pad the last ``len(before)`` axes of ``x`` (by ``before`` at the start and ``after`` at the end), in x's
    memory order."""
    after = before if after is None else after
    if not any(before) and not any(after):
        return x
    lead = x.ndim - len(before)
    shape = x.shape[:lead] + tuple(n + b + e for n, b, e in zip(x.shape[lead:], before, after))
    out = in_memory_order(xp, x.strides, shape, x.dtype, fill=value)
    out[(Ellipsis,) + tuple(slice(b, b + n) for b, n in zip(before, x.shape[lead:]))] = x
    return out


def crop_spatial(x, before, size):
    """The inverse of ``pad_spatial``: the window of ``size`` starting at ``before`` on the last axes."""
    return x[(Ellipsis,) + tuple(slice(b, b + n) for b, n in zip(before, size))]


def conv_out_size(size, kernel, pad, stride, dilation):
    """Output length of a convolution along one axis (C++ integer division, as NNabla computes it)."""
    span = dilation * (kernel - 1) + 1
    return int((size + 2 * pad - span) / stride) + 1


# -- convolution as one matrix product on channel-last columns -----------------------------------------------------
# The primitives take channel-last arrays (B, *S, C): a window's channels are then contiguous in memory, so the
# columns (B * prod(out), prod(kernel) * C) copy whole runs, and the product with the weight comes out channel-last
# with no transposing copy. Groups are one stacked product (G, ...). The columns live in a scratch buffer reused
# from slice to slice of one call and released when the call returns: kept between calls, it would be alive
# while the rest of the step runs and add its size to the step's peak (freed, its memory serves the next arrays).

_scratch = threading.local()


def keep_freed_memory() -> None:
    """Ask glibc's malloc to keep large freed blocks for reuse instead of returning them to the system.

    A training step frees and allocates the same activation-sized arrays every iteration; by default glibc maps
    each large one afresh and unmaps it on free, so every page of it faults again on first touch (a fifth of a
    ResNet block's step went into the kernel). Keeping them, as NNabla's and PyTorch's caching allocators do,
    reuses warm pages; the peak stays the same. Elsewhere than glibc (macOS, musl) this does nothing."""
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 64 << 20)  # blocks below 64 MiB come from the heap (reused)
    mallopt(m_trim_threshold, 256 << 20)  # and the heap is trimmed only above 256 MiB free


keep_freed_memory()


def scratch(xp, shape, dtype, slot="columns"):
    """A scratch array of ``shape`` (one per thread, array module, dtype and ``slot``), overwritten by the next call
    and held until ``release_scratch``."""
    pool = _scratch.__dict__.setdefault("buffers", {})
    key = (xp.__name__, np.dtype(dtype).str, slot)
    size = _prod(shape)
    buf = pool.get(key)
    if buf is None or buf.size < size:
        pool.pop(key, None)
        del buf  # the smaller buffer goes before the larger one comes (they would add up at the peak)
        buf = pool[key] = xp.empty(size, dtype)
    return buf[:size].reshape(shape)


def release_scratch() -> None:
    """Drop this thread's scratch buffers (each primitive's last act: its slices are done)."""
    pool = _scratch.__dict__.get("buffers")
    if pool:
        pool.clear()


def padded_channel_last(xp, src, pad, borders=True, channels_outer=False):
    """Channel-last src (B, *S, C) as a contiguous array with ``pad`` zeros around the spatial axes (with
    ``channels_outer``, a channel-last view of a contiguous (B, C, *padded) array: the memory order of a
    channel-first input, copied along its rows).

    The padded copy is a scratch array: valid until the next call. Without ``borders`` the zeros are those an
    earlier call of the same primitive wrote (its slices of the batch: no later one is larger, and each sample
    keeps its place in the buffer)."""
    if not any(pad):
        return xp.ascontiguousarray(src)
    sizes = src.shape[1:-1]
    padded = tuple(s + 2 * p for s, p in zip(sizes, pad))
    if channels_outer:
        out = xp.moveaxis(scratch(xp, (src.shape[0], src.shape[-1]) + padded, src.dtype, "pad"), 1, -1)
    else:
        out = scratch(xp, (src.shape[0],) + padded + (src.shape[-1],), src.dtype, "pad")
    for axis, (p, s) in enumerate(zip(pad, sizes), 1):
        if p and borders:
            out[(slice(None),) * axis + (slice(0, p),)] = 0
            out[(slice(None),) * axis + (slice(p + s, None),)] = 0
    out[(slice(None),) + tuple(slice(p, p + s) for p, s in zip(pad, sizes))] = src
    return out


def _kernel_first(channels_per_group, kernel, out):
    """Whether im2col holds its columns kernel offset first: a window row's channels are fewer than an output row."""
    return channels_per_group * kernel[-1] < out[-1]


def _columns_view(xp, xpad, kernel, stride, dilation, out, group):
    """The strided view of channel-last padded x that im2col copies: (view, its batch axis, kernel offset first).

    Each copy runs along the longer of two contiguous runs: a window row's channels (kernel width * C / group),
    or, where that is shorter than an output row (few channels: a first layer), the output row itself; the
    columns are then held kernel offset first."""
    n, item = len(kernel), xpad.strides[-1]  # (item: the channel step, one element where channels are last)
    cg = xpad.shape[-1] // group
    steps = xpad.strides[1 : 1 + n]
    group_step = (cg * item,)
    window = tuple(st * d for st, d in zip(steps, dilation))
    positions = (xpad.strides[0],) + tuple(st * s for st, s in zip(steps, stride))
    view = xp.lib.stride_tricks.as_strided
    if _kernel_first(cg, kernel, out):
        shape = (group,) + tuple(kernel) + (cg, xpad.shape[0]) + tuple(out)
        return view(xpad, shape=shape, strides=group_step + window + (item,) + positions), 2 + n, True
    shape = (group, xpad.shape[0]) + tuple(out) + tuple(kernel) + (cg,)
    return view(xpad, shape=shape, strides=group_step + positions + window + (item,)), 1, False


def _columns_setup(xp, xpad, kernel, stride, dilation, out, group):
    """im2col of channel-last padded x, set up: (the scratch target, the strided view of ``xpad`` to copy into it,
    the result (group, B * prod(out), prod(kernel) * C / group) the copy gives; kernel offset first, it is the
    transposed view, which the BLAS reads as is)."""
    source, _, kernel_first = _columns_view(xp, xpad, kernel, stride, dilation, out, group)
    cols = scratch(xp, source.shape, xpad.dtype)
    rows = xpad.shape[0] * _prod(out)
    result = cols.reshape(group, -1, rows).transpose(0, 2, 1) if kernel_first else cols.reshape(group, rows, -1)
    return cols, source, result


def _sliced_columns(xp, x, parts, pad, channel_first, kernel, stride, dilation, out, group):
    """(part, im2col columns of x[part]) for each slice of the batch in ``parts`` (a list, or the ``Dealer`` the
    threads of a shared call take parts from), x channel-first or channel-last.

    The columns are set up once and reused by every later slice of the same size. With padding, the strided view
    reads the padded copy, refilled per slice (two copies: the inside of the padding, the windows); without, one
    view reads the whole input (channel-last in memory) and each slice takes its batch rows of it (one copy, no
    view made per slice)."""
    src = xp.moveaxis(x, 1, -1) if channel_first else x
    # columns held kernel offset first (few channels) copy runs of output rows: a channel-first input is read in
    # its own memory order, padded or not; other columns copy runs of channels, read from channel-last memory
    outer = _kernel_first(src.shape[-1] // group, kernel, out) and src.strides[-1] > src.strides[-2]
    whole = None
    if not any(pad) and (src.flags.c_contiguous or outer):
        whole, axis, _ = _columns_view(xp, src, kernel, stride, dilation, out, group)
    inside = (slice(None),) + tuple(slice(p, p + n) for p, n in zip(pad, src.shape[1:-1]))
    reused = None
    for part in parts:
        size = part.stop - part.start
        if reused is not None and reused[0] == size:
            _, xpad, target, source, result = reused
            if whole is None:
                xpad[inside] = src[part]
        else:
            xpad = padded_channel_last(xp, src[part], pad, reused is None, outer) if whole is None else src[part]
            target, source, result = _columns_setup(xp, xpad, kernel, stride, dilation, out, group)
            # (unpadded and not channel-last in memory: each slice's own contiguous copy, and its own view)
            reused = (size, xpad, target, source, result) if whole is not None or any(pad) else None
        target[...] = source if whole is None else whole[(slice(None),) * axis + (part,)]
        yield part, result


def weight_matrix(xp, w, group):
    """w (OC, C / group, *K) as (group, prod(K) * C / group, OC / group), rows in the columns' order."""
    oc, cg = w.shape[:2]
    n = w.ndim - 2
    wg = w.reshape((group, oc // group, cg) + w.shape[2:])
    return wg.transpose((0,) + tuple(range(3, 3 + n)) + (2, 1)).reshape(group, -1, oc // group)


def _by_group(xp, a, group):
    """Channel-last a (B, *O, OC) as (group, B * prod(O), OC / group)."""
    rows = a.reshape(-1, group, a.shape[-1] // group)
    return rows.transpose(1, 0, 2) if group > 1 else rows.reshape((1,) + rows.shape[::2])


def _from_groups(xp, y, lead):
    """(group, rows, channels per group) -> channel-last (*lead, group * channels)."""
    y = y[0] if y.shape[0] == 1 else y.transpose(1, 0, 2)
    return y.reshape(tuple(lead) + (-1,))


# elements of im2col columns per product: the batch goes through in slices that fit, so the scratch memory stays
# small (1 MiB in float32) whatever the batch, while each product stays large enough for the BLAS to run at speed
COLUMNS_BUDGET = 1 << 18
# and at most this many in a forward product: the BLAS packs the columns into buffers of its own (each thread its
# share), which stay resident once touched; the weight-gradient and transposed products pack only the smaller
# operand (the weight's shape, or the output gradient's slice)
PACKED_BUDGET = 1 << 17


# bytes of the weight gradient's per-slice products a shared call may hold until they are summed in order
HELD_GRADIENTS = 8 << 20

# a stride-1 adjoint (an input gradient, a deconvolution) is one convolution where its input is at most this many
# times the size of y: its product, with all the kernel's offsets at once, beats col2im's products of y's channels
# alone and their scatter even at 2.25 times the multiply-adds (timed: LeNet's 5x5 "valid" 16-channel layer 0.72,
# 3x3 on 16x16 with 64 channels 0.57, 5x5 with pad 1 0.35; 5x5 with 32 outputs 1.02)
FULL_UP_TO = 2.25


def _batch_slices(batch, per_sample, budget=None):
    step = max(1, (COLUMNS_BUDGET if budget is None else min(budget, COLUMNS_BUDGET)) // max(per_sample, 1))
    return [slice(lo, min(lo + step, batch)) for lo in range(0, batch, step)]


# a native call's batch goes in NATIVE_SLICES slices (fewer for a small batch; smaller ones where an image's padded
# input is large, at most NATIVE_BUDGET elements a slice): enough for threads to share it evenly, few enough that
# the calls cost little. The slices do not depend on the thread count, so neither do the weight gradient's sums.
NATIVE_SLICES = 8
NATIVE_BUDGET = 1 << 20
# multiply-adds of a whole native call from which threads share it (no BLAS threads to start and spin: a handover
# costs a thread's wake-up only)
NATIVE_SHARE_FROM = 1 << 22


def _native_slices(batch, per_sample):
    step = max(1, min(NATIVE_BUDGET // max(per_sample, 1), -(-batch // NATIVE_SLICES)))
    return [slice(lo, min(lo + step, batch)) for lo in range(0, batch, step)]


def _native_fits(xp, x, w, group):
    """Whether the native kernels compute this convolution: float32 on numpy, one group, one or two spatial axes."""
    return (
        xp is np
        and x.dtype == np.float32
        and w.dtype == np.float32
        and group == 1
        and 1 <= w.ndim - 2 <= 2
        and x.size > 0
        and _native.available()
    )


def _native_geometry(src, w, pad, stride, dilation):
    """A one-dimensional convolution as a two-dimensional one of height 1: (src, w, pad, stride, dilation, out)."""
    if w.ndim == 3:
        src, w = src[:, None], w[:, :, None]
        pad, stride, dilation = (0,) + tuple(pad), (1,) + tuple(stride), (1,) + tuple(dilation)
    out = tuple(conv_out_size(*g) for g in zip(src.shape[1:3], w.shape[2:], pad, stride, dilation))
    return src, w, tuple(pad), tuple(stride), tuple(dilation), out


def _native_conv(x, w, pad, stride, dilation, channel_first):
    """``conv_cl`` by the native kernels: slices of the batch convolved directly (each image padded in C)."""
    src = np.moveaxis(x, 1, -1) if channel_first else x
    flat = w.ndim == 3
    src, w, pad, stride, dilation, out = _native_geometry(src, w, pad, stride, dilation)
    y = np.empty((src.shape[0],) + out + (w.shape[0],), np.float32)
    if 0 in out:
        return y[:, 0] if flat else y
    wk = _native.pack_weight(w)
    padded = tuple(n + 2 * p for n, p in zip(src.shape[1:3], pad))
    parts = _native_slices(src.shape[0], _prod(padded) * src.shape[-1])

    def slices(run):
        for part in run:
            _native.conv2d_forward(np.ascontiguousarray(src[part]), pad, wk, y[part], stride, dilation)

    share_slices(
        np, parts, _product_size(parts, out, _prod(w.shape[1:]), w.shape[0]), slices, share_from=NATIVE_SHARE_FROM
    )
    return y[:, 0] if flat else y


def _native_weight_grad(x, gy, pad, stride, dilation, kernel, channel_first):
    """``conv_weight_grad_cl`` by the native kernels: one kernel gradient per slice of the batch, summed in order."""
    src = np.moveaxis(x, 1, -1) if channel_first else x
    flat = len(kernel) == 1
    oc = gy.shape[-1]
    shape = (oc, src.shape[-1]) + tuple(kernel)
    src, probe, pad, stride, dilation, out = _native_geometry(src, np.empty(shape, np.float32), pad, stride, dilation)
    gy = np.ascontiguousarray(gy[:, None] if flat else gy)
    padded = tuple(n + 2 * p for n, p in zip(src.shape[1:3], pad))
    parts = _native_slices(src.shape[0], _prod(padded) * src.shape[-1])
    packed = probe.shape[2:] + (src.shape[-1], _native.padded_channels(oc))

    def slices(run):
        # each slice's own sum; on the caller's thread alone each is added into the first as it comes
        gs = []
        alone = type(run) is list
        for part in run:
            g = np.zeros(packed, np.float32)
            _native.conv2d_weight_grad(np.ascontiguousarray(src[part]), pad, gy[part], g, stride, dilation)
            if gs and alone:
                np.add(gs[0][1], g, out=gs[0][1])
            else:
                gs.append((part.start, g))
        return gs

    dealt = share_slices(
        np, parts, _product_size(parts, out, _prod(probe.shape[1:]), oc), slices, share_from=NATIVE_SHARE_FROM
    )
    gs = [g for _, g in sorted((item for run in dealt for item in run), key=lambda item: item[0])]
    gw = gs[0]
    for g in gs[1:]:
        np.add(gw, g, out=gw)
    gw = gw[..., :oc].transpose(3, 2, 0, 1)
    return np.ascontiguousarray(gw[:, :, 0] if flat else gw)


def conv_cl(xp, x, w, group, pad, stride, dilation, channel_first=False):
    """Convolution of x (B, *S, C), or (B, C, *S) with ``channel_first``, by w (OC, C/group, *K) -> (B, *out, OC)."""
    if _native_fits(xp, x, w, group):
        return _native_conv(x, w, pad, stride, dilation, channel_first)
    kernel = w.shape[2:]
    sizes, channels = (x.shape[2:], x.shape[1]) if channel_first else (x.shape[1:-1], x.shape[-1])
    out = tuple(conv_out_size(*geometry) for geometry in zip(sizes, kernel, pad, stride, dilation))
    wm = weight_matrix(xp, w, group)
    y = xp.empty((x.shape[0],) + out + (w.shape[0],), dtype=x.dtype)
    parts = _batch_slices(x.shape[0], _prod(out) * _prod(kernel) * channels, PACKED_BUDGET)

    def slices(run):
        for part, cols in _sliced_columns(xp, x, run, pad, channel_first, kernel, stride, dilation, out, group):
            if group == 1:
                xp.matmul(cols, wm, out=y[part].reshape(1, -1, w.shape[0]))
            else:
                y[part] = _from_groups(xp, xp.matmul(cols, wm), y[part].shape[:-1])
        release_scratch()

    share_slices(xp, parts, _product_size(parts, out, wm.shape[1], wm.shape[2]), slices)
    return y


def conv_transpose_cl(xp, y, w, group, pad, stride, dilation, size):
    """Adjoint of ``conv_cl`` in x: y (B, *out, OC) -> (B, *size, C), channel-last (col2im of W^T y)."""
    kernel = w.shape[2:]
    if group == 1 and all(s == 1 for s in stride) and all(d == 1 for d in dilation):
        if all(p < k for p, k in zip(pad, kernel)) and _prod(size) <= FULL_UP_TO * _prod(y.shape[1:-1]):
            # a stride-1 convolution's adjoint is the convolution of y padded by kernel - 1 - pad with the flipped
            # kernel, in and out channels swapped: one product per slice, no scatter (a "same" convolution's is
            # the same convolution; a "valid" one's, the full convolution, with size / out times the multiplies)
            flipped = w[(slice(None), slice(None)) + (slice(None, None, -1),) * len(kernel)]
            return conv_cl(
                xp, y, xp.swapaxes(flipped, 0, 1), 1, tuple(k - 1 - p for k, p in zip(kernel, pad)), stride, dilation
            )
    batch, out = y.shape[0], y.shape[1:-1]
    oc, cg = w.shape[:2]
    padded = tuple(s + 2 * p for s, p in zip(size, pad))
    full = xp.zeros((batch,) + padded + (group, cg), dtype=y.dtype)
    offsets = list(itertools.product(*(range(kk) for kk in kernel)))
    parts = _batch_slices(batch, _prod(out) * len(offsets) * cg * group)
    depthwise = cg == 1 and oc == group
    if depthwise:
        # one output per channel: each offset's "product" is y times one weight per channel, taken elementwise (a
        # batched product of 1 x 1 matrices is eleven times slower)
        per_offset = xp.ascontiguousarray(w.reshape(oc, -1).T)  # (prod(K), C)
    else:
        # one product per kernel offset, stacked (prod(K), G, rows, Cg): each offset's block is contiguous, so
        # col2im adds whole rows
        wk = w.reshape((group, oc // group, cg, -1)).transpose(3, 0, 1, 2)

    def slices(run):
        for part in run:
            yp = y[part]
            if not depthwise:
                gcols = scratch(xp, (len(offsets), group, yp.shape[0] * _prod(out), cg), y.dtype)
                xp.matmul(_by_group(xp, yp, group)[None], wk, out=gcols)
            target_part = full[part]
            for i, k in enumerate(offsets):
                target = tuple(
                    slice(ki * d, ki * d + (o - 1) * s + 1, s) for ki, d, o, s in zip(k, dilation, out, stride)
                )
                if depthwise:
                    block = (yp * per_offset[i])[..., None]
                else:
                    block = gcols[i].reshape((group, yp.shape[0]) + tuple(out) + (cg,))
                    block = block[0][..., None, :] if group == 1 else xp.moveaxis(block, 0, -2)
                target_part[(slice(None),) + target] += block
        release_scratch()

    share_slices(xp, parts, 0 if depthwise else _product_size(parts, out, oc // group, cg), slices)
    full = full.reshape(full.shape[:-2] + (-1,))
    return full[(slice(None),) + tuple(slice(p, p + s) for p, s in zip(pad, size))]


def conv_weight_grad_cl(xp, x, gy, group, pad, stride, dilation, kernel, channel_first=False):
    """Gradient of ``conv_cl`` in w: x (B, *S, C) (or channel-first), gy (B, *out, OC) -> (OC, C/group, *kernel)."""
    if _native_fits(xp, x, gy, group) and len(kernel) <= 2:
        return _native_weight_grad(x, gy, pad, stride, dilation, kernel, channel_first)
    out = gy.shape[1:-1]
    channels = x.shape[1] if channel_first else x.shape[-1]
    parts = _batch_slices(x.shape[0], _prod(out) * _prod(kernel) * channels)
    n, cg = len(kernel), channels // group

    rows, ocg = _prod(kernel) * cg, gy.shape[-1] // group
    held = len(parts) * group * rows * ocg * gy.itemsize <= HELD_GRADIENTS  # (all slices' products at once)

    def slices(run):
        # each slice's product (G, prod(K) * Cg, OCg), summed in the batch's order: on the caller's thread alone
        # (``run`` the list of parts), each added into the first as it comes; dealt out between threads, kept
        # with its place and summed below
        gs = []
        alone = type(run) is list
        for part, cols in _sliced_columns(xp, x, run, pad, channel_first, kernel, stride, dilation, out, group):
            g = xp.matmul(cols.transpose(0, 2, 1), _by_group(xp, gy[part], group))
            if gs and alone:
                xp.add(gs[0][1], g, out=gs[0][1])
            else:
                gs.append((part.start, g))
        release_scratch()
        return gs

    dealt = share_slices(xp, parts, _product_size(parts, out, rows, ocg), slices, held)
    gs = [g for _, g in sorted((item for run in dealt for item in run), key=lambda item: item[0])]
    gw = gs[0]
    for g in gs[1:]:
        xp.add(gw, g, out=gw)
    gw = gw.reshape((group,) + tuple(kernel) + (cg, gw.shape[-1]))
    gw = gw.transpose((0, n + 2, n + 1) + tuple(range(1, 1 + n)))
    return gw.reshape((-1, cg) + tuple(kernel))


def _product_size(parts, out, k, n):
    """Multiply-adds of one slice's product (per group): rows (the first slice's outputs) by k by n."""
    return (parts[0].stop - parts[0].start) * _prod(out) * k * n


def _prod(values):
    p = 1
    for v in values:
        p *= v
    return p


# -- argument handling ----------------------------------------------------------------------------------------------


def shape_arg(func, name, value, n, default, minimum=None):
    """A Shape argument as a tuple of ``n`` ints; None gives ``(default,) * n`` as NNabla's wrappers do."""
    if value is None:
        return (default,) * n
    if isinstance(value, int):
        value = (value,)
    value = tuple(int(v) for v in value)
    if len(value) != n:
        raise FunctionError(
            f"{func.type_name}: {name}={value} has {len(value)} entries but there are {n} spatial dimension(s)"
        )
    if minimum is not None and any(v < minimum for v in value):
        raise FunctionError(f"{func.type_name}: {name}={value} must be >= {minimum} in every dimension")
    return value


class _ConvFamily(Function):
    """Shared plumbing: flatten the batch axes, move channels first, run a primitive, restore the layout.

    ``output_shapes`` fills ``self.plan`` (lead shape, spatial sizes, channels) and writes the resolved
    pad/stride/dilation back into ``args``, as NNabla's generated wrappers pass them to the C++ function.
    """

    linear_inputs, bilinear, additive_inputs = (0, 1), True, (2,)

    inputs_spec = ("x", "weight", "bias?")
    transposed = False  # Deconvolution: the forward pass is conv_transpose_cl
    depthwise = False

    def _spatial_args(self, xs, ws):
        ba = self.args["base_axis"]
        ba = ba + len(xs) if ba < 0 else ba
        if not 0 <= ba < len(xs) - 1:
            raise FunctionError(
                f"{self.type_name}: base_axis={self.args['base_axis']} must be less than ndim - 1 of "
                f"input x of shape {xs}"
            )
        nsp = len(xs) - ba - 1
        self.args["pad"] = shape_arg(self, "pad", self.args["pad"], nsp, 0, minimum=0)
        self.args["stride"] = shape_arg(self, "stride", self.args["stride"], nsp, 1, minimum=1)
        self.args["dilation"] = shape_arg(self, "dilation", self.args["dilation"], nsp, 1, minimum=1)
        return ba, nsp

    def _check_bias(self, ws, bs, channels):
        if bs is not None and tuple(bs) != (channels,):
            raise FunctionError(
                f"{self.type_name}: bias of shape {bs} does not match weight of shape {ws} (expects ({channels},))"
            )

    # layout helpers -----------------------------------------------------------------------------------------------
    def _channel_last(self):
        return self.args.get("channel_last", False)

    def _batched(self, a):
        """The batch axes (those before base_axis) flattened into one."""
        return a.reshape((-1,) + a.shape[self.plan["base_axis"] :])

    def _as_channel_last(self, xp, a):
        a = self._batched(a)
        return a if self._channel_last() else xp.ascontiguousarray(xp.moveaxis(a, 1, -1))

    def _output(self, xp, y, b=None):
        """Channel-last y (B, *S, C) in the op's shape and batch axes, plus the bias if any.

        ``y`` is a fresh array the primitives made: the bias is added in place, and a channel-first op returns
        it as a channel-first view of the channel-last memory (no transposing copy). The next convolution,
        batch normalization, pooling or elementwise op reads that layout as it is."""
        if b is not None and y.flags.c_contiguous:
            # on wide rows where the channels are few (numpy's loop would run C elements at a time)
            rows, bias = widened(xp, y.reshape(-1, y.shape[-1]), b.reshape(1, -1))
            rows += bias
        elif b is not None:  # (a deconvolution's cropped result)
            y += b
        if not self._channel_last():
            y = xp.moveaxis(y, -1, 1)
        shape = self.plan["lead"] + y.shape[1:]
        return y if y.shape == shape else y.reshape(shape)

    def _weight_in(self, xp, w):
        """The weight in the primitives' form (channels, channels per group, *kernel)."""
        if self.depthwise:
            return w.reshape((w.shape[0], 1) + w.shape[1:])
        if self._channel_last():
            return xp.moveaxis(w, -1, 1)
        return w

    def _weight_out(self, xp, gw, shape):
        if self._channel_last() and not self.depthwise:
            gw = xp.moveaxis(gw, 1, -1)
        return xp.ascontiguousarray(gw).reshape(shape)

    def _geometry(self):
        a = self.args
        return self.plan["group"], a["pad"], a["stride"], a["dilation"]

    # forward and backward -----------------------------------------------------------------------------------------
    def compute(self, xp, x, w, b=None):
        wc = self._weight_in(xp, w)
        if self.transposed:
            y = conv_transpose_cl(xp, self._as_channel_last(xp, x), wc, *self._geometry(), self.plan["out_size"])
        else:
            y = conv_cl(xp, self._batched(x), wc, *self._geometry(), channel_first=not self._channel_last())
        return self._output(xp, y, b)

    def grad(self, xp, xs, ys, gys, need):
        x, w = xs[0], xs[1]
        wc = self._weight_in(xp, w) if need[0] else None  # (the gradient of one input reads only the other)
        gy = self._as_channel_last(xp, gys[0])
        geometry = self._geometry()
        first = not self._channel_last()
        gx = gw = gb = None
        if need[0]:
            if self.transposed:
                gx = conv_cl(xp, gy, wc, *geometry)
            else:
                gx = conv_transpose_cl(xp, gy, wc, *geometry, self.plan["in_size"])
            gx = self._output(xp, gx)
        if need[1]:
            kernel = tuple(w.shape[1:] if self.depthwise else w.shape[1:-1] if self._channel_last() else w.shape[2:])
            if self.transposed:
                gwc = conv_weight_grad_cl(xp, gy, self._as_channel_last(xp, x), *geometry, kernel)
            else:
                gwc = conv_weight_grad_cl(xp, self._batched(x), gy, *geometry, kernel, channel_first=first)
            gw = self._weight_out(xp, gwc, w.shape)
        if len(xs) > 2 and need[2]:
            gb = sum_rows(xp, gy.reshape(-1, gy.shape[-1]))
            return gx, gw, gb
        return (gx, gw) if len(xs) == 2 else (gx, gw, None)


@register
class Convolution(_ConvFamily):
    """N-D convolution; weight (outmaps, inmaps / group, *kernel), or (outmaps, *kernel, inmaps / group) when
    channel_last (NNabla's Convolution)."""

    args_spec = {"base_axis": 1, "pad": None, "stride": None, "dilation": None, "group": 1, "channel_last": False}

    def output_shapes(self, xs, ws, bs=None):
        ba, nsp = self._spatial_args(xs, ws)
        group, cl = self.args["group"], self.args["channel_last"]
        if len(ws) != 2 + nsp:
            raise FunctionError(
                f"Convolution: weight of shape {ws} must have {2 + nsp} dimensions for input x of shape {xs} "
                f"(base_axis={ba}, {nsp} spatial dimension(s))"
            )
        channels = xs[-1] if cl else xs[ba]
        spatial = xs[ba : ba + nsp] if cl else xs[ba + 1 :]
        per_group = ws[-1] if cl else ws[1]
        kernel = ws[1:-1] if cl else ws[2:]
        if group < 1 or channels % group or ws[0] % group:
            raise FunctionError(
                f"Convolution: group={group} must divide the input channels ({channels}, x of shape {xs}) and "
                f"the output channels ({ws[0]}, weight of shape {ws})"
            )
        if channels // group != per_group:
            raise FunctionError(
                f"Convolution: input x of shape {xs} has {channels} channels, {channels // group} per group "
                f"(group={group}), but weight of shape {ws} expects {per_group} channels per group"
            )
        out = _conv_spatial_out(self, spatial, kernel)
        self._check_bias(ws, bs, ws[0])
        self.plan = {"base_axis": ba, "lead": tuple(xs[:ba]), "group": group, "in_size": tuple(spatial)}
        if cl:
            return [tuple(xs[:ba]) + out + (ws[0],)]
        return [tuple(xs[:ba]) + (ws[0],) + out]


@register
class Deconvolution(_ConvFamily):
    """N-D transposed convolution; weight (inmaps, outmaps / group, *kernel), or (inmaps, *kernel, outmaps / group)
    when channel_last (NNabla's Deconvolution)."""

    args_spec = {
        "base_axis": 1,
        "pad": None,
        "stride": None,
        "dilation": None,
        "group": 1,
        "channel_last": False,
        "output_padding": None,
    }
    transposed = True

    def output_shapes(self, xs, ws, bs=None):
        ba, nsp = self._spatial_args(xs, ws)
        group, cl = self.args["group"], self.args["channel_last"]
        self.args["output_padding"] = shape_arg(self, "output_padding", self.args["output_padding"], nsp, 0, 0)
        if len(ws) != 2 + nsp:
            raise FunctionError(
                f"Deconvolution: weight of shape {ws} must have {2 + nsp} dimensions for input x of shape {xs} "
                f"(base_axis={ba}, {nsp} spatial dimension(s))"
            )
        channels = xs[-1] if cl else xs[ba]
        spatial = xs[ba : ba + nsp] if cl else xs[ba + 1 :]
        per_group = ws[-1] if cl else ws[1]
        kernel = ws[1:-1] if cl else ws[2:]
        if group < 1 or ws[0] % group:
            raise FunctionError(
                f"Deconvolution: group={group} must divide the input channels ({ws[0]}, weight of shape {ws})"
            )
        if channels != ws[0]:
            raise FunctionError(
                f"Deconvolution: input x of shape {xs} has {channels} channels but weight of shape {ws} "
                f"expects {ws[0]} (weight is (inmaps, outmaps / group, *kernel))"
            )
        out = _deconv_spatial_out(self, spatial, kernel, self.args["output_padding"])
        self._check_bias(ws, bs, per_group * group)
        self.plan = {"base_axis": ba, "lead": tuple(xs[:ba]), "group": group, "out_size": out}
        if cl:
            return [tuple(xs[:ba]) + out + (per_group * group,)]
        return [tuple(xs[:ba]) + (per_group * group,) + out]


@register
class DepthwiseConvolution(_ConvFamily):
    """Convolution of each channel on its own, ``multiplier`` maps per channel; weight (channels * multiplier,
    *kernel) (NNabla's DepthwiseConvolution)."""

    double_backward = False  # as in NNabla

    args_spec = {"base_axis": 1, "pad": None, "stride": None, "dilation": None, "multiplier": 1}
    depthwise = True

    def output_shapes(self, xs, ws, bs=None):
        ba, nsp = self._spatial_args(xs, ws)
        _check_depthwise_dims(self, xs, ws, nsp)
        channels, m = xs[ba], self.args["multiplier"]
        if m < 1 or ws[0] != channels * m:
            raise FunctionError(
                f"DepthwiseConvolution: weight of shape {ws} must have channels * multiplier = {channels} * {m} "
                f"= {channels * m} kernels for input x of shape {xs}"
            )
        out = _conv_spatial_out(self, xs[ba + 1 :], ws[1:])
        self._check_bias(ws, bs, ws[0])
        self.plan = {"base_axis": ba, "lead": tuple(xs[:ba]), "group": channels, "in_size": tuple(xs[ba + 1 :])}
        return [tuple(xs[:ba]) + (ws[0],) + out]


@register
class DepthwiseDeconvolution(_ConvFamily):
    """Transpose of DepthwiseConvolution: each group of ``divisor`` channels gives one output channel; weight
    (channels, *kernel) (NNabla's DepthwiseDeconvolution)."""

    double_backward = False  # as in NNabla

    args_spec = {"base_axis": 1, "pad": None, "stride": None, "dilation": None, "divisor": 1}
    transposed = True
    depthwise = True

    def output_shapes(self, xs, ws, bs=None):
        ba, nsp = self._spatial_args(xs, ws)
        _check_depthwise_dims(self, xs, ws, nsp)
        channels, divisor = xs[ba], self.args["divisor"]
        if ws[0] != channels:
            raise FunctionError(
                f"DepthwiseDeconvolution: weight of shape {ws} must have one kernel per input channel "
                f"({channels}, input x of shape {xs})"
            )
        if divisor < 1 or channels % divisor:
            raise FunctionError(
                f"DepthwiseDeconvolution: divisor={divisor} must divide the input channels ({channels}, "
                f"input x of shape {xs})"
            )
        out = _deconv_spatial_out(self, xs[ba + 1 :], ws[1:], (0,) * nsp)
        self._check_bias(ws, bs, channels // divisor)
        self.plan = {"base_axis": ba, "lead": tuple(xs[:ba]), "group": channels // divisor, "out_size": out}
        return [tuple(xs[:ba]) + (channels // divisor,) + out]


def _check_depthwise_dims(func, xs, ws, nsp):
    if nsp > 2:
        raise FunctionError(f"{func.type_name}: needs 1-D or 2-D spatial input, got x of shape {xs}")
    if len(ws) != 1 + nsp:
        raise FunctionError(
            f"{func.type_name}: weight of shape {ws} must have {1 + nsp} dimensions for input x of shape {xs}"
        )


def _conv_spatial_out(func, spatial, kernel):
    a = func.args
    out = []
    for i, (s, k, p, st, d) in enumerate(zip(spatial, kernel, a["pad"], a["stride"], a["dilation"])):
        o = conv_out_size(s, k, p, st, d)
        if o <= 0:
            raise FunctionError(
                f"{func.type_name}: no output at spatial dimension {i}: input {s}, kernel {k}, pad {p}, "
                f"stride {st}, dilation {d}"
            )
        out.append(o)
    return tuple(out)


def _deconv_spatial_out(func, spatial, kernel, output_padding):
    a = func.args
    out = []
    for i, (s, k, p, st, d, op) in enumerate(
        zip(spatial, kernel, a["pad"], a["stride"], a["dilation"], output_padding)
    ):
        o = st * (s - 1) + d * (k - 1) + 1 - 2 * p + op
        if o <= 0:
            raise FunctionError(
                f"{func.type_name}: no output at spatial dimension {i}: input {s}, kernel {k}, pad {p}, "
                f"stride {st}, dilation {d}"
            )
        if op >= st:
            raise FunctionError(
                f"{func.type_name}: output_padding={tuple(output_padding)} must be smaller than stride={a['stride']}"
            )
        out.append(o)
    return tuple(out)
