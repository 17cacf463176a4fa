"""NNabla's module path for ``UnfusedBatchNormalizationModifier`` (written beside its inverse in
``fused_batch_normalization.py``)."""

from .fused_batch_normalization import UnfusedBatchNormalizationModifier

__all__ = ["UnfusedBatchNormalizationModifier"]
