"""The benchmark scripts still run (quick mode), so they cannot rot unnoticed."""

import importlib
import json
import os
import subprocess
import sys

import pytest

BENCHMARKS = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks")


def _imported(name, folder=BENCHMARKS):
    """A benchmark module, imported from its folder."""
    sys.path.insert(0, folder)
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(folder)


@pytest.mark.parametrize("script", ["bench_training.py", "bench_overhead.py"])
def test_benchmark_runs_quick(script):
    result = subprocess.run(
        [sys.executable, os.path.join(BENCHMARKS, script), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "x numpy" in result.stdout, result.stdout  # the ratio line


def test_mpi_benchmark_runs_quick():
    """bench_mpi.py starts its 2 processes with mpiexec and prints ratios against mpi4py and the speedup."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(BENCHMARKS, "..", "engine"), BENCHMARKS + "/.."]))
    result = subprocess.run(
        [sys.executable, os.path.join(BENCHMARKS, "bench_mpi.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("x mpi4py") == 4 and result.stdout.count("x speedup over 1 process") == 2, result.stdout


def test_peer_worker_runs_on_our_engine():
    """The NNabla-API worker of bench_peers.py (the same file real NNabla runs) times and probes our engine."""
    worker = os.path.join(BENCHMARKS, "peers", "nnabla_api.py")
    env = dict(os.environ, PYTHONPATH=os.path.join(BENCHMARKS, "..", "engine"))
    for mode, names in [("time", "lenet,backward_chain,imperative_call"), ("memory", "lenet")]:
        result = subprocess.run(
            [sys.executable, worker, mode, names, "--quick"], capture_output=True, text=True, timeout=300, env=env
        )
        assert result.returncode == 0, result.stderr
        numbers = json.loads(result.stdout.strip().splitlines()[-1])
        assert sorted(numbers) == sorted(names.split(",")) and all(v > 0 for v in numbers.values()), numbers


def test_peer_report_prints_ratios_only():
    bench_peers = _imported("bench_peers")
    times = {
        "ours": {"lenet": [2.0, 4.0, 3.0]},
        "nnabla": {"lenet": [6.0, 6.0, 7.0]},
        "torch": {"lenet": [1.0, 2.0, 1.5]},
    }
    memory = {"ours": {"lenet": 100}, "nnabla": {"lenet": 200}, "torch": {"lenet": 0}}
    text = bench_peers.report({"time": times, "memory": memory, "rounds": 3, "threads": 2})
    lines = [line for line in text.splitlines() if line.startswith("LeNet")]
    assert lines[0].split()[-2:] == ["0.50", "2.00"]  # median 3 / median 6, median 3 / median 1.5
    assert lines[1].split()[-2:] == ["0.50", "n/a"]


def test_ops_worker_runs_every_case_on_our_engine():
    """bench_ops.py's worker (which real NNabla runs too) times each function forward, and forward + backward."""
    nnabla_ops = _imported("nnabla_ops", os.path.join(BENCHMARKS, "peers"))
    worker = os.path.join(BENCHMARKS, "peers", "nnabla_ops.py")
    env = dict(os.environ, PYTHONPATH=os.path.join(BENCHMARKS, "..", "engine"), OPENBLAS_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, worker, "time", "all", "--quick"], capture_output=True, text=True, timeout=600, env=env
    )
    assert result.returncode == 0, result.stderr
    numbers = json.loads(result.stdout.strip().splitlines()[-1])
    assert list(numbers) == list(nnabla_ops.CASES)
    for case, (forward, step) in numbers.items():
        assert forward > 0 and (step is None) == (not nnabla_ops.CASES[case][2]), case
        assert step is None or step > 0, case


def test_ops_report_sorts_by_ratio_and_counts_the_slower():
    bench_ops = _imported("bench_ops")
    times = {
        "ours": {"relu": [[1.0, 2.0], [1.0, 2.0], [1.0, 4.0]], "sort": [[9.0, 30.0]] * 3, "rand": [[3.2, None]] * 3},
        "nnabla": {"relu": [[2.0, 8.0]] * 3, "sort": [[10.0, 20.0]] * 3, "rand": [[2.0, None]] * 3},
    }
    lines = bench_ops.report({"times": times, "rounds": 3, "threads": 1}).splitlines()
    assert [line.split() for line in lines[2:5]] == [
        ["rand", "1.60", "-"],
        ["sort", "0.90", "1.50"],
        ["relu", "0.50", "0.25"],
    ]
    assert lines[-1] == "2 of 3 slower than NNabla in forward or forward + backward"
