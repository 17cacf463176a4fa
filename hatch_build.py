"""The package's build hook: compiles the engine's native kernels (engine/nnabla/_native/build.py).

With the library built, a wheel carries it and is tagged for this platform; without it (no C compiler, not x86-64
Linux) the wheel stays pure Python and the engine computes its convolutions with numpy.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

ROOT = Path(__file__).resolve().parent


def _native_build():
    spec = importlib.util.spec_from_file_location("nnabla_native_build", ROOT / "engine/nnabla/_native/build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class NativeKernelsHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version, build_data):
        if self.target_name != "wheel":
            return
        library = _native_build().build(log=self.app.display_warning)
        if library is None:
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        build_data["artifacts"].append(str(library.relative_to(ROOT)))
