"""Channel pruning: output channels whose weights have a small L2 norm are set to zero."""

from __future__ import annotations

import numpy as np

import nnabla as nn
from nnabla.parameter import get_parameter_or_create

from .graph_converter import FunctionModifier

_FUNCTIONS = ("Convolution", "Deconvolution", "DepthwiseConvolution", "DepthwiseDeconvolution", "Affine")
_OUTPUT_AXIS = {"Affine": 1, "Convolution": 0, "DepthwiseConvolution": 0, "DepthwiseDeconvolution": 0}


class PruningModifier(FunctionModifier):
    """Zero the output channels (and their biases) whose summed squared weights are at most
    ``pruning_threshold``; the pruned values are new parameters ``w-pruned``/``b-pruned`` in the weight's scope."""

    def __init__(self, pruning_threshold, functions_to_prune=_FUNCTIONS, channel_last=False):
        super().__init__()
        self._pruning_threshold = pruning_threshold
        self._functions = [f for f in functions_to_prune if f in _FUNCTIONS]
        self._channel_last = channel_last

    def calculate_axis(self, f) -> int:
        kind = f.info.type_name
        if kind == "Deconvolution":
            return -1 if self._channel_last else 1
        return _OUTPUT_AXIS[kind]

    def modify(self, f, inputs):
        if f.info.type_name not in self._functions:
            return None
        x, w = inputs[:2]
        b = inputs[2] if len(inputs) == 3 else None
        axis = self.calculate_axis(f) % w.ndim
        others = tuple(i for i in range(w.ndim) if i != axis)
        mask = np.sum(w.d**2, axis=others, keepdims=True) > self._pruning_threshold
        with nn.parameter_scope(self.get_parameter_scope(w)):
            w_pruned = get_parameter_or_create("w-pruned", w.shape, w.d * mask, True, True)
            b_pruned = None
            if b is not None:
                b_pruned = get_parameter_or_create("b-pruned", b.shape, b.d * mask.reshape(-1), True, True)
        return self._call_function(f.info.type_name, [x, w_pruned] + ([b_pruned] if b is not None else []), f.info.args)
