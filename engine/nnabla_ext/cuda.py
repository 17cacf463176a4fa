"""The CUDA extension: cupy arrays on an NVIDIA GPU (needs the 'cuda12' or 'cuda13' extra), as NNabla's
``nnabla_ext.cuda``: ``context``, ``device_synchronize``, ``synchronize``, ``get_device_count``, ``get_devices``,
``get_device_memory_size``, ``clear_memory_cache``, ``array_classes``, ``Event`` and ``StreamEventHandler``.

Importing it and making its context need no GPU; creating a function in that context, or calling what needs
the device, does, and says so. ``get_device_count`` is 0 without cupy or a driver.
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
    """The device module with ``device_id`` selected (a clear RuntimeError without cupy or a GPU)."""
    from nnabla._array import cupy_module

    return cupy_module(str(device_id))


def array_classes():
    return ["CudaCachedArray", "CudaArray"]


def clear_memory_cache():
    """Release the blocks cupy's memory pools keep (device and pinned host memory)."""
    xp = _cupy()
    xp.get_default_memory_pool().free_all_blocks()
    xp.get_default_pinned_memory_pool().free_all_blocks()


def device_synchronize(device="0"):
    """Wait until GPU ``device`` has finished its queued work (``cudaDeviceSynchronize``)."""
    _cupy(device).cuda.Device(int(device)).synchronize()


def synchronize(device_id=0, **kw):
    """``device_synchronize(device_id)``."""
    return device_synchronize(str(device_id))


def get_device_count():
    """How many GPUs there are (0 without cupy or a driver)."""
    from nnabla._array import device_module

    try:
        xp = device_module()
        if xp is None:
            import cupy as xp
        return int(xp.cuda.runtime.getDeviceCount())
    except Exception:
        return 0


def get_devices():
    """The ids of the GPUs, as strings: ``['0', '1', ...]``."""
    return [str(i) for i in range(get_device_count())]


def get_device_memory_size(device_id="0"):
    """[free, total] bytes of GPU memory (``cudaMemGetInfo``)."""
    return list(_cupy(device_id).cuda.runtime.memGetInfo())


class Event:
    """A CUDA event on GPU ``device_id``: ``record()``, ``synchronize()``, ``elapsed(start_event)`` in ms."""

    def __init__(self, device_id=0):
        self._xp = _cupy(device_id)
        self._event = self._xp.cuda.Event()

    def record(self):
        self._event.record()

    def synchronize(self):
        self._event.synchronize()

    def elapsed(self, start_event):
        return float(self._xp.cuda.get_elapsed_time(start_event._event, self._event))


class StreamEventHandler:
    """A stream of its own plus an event recorded on the default stream (NNabla's, for overlapping work):
    ``stream_wait_event``, ``event_synchronize``, ``stream_synchronize``, ``default_stream_synchronize``,
    ``add_default_stream_event``, ``stream_create``/``stream_destroy``; ``value`` is the stream's handle."""

    def __init__(self, device_id=-1):
        self.device_id = device_id
        self._xp = _cupy(max(int(device_id), 0))
        self._stream = None
        self.value = None
        self.stream_create(device_id)
        self._event = self._xp.cuda.Event()
        self.add_default_stream_event()

    def add_default_stream_event(self):
        self._event.record(self._xp.cuda.Stream.null)

    def stream_wait_event(self):
        if self._stream is not None:
            self._stream.wait_event(self._event)

    def event_synchronize(self):
        self._event.synchronize()

    def stream_create(self, device_id=-1):
        self.stream_destroy()
        self._stream = self._xp.cuda.Stream(non_blocking=True)
        self.value = getattr(self._stream, "ptr", id(self._stream))

    def stream_destroy(self):
        self._stream = None

    def stream_synchronize(self):
        if self._stream is not None:
            self._stream.synchronize()

    def default_stream_synchronize(self):
        self._xp.cuda.Stream.null.synchronize()
