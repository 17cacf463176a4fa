"""The CUDA extension: cupy arrays on an NVIDIA GPU (needs the 'cuda' extra).

Importing it and making its context need no GPU; creating a function in that context does, and says so.
"""

from nnabla.context import Context

_TYPE_CONFIGS = {
    "float": ["cuda:float", "cpu:float"],
    "half": ["cuda:half", "cuda:float", "cpu:float"],
    "mixed_half": ["cuda:mixed_half", "cuda:float", "cpu:float"],
}


def context(device_id=0, type_config="float", **kw):
    """``Context(backend=['cuda:float', 'cpu:float'], array_class='CudaCachedArray', device_id='0')``."""
    if type_config not in _TYPE_CONFIGS:
        raise ValueError(f"Unknown data type config is given {type_config} (known: {', '.join(_TYPE_CONFIGS)})")
    return Context(list(_TYPE_CONFIGS[type_config]), array_classes()[0], device_id=str(device_id))


def _cupy(device_id="0"):
    from nnabla._array import cupy_module

    return cupy_module(device_id)


def array_classes():
    return ["CudaCachedArray", "CudaArray"]


def clear_memory_cache():
    """Release the blocks cupy's memory pool keeps."""
    _cupy().get_default_memory_pool().free_all_blocks()


def device_synchronize(device_id=0):
    """Wait until the GPU has finished its queued work."""
    _cupy(str(device_id)).cuda.Device(int(device_id)).synchronize()


def synchronize(device_id=0, **kw):
    return device_synchronize(device_id)


def get_device_count():
    """How many GPUs cupy sees (0 without cupy or a driver)."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount()
    except Exception:
        return 0


def get_devices():
    return [str(i) for i in range(get_device_count())]
