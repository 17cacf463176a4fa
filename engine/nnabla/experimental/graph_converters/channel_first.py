"""NNabla's module path for ``ChannelFirstModifier`` (written beside its inverse in ``channel_last.py``)."""

from .channel_last import ChannelFirstModifier

__all__ = ["ChannelFirstModifier"]
