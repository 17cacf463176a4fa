"""Removing functions: each function of the named types is skipped (its first input passes through)."""

from __future__ import annotations

from .graph_converter import FunctionModifier


class RemoveFunctionModifier(FunctionModifier):
    """Remove every function whose type is in ``rm_funcs`` (e.g. ``['BatchNormalization', 'MulScalar']``)."""

    def __init__(self, rm_funcs=()):
        super().__init__()
        self._rm_funcs = list(rm_funcs)

    def modify(self, f, inputs):
        if f.info.type_name in self._rm_funcs:
            return inputs[0]
        return None
