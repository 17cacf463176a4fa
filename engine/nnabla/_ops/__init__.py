"""Op definitions, one module per family; importing this package registers them all."""

from . import activation, arithmetic, array, linear, loss, reduction  # noqa: F401
