"""Switching batch normalizations to their running (inference) statistics."""

from __future__ import annotations

from .graph_converter import FunctionModifier

_BATCH_NORMS = ("BatchNormalization", "FusedBatchNormalization", "SyncBatchNormalization")


class BatchNormBatchStatModifier(FunctionModifier):
    """Set ``batch_stat=False`` in every BatchNormalization, FusedBatchNormalization, SyncBatchNormalization."""

    def modify(self, f, inputs):
        if f.info.type_name not in _BATCH_NORMS:
            return None
        args = dict(f.info.args, batch_stat=False)
        return self._call_function(f.info.type_name, inputs, args)
