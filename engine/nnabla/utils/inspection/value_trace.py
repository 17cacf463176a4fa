"""``NanInfTracer``: function hooks that find the first function whose output (or input gradient) holds NaN/Inf."""

from __future__ import annotations

from collections import OrderedDict
from contextlib import contextmanager

import numpy as np

from .base import FunctionHookCallbackBase


def _ordinal(n: int) -> str:
    # NNabla's wording, including "0th" for the first output
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, "{}th".format(n))


def _print_trace(history, direction):
    print("Error during {} propagation".format(direction))
    for f in history[:-1]:
        print("\t{}".format(f.name))
    print("\t{} <-- ERROR".format(history[-1].name))


class NanInfTracer(FunctionHookCallbackBase):
    """Pass ``forward_post_hook`` to ``forward`` and ``backward_post_hook`` to ``backward``; then ``check()``
    (or leave a ``with tracer.trace():`` block) raises ValueError naming the first function, in execution
    order, with a NaN or Inf output (forward) or input gradient (backward), after printing the functions run.
    """

    def __init__(self, trace_nan: bool = True, trace_inf: bool = True, need_details: bool = True):
        self.trace_nan = trace_nan
        self.trace_inf = trace_inf
        self.need_details = need_details
        self.key_to_stat_fwd = OrderedDict()
        self.key_to_stat_bwd = OrderedDict()
        detail = (
            "\n        Function details: \n            function type: {}\n            shapes of inputs: {} \n"
            "            shapes of outputs: {}\n            function args: {}\n        "
        )
        self._msg = "The {} output of the function '{}' (rank: {}) has nan or inf as its values." + (
            detail if need_details else ""
        )
        self._msg_keys = ["name", "rank", "function_type", "input_shapes", "output_shapes", "function_args"]

    def _add_key(self, f, key_to_stat):
        if f in key_to_stat:
            return
        stat = {"name": f.name, "function_type": None, "function_args": None, "input_shapes": None,
                "output_shapes": None}  # fmt: skip
        if self.need_details:
            stat.update(function_type=f.info.type_name, function_args=str(f.info.args),
                        input_shapes=[str(x.shape) for x in f.inputs],
                        output_shapes=[str(x.shape) for x in f.outputs])  # fmt: skip
        key_to_stat[f] = stat

    def _record(self, f, key_to_stat, arrays):
        self._add_key(f, key_to_stat)
        key_to_stat[f].update(
            nan=[int(np.isnan(a).sum()) for a in arrays] if self.trace_nan else [],
            inf=[int(np.isinf(a).sum()) for a in arrays] if self.trace_inf else [],
            rank=f.rank,
        )

    @property
    def pre_hook(self):
        return None

    @property
    def post_hook(self):
        raise NotImplementedError(
            "NanInfTracer has no member named post_hook. "
            "Please use forward_post_hook and backward_post_hook for forward and backward respectively instead."
        )

    @property
    def forward_post_hook(self):
        """A ``function_post_hook`` for ``forward()``: counts NaN/Inf in each output of each function."""
        if not (self.trace_nan or self.trace_inf):
            return None
        return lambda f: self._record(f, self.key_to_stat_fwd, [o.d for o in f.outputs])

    @property
    def backward_post_hook(self):
        """A ``function_post_hook`` for ``backward()``: counts NaN/Inf in each input gradient of each function."""
        if not (self.trace_nan or self.trace_inf):
            return None
        return lambda f: self._record(f, self.key_to_stat_bwd, [i.g for i in f.inputs])

    @contextmanager
    def trace(self):
        """A ``with`` block that calls ``check()`` when it ends."""
        yield self
        self.check()

    def _check_impl(self, key_to_stat, direction):
        history = []
        for f, stat in key_to_stat.items():
            index = None
            if self.trace_nan:
                index = next((i for i, n in enumerate(stat["nan"]) if n > 0), None)
            if index is None and self.trace_inf:
                index = next((i for i, n in enumerate(stat["inf"]) if n > 0), None)
            history.append(f)
            if index is not None:
                _print_trace(history, direction)
                raise ValueError(self._msg.format(_ordinal(index), *[stat[k] for k in self._msg_keys]))

    def findings(self) -> dict:
        """The first function with NaN/Inf in each direction, without printing or raising:
        ``{"forward": (function, output index) or None, "backward": (function, input index) or None}``."""
        found = {}
        for direction, key_to_stat in (("forward", self.key_to_stat_fwd), ("backward", self.key_to_stat_bwd)):
            found[direction] = None
            for f, stat in key_to_stat.items():
                counts = [sum(c) for c in zip(*[stat[k] for k in ("nan", "inf") if stat[k]])]
                bad = next((i for i, n in enumerate(counts) if n > 0), None)
                if bad is not None:
                    found[direction] = (f, bad)
                    break
        return found

    def check(self):
        """Raise ValueError (after printing the trace) if any traced function produced NaN or Inf."""
        self._check_impl(self.key_to_stat_fwd, "forward")
        self._check_impl(self.key_to_stat_bwd, "backward")
