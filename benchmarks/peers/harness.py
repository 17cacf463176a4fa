"""What every engine's worker shares: the workloads' sizes, the timer, the peak-memory probe and the protocol.

A worker is started as ``python <worker> time|memory WORKLOAD[,WORKLOAD...] [--quick] [--cpu]`` and prints one JSON
object on its last line: workload -> microseconds per unit (a training step, an inference, one function call),
or workload -> bytes of peak memory above the process's resident size just before the measured step.
``--cpu`` times with the process's CPU time instead of the wall clock: on a machine that other jobs keep busy,
waiting for a core then costs nothing (with one thread per engine; spinning threads would count).
It must run on Python 3.10 (real NNabla 1.36's wheels) and with numpy 1.24 or torch alone.
"""

from __future__ import annotations

import gc
import json
import re
import statistics
import sys
import time

# the shapes every engine runs
TUTORIAL_HIDDEN = [4, 8, 4, 2]  # NNabla's Python API tutorial: affine layers with tanh, then one output
TUTORIAL_BATCH = 100
MLP_UNITS = [784, 1024, 1024, 10]
MLP_BATCH = 256
LENET_BATCH = 64
RESNET_BATCH = 32
RESNET_CHANNELS = 32  # a CIFAR-size block: 3x3 stem 3 -> 32 channels, then one basic block of two 3x3 convs
CHAIN_LENGTH = 100  # alternating add_scalar and tanh on 4 elements: per-function costs, not arithmetic
CHAIN_SHAPE = (4,)

# what each workload's number counts (microseconds per ...)
UNITS = {
    "tutorial_mlp": "step",
    "mnist_mlp": "step",
    "lenet": "step",
    "resnet_train": "step",
    "resnet_infer": "forward",
    "backward_chain": "function",
    "dynamic_call": "call",
    "imperative_call": "call",
}
TIMED = list(UNITS)
MEMORY = ["mnist_mlp", "lenet", "resnet_train"]


clock = time.process_time if "--cpu" in sys.argv else time.perf_counter


def per_unit_us(run, units_per_run: int = 1, seconds: float = 1.0, blocks: int = 5) -> float:
    """Median over ``blocks`` timed blocks of microseconds per unit; ``run()`` does ``units_per_run`` units."""
    run()  # first call: lazy set-up, caches, allocator warm-up
    run()
    start = clock()
    run()
    once = max(clock() - start, 1e-6)
    repeats = max(1, int(seconds / blocks / once))
    times = []
    for _ in range(blocks):
        start = clock()
        for _ in range(repeats):
            run()
        times.append((clock() - start) / (repeats * units_per_run) * 1e6)
    return statistics.median(times)


def step_timers(steps: dict) -> dict:
    """workload -> timer, for workloads whose maker returns a function doing one unit (a step, a forward)."""
    return {name: (lambda make: lambda seconds: per_unit_us(make(), 1, seconds))(make) for name, make in steps.items()}


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        return int(re.search(field + r":\s+(\d+)", f.read()).group(1))


def peak_bytes(step) -> int:
    """Resident memory that one call of ``step`` adds at its peak (Linux: VmHWM reset through clear_refs)."""
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the high-water mark now starts from the current resident size
    before = _status_kib("VmRSS")
    step()
    return (_status_kib("VmHWM") - before) * 1024


def main(timers: dict, memory_steps: dict) -> None:
    """Parse the command line, run what it names, print the JSON result line.

    ``timers``: workload -> function(seconds) giving microseconds per unit; ``memory_steps``: workload ->
    function() that builds the model and returns the training step to probe.
    """
    mode, names = sys.argv[1], sys.argv[2].split(",")
    seconds = 0.1 if "--quick" in sys.argv else 1.0
    result = {}
    for name in names:
        if mode == "time":
            result[name] = timers[name](seconds)
        else:
            result[name] = peak_bytes(memory_steps[name]())
    print(json.dumps(result))
