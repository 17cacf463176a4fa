"""The CPU extension: numpy arrays."""

from nnabla import context as _context
from nnabla.context import Context

_TYPE_CONFIGS = {"float": ["cpu:float"], "half": ["cpu:half", "cpu:float"]}


def context(type_config="float", **kw):
    """``Context(backend=['cpu:float'], array_class='CpuCachedArray', device_id='')``; 'half' adds cpu:half."""
    if type_config not in _TYPE_CONFIGS:
        raise ValueError(f"Unknown data type config is given {type_config} (known: {', '.join(_TYPE_CONFIGS)})")
    return Context(list(_TYPE_CONFIGS[type_config]), array_classes()[0], "")


def array_classes():
    """The CPU array classes, preferred first (``nn.prefer_cached_array`` orders them)."""
    return _context.array_classes()


def clear_memory_cache():
    """Nothing to release: numpy frees arrays itself."""


def device_synchronize(device_id=""):
    """Nothing to wait for: numpy runs synchronously."""


def synchronize(**kw):
    device_synchronize("")


def get_device_count():
    return 1


def get_devices():
    return ["0"]
