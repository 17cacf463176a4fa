"""``nnabla.auto_forward``: dynamic mode, where each function runs as it is created (NNabla's module)."""

from __future__ import annotations

from .graph_utils import auto_forward, get_auto_forward, set_auto_forward  # noqa: F401
