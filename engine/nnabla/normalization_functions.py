"""``nnabla.normalization_functions``: where NNabla writes its normalization wrappers; they live in ``nnabla.functions``
here, and this module re-exports every F name, as NNabla's does."""

from __future__ import annotations


def __getattr__(name):
    from . import functions

    try:
        return getattr(functions, name)
    except AttributeError:
        raise AttributeError(f"module 'nnabla.normalization_functions' has no attribute {name!r}") from None
