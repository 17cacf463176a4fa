"""benchmarks/gpu_check.py, the one prepared run of the CUDA checks for a GPU machine, runs here on the device
double (``--device double --quick``: a tiny subset, no PyTorch timing), so it works the first time on a GPU."""

import json
import os
import subprocess
import sys

BENCHMARKS = os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks")


def test_the_quick_run_on_the_double_passes_and_writes_its_report(tmp_path):
    """Op table rows split over 2 worker processes (as on a GPU), training, the MLP, our timed steps."""
    env = dict(os.environ, OUT="")  # --out given: $OUT of a device machine is not needed
    result = subprocess.run(
        [sys.executable, os.path.join(BENCHMARKS, "gpu_check.py"), "--device", "double", "--quick"]
        + ["--workers", "2", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert {"environment", "results", "seconds", "budget_s", "quick"} <= set(report)
    assert report["environment"]["device"] == "double" and report["quick"] is True
    results = report["results"]
    assert list(results) == ["mlp", "timing", "training", "ops"]

    mlp = results["mlp"]
    assert mlp["result"] == "pass" and mlp["loss_device"][1] < mlp["loss_device"][0]

    timing = results["timing"]
    assert "--quick" in timing["skipped"]
    assert sorted(timing["workloads"]) == ["lenet", "resnet_train"]
    for entry in timing["workloads"].values():
        assert "error" not in entry and entry["rounds"] == 3 and entry["steps_per_round"]["ours"] >= 3
        assert "ms_per_step_median" not in entry  # no time without the ratio it belongs to

    training = results["training"]
    groups = ["parametric_functions", "pf_training", "solvers", "mixed_precision", "save_load"]
    assert sorted(training) == sorted(groups)
    for group in groups:
        assert training[group] and set(training[group].values()) == {"pass"}, (group, training[group])
    assert sorted(training["save_load"]) == [".h5", ".nnp", ".protobuf"]

    ops = results["ops"]
    assert ops["cases_in_tables"] > 400 and ops["not_reached"] == []
    assert len(ops["cases"]) == len(range(0, ops["cases_in_tables"], 40))  # one row in 40, over both shards
    assert all(c == {"op_by_op": "pass", "variables": "pass"} for c in ops["cases"].values()), ops["cases"]
    assert len(ops["op_types"]) >= 10 and {e["result"] for e in ops["op_types"].values()} == {"pass"}

    text = (tmp_path / "gpu_check.txt").read_text()
    assert "0 problem(s)" in text and "op table:" in text
    assert not [p for p in os.listdir(tmp_path) if p not in ("gpu_check.json", "gpu_check.txt")]  # shards merged


def _gpu_check():
    sys.path.insert(0, BENCHMARKS)
    try:
        import gpu_check
    finally:
        sys.path.remove(BENCHMARKS)
    return gpu_check


def test_timing_interleaves_rounds_and_reads_the_clock_only_on_a_synchronized_device(monkeypatch):
    """On a clock that only steps advance: ours takes 3 ms a step, PyTorch 2 ms, so ours / PyTorch is 1.5 in
    every round; the device is synchronized before and after each block, and who goes first alternates."""
    gpu_check = _gpu_check()
    now, log = [0.0], []
    monkeypatch.setattr(gpu_check, "clock", lambda: log.append("clock") or now[0])

    def engine(name, seconds):
        def step():
            log.append(name)
            now[0] += seconds

        return step, lambda: log.append(f"sync {name}")

    ms = 2.0**-10  # about a millisecond, exact in binary
    run = gpu_check.interleaved({"ours": engine("ours", 3 * ms), "torch": engine("torch", 2 * ms)}, 4, 24 * ms, 100)
    assert run["steps"] == {"ours": 8, "torch": 12}  # about 24 ms a block
    entry = gpu_check.ratio_entry(run["times"])
    assert entry["ours_over_torch"] == 1.5 and entry["per_round"] == [1.5] * 4
    blocks = [i for i, e in enumerate(log) if e == "clock"]
    for start, end in zip(blocks[::2], blocks[1::2]):
        first, last = log[start + 1], log[end - 2]
        assert log[start - 1] == f"sync {first}" and log[end - 1] == f"sync {last}" and first == last
    timed_firsts = [log[start + 1] for start in blocks[::2]][4:]  # after 2 warm-up blocks per engine
    assert timed_firsts == ["ours", "torch", "torch", "ours", "ours", "torch", "torch", "ours"]


def test_the_summary_names_every_failure():
    gpu_check = _gpu_check()
    shard = {
        "cases_in_tables": 3,
        "op_types": {"Tanh": {"cases": 1, "result": "pass"}, "Sum": {"cases": 1, "result": "sum: AssertionError: x"}},
        "cases": {"tanh": {"op_by_op": "pass", "variables": "pass"}, "sum": {"op_by_op": "Sum", "variables": "y"}},
        "not_reached": [],
    }
    later = {"op_types": {"Sum": {"cases": 2, "result": "pass"}}, "cases": {}, "not_reached": ["mean"]}
    ops = gpu_check.merge_op_tables([shard, later])
    assert ops["op_types"]["Sum"] == {"cases": 3, "result": "sum: AssertionError: x"}  # a failure in any shard
    timing = {"torch": "2.11.0", "torch_device": "cuda", "measures": True, "workloads": {
        "lenet": {"label": "LeNet", "rounds": 3, "ours_over_torch": 1.25, "per_round": [1.2, 1.25, 1.3]},
    }}  # fmt: skip
    report = {
        "environment": {"device": "real", "array_module": "14.2.0", "gpu": "NVIDIA H200"},
        "results": {"mlp": {"result": "pass"}, "timing": timing, "ops": ops},
        "seconds": 12.0,
    }
    text = gpu_check.summary(report)
    assert "NVIDIA H200" in text and "1/2 op types pass" in text and "not reached in the time budget: 1" in text
    assert "ours / PyTorch cuda (2.11.0), median of 3 interleaved rounds" in text and "LeNet: 1.25x" in text
    assert "2 problem(s)" in text and "op Sum: sum: AssertionError: x" in text and "case sum (variables): y" in text
