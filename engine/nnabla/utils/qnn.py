"""Quantization-aware training (NNabla's ``nnabla.utils.qnn``).

A float network goes through three states, driven by ``QATScheduler.step()``:

1. ``NON_QNN``: the network as written.
2. ``RECORDING`` (at step ``niter_to_recording``): recorder functions are put before the layers to quantize; each
   forward records the range of what passes (min/max, absolute max or their moving averages) into parameters
   ``m-<name>`` / ``M-<name>`` in a scope named ``<FunctionType>-<rank>``. The network's output stops gradients, so
   the weights stay as they are while ranges are recorded.
3. ``TRAINING`` (at step ``niter_to_training``): the recorders are removed and QuantizeLinear / DequantizeLinear pairs
   simulate int8 inference, with ``scale-<name>`` / ``zeropoint-<name>`` computed once from the recorded ranges
   and frozen; the learning rate is scaled by ``config.learning_rate_scale`` (once per registered network).

    from nnabla.utils.qnn import QATScheduler, QATConfig
    config = QATConfig(); config.ext_name = "cpu"; config.niter_to_recording = 1; config.niter_to_training = 500
    qat = QATScheduler(config=config, solver=solver)
    qat(pred); qat(vpred, training=False)
    for i in range(n): qat.step(); ...train...
"""

from enum import Enum

import numpy as np

import nnabla as nn
import nnabla.experimental.graph_converters as GC
import nnabla.functions as F
import nnabla_ext.cuda  # needs no GPU to import; clearing its cache does
from nnabla.function import FunctionError as _FunctionError
from nnabla.function import PythonFunction
from nnabla.initializer import ConstantInitializer

__round_methods__ = {"CEIL": np.ceil, "ROUND": np.round, "FLOOR": np.floor, "NOTROUND": None}


def _param_exits(param: str) -> bool:
    """Whether a parameter of this name exists in the current scope (NNabla's spelling kept)."""
    return nn.parameter.get_parameter(param) is not None


# -- recorders: identity in forward, updating range parameters while training ------------------------------


class _Recorder(PythonFunction):
    """Base of the recorders: ``y = x``; with ``training`` each forward updates the range inputs in place.

    Backward passes the gradient straight through to ``x`` (NNabla 1.36's recorders leave ``x``'s gradient
    unchanged instead, an evident slip: the scheduler blocks gradients at the network output anyway).
    """

    _stats = ("min", "max")  # names of the range inputs after x

    def __init__(self, ctx, training: bool = True):
        super().__init__(ctx)
        self.training = training

    @property
    def name(self) -> str:
        return type(self).__name__

    def min_outputs(self) -> int:
        return 1

    def setup_impl(self, inputs, outputs) -> None:
        n = 1 + len(self._stats)
        if len(inputs) != n:
            raise _FunctionError(f"{self.name}: takes {n} inputs (x, {', '.join(self._stats)}), got {len(inputs)}")
        x = inputs[0]
        for stat, v in zip(self._stats, inputs[1:]):
            if v.ndim != x.ndim or v.size != 1:
                raise _FunctionError(
                    f"{self.name}: {stat} must have x's ndim ({x.ndim}) and a single element "
                    f"(shape {(1,) * x.ndim}), got shape {v.shape}"
                )
        outputs[0].reset_shape(x.shape, True)

    def forward_impl(self, inputs, outputs) -> None:
        x = inputs[0].data
        outputs[0].data.copy_from(x)
        if self.training:
            self._record(x, *[v.data for v in inputs[1:]])

    def _record(self, x, *stats) -> None:
        raise NotImplementedError

    def backward_impl(self, inputs, outputs, propagate_down, accum) -> None:
        if not propagate_down[0]:
            return
        dx, dy = inputs[0].grad, outputs[0].grad
        if accum[0]:
            dx += dy
        else:
            dx.copy_from(dy)

    def grad_depends_output_data(self, i, o) -> bool:
        return False

    def grad_depends_input_data(self, i, j) -> bool:
        return False


class _MovingRecorder(_Recorder):
    def __init__(self, ctx, decay: float = 0.99, training: bool = True):
        super().__init__(ctx, training)
        self.decay = decay

    def _average(self, stat, batch_value) -> None:
        F.identity(self.decay * stat + (1 - self.decay) * batch_value, outputs=[stat])


class MinMaxMinMaxRecorder(_Recorder):
    """Records the smallest minimum and the largest maximum of the batches seen."""

    def _record(self, x, m, M) -> None:
        F.minimum2(m, F.min(x, keepdims=True), outputs=[m])
        F.maximum2(M, F.max(x, keepdims=True), outputs=[M])


class AbsMaxRecorder(_Recorder):
    """Records the largest absolute value of the batches seen."""

    _stats = ("abs_max",)

    def _record(self, x, M) -> None:
        F.maximum2(M, F.max(F.abs(x), keepdims=True), outputs=[M])


class MinMaxMvaRecorder(_MovingRecorder):
    """Records moving averages (``decay``) of each batch's minimum and maximum."""

    def _record(self, x, m, M) -> None:
        self._average(m, F.min(x, keepdims=True))
        self._average(M, F.max(x, keepdims=True))


class MaxMaxRecorder(_Recorder):
    """Records the largest maximum of the batches seen."""

    _stats = ("max",)

    def _record(self, x, M) -> None:
        F.maximum2(M, F.max(x, keepdims=True), outputs=[M])


class MaxMvaRecorder(_MovingRecorder):
    """Records a moving average (``decay``) of each batch's maximum."""

    _stats = ("max",)

    def _record(self, x, M) -> None:
        self._average(M, F.max(x, keepdims=True))


def minmax_minmax_recorder(x, m, M, training: bool = True):
    return MinMaxMinMaxRecorder(nn.get_current_context(), training)(x, m, M)


def abs_max_recorder(x, M, training: bool = True):
    return AbsMaxRecorder(nn.get_current_context(), training)(x, M)


def minmax_mva_recorder(x, m, M, decay: float = 0.99, training: bool = True):
    return MinMaxMvaRecorder(nn.get_current_context(), decay, training)(x, m, M)


def max_max_recorder(x, M, training: bool = True):
    return MaxMaxRecorder(nn.get_current_context(), training)(x, M)


def max_mva_recorder(x, M, decay: float = 0.99, training: bool = True):
    return MaxMvaRecorder(nn.get_current_context(), decay, training)(x, M)


# -- callbacks: create a recorder's parameters, and turn what it recorded into scale and zero point ------------


def _int8_span(narrow_range: bool) -> int:
    low, high = -(2**7), 2**7 - 1
    return high - (low + 1) if narrow_range else high - low


def _frozen_scale_zeropoint(span, shape, narrow_range, round_method, name):
    """``scale-<name>`` and ``zeropoint-<name>`` (created once, ``need_grad=False``) for a recorded range ``span``."""
    scale = np.asarray(span / _int8_span(narrow_range), np.float32)
    rounding = __round_methods__[round_method]
    if rounding is not None:  # a power-of-2 scale, as TensorRT wants; log2 in float32 as NNabla computes it
        with np.errstate(divide="ignore"):  # a range that recorded nothing gives a zero scale, as in NNabla
            scale = (2 ** rounding(np.log(scale) / np.float32(np.log(2)))).astype(np.float32)
    zero_point = np.zeros(shape, np.int8)  # symmetric quantization
    zp = nn.parameter.get_parameter_or_create(f"zeropoint-{name}", zero_point.shape, zero_point, False)
    sc = nn.parameter.get_parameter_or_create(f"scale-{name}", scale.shape, scale, False)
    return sc, zp


class _MinMaxCallback:
    """A recorder keeping ``m-<name>`` and ``M-<name>``; the scale spans ``M - m``."""

    _function = None

    def name(self) -> str:
        n = type(self).__name__
        return n[: n.rfind("Callback")]

    def __call__(self, x, axes=[1], training: bool = True, name: str = ""):  # noqa: B006
        shape = [1] * x.ndim
        m = nn.parameter.get_parameter_or_create(f"m-{name}", shape, ConstantInitializer())
        M = nn.parameter.get_parameter_or_create(f"M-{name}", shape, ConstantInitializer())
        return type(self)._function(x, m, M, training=training)

    @staticmethod
    def get_scale_zeropoint(x, axes=[1], narrow_range=False, round_method="NOTROUND", name=""):  # noqa: B006
        """The frozen (scale, zero point) for what ``m-<name>``/``M-<name>`` recorded; (None, None) if neither is."""
        if not _param_exits(f"m-{name}") and not _param_exits(f"M-{name}"):
            return None, None
        shape = [1] * x.ndim
        m = nn.parameter.get_parameter_or_create(f"m-{name}", shape)
        M = nn.parameter.get_parameter_or_create(f"M-{name}", shape)
        span = np.maximum(M.d - m.d, 1e-24)  # never a zero scale
        return _frozen_scale_zeropoint(span, m.shape, narrow_range, round_method, name)


class _MaxCallback(_MinMaxCallback):
    """A recorder keeping ``M-<name>`` only; the scale spans ``[-M, M]``."""

    def __call__(self, x, axes=[1], training: bool = True, name: str = ""):  # noqa: B006
        M = nn.parameter.get_parameter_or_create(f"M-{name}", [1] * x.ndim, ConstantInitializer())
        return type(self)._function(x, M, training=training)

    @staticmethod
    def get_scale_zeropoint(x, axes=[1], narrow_range=False, round_method="NOTROUND", name=""):  # noqa: B006
        """The frozen (scale, zero point) for what ``M-<name>`` recorded; (None, None) if it is not there."""
        if not _param_exits(f"M-{name}"):
            return None, None
        M = nn.parameter.get_parameter_or_create(f"M-{name}", [1] * x.ndim)
        return _frozen_scale_zeropoint(2 * M.d, M.shape, narrow_range, round_method, name)


class MinMaxMinMaxRecorderCallback(_MinMaxCallback):
    _function = staticmethod(minmax_minmax_recorder)


class MinMaxMvaRecorderCallback(_MinMaxCallback):
    _function = staticmethod(minmax_mva_recorder)


class AbsMaxRecorderCallback(_MaxCallback):
    _function = staticmethod(abs_max_recorder)


class MaxMaxRecorderCallback(_MaxCallback):
    _function = staticmethod(max_max_recorder)


class MaxMvaRecorderCallback(_MaxCallback):
    _function = staticmethod(max_mva_recorder)


# -- configuration -----------------------------------------------------------------------------------------


class PrecisionMode(Enum):
    QNN = 0  # quantized functions only
    SIM_QNN = 1  # Quantize/Dequantize pairs only (simulated quantization)
    MIXED_QNN = 2  # quantized functions where possible, Quantize/Dequantize elsewhere


class QNNState(Enum):
    NON_QNN = 0
    RECORDING = 1
    TRAINING = 2
    DEPLOYMENT = 3


class QATConfig:
    """What to quantize and how; set attributes on an instance (NNabla's defaults below)."""

    ext_name = "cudnn"  # 'cpu', 'cuda' or 'cudnn': with a CUDA one, cupy's memory cache is cleared at each switch
    zero_point = False
    dtype = np.int8
    precision_mode = PrecisionMode.SIM_QNN
    channel_last = False
    channel_wise = False
    niter_to_recording = 0
    niter_to_training = -1  # must be set: more steps after niter_to_recording than one epoch has

    class RoundingMethod(Enum):
        """How a scale is coerced to a power of 2."""

        CEIL = "CEIL"
        ROUND = "ROUND"
        FLOOR = "FLOOR"
        NOTROUND = "NOTROUND"

    pow2 = RoundingMethod.ROUND
    narrow_range = False  # int8's lowest value -127 instead of -128
    round_mode = "HALF_TO_EVEN"
    bn_folding = False
    bn_self_folding = False
    recorder_weight = MinMaxMinMaxRecorderCallback
    recorder_activation = MaxMvaRecorderCallback
    record_layers = []  # function type names to record; empty: every layer

    class RecorderPosition(Enum):
        BEFORE = 0  # a recorder before each recorded function
        BOTH = 1  # and one after it

    recorder_position = RecorderPosition.BEFORE
    skip_inputs_layers = ["Convolution", "Deconvolution"]  # these stay float where they read the network input
    skip_outputs_layers = ["Affine"]  # these stay float where they make the network output
    learning_rate_scale = 0.1
    skip_bias = False


class QATTensorRTConfig(QATConfig):
    pow2 = QATConfig.RoundingMethod.ROUND
    bn_folding = True
    bn_self_folding = True
    record_layers = ["Convolution", "Deconvolution", "Affine", "BatchMatmul", "ReLU"]
    record_position = QATConfig.RecorderPosition.BEFORE  # NNabla's name; recorder_position stays BEFORE


qat_default_config = QATTensorRTConfig()


class FunctionsRankRecorder:
    """A ``Variable.visit`` callback numbering functions in forward order, skipping training-only ones."""

    def __init__(self, functions_only_for_training=["ImageAugmentation", "Dropout"]):  # noqa: B006
        self.functions_only_for_training = list(functions_only_for_training)
        self.rank = 0
        self.functions_ranks = {}

    def __call__(self, f) -> None:
        if f.info.type_name not in self.functions_only_for_training:
            self.functions_ranks[f] = self.rank
            self.rank += 1


class QATScheduler:
    """Steps registered networks through NON_QNN -> RECORDING -> TRAINING (NNabla's ``QATScheduler``).

    ``config`` is a QATConfig; ``solver`` (optional) gets its parameters again after batch-normalization
    folding and its learning rate scaled when training starts.
    """

    def __init__(self, config: QATConfig = qat_default_config, solver=None):
        if config.niter_to_training <= 0 or config.niter_to_recording < 0:
            raise ValueError(
                "Please set niter_to_recording and niter_to_training correctly! niter_to_recording should be "
                "greater than or equal to 0. niter_to_training should be greater than 0"
            )
        if config.niter_to_training - config.niter_to_recording <= 0:
            raise ValueError(
                "Please set niter_to_recording and niter_to_training correctly! The number of steps between "
                "recording and training should be greater than the number of steps of one epoch training."
            )
        self.config = config
        self.solver = solver
        self.counter = 0
        self.state = QNNState.NON_QNN
        self.registry = []  # [(output Variable, training)]

    def __call__(self, pred, training: bool = True) -> None:
        """Register ``pred`` (a network's output) to be converted in place at each switch."""
        self.registry.append((pred, training))

    def _register_params(self, solver) -> None:
        if solver and (self.config.bn_folding or self.config.bn_self_folding):
            solver.set_parameters(nn.get_parameters(grad_only=True))

    def _set_qat_learning_rate(self) -> None:
        if self.solver is None:  # NNabla fails here without a solver; there is simply nothing to scale
            return
        self.solver.set_learning_rate(self.solver.learning_rate() * self.config.learning_rate_scale)

    def _fold_bn(self, pred):
        cfg = self.config
        modifiers = []
        if cfg.bn_folding:
            modifiers += [
                GC.BatchNormalizationFoldingModifier(opposite=False, channel_last=cfg.channel_last),
                GC.BatchNormalizationFoldingModifier(opposite=True, channel_last=cfg.channel_last),
            ]
        if cfg.bn_self_folding:
            modifiers.append(GC.BatchNormalizationSelfFoldingModifier())
        if modifiers:
            modifiers.insert(0, GC.UnfusedBatchNormalizationModifier())  # fused ones must be split to be folded
            pred.rewire_on(GC.GraphConverter(modifiers).convert(pred))
        return pred

    def _clear_memory_cache(self) -> None:
        if self.config.ext_name in ("cuda", "cudnn"):
            try:
                nnabla_ext.cuda.clear_memory_cache()
            except RuntimeError as e:  # QATConfig's default is 'cudnn': say which setting to change
                raise RuntimeError(
                    f"QATScheduler: config.ext_name is {self.config.ext_name!r}, but {e} "
                    "For the CPU, set config.ext_name = 'cpu'."
                ) from e

    def _schedule_to_recording(self) -> None:
        for i, (pred, training) in enumerate(self.registry):
            pred = self._fold_bn(pred)
            ranks = FunctionsRankRecorder()
            pred.visit(ranks)
            modifier = GC.QuantizeNonQNNToRecordingModifier(
                ranks.functions_ranks, config=self.config, training=training
            )
            pred.rewire_on(GC.GraphConverter([modifier]).convert(pred))
            pred.need_grad = False
            self._register_params(self.solver)
            self.registry[i] = (pred, training)
            self.state = QNNState.RECORDING
            print(f"QNNState.NON_QNN -> QNNState.RECORDING: graph={pred}")

    def _schedule_to_training(self) -> None:
        cfg = self.config
        for i, (pred, training) in enumerate(self.registry):
            recorders = [cfg.recorder_activation().name(), cfg.recorder_weight().name()]
            pred.rewire_on(GC.GraphConverter([GC.RemoveFunctionModifier(rm_funcs=recorders)]).convert(pred))
            ranks = FunctionsRankRecorder()
            pred.visit(ranks)
            modifier = GC.QuantizeRecordingToTrainingModifier(ranks.functions_ranks, config=cfg)
            pred.rewire_on(GC.GraphConverter([modifier]).convert(pred))
            self._register_params(self.solver)
            self._set_qat_learning_rate()
            self.registry[i] = (pred, training)
            self.state = QNNState.TRAINING
            print(f"QNNState.RECORDING -> QNNState.TRAINING: graph={pred}")

    def step(self) -> None:
        """Count one iteration; at ``niter_to_recording`` / ``niter_to_training`` convert the registered networks."""
        if self.counter == self.config.niter_to_recording:
            self._clear_memory_cache()
            self._schedule_to_recording()
        elif self.counter == self.config.niter_to_training:
            self._clear_memory_cache()
            self._schedule_to_training()
        self.counter += 1

    def save(self, fname: str, inputs, batch_size: int = 1, net_name: str = "net", deploy: bool = False) -> None:
        """Save each registered evaluation network (``training=False``) to the ``.nnp`` file ``fname``, with an
        executor ``runtime`` reading ``x0, x1, ...`` (``inputs``) and giving ``y0, ...``."""
        if deploy:
            raise ValueError("QATScheduler.save: deploy=True (int8 deployment graph) is not supported, as in NNabla")
        from nnabla.utils.save import save

        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        for pred, training in self.registry:
            if training:
                continue
            outputs = list(pred) if isinstance(pred, (list, tuple)) else [pred]
            names = {f"x{k}": v for k, v in enumerate(inputs)}
            outs = {f"y{k}": v for k, v in enumerate(outputs)}
            contents = {
                "networks": [{"name": net_name, "batch_size": batch_size, "outputs": outs, "names": names}],
                "executors": [{"name": "runtime", "network": net_name, "data": list(names), "outputs": list(outs)}],
            }
            save(fname, contents)
