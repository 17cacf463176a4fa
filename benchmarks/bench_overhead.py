"""Per-function overhead: building, forwarding and backwarding a long chain of tiny functions.

A chain of alternating ``F.add_scalar`` and ``F.tanh`` on a small array is built, run forward and run backward
with the engine; the same chain is run with plain numpy (forward: ``x + c``, ``tanh``; backward: pass-through
and ``g * (1 - y * y)``). On tiny arrays the numpy time is almost all call overhead, so the ratios say how
many numpy calls' worth of Python work the engine spends per function. Timings are medians of alternating
repeats in the same process.

Run: ``python benchmarks/bench_overhead.py`` (``--quick`` for a short smoke run).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import nnabla as nn
import nnabla.function
import nnabla.functions as F

SHAPE = (4,)


def build_chain(x, length: int):
    h = x
    for i in range(length):
        h = F.add_scalar(h, 0.01) if i % 2 == 0 else F.tanh(h)
    return h


def numpy_forward(x: np.ndarray, length: int) -> list:
    outs = []
    h = x
    for i in range(length):
        h = h + np.float32(0.01) if i % 2 == 0 else np.tanh(h)
        outs.append(h)
    return outs


def numpy_backward(outs: list, length: int) -> np.ndarray:
    g = np.ones_like(outs[-1])
    for i in range(length - 1, -1, -1):
        if i % 2 == 1:
            y = outs[i]
            g = g * (1 - y * y)
        else:
            g = g.copy()  # the engine hands on a fresh gradient array, so the reference does too
    return g


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def measure(length: int) -> dict:
    """Seconds for one build, forward and backward of the chain, engine and numpy."""
    data = np.random.RandomState(0).randn(*SHAPE).astype(np.float32)
    x = nn.Variable.from_numpy_array(data, need_grad=True)
    holder = {}
    build = timed(lambda: holder.setdefault("y", build_chain(x, length)))
    y = holder["y"]
    # the same build without recording each function's creation site (the line named in its errors)
    nnabla.function.capture_sites[0] = False
    try:
        build_unsited = timed(build_chain, x, length)
    finally:
        nnabla.function.capture_sites[0] = True
    y.forward()  # the first run plans the graph
    y.backward()
    compile_forward = timed(y.forward)  # the second compiles the plans
    compile_backward = timed(y.backward)
    forward = timed(y.forward)  # the steady state
    backward = timed(y.backward)
    outs = numpy_forward(data, length)
    np_forward = timed(numpy_forward, data, length)
    np_backward = timed(numpy_backward, outs, length)
    return {
        "build": build,
        "build_unsited": build_unsited,
        "forward": forward,
        "backward": backward,
        "compile_forward": compile_forward,
        "compile_backward": compile_backward,
        "np_forward": np_forward,
        "np_backward": np_backward,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run that only checks the script works")
    parser.add_argument("--length", type=int, default=1000, help="functions in the chain")
    parser.add_argument("--repeats", type=int, default=15, help="repeats (the median is reported)")
    args = parser.parse_args(argv)
    length, repeats = (100, 3) if args.quick else (args.length, args.repeats)

    runs = [measure(length) for _ in range(repeats)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    per = {k: v / length * 1e6 for k, v in med.items()}
    results = {
        "build": per["build"] / per["np_forward"],
        "creation_sites": per["build"] / per["build_unsited"],
        "forward": per["forward"] / per["np_forward"],
        "backward": per["backward"] / per["np_backward"],
    }
    print(f"per-function overhead, chain of {length} add_scalar/tanh on shape {SHAPE}; median of {repeats}")
    print(f"  numpy op (forward):   {per['np_forward']:7.2f} us")
    print(f"  numpy op (backward):  {per['np_backward']:7.2f} us")
    print(f"  graph build:          {per['build']:7.2f} us/function  {results['build']:6.1f}x numpy forward op")
    print(
        f"  of which creation sites: {per['build'] - per['build_unsited']:5.2f} us/function "
        f"(build {results['creation_sites']:.3f}x the build without them)"
    )
    print(f"  forward:              {per['forward']:7.2f} us/function  {results['forward']:6.1f}x numpy forward op")
    print(f"  backward:             {per['backward']:7.2f} us/function  {results['backward']:6.1f}x numpy backward op")
    print(
        f"  second run, compiling the plans (once per graph): forward {per['compile_forward']:.2f}, "
        f"backward {per['compile_backward']:.2f} us/function"
    )
    return results


if __name__ == "__main__":
    main()
