"""``ChannelFirstModifier`` (NHWC -> NCHW); it shares its rules with ``ChannelLastModifier``."""

from .channel_last import ChannelFirstModifier

__all__ = ["ChannelFirstModifier"]
