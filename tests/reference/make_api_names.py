"""Record NNabla 1.36's public names and signatures for tests/engine/test_api_names.py.

Run by hand with the python of a real NNabla 1.36 install (not by CI):
    "$(/work/shared/tools/nnabla-reference)" tests/reference/make_api_names.py
It writes tests/engine/fixtures/nnabla_1_36_names.json: per module, its public names (functions and classes, not
the modules and helpers it imports from elsewhere) and, for F, PF and S, each callable's arguments and defaults.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import types

MODULES = ["nnabla", "nnabla.functions", "nnabla.parametric_functions", "nnabla.solvers", "nnabla.initializer"]
WITH_SIGNATURES = {"nnabla.functions", "nnabla.parametric_functions", "nnabla.solvers"}
FOREIGN = (
    "_functools",
    "numpy",
    "collections",
    "six",
    "builtins",
    "typing",
    "functools",
    "os",
    "contextlib",
    "google",
    "re",
)


def public_names(module) -> list:
    names = []
    for name in dir(module):
        if name.startswith("_"):
            continue
        obj = getattr(module, name)
        if isinstance(obj, types.ModuleType):
            continue
        origin = getattr(obj, "__module__", None) or ""
        if not callable(obj) and not isinstance(obj, (int, float, str)):
            origin = type(obj).__module__
        if origin.split(".")[0] in FOREIGN or name in ("absolute_import", "division", "print_function"):
            continue
        names.append(name)
    return sorted(names)


def signature_of(obj):
    """[[argument, default repr or None, kind], ...], or None where Python cannot tell."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    out = []
    for p in sig.parameters.values():
        default = None if p.default is inspect.Parameter.empty else repr(p.default)
        out.append([p.name, default, p.kind.name])
    return out


def main() -> None:
    import nnabla

    data = {"nnabla_version": nnabla.__version__, "names": {}, "signatures": {}}
    for modname in MODULES:
        module = importlib.import_module(modname)
        names = public_names(module)
        data["names"][modname] = names
        if modname in WITH_SIGNATURES:
            sigs = {}
            for name in names:
                obj = getattr(module, name)
                if callable(obj):
                    sigs[name] = signature_of(obj)
            data["signatures"][modname] = sigs
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "engine", "fixtures", "nnabla_1_36_names.json")
    with open(path, "w") as f:
        json.dump(data, f, indent=0, sort_keys=True)
        f.write("\n")
    print({m: len(n) for m, n in data["names"].items()})


if __name__ == "__main__":
    main()
