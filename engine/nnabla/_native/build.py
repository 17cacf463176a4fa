"""Compile the native kernels: kernels.c and passes.c once per instruction set, with dispatch.c, into
libnnbkernels.so here.

The package's build hook (hatch_build.py) calls ``build()`` in every Python build (``pip install``, ``pip install
-e``, ``pip wheel``); ``python engine/nnabla/_native/build.py`` does the same by hand. It compiles only where the
library is missing or older than its sources, and only on x86-64 with a C compiler (``$CC``, else ``cc``); without
one it says so and the engine computes its convolutions with numpy. The library is written to a temporary file
and moved into place, so a failed build leaves no half-written library behind.
"""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
LIBRARY = HERE / "libnnbkernels.so"
SOURCES = ("kernels.c", "passes.c", "dispatch.c")
# compiled once per instruction set, each with its own flags (passes.c rounds every operation as numpy does)
PER_ISA = {"kernels.c": [], "passes.c": ["-ffp-contract=off"]}

COMMON = ["-O3", "-fPIC", "-std=gnu11", "-Wall", "-Wno-psabi", "-fno-math-errno"]
# each build of kernels.c: its name (the functions' suffix) and the instruction sets it may use
ISAS = {
    "avx512": ["-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq", "-mavx2", "-mfma", "-mtune=skylake-avx512"],
    "avx2": ["-mavx2", "-mfma", "-mtune=haswell"],
}


def _stale() -> bool:
    if not LIBRARY.exists():
        return True
    built = LIBRARY.stat().st_mtime
    return any((HERE / name).stat().st_mtime > built for name in SOURCES + ("build.py",))


def supported() -> str | None:
    """Why the kernels cannot be built here, or None where they can."""
    if platform.machine().lower() not in ("x86_64", "amd64") or not sys.platform.startswith("linux"):
        return f"native kernels are built for x86-64 Linux only (this is {sys.platform} {platform.machine()})"
    compiler = shlex.split(os.environ.get("CC", "cc"))
    if not compiler or shutil.which(compiler[0]) is None:
        return "no C compiler (cc, or $CC) found"
    return None


def build(force: bool = False, log=print) -> Path | None:
    """Build the library if it is missing or stale; its path, or None (with the reason logged) where it cannot be."""
    if not force and not _stale():
        return LIBRARY
    reason = supported()
    if reason is not None:
        log(f"nnabla-nb: {reason}; convolutions will run on numpy")
        return LIBRARY if LIBRARY.exists() else None
    cc = shlex.split(os.environ.get("CC", "cc"))
    with tempfile.TemporaryDirectory() as tmp:
        objects = []
        try:
            for isa, flags in ISAS.items():
                for source, own in PER_ISA.items():
                    obj = os.path.join(tmp, f"{Path(source).stem}_{isa}.o")
                    subprocess.run(
                        cc + COMMON + flags + own + [f"-DNNB_ISA={isa}", "-c", str(HERE / source), "-o", obj],
                        check=True,
                        capture_output=True,
                        text=True,
                    )
                    objects.append(obj)
            obj = os.path.join(tmp, "dispatch.o")
            subprocess.run(cc + COMMON + ["-c", str(HERE / "dispatch.c"), "-o", obj], check=True, capture_output=True)
            objects.append(obj)
            partial = os.path.join(tmp, LIBRARY.name)
            subprocess.run(cc + ["-shared", "-o", partial] + objects, check=True, capture_output=True, text=True)
        except subprocess.CalledProcessError as error:
            log(f"nnabla-nb: the native kernels did not compile ({error.stderr}); convolutions will run on numpy")
            return None
        shutil.move(partial, LIBRARY.with_suffix(".so.tmp"))
        os.replace(LIBRARY.with_suffix(".so.tmp"), LIBRARY)
    return LIBRARY


if __name__ == "__main__":
    path = build(force="--force" in sys.argv)
    print(path if path is not None else "not built: the engine's convolutions run on numpy")
