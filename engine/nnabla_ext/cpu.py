"""The CPU extension: numpy arrays."""

from nnabla.context import Context


def context(device_id="", type_config="float", **kw):
    """``Context(backend=['cpu:float'], array_class='CpuCachedArray', device_id='')``; 'half' adds cpu:half."""
    backend = ["cpu:half", "cpu:float"] if type_config == "half" else [f"cpu:{type_config}"]
    return Context(backend=backend, array_class="CpuCachedArray", device_id=str(device_id))


def array_classes():
    return ["CpuCachedArray", "CpuArray"]


def clear_memory_cache():
    pass


def device_synchronize(device_id=""):
    pass


synchronize = device_synchronize


def get_device_count():
    return 1


def get_devices():
    return ["0"]
