"""``nnabla.variable``: where NNabla exposes Variable and Context."""

from __future__ import annotations

from ._variable import Variable  # noqa: F401
from .context import Context  # noqa: F401
