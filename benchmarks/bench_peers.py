"""Speed and memory against the peers: our engine, real NNabla 1.36 (CPU) and PyTorch (CPU), side by side.

The same workloads (``benchmarks/peers/harness.py`` names them and their shapes) run on all three engines:
``peers/nnabla_api.py`` is one script that both NNabla engines run unchanged, ``peers/pytorch.py`` writes the
same layers in PyTorch. Each round starts every engine in its own fresh process, one after another (never two
at once: they would fight over the cores), in an order that rotates from round to round; every engine gets the
same thread count (OMP/OpenBLAS/MKL variables and ``torch.set_num_threads``). A worker reports the median of
its timed blocks; the table shows ratios of the medians over rounds, ours / peer (below 1: we are faster).
Peak memory of one training step (resident size, a fresh process per engine and model) is shown the same way.

Run: ``make bench-peers`` (builds the PyTorch venv once), or
``python benchmarks/bench_peers.py --torch-python PY --nnabla-python PY [--rounds 3] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
sys.path.insert(0, str(PEERS))
import harness  # noqa: E402

LABELS = {
    "tutorial_mlp": "tutorial MLP loop (Adam, batch 100)",
    "mnist_mlp": "MLP 784-1024-1024-10, batch 256, Momentum",
    "lenet": "LeNet, batch 64, Adam: training step",
    "resnet_train": f"ResNet block (BN, 3x32x32 -> {harness.RESNET_CHANNELS} ch, batch 32): training step",
    "resnet_infer": "ResNet block: inference",
    "backward_chain": "backward, per function (chain of small ops)",
    "dynamic_call": "dynamic mode (nn.auto_forward), per call",
    "imperative_call": "imperative (NdArray inputs), per call",
}


def engines(args) -> dict:
    """name -> (python, worker script, environment)."""
    threads = str(args.threads)
    base = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    base.update(OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    ours = dict(base, PYTHONPATH=str(HERE.parent / "engine"))
    return {
        "ours": (sys.executable, PEERS / "nnabla_api.py", ours),
        # (absolute: the workers run in peers/, and a relative path would be looked up from there)
        "nnabla": (os.path.abspath(args.nnabla_python), PEERS / "nnabla_api.py", base),
        "torch": (os.path.abspath(args.torch_python), PEERS / "pytorch.py", base),
    }


def run_worker(engine, mode: str, names: list, args) -> dict:
    python, script, env = engine
    cmd = [python, str(script), mode, ",".join(names)] + (["--quick"] if args.quick else [])
    cmd += ["--cpu"] if args.clock == "cpu" else []
    done = subprocess.run(cmd, env=env, cwd=str(PEERS), capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(args) -> dict:
    """{"time": {engine: {workload: [per round]}}, "memory": {engine: {workload: bytes}}}."""
    table = engines(args)
    names = list(table)
    workloads = args.workloads or harness.TIMED
    times = {e: {w: [] for w in workloads} for e in names}
    for r in range(args.rounds):
        for e in names[r % len(names) :] + names[: r % len(names)]:
            for w, us in run_worker(table[e], "time", workloads, args).items():
                times[e][w].append(us)
        print(f"  round {r + 1}/{args.rounds} done", file=sys.stderr)
    memory = {e: {} for e in names}
    for w in [w for w in harness.MEMORY if w in workloads]:
        for e in names:
            memory[e].update(run_worker(table[e], "memory", [w], args))
    return {"time": times, "memory": memory, "threads": args.threads, "rounds": args.rounds, "clock": args.clock}


def report(result: dict) -> str:
    times, memory = result["time"], result["memory"]
    median = {e: {w: statistics.median(v) for w, v in ws.items()} for e, ws in times.items()}
    width = max(len(label) for label in LABELS.values())
    lines = [
        f"ours / peer, medians of {result['rounds']} interleaved rounds, {result['threads']} threads each, "
        f"{result.get('clock', 'wall')} clock (below 1.00: ours is faster)",
        f"{'workload':<{width}}  {'vs NNabla 1.36':>14}  {'vs PyTorch':>10}",
    ]
    for w in median["ours"]:
        ours = median["ours"][w]
        lines.append(f"{LABELS[w]:<{width}}  {ours / median['nnabla'][w]:>14.2f}  {ours / median['torch'][w]:>10.2f}")
    if memory["ours"]:
        lines.append("peak memory of one training step (resident size added), ours / peer")
        for w, ours in memory["ours"].items():
            ratio = lambda peer: f"{ours / peer:.2f}" if peer > 0 else "n/a"  # noqa: E731
            lines.append(f"{LABELS[w]:<{width}}  {ratio(memory['nnabla'][w]):>14}  {ratio(memory['torch'][w]):>10}")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torch-python", required=True, help="python of a venv with PyTorch (CPU)")
    parser.add_argument("--nnabla-python", required=True, help="python of a venv with real NNabla 1.36")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="threads every engine may use")
    parser.add_argument("--workloads", type=lambda s: s.split(","), help=f"a subset of {','.join(harness.TIMED)}")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="cpu: each process's CPU time, steadier on a busy machine (use with --threads 1)",
    )
    return run(parser, measure, report, argv)


def run(parser, measure, report, argv=None) -> dict:
    """A benchmark's command line (``parser`` plus --json and --quick): measure, print the report, keep the JSON."""
    parser.add_argument("--json", help="also write every round's numbers to this file")
    parser.add_argument("--quick", action="store_true", help="short timed blocks: checks that the script works")
    args = parser.parse_args(argv)
    result = measure(args)
    print(report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
