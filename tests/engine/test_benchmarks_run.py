"""The benchmark scripts still run (quick mode), so they cannot rot unnoticed."""

import os
import subprocess
import sys

import pytest

BENCHMARKS = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks")


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
