"""The CUDA checks in one prepared run, for a machine with an NVIDIA GPU (or, with ``--device double``, without).

Under ``get_extension_context('cudnn')`` on real cupy (``--device real``, the default) or on the strict device
double of the tests (``--device double``, tests/device_double.py), compared with the CPU within the tests'
float32 tolerance, reusing the tests' own cases and checks (tests/engine/test_device_ops.py and
test_device_training.py):

- ``mlp``: the seed tutorial's MLP loop (the one the tests train);
- ``timing``: a LeNet and a ResNet-block training step (the builders of benchmarks/peers, the shapes of
  bench_peers.py) against PyTorch on the same GPU, interleaved rounds, the device synchronized before each
  reading of the clock; reported as ours / PyTorch (skipped, saying why, without PyTorch or its CUDA);
- ``training``: every parametric function case, every solver, mixed precision, .h5/.nnp saving and loading;
- ``ops``: every Case row of the op tables, op by op forward and first-order backward, then through Variables
  (on a GPU split over worker processes, which compile cupy's kernels in parallel).

They run in that order: the MLP and the timing while nothing else runs, then the training checks in this
process while the op table's workers run. Values are compared within float32's tolerance (rtol 1e-4, atol
1e-5, the op tables' device checks' own; the training tests' stricter one suits the double, which computes with
numpy). On real cupy no copy between host and device is counted (the double counts them, in CI). The op tables'
modules import pytest; where it is missing, a stand-in for its decorators lets them import.

Everything goes to ``--out`` (default ``$OUT``, else ``gpu-check-out``): ``gpu_check.json`` (per op type and
case pass or why not, the ratios) and ``gpu_check.txt`` (the summary), both rewritten after every section, so
a run cut short still leaves what it found. ``--budget`` seconds bound the whole run: cases not reached by then
are listed as such. Progress lines are printed as it goes.

Run: ``make gpu-check`` or ``PYTHONPATH=engine:. python3 benchmarks/gpu_check.py [--device real|double]
[--quick] [--out DIR] [--budget S] [--only mlp,timing,training,ops]``. Exit status 0: all that ran passed; 1: a
check failed; 2: no usable device. On the device machine, from the repository root:
``set -o pipefail; PYTHONUNBUFFERED=1 PYTHONPATH=engine:. python3 benchmarks/gpu_check.py --out $OUT 2>&1 |
tee $OUT/log`` with a limit of 480 s (the default ``--budget`` of 330 s ends it in about 6 minutes).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT / "benchmarks" / "peers", ROOT / "tests", ROOT / "tests" / "engine", ROOT, ROOT / "engine"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

SECTIONS = ["mlp", "timing", "training", "ops"]
TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}  # float32's, as the op tables' device checks use
WORKLOADS = {
    "lenet": "LeNet, batch 64, Adam",
    "resnet_train": "ResNet block (BN, 3x32x32 -> 32 ch, batch 32), Momentum",
}
START = float(os.environ.get("GPU_CHECK_START") or time.time())  # workers count from their parent's start


def say(*parts) -> None:
    print(f"[gpu-check {time.time() - START:6.1f}s]", *parts, flush=True)


# -- set-up -----------------------------------------------------------------------------------------------------
class _Decorators(types.ModuleType):
    """Stands in for pytest where it is not installed, so the op tables' modules import: its decorators return
    the function as is (their tests are not run here), any other name gives another such stand-in."""

    def __init__(self, name="pytest"):
        super().__init__(name)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Decorators(f"{self.__name__}.{name}")

    def __call__(self, *args, **kwargs):
        return args[0] if len(args) == 1 and callable(args[0]) and not kwargs else _Decorators(self.__name__)


def _tables_importable() -> None:
    if importlib.util.find_spec("pytest") is None:
        sys.modules["pytest"] = _Decorators()


class _NotCounted:
    """Real cupy counts no copies between host and device (the double does, in CI): nothing to compare."""

    to_host = to_device = total = 0


def use_device(kind: str):
    """Register the device module for 'cuda'/'cudnn' contexts: (array module, what the tests' checks take)."""
    from nnabla import _array

    if kind == "double":
        import device_double

        sys.modules.update(device_double.CUPYX_MODULES)
        _array.use_device_module(device_double)
        device_double.transfers.reset()
        return device_double, device_double
    xp = _array.cupy_module("0")  # cupy registered, or a RuntimeError saying what is missing
    return xp, types.SimpleNamespace(ndarray=xp.ndarray, asarray=xp.asarray, transfers=_NotCounted())


def environment(args, xp) -> dict:
    import numpy as np

    env = {"device": args.device, "python": platform.python_version(), "numpy": np.__version__}
    env["array_module"] = getattr(xp, "__version__", xp.__name__)
    if args.device == "real":
        props = xp.cuda.runtime.getDeviceProperties(0)
        name = props.get("name", b"?")
        env["gpu"] = name.decode() if isinstance(name, bytes) else str(name)
        env["cuda_runtime"] = xp.cuda.runtime.runtimeGetVersion()
        env["cupy_tf32"] = os.environ.get("CUPY_TF32", "0")
    for module in ("scipy", "pytest", "h5py", "torch"):
        stand_in = isinstance(sys.modules.get(module), _Decorators)
        env[module] = "stand-in" if stand_in else importlib.util.find_spec(module) is not None
    try:
        env["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except Exception:
        env["commit"] = ""
    return env


def close(cpu: dict, dev: dict) -> None:
    """The device's values equal the CPU's within ``TOLERANCE`` (the training tests' own, stricter, suit the
    double, which computes with numpy; a GPU sums in another order)."""
    import numpy as np

    for k in cpu:
        np.testing.assert_allclose(dev[k], cpu[k], err_msg=k, **TOLERANCE)


def failed(e: Exception) -> str:
    from test_device_ops import reason

    return reason(e)


# -- sections ---------------------------------------------------------------------------------------------------
def check_mlp(args, xp, checker) -> dict:
    import numpy as np
    from test_device_training import on_both, seed_tutorial_mlp

    steps = 20  # the tests' loop: the loss goes down by then
    (cpu_losses, cpu), (dev_losses, dev) = on_both(None, lambda ctx: seed_tutorial_mlp(ctx, steps))
    result = {
        "steps": steps,
        "loss_cpu": [cpu_losses[0], cpu_losses[-1]],
        "loss_device": [dev_losses[0], dev_losses[-1]],
    }
    try:
        close({"losses": np.array(cpu_losses)}, {"losses": np.array(dev_losses)})
        close(cpu, dev)
        if not dev_losses[-1] < dev_losses[0]:
            raise AssertionError(f"the loss did not go down: {dev_losses[0]} -> {dev_losses[-1]}")
        result["result"] = "pass"
    except Exception as e:
        result["result"] = failed(e)
    return result


def check_training(args, xp, checker, deadline=float("inf")) -> dict:
    """Parametric functions (the op tests' table and the training tests'), solvers, mixed precision, files."""
    import test_device_ops as ops
    import test_device_training as tr
    from test_solvers import IDS, RULES

    pick = (lambda rows: rows[:3]) if args.quick else (lambda rows: rows)
    results = {}

    def record(group, name, run):
        if time.time() > deadline:
            results.setdefault(group, {})[name] = "not reached in the time budget"
            return
        try:
            run()
            results.setdefault(group, {})[name] = "pass"
        except Exception as e:
            results.setdefault(group, {})[name] = failed(e)

    for name, build, shapes, passes in pick(ops.pf_cases()):
        record("parametric_functions", name, lambda: ops.check_parametric_function(build, shapes, passes, checker))
    say(f"training: {len(results.get('parametric_functions', {}))} parametric function cases")

    def pf_training(name):
        (cpu, _), (dev, placed) = tr.on_both(None, tr.pf_training(name))
        if placed != {xp.ndarray}:
            raise AssertionError(f"parameters are {placed}, not device arrays")
        close(cpu, dev)

    for name in pick(list(tr.PF_CASES)):
        record("pf_training", name, lambda: pf_training(name))

    def solver(cls, hyper):
        (cpu, _), (dev, kinds) = tr.on_both(None, tr.solver_steps(cls, hyper))
        if kinds != {xp.ndarray}:
            raise AssertionError(f"the solver's buffers are {kinds}, not device arrays")
        close(cpu, dev)

    for (cls, hyper, _, _), name in pick(list(zip(RULES, IDS))):
        record("solvers", name, lambda: solver(cls, hyper))
    say(f"training: {len(results['solvers'])} solvers")

    def mixed_precision():
        (cpu_scale, cpu), (dev_scale, dev) = tr.on_both(None, tr.mixed_precision_training)
        if cpu_scale != dev_scale:
            raise AssertionError(f"loss scale {dev_scale} on the device, {cpu_scale} on the CPU")
        close(cpu, dev)

    record("mixed_precision", "DynamicLossScalingUpdater, type_config='half'", mixed_precision)
    for suffix in (".h5", ".nnp", ".protobuf"):
        record("save_load", suffix, lambda: save_and_load(suffix, xp, Path(args.out)))
    return results


def save_and_load(suffix: str, xp, folder: Path) -> None:
    """Parameters trained one step on the device, saved, zeroed and loaded back: equal, and still on the device."""
    import numpy as np

    import nnabla as nn
    import nnabla.parametric_functions as PF
    import nnabla.solvers as S
    from nnabla.ext_utils import get_extension_context

    nn.clear_parameters()
    path = folder / f"params{suffix}"
    try:
        with nn.context_scope(get_extension_context("cudnn")):
            x = nn.Variable.from_numpy_array(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3))
            y = PF.affine(x, 4, name="fc")
            solver = S.Adam()
        solver.set_parameters(nn.get_parameters())
        y.forward()
        y.backward()
        solver.update()
        expected = {k: p.data.get_data("r").copy() for k, p in nn.get_parameters().items()}
        if suffix == ".nnp":
            from nnabla.utils.save import save

            network = {"name": "n", "batch_size": 2, "outputs": {"y": y}, "names": {"x": x}}
            executor = {"name": "e", "network": "n", "data": ["x"], "output": ["y"]}
            save(str(path), {"networks": [network], "executors": [executor]})
        else:
            nn.save_parameters(str(path))
        placed = {type(p.data._array) for p in nn.get_parameters().values()}
        if placed != {xp.ndarray}:
            raise AssertionError(f"saving left the parameters as {placed}")
        for p in nn.get_parameters().values():
            p.data.zero()
        nn.load_parameters(str(path))
        for k, p in nn.get_parameters().items():
            np.testing.assert_array_equal(p.d, expected[k], err_msg=k)
        solver.update()  # goes on from the loaded values
    finally:
        nn.clear_parameters()
        path.unlink(missing_ok=True)


def op_table(args, checker, shard=(0, 1), deadline=None, progress=None) -> dict:
    """Every Case row (``--quick``: one in 40) of shard ``k`` of ``n``: op by op, then through Variables.

    ``progress(result)`` is given the result so far after every 25 cases (the cases still to come listed as not
    reached), so a worker that hangs or dies leaves what it found."""
    import numpy as np
    import test_device_ops as ops

    cases = ops.op_cases()
    total = len(cases)
    names = [c.name for c in cases]
    keys = [name if names.count(name) == 1 else f"{name}#{i}" for i, name in enumerate(names)]
    rows = list(zip(keys, cases))[:: 40 if args.quick else 1]
    k, n = shard
    keys, cases = [key for key, _ in rows[k::n]], [case for _, case in rows[k::n]]
    rng = np.random.RandomState(k)
    op_types, per_case, not_reached = {}, {}, []
    for i, case in enumerate(cases):
        if deadline is not None and time.time() > deadline:
            not_reached = keys[i:]
            break
        failures, passed = {}, set()
        ops.check_case(case, checker, rng, failures, passed)
        for name in passed:
            op_types.setdefault(name, {"cases": 0, "result": "pass"})["cases"] += 1
        for name, why in failures.items():
            entry = op_types.setdefault(name, {"cases": 0, "result": "pass"})
            entry["cases"] += 1
            if entry["result"] == "pass":
                entry["result"] = why
        try:
            ops.check_through_variables(case, checker)
            through = "pass"
        except Exception as e:
            through = failed(e)
        per_case[keys[i]] = {"op_by_op": "pass" if not failures else "; ".join(sorted(failures)), "variables": through}
        if (i + 1) % 25 == 0:
            say(f"ops shard {k + 1}/{n}: {i + 1}/{len(cases)} cases")
            if progress is not None:
                progress(
                    {"cases_in_tables": total, "op_types": op_types, "cases": per_case, "not_reached": keys[i + 1 :]}
                )
    return {"cases_in_tables": total, "op_types": op_types, "cases": per_case, "not_reached": not_reached}


def merge_op_tables(parts: list) -> dict:
    merged = {"cases_in_tables": 0, "op_types": {}, "cases": {}, "not_reached": []}
    for part in parts:
        merged["cases_in_tables"] = max(merged["cases_in_tables"], part.get("cases_in_tables", 0))
        for name, entry in part["op_types"].items():
            mine = merged["op_types"].setdefault(name, {"cases": 0, "result": "pass"})
            mine["cases"] += entry["cases"]
            if mine["result"] == "pass":
                mine["result"] = entry["result"]
        merged["cases"].update(part["cases"])
        merged["not_reached"] += part["not_reached"]
    return merged


def start_op_workers(args, n: int, deadline: float) -> list:
    """``n`` processes, each checking shard k of the op table into its ops_k.json in a temporary folder (the
    results folder keeps only the report); their progress lines go to the same log."""
    folder = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    workers = []
    for k in range(n):
        out = folder / f"ops_{k}.json"
        cmd = [sys.executable, __file__, "--device", args.device, "--out", args.out, "--shard", f"{k}/{n}"]
        cmd += ["--deadline", str(deadline), "--shard-out", str(out)] + (["--quick"] if args.quick else [])
        env = dict(os.environ, GPU_CHECK_START=str(START))
        workers.append((subprocess.Popen(cmd, cwd=ROOT, env=env), out))
    return workers


def collect_op_workers(workers: list, deadline: float) -> dict:
    """The workers' results merged; a worker still running 30 s past the deadline is stopped, and what it had
    written is taken (``workers`` says how each ended)."""
    parts, ended = [], []
    for k, (proc, out) in enumerate(workers):
        try:
            proc.wait(timeout=max(1.0, deadline + 30 - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        ended.append(proc.returncode)
        if out.exists():
            parts.append(json.loads(out.read_text()))
            out.unlink()
        else:
            parts.append({"op_types": {}, "cases": {}, "not_reached": [f"all of shard {k + 1}/{len(workers)}"]})
    shutil.rmtree(workers[0][1].parent, ignore_errors=True)
    merged = merge_op_tables(parts)
    merged["workers"] = [f"shard {k + 1}: exit status {rc}" for k, rc in enumerate(ended)]
    if any(ended):
        merged["error"] = f"op table workers ended with {ended} (0: done; see the log)"
    return merged


# -- timing against PyTorch -------------------------------------------------------------------------------------
clock = time.perf_counter


def _per_step(step, steps: int, sync) -> float:
    """Seconds per step of ``steps`` steps, the device synchronized before each reading of the clock."""
    sync()
    start = clock()
    for _ in range(steps):
        step()
    sync()
    return (clock() - start) / steps


def interleaved(engines: dict, rounds: int, block_seconds: float, max_steps: int) -> dict:
    """``engines``: name -> (step, sync). Each warmed up, then ``rounds`` rounds of a block of steps each (about
    ``block_seconds``, 3 to ``max_steps`` steps), the order alternating from round to round: name -> seconds per
    step in each round, and the steps of a block."""
    steps = {}
    for engine, (step, sync) in engines.items():
        _per_step(step, 3, sync)  # kernels compiled, caches and allocators warm
        once = _per_step(step, 3, sync)
        steps[engine] = max(3, min(max_steps, int(block_seconds / max(once, 1e-9))))
    times = {engine: [] for engine in engines}
    names = list(engines)
    for r in range(rounds):
        for engine in names[r % len(names) :] + names[: r % len(names)]:
            step, sync = engines[engine]
            times[engine].append(_per_step(step, steps[engine], sync))
    return {"times": times, "steps": steps}


def ratio_entry(times: dict) -> dict:
    """ours / torch: the ratio of the medians over the rounds, and each round's."""
    ratio = statistics.median(times["ours"]) / statistics.median(times["torch"])
    return {
        "ours_over_torch": round(ratio, 3),
        "per_round": [round(o / t, 3) for o, t in zip(times["ours"], times["torch"])],
        "ms_per_step_median": {e: round(statistics.median(v) * 1e3, 3) for e, v in times.items()},
    }


def _peer(args):
    """(torch, its device) to compare with, or (None, why not)."""
    if args.quick:
        return None, "--quick: no PyTorch timing (our steps ran, to check the code)"
    try:
        import torch
    except ImportError:
        return None, "PyTorch is not installed here: no comparison"
    if torch.cuda.is_available():
        return torch, "cuda"
    if args.device == "double":
        return torch, "cpu"  # only exercises the code: the double is no GPU
    return None, f"PyTorch {torch.__version__} sees no CUDA device: no comparison"


def timing(args, xp) -> dict:
    """ours / PyTorch per training step: interleaved rounds (the order alternating), medians of the rounds.

    Without PyTorch (or with ``--quick``) our steps still run, a few, so the code is checked; no time is
    reported then."""
    import nnabla_api

    import nnabla as nn
    from nnabla.ext_utils import get_extension_context

    torch, torch_device = _peer(args)
    result = {"measures": args.device == "real" and torch is not None, "workloads": {}}
    if torch is None:
        result["skipped"] = torch_device
        rounds, block_seconds, max_steps = 3, 0.0, 3
    else:
        import pytorch as torch_peers

        rounds, block_seconds, max_steps = args.rounds, args.block_seconds, args.max_steps
        result.update(torch=torch.__version__, torch_device=torch_device)
        for flag, where in (
            ("cudnn_allow_tf32", torch.backends.cudnn),
            ("matmul_allow_tf32", torch.backends.cuda.matmul),
        ):
            result[f"torch_{flag}"] = getattr(where, "allow_tf32", None)
        result["note"] = (
            "each step of ours writes the batch from the host (x.d = batch, as benchmarks/peers/nnabla_api.py does); "
            "PyTorch's batch stays on the device"
        )
    sync_ours = xp.cuda.Device().synchronize
    for name, label in WORKLOADS.items():
        try:
            with nn.context_scope(get_extension_context("cudnn")):
                engines = {"ours": (getattr(nnabla_api, name)(), sync_ours)}
            if torch is not None:
                with torch.device(torch_device):
                    theirs = getattr(torch_peers, name)()
                engines["torch"] = (theirs, torch.cuda.synchronize if torch_device == "cuda" else (lambda: None))
            run = interleaved(engines, rounds, block_seconds, max_steps)
            entry = {"label": label, "rounds": rounds, "steps_per_round": run["steps"]}
            if torch is not None:
                entry.update(ratio_entry(run["times"]))
                say(f"timing: {name}: ours / PyTorch {torch_device} = {entry['ours_over_torch']:.2f}")
            result["workloads"][name] = entry
        except Exception as e:
            result["workloads"][name] = {
                "label": label,
                "error": failed(e),
                "traceback": traceback.format_exc()[-3000:],
            }
            say(f"timing: {name}: {failed(e)}")
        finally:
            nn.clear_parameters()
    return result


# -- report -----------------------------------------------------------------------------------------------------
def _count(entries: dict) -> tuple:
    return sum(1 for v in entries.values() if v == "pass"), len(entries)


def _problems(results: dict) -> list:
    """(where, why) of every check that did not pass."""
    out = []
    for section in ("mlp",):
        r = results.get(section)
        if r and r.get("result", "pass") != "pass":
            out.append((section, r["result"]))
    for group, entries in results.get("training", {}).items():
        if isinstance(entries, dict):
            out += [(f"{group}/{k}", v) for k, v in entries.items() if v != "pass"]
    for k, v in results.get("timing", {}).get("workloads", {}).items():
        out += [(f"timing/{k}", v["error"])] if "error" in v else []
    ops = results.get("ops", {})
    out += [(f"op {k}", v["result"]) for k, v in sorted(ops.get("op_types", {}).items()) if v["result"] != "pass"]
    out += [
        (f"case {k} (variables)", v["variables"]) for k, v in ops.get("cases", {}).items() if v["variables"] != "pass"
    ]
    out += [(f"section {k}", v["error"]) for k, v in results.items() if isinstance(v, dict) and "error" in v]
    return out


def summary(report: dict, limit: int = 10**6) -> str:
    env, results = report["environment"], report["results"]
    where = env.get("gpu") or ("the device double" if env["device"] == "double" else "no GPU")
    lines = [f"gpu-check on {where} ({env['device']}, {env['array_module']}), commit {env.get('commit') or '?'}, "
             f"sections run: {', '.join(results) or 'none'}"]  # fmt: skip
    if report.get("error"):
        lines.append(f"no usable device: {report['error']}")
    if "mlp" in results and "steps" in results["mlp"]:
        m = results["mlp"]
        lines.append(f"tutorial MLP ({m['steps']} steps): {m['result']}; loss {m['loss_device'][0]:.4f} -> "
                     f"{m['loss_device'][1]:.4f} (CPU {m['loss_cpu'][0]:.4f} -> {m['loss_cpu'][1]:.4f})")  # fmt: skip
    t = results.get("timing", {})
    if "skipped" in t:
        lines.append(f"timing: skipped: {t['skipped']}")
    elif t.get("workloads"):
        rounds = next(iter(t["workloads"].values())).get("rounds")
        head = f"timing, ours / PyTorch {t['torch_device']} ({t['torch']}), median of {rounds} interleaved rounds"
        lines.append(head + ("" if t["measures"] else " [device double: exercises the code, measures nothing]"))
        for w in t["workloads"].values():
            if "ours_over_torch" in w:
                lines.append(f"  {w['label']}: {w['ours_over_torch']:.2f}x  (per round: {w['per_round']})")
    for group, entries in results.get("training", {}).items():
        if isinstance(entries, dict):
            p, n = _count(entries)
            lines.append(f"{group}: {p}/{n} pass")
    ops = results.get("ops", {})
    if "op_types" in ops:
        p, n = _count({k: v["result"] for k, v in ops["op_types"].items()})
        cases = ops["cases"]
        by_op = sum(1 for v in cases.values() if v["op_by_op"] == "pass")
        through = sum(1 for v in cases.values() if v["variables"] == "pass")
        lines.append(f"op table: {p}/{n} op types pass op by op; of {len(cases)} cases ({ops['cases_in_tables']} in "
                     f"the tables) {by_op} pass op by op, {through} through Variables")  # fmt: skip
        if ops["not_reached"]:
            lines.append(f"  not reached in the time budget: {len(ops['not_reached'])} case(s)")
    problems = _problems(results)
    lines.append(f"{len(problems)} problem(s)" + (":" if problems else ""))
    lines += [f"  {k}: {v}" for k, v in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit} more (gpu_check.txt has them all)")
    lines.append(f"wall time of the whole run: {report['seconds']:.0f} s")
    return "\n".join(lines)


def write(report: dict, folder: Path) -> None:
    report["seconds"] = round(time.time() - START, 1)
    for name, text in (
        ("gpu_check.json", json.dumps(report, indent=1, default=str)),
        ("gpu_check.txt", summary(report)),
    ):
        tmp = folder / f".{name}.tmp"
        tmp.write_text(text + "\n")
        os.replace(tmp, folder / name)


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["real", "double"], default="real", help="real cupy, or the tests' double")
    parser.add_argument("--out", default=os.environ.get("OUT") or "gpu-check-out", help="folder for the results")
    parser.add_argument("--quick", action="store_true", help="a tiny subset, no timing: checks that the script works")
    parser.add_argument("--only", type=lambda s: s.split(","), default=SECTIONS, help=f"of {','.join(SECTIONS)}")
    parser.add_argument("--budget", type=float, default=330.0, help="seconds for the whole run (cases past it: listed)")
    parser.add_argument("--workers", type=int, help="processes for the op table (default: 8 on a GPU, 1 on the double)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds (at least 3)")
    parser.add_argument("--block-seconds", type=float, default=0.3, help="about how long one engine's round runs")
    parser.add_argument("--max-steps", type=int, default=200, help="at most this many steps in one round")
    parser.add_argument("--shard", help=argparse.SUPPRESS)
    parser.add_argument("--shard-out", help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = set(args.only) - set(SECTIONS)
    if unknown:
        parser.error(f"--only: unknown section(s) {sorted(unknown)}; the sections are {SECTIONS}")
    if args.rounds < 3:
        parser.error("--rounds: at least 3")
    return args


def main(argv=None) -> int:
    args = parse(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # many processes on the CPU side: no oversubscription
    _tables_importable()
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        xp, checker = use_device(args.device)
    except Exception as e:
        report = {"environment": {"device": args.device, "array_module": "none"}, "results": {}, "error": str(e)}
        write(report, folder)
        print(f"gpu-check: no usable device: {e}", file=sys.stderr)
        return 2
    if args.shard:  # a worker of the op table
        k, n = (int(v) for v in args.shard.split("/"))
        out = Path(args.shard_out)

        def progress(result):
            out.with_suffix(".tmp").write_text(json.dumps(result))
            os.replace(out.with_suffix(".tmp"), out)

        progress(op_table(args, checker, (k, n), args.deadline, progress))
        return 0
    report = {"environment": environment(args, xp), "results": {}, "budget_s": args.budget, "quick": args.quick}
    say("environment:", json.dumps(report["environment"]))
    deadline = START + args.budget - 20
    results = report["results"]

    def run(name, fn, *fn_args):
        say(f"{name}: start")
        try:
            results[name] = fn(*fn_args)
        except Exception as e:
            results[name] = {"error": failed(e), "traceback": traceback.format_exc()[-3000:]}
        say(f"{name}: done")
        write(report, folder)

    if "mlp" in args.only:
        run("mlp", check_mlp, args, xp, checker)
    if "timing" in args.only:
        run("timing", timing, args, xp)
    n = args.workers or (1 if args.device == "double" else min(8, max(1, (os.cpu_count() or 2) - 2)))
    workers = start_op_workers(args, n, deadline) if "ops" in args.only and n > 1 else []
    if "training" in args.only:
        run("training", check_training, args, xp, checker, deadline)
    if "ops" in args.only:
        if workers:
            say(f"ops: waiting for {n} workers")
            results["ops"] = collect_op_workers(workers, deadline)
            say("ops: done")
            write(report, folder)
        else:
            run("ops", op_table, args, checker, (0, 1), deadline)
    write(report, folder)
    print(summary(report, limit=25), flush=True)  # the whole list is in gpu_check.txt
    return 1 if _problems(results) else 0


if __name__ == "__main__":
    sys.exit(main())
