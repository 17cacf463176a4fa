"""Per-function overhead: building, forwarding and backwarding a long chain of tiny functions.

A chain of alternating ``F.add_scalar`` and ``F.tanh`` on a small array is built, run forward and run backward
with the engine; the same chain is run with plain numpy (forward: ``x + c``, ``tanh``; backward: pass-through
and ``g * (1 - y * y)``). On tiny arrays the numpy time is almost all call overhead, so the ratios say how
many numpy calls' worth of Python work the engine spends per function. Timings are medians of alternating
repeats in the same process.

Per call, against the peers (``per_call_cases``, ``torch_per_call_cases``, ``compare_peers``): a chain of
alternating ``F.add2(h, b)`` and ``F.tanh(h)`` on a small array, timed per function as

- ``backward``: backward of a graph built and run once already (the static mode's steady state);
- ``backward_fresh``: backward of a graph just built and run forward (a graph rebuilt every iteration);
- ``dynamic``: building the chain under ``nn.auto_forward()`` (each function runs as it is created);
- ``imperative``: the same chain on NdArrays (no graph).

The same code runs on any engine speaking NNabla's API, so real NNabla runs it too; PyTorch runs the same chain
eagerly (``torch.add``/``torch.tanh``, with ``requires_grad`` for the first three). ``--peers`` runs each engine
in its own process, the engines taking turns round after round, and prints the ratios of the medians.

Run: ``python benchmarks/bench_overhead.py`` (``--quick`` for a short smoke run);
``python benchmarks/bench_overhead.py --peers --nnabla-python PY --torch-python PY`` for the per-call table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

try:
    import nnabla as nn
    import nnabla.functions as F
except ImportError:  # a PyTorch venv runs the torch cases only (``--per-call-json torch``)
    nn = F = None

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
    import nnabla.function

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


# -- per call, against the peers --------------------------------------------------------------------------
PER_CALL = ("backward", "backward_fresh", "dynamic", "imperative")


def per_call_chain(h, b, length: int):
    """The per-call chain on any NNabla-API engine: ``F.add2(h, b)`` and ``F.tanh(h)`` in turn."""
    for i in range(length):
        h = F.add2(h, b) if i % 2 == 0 else F.tanh(h)
    return h


def per_call_cases(length: int = 100) -> dict:
    """Case name -> a function timing one round: seconds per function call (NNabla's API; ours or NNabla's)."""
    rng = np.random.RandomState(0)
    data, other = (rng.randn(*SHAPE).astype(np.float32) for _ in range(2))
    x = nn.Variable.from_numpy_array(data, need_grad=True)
    b = nn.Variable.from_numpy_array(other)
    y = per_call_chain(x, b, length)
    for _ in range(3):  # plans made and compiled: the steady state
        y.forward()
        y.backward()
    a_nd, b_nd = nn.NdArray.from_numpy_array(data), nn.NdArray.from_numpy_array(other)

    def backward():
        # the other cases build graphs, which makes the plans of every graph be made again: make and compile them
        for _ in range(3):
            y.forward()
            y.backward()
        return timed(y.backward) / length

    def leaves():  # new ones every round: a leaf that many graphs were built from is not what is measured
        return nn.Variable.from_numpy_array(data, need_grad=True), nn.Variable.from_numpy_array(other)

    def backward_fresh():
        z = per_call_chain(*leaves(), length)
        z.forward()
        return timed(z.backward) / length

    def dynamic():
        p, q = leaves()
        with nn.auto_forward():
            return timed(per_call_chain, p, q, length) / length

    def imperative():
        return timed(per_call_chain, a_nd, b_nd, length) / length

    return {"backward": backward, "backward_fresh": backward_fresh, "dynamic": dynamic, "imperative": imperative}


def torch_per_call_cases(length: int = 100) -> dict:
    """The same cases in PyTorch eager mode (``requires_grad`` tensors; plain tensors for ``imperative``)."""
    import torch

    def chain(h, b):
        for i in range(length):
            h = torch.add(h, b) if i % 2 == 0 else torch.tanh(h)
        return h

    rng = np.random.RandomState(0)
    data, other = (torch.from_numpy(rng.randn(*SHAPE).astype(np.float32)) for _ in range(2))
    x = data.clone().requires_grad_(True)
    gy = torch.ones(SHAPE)
    y = chain(x, other)

    def backward():
        return timed(lambda: y.backward(gy, retain_graph=True)) / length

    def backward_fresh():
        z = chain(data.clone().requires_grad_(True), other.clone())
        return timed(z.backward, gy) / length

    def dynamic():
        return timed(chain, data.clone().requires_grad_(True), other.clone()) / length

    def imperative():
        return timed(chain, data, other) / length

    return {"backward": backward, "backward_fresh": backward_fresh, "dynamic": dynamic, "imperative": imperative}


def measure_per_call(engine: str = "nnabla", length: int = 100, repeats: int = 15) -> dict:
    """Median seconds per function call of each case, the cases taking turns within each repeat."""
    cases = torch_per_call_cases(length) if engine == "torch" else per_call_cases(length)
    for case in cases.values():
        case()  # warm up
    runs = {name: [] for name in cases}
    for _ in range(repeats):
        for name, case in cases.items():
            runs[name].append(case())
    return {name: statistics.median(times) for name, times in runs.items()}


def compare_peers(pythons: dict, rounds: int = 3, length: int = 100, repeats: int = 15) -> dict:
    """Engine name -> case -> median seconds per call over ``rounds`` rounds, each engine run in its own process
    (``pythons``: engine name -> its python; "ours" runs this checkout's engine), the engines taking turns."""
    here = os.path.abspath(__file__)
    root = os.path.dirname(os.path.dirname(here))
    results = {name: {case: [] for case in PER_CALL} for name in pythons}
    for _ in range(rounds):
        for name, python in pythons.items():
            env = dict(os.environ)
            if name == "ours":
                env["PYTHONPATH"] = os.pathsep.join([os.path.join(root, "engine"), root])
            else:
                env.pop("PYTHONPATH", None)  # the peer's own nnabla, not this checkout's
            engine = "torch" if name == "torch" else "nnabla"
            command = [python, here, "--per-call-json", engine, "--length", str(length), "--repeats", str(repeats)]
            done = subprocess.run(command, capture_output=True, text=True, env=env)
            if done.returncode:
                raise RuntimeError(f"{name}'s run failed:\n{done.stderr}")
            measured = json.loads(done.stdout.strip().splitlines()[-1])
            for case in PER_CALL:
                results[name][case].append(measured[case])
    return {name: {case: statistics.median(v) for case, v in cases.items()} for name, cases in results.items()}


def print_peers(medians: dict) -> None:
    peers = [name for name in medians if name != "ours"]
    print("per function call, ours / peer (medians of interleaved rounds; below 1: ours is faster)")
    print(f"  {'case':16s}" + "".join(f"{'vs ' + p:>12s}" for p in peers))
    for case in PER_CALL:
        ratios = "".join(f"{medians['ours'][case] / medians[p][case]:12.2f}" for p in peers)
        print(f"  {case:16s}{ratios}")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run that only checks the script works")
    parser.add_argument("--length", type=int, default=1000, help="functions in the chain")
    parser.add_argument("--repeats", type=int, default=15, help="repeats (the median is reported)")
    parser.add_argument("--peers", action="store_true", help="the per-call table against the peers given")
    parser.add_argument("--nnabla-python", help="the python of a venv with real NNabla (for --peers)")
    parser.add_argument("--torch-python", help="the python of a venv with PyTorch (for --peers)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of --peers")
    parser.add_argument("--per-call-json", choices=["nnabla", "torch"], help=argparse.SUPPRESS)  # one peer's run
    args = parser.parse_args(argv)
    if args.per_call_json:
        print(json.dumps(measure_per_call(args.per_call_json, args.length, args.repeats)))
        return {}
    if args.peers:
        pythons = {"ours": sys.executable}
        if args.nnabla_python:
            pythons["nnabla"] = args.nnabla_python
        if args.torch_python:
            pythons["torch"] = args.torch_python
        medians = compare_peers(pythons, args.rounds, 100 if args.length == 1000 else args.length, args.repeats)
        print_peers(medians)
        return medians
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
    calls = measure_per_call("nnabla", 100, 5 if args.quick else 15)
    print(
        "  per call (chain of add2/tanh, see --peers): " + ", ".join(f"{k} {v * 1e6:.2f} us" for k, v in calls.items())
    )
    return results


if __name__ == "__main__":
    main()
