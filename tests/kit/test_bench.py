"""benchmarks/bench_kit.py --quick runs, and its figures stay within the kit's promises (loosely: shared CPU)."""

import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_bench_kit_quick(capsys):
    spec = importlib.util.spec_from_file_location("bench_kit", os.path.join(ROOT, "benchmarks", "bench_kit.py"))
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = bench.main(["--quick"])
    printed = capsys.readouterr().out
    assert "graph bundle" in printed and "progress overhead" in printed and "ratio" in printed
    graph = {functions: row for functions, *row in out["graph"]}
    assert set(graph) == {101, 1001}
    nodes, drawn, groups, seconds = graph[1001]
    assert nodes == 3003 and drawn <= 400 and groups > 0 and seconds < bench.GRAPH_LIMIT_S
    name, steps, bare, with_progress, ratio, frames = out["progress"][0]
    assert name == "tutorial MLP step" and ratio < 1.5 and frames >= 1
