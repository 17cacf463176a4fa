"""The CUDA extension: cupy arrays on an NVIDIA GPU (needs the 'cuda' extra)."""

from nnabla.context import Context


def context(device_id="0", type_config="float", **kw):
    """``Context(backend=['cuda:float', 'cpu:float'], array_class='CudaCachedArray', device_id='0')``."""
    tc = "half" if type_config == "half" else type_config
    return Context(backend=[f"cuda:{tc}", "cpu:float"], array_class="CudaCachedArray", device_id=str(device_id))


def _cupy():
    from nnabla._array import cupy_module

    return cupy_module()


def array_classes():
    return ["CudaCachedArray", "CudaArray"]


def clear_memory_cache():
    _cupy().get_default_memory_pool().free_all_blocks()


def device_synchronize(device_id="0"):
    _cupy().cuda.Device(int(device_id)).synchronize()


synchronize = device_synchronize


def get_device_count():
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount()
    except Exception:
        return 0


def get_devices():
    return [str(i) for i in range(get_device_count())]
