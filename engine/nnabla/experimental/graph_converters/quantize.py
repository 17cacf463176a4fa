"""The two conversions of quantization-aware training (``nnabla.utils.qnn.QATScheduler`` drives them).

``QuantizeNonQNNToRecordingModifier`` puts range recorders before the layers to quantize (after them too with
``RecorderPosition.BOTH``); ``QuantizeRecordingToTrainingModifier`` turns a graph whose recorders were removed
into one with QuantizeLinear -> DequantizeLinear pairs on the recorded inputs, weights and outputs. Both name
their parameters by the function they serve, ``<FunctionType>-<rank>/<kind>-<x|w><index>``, with ranks from
``nnabla.utils.qnn.FunctionsRankRecorder`` so that the second finds what the first recorded.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

import nnabla as nn
import nnabla.functions as F

from .graph_converter import FunctionModifier

_BINARY = {"Add2": F.add2, "Sub2": F.sub2, "Mul2": F.mul2, "Div2": F.div2, "Pow2": F.pow2}
_WITH_BIAS = ("Affine", "Convolution", "Deconvolution", "DepthwiseConvolution", "DepthwiseDeconvolution")
_SHARED = ("Add2", "Concatenate")  # their inputs share one quantization, that of the earliest input


def _readers(v) -> list:
    """The functions reading ``v``, newest first: the order NNabla lists them in, which decides which reader
    names a shared recorder."""
    return v.function_references[::-1]


def _type(f) -> str | None:
    return f.info.type_name if f is not None else None


def _n_activations(type_name: str, inputs) -> int:
    """How many leading inputs are activations; the rest are weights (and bias)."""
    if type_name in ("Concatenate", "Stack"):
        return len(inputs)
    return 2 if type_name in _BINARY else 1


def _types_reached(f, forward: bool) -> set:
    """The types of the functions after ``f`` (``forward``) or before it, walked without recursion."""
    seen, stack, types = set(), [f], set()
    while stack:
        g = stack.pop()
        nexts = g.outputs[0].function_references if forward else [x.parent for x in g.inputs]
        for h in nexts:
            if h is not None and id(h) not in seen:
                seen.add(id(h))
                types.add(_type(h))
                stack.append(h)
    return types


def _scope(f, ranks: dict) -> str:
    return f"{_type(f)}-{ranks.get(f, -1)}"


class QuantizeNonQNNToRecordingModifier(FunctionModifier):
    """Put ``config.recorder_activation`` before each layer's activation inputs and ``config.recorder_weight``
    on its weights (NNabla's modifier of that name). Batch normalizations and the sink are left alone, as are
    layers not in ``config.record_layers`` (when it is not empty) and the first/last layers named in
    ``config.skip_inputs_layers`` / ``skip_outputs_layers``. ``training=False`` makes recorders that only read."""

    def __init__(self, functions_ranks, config=None, training: bool = True):
        super().__init__()
        self._config = config
        self._fct_bin_set = dict(_BINARY)
        self._training = training
        self.functions_ranks = functions_ranks

    def get_function_rank(self, f) -> int:
        return self.functions_ranks.get(f, -1)

    def _is_skipped_end(self, f) -> bool:
        cfg, fn = self._config, _type(f)
        if fn in cfg.skip_outputs_layers and not _types_reached(f, True) & set(cfg.skip_outputs_layers):
            return True  # the last such layer: it makes the output
        return fn in cfg.skip_inputs_layers and not _types_reached(f, False) & set(cfg.skip_inputs_layers)

    def check(self, f) -> bool:
        """Whether ``f`` gets recorders."""
        fn = _type(f)
        if fn in ("Sink", "BatchNormalization"):
            return False
        if self._config.record_layers and fn not in self._config.record_layers:
            return False
        return not self._is_skipped_end(f)

    def _record(self, x, name: str):
        cfg = self._config
        axes = [3] if cfg.channel_last else [1]
        return cfg.recorder_activation()(x, axes=axes, training=self._training, name=name)

    def add_recorder(self, f, inputs, cfg) -> list:
        """``inputs`` with a recorder on each: ``x<i>`` for activations, ``w<i>`` for weights, in ``f``'s scope."""
        axes = [3] if cfg.channel_last else [1]
        recorder_name = cfg.recorder_activation().name()
        n = _n_activations(_type(f), inputs)
        new_inputs = []
        with nn.parameter_scope(_scope(f, self.functions_ranks)):
            for i, x in enumerate(inputs[:n]):
                refs = _readers(x)
                if refs and _type(refs[0]) == recorder_name:  # already recorded for another reader
                    x = refs[0].outputs[0]
                elif _type(x.parent) != recorder_name:
                    x = self._record(x, f"x{i}")
                new_inputs.append(x)
            for i, w in enumerate(inputs[n:]):
                new_inputs.append(cfg.recorder_weight()(w, axes=axes, training=self._training, name=f"w{i}"))
        return new_inputs

    def share_recorder(self, f, inputs, new_inputs, cfg) -> list:
        """For Add2 and Concatenate: every input recorded by the recorder of the earliest one (lowest rank)."""
        if _type(f) not in _SHARED:
            return new_inputs
        idx, min_rank = 0, inputs[0].rank
        for i, x in enumerate(new_inputs[1:], start=1):
            if x.rank < min_rank:
                idx, min_rank = i, x.rank
        scope = self.get_parameter_scope(new_inputs[idx].parent.inputs[1])
        for i, x in enumerate(new_inputs):
            if i != idx:
                with nn.parameter_scope(scope):
                    new_inputs[i] = self._record(x.parent.inputs[0], "x0")
        return new_inputs

    def modify(self, f, inputs):
        if not self.check(f):
            return None
        cfg = self._config
        new_inputs = self.share_recorder(f, inputs, self.add_recorder(f, inputs, cfg), cfg)
        h = self._modify_as_same(f, new_inputs)
        if cfg.recorder_position == cfg.RecorderPosition.BOTH:
            reader = _readers(f.outputs[0])[0]
            with nn.parameter_scope(_scope(reader, self.functions_ranks)):
                h = self._record(h, "x0")
        return h


class QuantizeRecordingToTrainingModifier(FunctionModifier):
    """Simulated quantization from what the recorders kept (NNabla's modifier of that name): leaf inputs and
    weights go through QuantizeLinear -> DequantizeLinear with the frozen ``scale-*``/``zeropoint-*`` of their
    recorders, each function's output through the pair its first recorded reader asks for, and a layer's bias
    is quantized with ``scale-b = scale(x) * scale(w)``. Only ``PrecisionMode.SIM_QNN`` exists (as in NNabla)."""

    class SimulatedQNN:
        """The SIM_QNN conversion of one function."""

        def __init__(self, functions_ranks, modifier=None, config=None):
            self._config = config
            self._modifier = modifier
            self._map_input_scale_zeropoint = defaultdict(list)  # quantized variable -> (scale, zero point)
            self.functions_ranks = functions_ranks

        def get_function_rank(self, f) -> int:
            return self.functions_ranks.get(f, -1)

        def _options(self):
            cfg = self._config
            return cfg.round_mode, cfg.narrow_range, cfg.dtype

        def try_to_quantize(self, x, scale, zero_point, round_mode, narrow_range, dtype):
            if scale is None:
                return x
            return F.quantize_linear(x, scale, zero_point, round_mode, narrow_range, dtype)

        def try_to_dequantize(self, x, scale, zero_point):
            return F.dequantize_linear(x, scale, zero_point) if scale is not None else x

        def get_quantization_params(self, variable):
            """(scale, zero point) arrays of the QuantizeLinear making ``variable``, or (None, None)."""
            if _type(variable.parent) == "QuantizeLinear":
                return variable.parent.inputs[1].d, variable.parent.inputs[2].d
            return None, None

        def _quantize_outputs(self, f, output, axes, cfg):
            rm, nr, dt = self._options()
            scale, zero_point = None, None
            for reader in _readers(f.outputs[0]):
                if _type(reader) == "Sink":
                    return output
                name = "x0"
                if _type(reader) in _BINARY:
                    for i, x in enumerate(reader.inputs):
                        if x is f.outputs[0]:
                            name = f"x{i}"
                with nn.parameter_scope(_scope(reader, self.functions_ranks)):
                    scale, zero_point = cfg.recorder_activation.get_scale_zeropoint(
                        output, axes=axes, narrow_range=nr, round_method=cfg.pow2.value, name=name
                    )
                if scale is not None:
                    break
            h = self.try_to_quantize(output, scale, zero_point, rm, nr, dt)
            self._map_input_scale_zeropoint[h] = (scale, zero_point)
            return h

        def requantize_bias(self, f, inputs, scope, rm, nr, dt, skip_bias=False):
            """The bias of a layer quantized again with ``scale(x) * scale(w)`` (skipped with ``skip_bias``)."""
            if _type(f) not in _WITH_BIAS or len(inputs) != 3:
                return inputs
            x, w, b = inputs
            sx, zpx = self.get_quantization_params(x)
            sw, _ = self.get_quantization_params(w)
            if sx is None or sw is None:
                return inputs
            scale = np.reshape(sx.copy(), (1,)) * np.reshape(sw.copy(), (1,))
            with nn.parameter_scope(scope):
                sb = nn.parameter.get_parameter_or_create("scale-b", (1,), scale, False)
                zpb = nn.parameter.get_parameter_or_create("zeropoint-b", (1,), np.reshape(zpx.copy(), (1,)), False)
            if _type(b.parent) == "QuantizeLinear":
                b = b.parent.inputs[0]
                inputs[2] = b if skip_bias else F.quantize_linear(b, sb, zpb, rm, nr, dt)
            return inputs

        def quantize_inputs(self, f, inputs, scope, cfg, axes, rm, nr, dt, pow2):
            """Quantize ``f``'s leaf activation inputs (``x<i>``) and its weights (``w<i>``)."""
            n = _n_activations(_type(f), inputs)
            quantized = []
            with nn.parameter_scope(scope):
                for i, x in enumerate(inputs[:n]):
                    if x.rank == 0:  # others were quantized as the outputs of their functions
                        sx, zpx = cfg.recorder_activation.get_scale_zeropoint(
                            x, axes=axes, narrow_range=nr, round_method=pow2, name=f"x{i}"
                        )
                        x = self.try_to_quantize(x, sx, zpx, rm, nr, dt)
                        self._map_input_scale_zeropoint[x] = (sx, zpx)
                    quantized.append(x)
                for i, w in enumerate(inputs[n:]):
                    sw, zpw = cfg.recorder_weight.get_scale_zeropoint(
                        w, axes=axes, narrow_range=nr, round_method=pow2, name=f"w{i}"
                    )
                    quantized.append(self.try_to_quantize(w, sw, zpw, rm, nr, dt))
            return self.requantize_bias(f, quantized, scope, rm, nr, dt, cfg.skip_bias)

        def dequantize_inputs(self, inps):
            """Each quantized input dequantized (by the DequantizeLinear another reader already made, if any)."""
            for i, x in enumerate(inps):
                for reader in _readers(x):
                    if _type(reader) == "DequantizeLinear":
                        x = reader.outputs[0]
                        break
                scale, zero_point = None, None
                if _type(x.parent) == "QuantizeLinear":
                    scale, zero_point = x.parent.inputs[1:3]
                inps[i] = self.try_to_dequantize(x, scale, zero_point)
            return inps

        def shared_quantization(self, f, inps, cfg):
            """For Add2 and Concatenate: every input quantized as the earliest dequantized one is."""
            if _type(f) not in _SHARED:
                return inps
            idx, min_rank = 0, inps[0].rank
            for i, x in enumerate(inps[1:], start=1):
                if _type(x.parent) == "DequantizeLinear" and x.rank < min_rank:
                    idx, min_rank = i, x.rank
            scale, zero_point = None, None
            if _type(inps[idx].parent) == "DequantizeLinear":
                scale, zero_point = inps[idx].parent.inputs[1:3]
            for i, x in enumerate(inps):
                if i == idx:
                    continue
                if _type(x.parent) == "DequantizeLinear":
                    x = x.parent.inputs[0].parent.inputs[0]  # the float value before its own pair
                x = self.try_to_quantize(x, scale, zero_point, cfg.round_mode, cfg.narrow_range, cfg.dtype)
                inps[i] = self.try_to_dequantize(x, scale, zero_point)
            return inps

        def modify(self, f, inputs):
            cfg = self._config
            rm, nr, dt = self._options()
            axes = [3] if cfg.channel_last else [1]
            scope = _scope(f, self.functions_ranks)
            inps = self.quantize_inputs(f, inputs, scope, cfg, axes, rm, nr, dt, cfg.pow2.value)
            inps = self.shared_quantization(f, self.dequantize_inputs(inps), cfg)
            h = self._modifier._modify_as_same(f, inps)
            if _type(f) == "Sink":
                return h
            return self._quantize_outputs(f, h, axes, cfg)

        def __finish__(self) -> None:
            self._map_input_scale_zeropoint = defaultdict(list)

    def __init__(self, functions_ranks, config=None):
        super().__init__()
        from nnabla.utils.qnn import PrecisionMode

        self._fct_bin_set = dict(_BINARY)
        if config.precision_mode != PrecisionMode.SIM_QNN:
            raise ValueError(
                f"QuantizeRecordingToTrainingModifier: precision_mode={config.precision_mode} is not supported "
                "(only PrecisionMode.SIM_QNN, as in NNabla 1.36)"
            )
        self._mode = self.SimulatedQNN(functions_ranks, self, config)

    def modify(self, f, inputs):
        return self._mode.modify(f, inputs)

    def __finish__(self) -> None:
        self._mode.__finish__()
