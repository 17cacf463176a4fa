"""Batch-normalization self-folding: each BatchNormalization becomes ``c0 * x + c1`` (Mul2, Add2)."""

from __future__ import annotations

import numpy as np

import nnabla as nn

from .graph_converter import FunctionModifier


class BatchNormalizationSelfFoldingModifier(FunctionModifier):
    """Replace the four parameters of each batch normalization by a scale ``c0`` and a bias ``c1``.

    They are new parameters ``<name>/c0-<name>-<i>`` and ``<name>/c1-<name>-<i>`` (i counts the batch
    normalizations in forward order), of the batch normalization's parameter shape.
    """

    def __init__(self, name="bn-self-folding"):
        super().__init__()
        self._name = name
        self._count = 0

    def modify(self, f, inputs):
        if f.info.type_name != "BatchNormalization":
            return None
        beta, gamma, mean, var = (v.d.astype(np.float64) for v in f.inputs[1:5])
        c0 = gamma / np.sqrt(var + f.info.args["eps"])
        c1 = beta - c0 * mean
        shape = f.inputs[1].shape
        with nn.parameter_scope(self._name):
            c0v = nn.parameter.get_parameter_or_create(f"c0-{self._name}-{self._count}", shape, c0.astype(np.float32))
            c1v = nn.parameter.get_parameter_or_create(f"c1-{self._name}-{self._count}", shape, c1.astype(np.float32))
        self._count += 1
        return c0v * inputs[0] + c1v

    def __finish__(self) -> None:
        self._count = 0
