"""Fusing ``BatchNormalization -> Add2 -> ReLU`` into one FusedBatchNormalization, and back."""

from __future__ import annotations

import nnabla.functions as F

from .graph_converter import FunctionModifier

_NONLINEARITIES = {"ReLU": "relu"}


def _only_consumer(v):
    refs = v.function_references
    return refs[0] if len(refs) == 1 else None


class FusedBatchNormalizationModifier(FunctionModifier):
    """Each block ``BatchNormalization -> Add2 -> ReLU`` becomes one FusedBatchNormalization.

    The fused function uses the batch normalization's own parameters and the Add2's other input as ``z``.
    """

    def __init__(self):
        super().__init__()
        self._pending = {}  # id(new BN input) -> (bn function, its new inputs), until the block's ReLU

    def _block(self, bn):
        add = _only_consumer(bn.outputs[0])
        if add is None or add.info.type_name != "Add2" or add.inputs[0] is not bn.outputs[0]:
            return None
        act = _only_consumer(add.outputs[0])
        if act is None or act.info.type_name not in _NONLINEARITIES:
            return None
        return add, act

    def modify(self, f, inputs):
        kind = f.info.type_name
        if kind == "BatchNormalization" and self._block(f) is not None:
            self._pending[id(inputs[0])] = (f, inputs)
            return inputs[0]  # a stand-in until the block's end
        if kind == "Add2" and id(inputs[0]) in self._pending:
            bn, bn_inputs = self._pending.pop(id(inputs[0]))
            self._pending[id(inputs[0])] = (bn, bn_inputs, inputs[1])
            return inputs[0]
        if kind in _NONLINEARITIES and id(inputs[0]) in self._pending and len(self._pending[id(inputs[0])]) == 3:
            bn, bn_inputs, z = self._pending.pop(id(inputs[0]))
            args = {k: v for k, v in bn.info.args.items() if k not in ("no_scale", "no_bias")}
            return F.fused_batch_normalization(*bn_inputs[:5], z, nonlinearity=_NONLINEARITIES[kind], **args)
        return None

    def __finish__(self) -> None:
        self._pending = {}


class UnfusedBatchNormalizationModifier(FunctionModifier):
    """Each FusedBatchNormalization becomes ``BatchNormalization -> Add2 -> ReLU`` (no Add2 without ``z``),
    with the same parameters."""

    def modify(self, f, inputs):
        if f.info.type_name != "FusedBatchNormalization":
            return None
        args = dict(f.info.args)
        nonlinearity = args.pop("nonlinearity")
        if nonlinearity != "relu":
            raise ValueError(f"UnfusedBatchNormalizationModifier: nonlinearity {nonlinearity!r} (supports 'relu')")
        h = F.batch_normalization(*inputs[:5], **args)
        return F.relu(h) if len(inputs) == 5 else F.relu(inputs[5] + h)
