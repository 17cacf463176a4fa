"""Run NNabla's official tutorial notebooks, unchanged, on this engine, and report how far each one gets.

    PYTHONPATH=engine:. python tests/official/run_official.py /tmp/official/tutorial [names...] [--timeout S]

The folder is a copy of sony/nnabla's ``tutorial/`` at v1.36.0 (never committed here), e.g.::

    git --git-dir=<sony/nnabla mirror> archive v1.36.0 tutorial | tar -x -C /tmp/official

Each notebook runs in its own Python process, with the notebook's folder as working directory and first on
``sys.path`` (so ``import tiny_digits`` works), matplotlib drawing off screen. Its code cells run in order in
one namespace; lines starting with ``!`` or ``%`` (shell escapes, magics such as ``%cd`` or ``%%time``) are
dropped, nothing else is changed; a ``%%bash`` (``%%sh``) cell's body runs in that shell, in a subprocess of
its own, as in Jupyter. A failing cell is reported and the next cells still run. The report gives,
per notebook, the cells that ran without error out of all code cells, and the first error with its cell.

Two switches adapt the machine, never the notebooks, and the report says when they were on:
``--numpy-aliases`` restores the aliases numpy 1.24 removed (``np.int``, ``np.float``, ``np.bool``,
``np.object``), which some lessons still use; ``--cpu-for-gpu`` makes ``get_extension_context('cuda' |
'cudnn', ...)`` give the CPU context, and ``import_extension_module`` the CPU module (what profilers
synchronize with), when no GPU backend can be used (real NNabla without its CUDA extension
raises ImportError there). Not part of ``make test``: it needs the fetched notebooks and takes minutes.

A notebook with ``%%px`` cells (ipyparallel: the cell runs on every engine of a cluster started over MPI, as
``multi_device_training`` does) runs under ``mpiexec -n N`` (``--mpi N``, default 2 for such notebooks; the
mpiexec beside this Python, from the mpich wheel): the ``%%px`` cells run on every rank, the others (the
client's) on rank 0 only, each rank in its own process with its own namespace. A cell counts as run when it
ran without error on every rank that ran it; its first error is the lowest rank's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import sysconfig
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def code_cells(path: str, px: bool = False) -> list:
    """The code cells' sources, with ``!``/``%`` lines dropped (``px``: (source, runs on every engine) pairs)."""
    with open(path, encoding="utf-8") as f:
        notebook = json.load(f)
    cells = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        first, _, body = source.lstrip().partition("\n")
        if first.split()[:1] in (["%%bash"], ["%%sh"]):  # a shell cell: its body runs in that shell, as Jupyter does
            code = "__import__('subprocess').run([{!r}, '-c', {!r}], check=True)".format(first.split()[0][2:], body)
        else:
            code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("!", "%")))
        engines = first.startswith("%%px")
        cells.append((code, engines) if px else code)
    return cells


def uses_px(path: str) -> bool:
    """Whether the notebook runs cells on an ipyparallel cluster (``%%px``)."""
    return any(engines for _, engines in code_cells(path, px=True))


def _use_cpu_for_gpu_contexts() -> None:
    import nnabla.ext_utils as ext_utils

    try:
        import cupy  # noqa: F401

        return
    except ImportError:
        pass
    original_context = ext_utils.get_extension_context
    original_module = ext_utils.import_extension_module

    def get_extension_context(ext_name, **kw):
        if ext_name in ("cuda", "cudnn"):
            kw.pop("device_id", None)
            return original_context("cpu", **kw)
        return original_context(ext_name, **kw)

    def import_extension_module(ext_name):
        return original_module("cpu" if ext_name in ("cuda", "cudnn") else ext_name)

    ext_utils.get_extension_context = get_extension_context
    ext_utils.import_extension_module = import_extension_module


def _child(notebook_path: str, numpy_aliases: bool, report_path: str, cpu_for_gpu: bool = False) -> None:
    """Runs inside the child process: executes the cells, writes one JSON record per cell as it goes.

    Under mpiexec (``PMI_RANK`` set) each rank writes its own report (``report_path`` + ``.rank``), runs the
    ``%%px`` cells and, on rank 0, the others."""
    import traceback

    rank = os.environ.get("PMI_RANK")
    if rank is not None:
        report_path += ".{}".format(rank)

    if cpu_for_gpu:
        _use_cpu_for_gpu_contexts()

    import matplotlib

    matplotlib.use("Agg")
    if numpy_aliases:
        import numpy

        for name, value in (("int", int), ("float", float), ("bool", bool), ("object", object)):
            if not hasattr(numpy, name):
                setattr(numpy, name, value)
    folder = os.path.dirname(os.path.abspath(notebook_path))
    os.chdir(folder)
    sys.path.insert(0, folder)
    namespace = {"__name__": "__main__"}
    with open(report_path, "w") as report:
        for index, (source, engines) in enumerate(code_cells(notebook_path, px=True)):
            if rank not in (None, "0") and not engines:
                continue  # a client cell: rank 0 stands in for the client
            start = time.time()
            record = {"cell": index, "ok": True}
            try:
                exec(compile(source, "<cell {}>".format(index), "exec"), namespace)
            except BaseException as error:  # noqa: BLE001  (a cell may raise anything; it is what we report)
                record["ok"] = False
                record["error"] = "{}: {}".format(type(error).__name__, str(error).strip().splitlines()[:1])
                record["trace"] = traceback.format_exc(limit=-3)
            record["seconds"] = round(time.time() - start, 2)
            report.write(json.dumps(record) + "\n")
            report.flush()
            import matplotlib.pyplot as plt

            plt.close("all")


def _merge_ranks(per_rank: list) -> list:
    """One record per cell from every rank's: ok when it ran without error on each rank that ran it."""
    cells = {}
    for rank, records in enumerate(per_rank):
        for r in records:
            merged = cells.setdefault(r["cell"], {"cell": r["cell"], "ok": True, "seconds": 0.0, "ranks": 0})
            merged["ranks"] += 1
            merged["seconds"] = max(merged["seconds"], r["seconds"])
            if not r["ok"] and merged["ok"]:
                merged.update(ok=False, error="rank {}: {}".format(rank, r["error"]), trace=r["trace"])
    return [cells[k] for k in sorted(cells)]


def mpiexec_path() -> str:
    """The mpiexec beside this Python (the mpich wheel's), else the one on PATH."""
    beside = os.path.join(sysconfig.get_path("scripts"), "mpiexec")
    return beside if os.path.exists(beside) else "mpiexec"


def run_notebook(path: str, timeout: float, numpy_aliases: bool, cpu_for_gpu: bool = False, mpi: int = 0) -> dict:
    """Run one notebook in a child process (``mpi`` > 0: in that many under mpiexec); its per-cell records
    (and a timeout, if it hit one)."""
    report_path = os.path.join("/tmp", "run_official_{}.jsonl".format(os.getpid()))
    paths = [report_path] if not mpi else ["{}.{}".format(report_path, r) for r in range(mpi)]
    for p in paths:
        if os.path.exists(p):
            os.unlink(p)
    command = [sys.executable, os.path.abspath(__file__), "--child", path, report_path]
    if mpi:
        command = [mpiexec_path(), "-n", str(mpi)] + command
    if numpy_aliases:
        command.append("--numpy-aliases")
    if cpu_for_gpu:
        command.append("--cpu-for-gpu")
    env = dict(os.environ)
    started = time.time()
    timed_out = False
    try:
        completed = subprocess.run(command, env=env, timeout=timeout, capture_output=True, text=True)
        stderr_tail = completed.stderr[-2000:]
    except subprocess.TimeoutExpired as expired:
        timed_out = True
        stderr_tail = (expired.stderr or b"")[-2000:]
        stderr_tail = stderr_tail.decode(errors="replace") if isinstance(stderr_tail, bytes) else stderr_tail
    per_rank = []
    for p in paths:
        records = []
        if os.path.exists(p):
            with open(p) as f:
                records = [json.loads(line) for line in f if line.strip()]
            os.unlink(p)
        per_rank.append(records)
    records = per_rank[0] if not mpi else _merge_ranks(per_rank)
    return {
        "notebook": os.path.basename(path),
        "processes": mpi or 1,
        "cells": len(code_cells(path)),
        "records": records,
        "timed_out": timed_out,
        "seconds": round(time.time() - started, 1),
        "stderr_tail": stderr_tail if not records or timed_out else "",
    }


def summary_line(result: dict) -> str:
    records = result["records"]
    ok = sum(r["ok"] for r in records)
    first = next((r for r in records if not r["ok"]), None)
    line = "{:40s} {:3d}/{:<3d} cells ran".format(result["notebook"], ok, result["cells"])
    if result.get("processes", 1) > 1:
        line += " ({} MPI processes)".format(result["processes"])
    if result["timed_out"]:
        line += "  (stopped by the timeout in cell {}, after {} s)".format(len(records), result["seconds"])
    else:
        line += "  ({} s)".format(result["seconds"])
    if first is not None:
        line += "\n    first error, cell {}: {}".format(first["cell"], first["error"])
    return line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="a copy of sony/nnabla's tutorial/ at v1.36.0")
    parser.add_argument("names", nargs="*", help="notebook names (default: every .ipynb in the folder)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per notebook (default 600)")
    parser.add_argument("--numpy-aliases", action="store_true", help="restore np.int, np.float, np.bool, np.object")
    parser.add_argument("--cpu-for-gpu", action="store_true", help="cuda/cudnn contexts give the CPU one without a GPU")
    parser.add_argument("--mpi", type=int, default=None,
                        help="processes for notebooks with %%%%px cells, under mpiexec (default 2; 0: one process)")
    parser.add_argument("--verbose", action="store_true", help="print every cell's status and the errors' traces")
    parser.add_argument("--json", help="also write the full results to this file")
    args = parser.parse_args(argv)
    names = args.names or sorted(n for n in os.listdir(args.folder) if n.endswith(".ipynb"))
    results = []
    if args.numpy_aliases:
        print("(numpy aliases np.int, np.float, np.bool, np.object restored for these runs)")
    if args.cpu_for_gpu:
        print("(cuda/cudnn contexts give the CPU context when cupy cannot be used)")
    for name in names:
        path = os.path.join(args.folder, name if name.endswith(".ipynb") else name + ".ipynb")
        mpi = (2 if args.mpi is None else args.mpi) if uses_px(path) else 0
        result = run_notebook(path, args.timeout, args.numpy_aliases, args.cpu_for_gpu, mpi)
        results.append(result)
        print(summary_line(result), flush=True)
        if args.verbose:
            for r in result["records"]:
                ranks = " on {} ranks".format(r["ranks"]) if "ranks" in r else ""
                status = "ok" if r["ok"] else "ERROR"
                print("    cell {:3d} {:5s} {:7.2f} s{} {}".format(r["cell"], status, r["seconds"], ranks,
                                                               r.get("error", "")))  # fmt: skip
                if not r["ok"]:
                    print("      " + r["trace"].replace("\n", "\n      "))
            if result["stderr_tail"]:
                print("    stderr: " + result["stderr_tail"].replace("\n", "\n    "))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], "--numpy-aliases" in sys.argv[4:], sys.argv[3], "--cpu-for-gpu" in sys.argv[4:])
    else:
        sys.exit(main())
