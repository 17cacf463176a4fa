"""The cuDNN extension: the CUDA backend under cuDNN's name (contexts list cudnn, cuda, cpu)."""

from nnabla.context import Context
from nnabla_ext.cuda import (  # noqa: F401
    array_classes,
    clear_memory_cache,
    device_synchronize,
    get_device_count,
    get_devices,
    synchronize,
)

_TYPE_CONFIGS = {
    "float": ["cudnn:float", "cuda:float", "cpu:float"],
    "half": ["cudnn:half", "cudnn:float", "cuda:half", "cuda:float", "cpu:float"],
    "mixed_half": [
        "cudnn:mixed_half",
        "cudnn:half",
        "cudnn:float",
        "cuda:mixed_half",
        "cuda:half",
        "cuda:float",
        "cpu:float",
    ],
}


def context(device_id="0", type_config="float", **kw):
    """``Context(backend=['cudnn:float', 'cuda:float', 'cpu:float'], array_class='CudaCachedArray', ...)``."""
    if type_config not in _TYPE_CONFIGS:
        raise ValueError(f"Unknown data type config is given {type_config} (known: {', '.join(_TYPE_CONFIGS)})")
    return Context(list(_TYPE_CONFIGS[type_config]), array_classes()[0], device_id=str(device_id))
