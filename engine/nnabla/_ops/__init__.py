"""Op definitions, one module per family; importing this package registers them all.

A module may also define ``PUBLIC = {"name": function}``: hand-written ``F.name`` wrappers for the functions
NNabla itself writes in Python (``F.sum``, ``F.softmax`` with its axis default, ...). They replace the
generated wrapper of the same name.
"""

import importlib
import pkgutil

MODULES = []
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _info.name.startswith("_"):
        MODULES.append(importlib.import_module(f"{__name__}.{_info.name}"))
