"""``nnabla.utils.inspection``: looking into a graph while it runs (function hooks, NaN/Inf tracing, printing)."""

from .base import FunctionHookCallbackBase
from .pretty_print import pprint
from .profile import CpuTimerCallback, TimeProfiler
from .value_trace import NanInfTracer

__all__ = ["FunctionHookCallbackBase", "pprint", "CpuTimerCallback", "TimeProfiler", "NanInfTracer"]
