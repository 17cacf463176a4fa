"""A property-based sweep over every registered function: generated input shapes and dtypes and argument values,
valid and invalid. Each call either builds (and then runs forward), or raises a ``FunctionError`` naming the
function when the graph is built; forward raises nothing but a ``FunctionError`` naming the function (for what
only the data shows: labels and indices out of range). Never a bare numpy or Python message, never a hang.

The op tables' own cases (tests/engine/test_ops_*.py) are swept too, with new input values: the result must
still match their references.

A fixed seed and a fixed budget run in the unit suite; ``NNABLA_SWEEP_EXAMPLES=500`` (examples per function)
runs a longer sweep.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import pathlib
import signal
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnabla as nn
from nnabla.function import REQUIRED, FunctionError, apply, registry

EXAMPLES = int(os.environ.get("NNABLA_SWEEP_EXAMPLES", "8"))
SWEEP = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same examples on every run
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
SECONDS_PER_CALL = 10  # a call running longer counts as a hang

# functions built by another API, whose node only that API makes with the right inputs
MADE_ELSEWHERE = {name for name, cls in registry().items() if cls.__dict__.get("fname", "") is None}
FUNCTIONS = sorted(set(registry()) - MADE_ELSEWHERE)


class _Hang(Exception):
    pass


# what the sweep saw, written to the JSON file NNABLA_SWEEP_STATS names (for reports; the checks do not read it)
STATS = {"calls": 0, "built": set(), "refused": set(), "messages": set(), "forward_refused": set()}


def _write_stats():
    import json

    summary = {k: v if isinstance(v, int) else len(v) for k, v in STATS.items()}
    summary["functions"] = len(FUNCTIONS)
    with open(os.environ["NNABLA_SWEEP_STATS"], "w") as f:
        json.dump(summary, f)


if os.environ.get("NNABLA_SWEEP_STATS"):
    atexit.register(_write_stats)


def _alarm(signum, frame):
    raise _Hang()


# -- what the sweep generates ---------------------------------------------------------------------------------
# sizes 0..4, a zero about one time in nine; up to 4 dimensions, scalars included
shapes = st.lists(st.sampled_from([1, 2, 3, 4, 1, 2, 3, 4, 0]), min_size=0, max_size=4).map(tuple)
small_ints = st.integers(-3, 5)
int_tuples = st.lists(st.integers(-2, 4), min_size=0, max_size=4).map(tuple)
wrong_types = st.sampled_from(["a", None, [1.5], (1, "b"), float("nan")])


def argument_values(default):
    """Values for an argument: mostly its default or one of its kind, sometimes one of the wrong type."""
    if default is REQUIRED or default is None or isinstance(default, (tuple, list)):
        kind = st.one_of(st.none(), small_ints, int_tuples)
    elif isinstance(default, bool):
        kind = st.booleans()
    elif isinstance(default, int):
        kind = small_ints
    elif isinstance(default, float):
        kind = st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0])
    elif isinstance(default, str):
        kind = st.sampled_from([default, "nonsense"])
    else:
        kind = st.just(default)
    return st.one_of(st.just(default), kind, kind, wrong_types)


def input_arrays(draw, cls):
    arrays = []
    for spec in cls.inputs_spec:
        if spec.startswith("*"):
            count = draw(st.integers(1, 3))
        elif spec.endswith("?"):
            count = draw(st.integers(0, 1))
        else:
            count = 1
        for _ in range(count):
            shape = draw(st.one_of(shapes, st.just(arrays[-1].shape) if arrays else shapes))
            index = len(arrays)
            rng = np.random.RandomState(draw(st.integers(0, 2**16)))
            if index in cls.keep_dtype:  # labels, indices, masks: small whole numbers, as ints or floats
                dtype = draw(st.sampled_from([np.int32, np.int64, np.float32]))
                arrays.append(np.asarray(rng.randint(0, 3, size=shape), dtype))
            else:
                arrays.append(np.asarray(rng.standard_normal(size=shape), np.float32))
    return arrays


def _named(error, type_name):
    return type_name.lower() in str(error).replace("_", "").lower()


def _outputs(y):
    return list(y) if isinstance(y, (tuple, list)) else [y]


@pytest.mark.parametrize("type_name", FUNCTIONS)
@SWEEP
@given(data=st.data())
def test_every_function_builds_or_names_the_problem(type_name, data):
    cls = registry()[type_name]
    arrays = input_arrays(data.draw, cls)
    args = {}
    for key, default in cls.args_spec.items():
        shown = cls.signature_defaults.get(key, default)
        value = data.draw(argument_values(REQUIRED if shown is REQUIRED else default), label=key)
        if value is not default:
            args[key] = value
    inputs = [nn.Variable.from_numpy_array(a) for a in arrays]
    STATS["calls"] += 1
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(SECONDS_PER_CALL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                outputs = _outputs(apply(cls(None, **args), inputs))
            except FunctionError as e:
                assert _named(e, type_name), f"{type_name}: error does not name the function: {e}"
                STATS["refused"].add(type_name)
                STATS["messages"].add(str(e))
                return
            except _Hang:
                raise
            except Exception as e:
                raise AssertionError(
                    f"{type_name} with inputs {[a.shape for a in arrays]} and args {args}: graph build raised "
                    f"{type(e).__name__}: {e}"
                ) from e
            STATS["built"].add(type_name)
            try:
                for y in outputs:
                    y.forward()
            except FunctionError as e:
                assert _named(e, type_name), f"{type_name}: forward error does not name the function: {e}"
                STATS["forward_refused"].add(type_name)
                STATS["messages"].add(str(e).split("\n")[0])
            except _Hang:
                raise
            except Exception as e:
                raise AssertionError(
                    f"{type_name} with inputs {[a.shape for a in arrays]} and args {args}: forward raised "
                    f"{type(e).__name__}: {e}"
                ) from e
    except _Hang:
        raise AssertionError(f"{type_name} with inputs {[a.shape for a in arrays]} and args {args}: hangs") from None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# -- the op tables, with new values -----------------------------------------------------------------------------
def _table_cases():
    here = pathlib.Path(__file__).parent
    cases = []
    for path in sorted(here.glob("test_ops_*.py")):
        spec = importlib.util.spec_from_file_location(f"_sweep_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for case in getattr(module, "CASES", []):
            cases.append(pytest.param(case, id=f"{path.stem[9:]}-{case.name}"))
    return cases


TABLE_CASES = _table_cases()


@pytest.mark.parametrize("case", TABLE_CASES)
@settings(SWEEP, max_examples=max(2, EXAMPLES // 4))
@given(data=st.data())
def test_table_cases_match_their_references_on_new_values(case, data):
    """Each float input scaled by its own factor: the results still match the table's reference."""
    arrays = []
    for a in case.inputs:
        a = np.asarray(a)
        if a.dtype.kind == "f" and a.size:
            # shrunk towards zero: inputs drawn inside a domain (probabilities, [-1, 1]) mostly stay inside it
            scale = data.draw(st.sampled_from([0.5, 0.75, 0.9]))
            a = (a * scale).astype(a.dtype)
        arrays.append(a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ys = _outputs(case.fn(*[nn.Variable.from_numpy_array(a) for a in arrays]))
            for y in ys:
                y.forward()
        except FunctionError:
            return  # a value only the data shows (an out-of-range index) is refused by name
        expected = case.ref(*[np.array(a) for a in arrays])
    expected = list(expected) if isinstance(expected, (tuple, list)) else [expected]
    for k, (y, e) in enumerate(zip(ys, expected)):
        if k in case.skip_outputs:
            continue
        np.testing.assert_allclose(
            y.d, np.asarray(e), rtol=max(case.rtol, 1e-4), atol=max(case.atol, 1e-5), err_msg=f"{case.name} {k}"
        )
