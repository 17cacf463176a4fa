"""Small local datasets written in the file layouts NNabla's tutorials and examples read (``cifar10``)."""

from . import cifar10

__all__ = ["cifar10"]
