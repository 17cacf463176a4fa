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


def context(device_id="0", type_config="float", **kw):
    """``Context(backend=['cudnn:float', 'cuda:float', 'cpu:float'], array_class='CudaCachedArray', ...)``."""
    tc = "half" if type_config == "half" else type_config
    return Context(
        backend=[f"cudnn:{tc}", "cuda:float", "cpu:float"], array_class="CudaCachedArray", device_id=str(device_id)
    )
