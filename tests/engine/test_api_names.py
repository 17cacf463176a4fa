"""Every public name of NNabla 1.36 exists here, with NNabla's arguments and defaults.

The names and signatures were read off real NNabla by tests/reference/make_api_names.py into
fixtures/nnabla_1_36_names.json. A name may be missing only while it is listed in PENDING (work in progress
elsewhere); a PENDING name that exists fails too, so the list shrinks as the work lands.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os

import pytest

with open(os.path.join(os.path.dirname(__file__), "fixtures", "nnabla_1_36_names.json")) as _f:
    NNABLA = json.load(_f)

# NNabla 1.36 names not built yet: name -> why (empty when every name exists)
PENDING: dict = {}

# Where our signature knowingly differs from NNabla's (module, name) -> why
SIGNATURE_EXCEPTIONS = {
    ("nnabla.functions", "norm_normalization"): "also takes n_outputs and outputs, as every generated function",
    ("nnabla.solvers", "SolverState"): "also takes the initial pstate and t (NNabla's takes none)",
}

MODULES = sorted(NNABLA["names"])


def test_fixture_is_nnabla_1_36():
    assert NNABLA["nnabla_version"] == "1.36.0"
    assert MODULES == sorted(
        ["nnabla", "nnabla.functions", "nnabla.parametric_functions", "nnabla.solvers", "nnabla.initializer"]
    )


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_name_exists(module_name):
    module = importlib.import_module(module_name)
    pending = PENDING.get(module_name, {})
    missing = [n for n in NNABLA["names"][module_name] if not hasattr(module, n) and n not in pending]
    assert not missing, f"{module_name} lacks NNabla 1.36's {missing}"


@pytest.mark.parametrize("module_name", MODULES)
def test_pending_names_are_still_missing_and_real(module_name):
    module = importlib.import_module(module_name)
    pending = PENDING.get(module_name, {})
    landed = [n for n in pending if hasattr(module, n)]
    assert not landed, f"{module_name}.{landed} exist now: remove them from PENDING"
    unknown = [n for n in pending if n not in NNABLA["names"][module_name]]
    assert not unknown, f"PENDING names {unknown} are not NNabla 1.36 names of {module_name}"
    assert all(reason for reason in pending.values())


def _signature(obj) -> list:
    params = inspect.signature(obj).parameters.values()
    return [[p.name, None if p.default is inspect.Parameter.empty else repr(p.default)] for p in params]


SIGNED = [
    (module_name, name)
    for module_name, sigs in sorted(NNABLA["signatures"].items())
    for name, sig in sorted(sigs.items())
    if sig is not None
]


@pytest.mark.parametrize("module_name", sorted(NNABLA["signatures"]))
def test_arguments_and_defaults_equal_nnablas(module_name):
    module = importlib.import_module(module_name)
    differ = []
    for name, sig in sorted(NNABLA["signatures"][module_name].items()):
        if sig is None or not hasattr(module, name) or (module_name, name) in SIGNATURE_EXCEPTIONS:
            continue
        expected = [[arg, default] for arg, default, _kind in sig]
        ours = _signature(getattr(module, name))
        if ours != expected:
            differ.append(f"{name}: ours {ours}, NNabla {expected}")
    assert not differ, "\n".join(differ)


def test_signature_exceptions_are_still_needed():
    for module_name, name in SIGNATURE_EXCEPTIONS:
        expected = [[arg, default] for arg, default, _kind in NNABLA["signatures"][module_name][name]]
        assert _signature(getattr(importlib.import_module(module_name), name)) != expected, (module_name, name)
