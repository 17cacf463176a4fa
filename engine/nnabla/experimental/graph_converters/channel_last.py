"""Channel-first (NCHW) <-> channel-last (NHWC) conversion of 2-D image networks."""

from __future__ import annotations

import nnabla as nn
import nnabla.functions as F

from .graph_converter import FunctionModifier

_POOLING = ("MaxPooling", "AveragePooling", "SumPooling", "Unpooling")
_CONVERTED = ("Convolution", "Deconvolution", "BatchNormalization", "Concatenate", "Affine") + _POOLING


class _LayoutModifier(FunctionModifier):
    """The shared rules; ``_to_last`` says which way, ``_suffix`` names the converted parameters."""

    _to_last = True
    _suffix = "_cl"

    def __init__(self, inputs, converted_inputs=None):
        super().__init__()
        self._inputs = list(inputs)
        self._given = converted_inputs
        self._prepare_inputs()

    def _order(self):
        return (0, 2, 3, 1) if self._to_last else (0, 3, 1, 2)

    def _prepare_inputs(self) -> None:
        if self._given is None:
            converted = []
            for x in self._inputs:
                if x.ndim != 4:
                    raise ValueError(f"{type(self).__name__}: inputs must be 4-D images, got shape {x.shape}")
                v = nn.Variable(tuple(x.shape[i] for i in self._order()))
                v.d = x.d.transpose(self._order())
                converted.append(v)
            self._given = converted  # the same converted inputs for later conversions, which the graph reads
        else:
            converted = list(self._given)
        self._converted = converted
        for x, v in zip(self._inputs, converted):
            for f in x.function_references:
                mapped = [v if old is x else None for old in f.inputs]
                self.init_map_func_inputs(f, mapped)

    def _param(self, v, name, data, need_grad=True):
        with nn.parameter_scope(self.get_parameter_scope(v)):
            return nn.parameter.get_parameter_or_create(name, data.shape, data, need_grad)

    def modify(self, f, inputs):
        kind = f.info.type_name
        if kind not in _CONVERTED:
            return None
        args = dict(f.info.args)
        last = self._to_last
        order = self._order()
        if kind in ("Convolution", "Deconvolution"):
            if args.get("channel_last", False) == last:
                return None
            args["channel_last"] = last
            w = self._param(inputs[1], "W" + self._suffix, inputs[1].d.transpose(order), inputs[1].need_grad)
            return self._call_function(kind, [inputs[0], w] + inputs[2:], args)
        if kind == "BatchNormalization":
            x = inputs[0]
            args["axes"] = [x.ndim - 1] if last else [1]
            names = ("beta", "gamma", "mean", "var")
            params = [
                self._param(p, n + self._suffix, p.d.transpose(order), p.need_grad) for p, n in zip(inputs[1:5], names)
            ]
            return self._call_function(kind, [x] + params, args)
        if kind in _POOLING:
            args["channel_last"] = last
            return self._call_function(kind, inputs, args)
        if kind == "Concatenate":
            args["axis"] = inputs[0].ndim - 1 if last else 1
            return self._call_function(kind, inputs, args)
        # Affine on an image: the flattened features change order, so do the weight's rows
        x, w = inputs[0], inputs[1]
        if x.ndim != 4 or w.ndim != 2:
            return None
        if last:
            _, h, wd, c = x.shape
            rows = w.d.reshape(c, h, wd, -1).transpose(1, 2, 0, 3)
        else:
            _, c, h, wd = x.shape
            rows = w.d.reshape(h, wd, c, -1).transpose(2, 0, 1, 3)
        w_new = self._param(w, "w" + self._suffix, rows.reshape(w.shape), w.need_grad)
        return F.affine(x, w_new, inputs[2] if len(inputs) == 3 else None, **args)

    def __finish__(self) -> None:
        self._prepare_inputs()


class ChannelLastModifier(_LayoutModifier):
    """Convert a channel-first (NCHW) network to channel last (NHWC).

    ``inputs``: the network's first inputs; ``inputs_cl``: their NHWC versions (made, with the same values, when
    not given, and kept as ``modifier.inputs_cl``). Converts Convolution, Deconvolution, BatchNormalization,
    pooling, Unpooling, Concatenate and Affine on images; weights are new parameters ``W_cl``, ``beta_cl`` ...
    """

    _to_last = True
    _suffix = "_cl"

    def __init__(self, inputs, inputs_cl=None):
        super().__init__(inputs, inputs_cl)

    @property
    def inputs_cl(self) -> list:
        return self._converted


class ChannelFirstModifier(_LayoutModifier):
    """Convert a channel-last (NHWC) network to channel first (NCHW); ``inputs_cf`` as ``inputs_cl`` above."""

    _to_last = False
    _suffix = "_cf"

    def __init__(self, inputs, inputs_cf=None):
        super().__init__(inputs, inputs_cf)

    @property
    def inputs_cf(self) -> list:
        return self._converted
