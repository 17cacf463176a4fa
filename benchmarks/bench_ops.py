"""Function by function against real NNabla 1.36 (CPU): the same single-function graphs, at a size where the kernel
decides (``peers/nnabla_ops.py``, which both engines run unchanged), timed forward and forward + backward.

Each round starts both engines in fresh processes, one after the other, in an order that alternates; both get the
same thread count. The table shows ratios of the medians over rounds, ours / NNabla (below 1: ours is faster),
sorted with the slowest of ours first, so that a slow kernel stands out.

Run: ``make bench-ops``, or ``python benchmarks/bench_ops.py --nnabla-python PY [--rounds 3] [--cases a,b]``.
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
WORKER = HERE / "peers" / "nnabla_ops.py"
sys.path.insert(0, str(HERE))
import bench_peers  # noqa: E402  (its command line's tail)


def run_worker(python: str, env: dict, cases: str, quick: bool) -> dict:
    cmd = [python, str(WORKER), "time", cases] + (["--quick"] if quick else [])
    done = subprocess.run(cmd, env=env, cwd=str(WORKER.parent), capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(args) -> dict:
    """{"ours": {case: [[forward, step] per round]}, "nnabla": ...}."""
    threads = str(args.threads)
    base = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    base.update(OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    engines = {
        "ours": (sys.executable, dict(base, PYTHONPATH=str(HERE.parent / "engine"))),
        "nnabla": (os.path.abspath(args.nnabla_python), base),
    }
    names = list(engines)
    result = {e: {} for e in names}
    for r in range(args.rounds):
        for e in names if r % 2 == 0 else names[::-1]:
            python, env = engines[e]
            for case, times in run_worker(python, env, args.cases or "all", args.quick).items():
                result[e].setdefault(case, []).append(times)
        print(f"  round {r + 1}/{args.rounds} done", file=sys.stderr)
    return {"times": result, "rounds": args.rounds, "threads": args.threads}


def report(result: dict) -> str:
    ours, peer = result["times"]["ours"], result["times"]["nnabla"]

    def ratio(case, i):
        mine = [t[i] for t in ours[case] if t[i] is not None]
        theirs = [t[i] for t in peer[case] if t[i] is not None]
        return statistics.median(mine) / statistics.median(theirs) if mine and theirs else None

    rows = [(case, ratio(case, 0), ratio(case, 1)) for case in ours if case in peer]
    rows.sort(key=lambda row: -(row[2] if row[2] is not None else row[1]))
    width = max(len(case) for case, _, _ in rows)
    lines = [
        f"ours / NNabla 1.36, medians of {result['rounds']} interleaved rounds, {result['threads']} thread(s) each "
        "(below 1.00: ours is faster)",
        f"{'function':<{width}}  {'forward':>8}  {'forward + backward':>18}",
    ]
    for case, forward, step in rows:
        step_text = f"{step:.2f}" if step is not None else "-"
        lines.append(f"{case:<{width}}  {forward:>8.2f}  {step_text:>18}")
    slower = [case for case, forward, step in rows if max(forward, step or 0) > 1]
    lines.append(f"{len(slower)} of {len(rows)} slower than NNabla in forward or forward + backward")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nnabla-python", required=True, help="python of a venv with real NNabla 1.36")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="threads each engine may use")
    parser.add_argument("--cases", help="a comma-separated subset of the worker's cases")
    return bench_peers.run(parser, measure, report, argv)


if __name__ == "__main__":
    main()
