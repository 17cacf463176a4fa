"""Batch-normalization folding: ``Convolution/Deconvolution/Affine -> BatchNormalization`` becomes one layer.

With inference statistics a batch normalization is ``c0 * x + c1`` per channel, ``c0 = gamma / sqrt(var + eps)``,
``c1 = beta - c0 * mean``: scaling the preceding layer's weights by ``c0`` (per output channel) and its bias to
``c0 * b + c1`` gives the same outputs with one function less. The folded values are new parameters
``w-folded``/``b-folded`` in the layer's scope; the original parameters are left as they were.
"""

from __future__ import annotations

import numpy as np

import nnabla as nn
import nnabla.functions as F
from nnabla.initializer import ConstantInitializer
from nnabla.parameter import get_parameter_or_create

from .graph_converter import FunctionModifier

_LAYERS = {"Affine": F.affine, "Convolution": F.convolution, "Deconvolution": F.deconvolution}


def _next_function(v):
    refs = v.function_references
    return refs[0] if refs else None


def _is(f, type_name) -> bool:
    return f is not None and f.info.type_name == type_name


def _bn_scale_shift(bn):
    """(c0, c1) per channel, flat, from a BatchNormalization function's parameters."""
    beta, gamma, mean, var = (np.ravel(v.d).astype(np.float64) for v in bn.inputs[1:5])
    c0 = gamma / np.sqrt(var + bn.info.args["eps"])
    return c0, beta - c0 * mean


def _output_channel_shape(layer, w, channel_last):
    """How to broadcast a per-output-channel vector over the weights of ``layer`` (None: not foldable)."""
    kind, args = layer.info.type_name, layer.info.args
    if kind == "Affine":
        return (1, -1) if w.ndim == 2 else None
    if kind == "Convolution":
        return (-1,) + (1,) * (w.ndim - 1)
    if args.get("group", 1) != 1:
        return None
    shape = [1] * w.ndim
    shape[-1 if channel_last else 1] = -1
    return tuple(shape)


def _channel_axis_matches(layer, bn, channel_last) -> bool:
    axes = list(bn.info.args["axes"])
    ndim = len(bn.inputs[0].shape)
    if layer.info.type_name == "Affine":
        return axes == [1] and ndim == 2
    return axes == [ndim - 1 if channel_last or layer.info.args.get("channel_last") else 1]


class AddBiasModifier(FunctionModifier):
    """Give a bias (zeros, ``b`` in the weight's scope) to a Convolution/Deconvolution/Affine without one that
    a BatchNormalization follows or precedes, so folding has a bias to fold into."""

    def modify(self, f, inputs):
        kind = f.info.type_name
        if kind not in _LAYERS or len(inputs) == 3:
            return None
        before, after = f.inputs[0].parent, _next_function(f.outputs[0])
        if not (_is(before, "BatchNormalization") or _is(after, "BatchNormalization")):
            return None
        x, w = inputs[:2]
        n_outmaps = w.shape[1] if kind == "Affine" else w.shape[0]
        if kind == "Deconvolution":
            n_outmaps = w.shape[-1] if f.info.args.get("channel_last") else w.shape[1] * f.info.args.get("group", 1)
        with nn.parameter_scope(self.get_parameter_scope(w)):
            b = get_parameter_or_create("b", (n_outmaps,), ConstantInitializer(), True, True)
        return _LAYERS[kind](x, w, b, **f.info.args)


class BatchNormalizationFoldingModifierInner(FunctionModifier):
    """Fold each BatchNormalization into the Convolution, Deconvolution or Affine right before it."""

    def __init__(self, channel_last=False):
        super().__init__()
        self._channel_last = channel_last
        self._folded = {}  # id -> the new layer outputs that already apply the batch normalization after them

    def modify(self, f, inputs):
        kind = f.info.type_name
        if kind == "BatchNormalization" and id(inputs[0]) in self._folded:
            return inputs[0]
        if kind not in _LAYERS or len(f.outputs[0].function_references) != 1 or len(inputs) != 3:
            return None
        bn = f.outputs[0].function_references[0]
        if not _is(bn, "BatchNormalization") or not _channel_axis_matches(f, bn, self._channel_last):
            return None
        w, b = f.inputs[1], f.inputs[2]
        shape = _output_channel_shape(f, w, self._channel_last)
        if shape is None:
            return None
        c0, c1 = _bn_scale_shift(bn)
        w_data = (w.d * c0.reshape(shape)).astype(w.d.dtype)
        b_data = (c0 * np.ravel(b.d) + c1).astype(b.d.dtype).reshape(b.shape)
        with nn.parameter_scope(self.get_parameter_scope(inputs[1])):
            w_new = get_parameter_or_create("w-folded", w.shape, w_data, inputs[1].need_grad)
            b_new = get_parameter_or_create("b-folded", b.shape, b_data, inputs[2].need_grad)
        out = _LAYERS[kind](inputs[0], w_new, b_new, **f.info.args)
        self._folded[id(out)] = out
        return out

    def __finish__(self) -> None:
        self._folded = {}


class BatchNormalizationFoldingOppositeModifierInner(FunctionModifier):
    """Fold each BatchNormalization into the Convolution, Deconvolution or Affine right after it.

    Exact where the layer pads nothing (a padded border sees ``0`` where the batch normalization gave ``c1``).
    """

    def __init__(self, channel_last=False):
        super().__init__()
        self._channel_last = channel_last

    def _foldable(self, bn):
        refs = bn.outputs[0].function_references
        return len(refs) == 1 and refs[0].info.type_name in _LAYERS and len(refs[0].inputs) == 3

    def modify(self, f, inputs):
        kind = f.info.type_name
        if kind == "BatchNormalization" and self._foldable(f):
            return inputs[0]
        bn = f.inputs[0].parent
        if kind not in _LAYERS or not _is(bn, "BatchNormalization") or not self._foldable(bn):
            return None
        c0, c1 = _bn_scale_shift(bn)
        w, b = f.inputs[1], f.inputs[2]
        x_shape = bn.inputs[0].shape
        channels = c0.size
        if kind == "Affine":  # W (C*H*W..., out): each input feature scaled by its channel's c0
            per_feature = int(np.prod(x_shape[1:])) // channels
            scale = np.repeat(c0, per_feature)[:, None]
            shift = np.repeat(c1, per_feature)[:, None]
            w_data = w.d * scale
            b_data = np.ravel(b.d) + (w.d * shift).sum(axis=0)
        else:
            in_axis = 1 if kind == "Convolution" else 0
            if self._channel_last and kind == "Convolution":
                in_axis = w.ndim - 1
            shape = [1] * w.ndim
            shape[in_axis] = channels
            w_data = w.d * c0.reshape(shape)
            out_axis = 0 if kind == "Convolution" else (w.ndim - 1 if self._channel_last else 1)
            b_data = np.ravel(b.d) + np.moveaxis(w.d * c1.reshape(shape), out_axis, 0).reshape(b.size, -1).sum(axis=1)
        with nn.parameter_scope(self.get_parameter_scope(inputs[1])):
            w_new = get_parameter_or_create("w-folded", w.shape, w_data.astype(w.d.dtype), inputs[1].need_grad)
            b_new = get_parameter_or_create(
                "b-folded", b.shape, b_data.astype(b.d.dtype).reshape(b.shape), inputs[2].need_grad
            )
        return _LAYERS[kind](inputs[0], w_new, b_new, **f.info.args)


class BatchNormalizationFoldingModifier:
    """``[AddBiasModifier(), ...Inner(channel_last)]``: fold batch normalizations into the layers before them
    (after them with ``opposite=True``). A list of modifiers, as NNabla's; GraphConverter flattens it."""

    def __new__(cls, opposite=False, channel_last=False):
        inner = BatchNormalizationFoldingOppositeModifierInner if opposite else BatchNormalizationFoldingModifierInner
        return [AddBiasModifier(), inner(channel_last=channel_last)]
