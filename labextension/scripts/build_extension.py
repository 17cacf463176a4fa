"""The JupyterLab extension, built inside the Python build: the one way labextension/dist/nnabla-nb is made.

pyproject.toml names `build` as hatch-jupyter-builder's build function, so `pip install .`, `pip install -e .`,
`pip wheel .`, `python -m build` and every make target that needs the extension run it. It builds with npm
(`npm ci`, then `npm run build:prod`, which calls jupyter-builder) only when the prebuilt extension is missing or
older than its sources; an sdist carries the prebuilt extension, so installing one needs no node. With no
prebuilt extension and no usable node, it stops with a message saying what to install.

Run directly (`python labextension/scripts/build_extension.py`) it does the same outside a Python build.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

EXTENSION = Path(__file__).resolve().parent.parent
DIST = EXTENSION / "dist" / "nnabla-nb"
# what the built extension is made from; a newer file here means the prebuilt one is stale
SOURCES = ("src", "style", "package.json", "package-lock.json", "tsconfig.json")
NODE_MAJOR = 20

log = logging.getLogger("nnabla-nb.labextension")


class ExtensionBuildError(RuntimeError):
    """The extension is neither prebuilt nor buildable here."""


def _newest_mtime(path: Path) -> float:
    if path.is_file():
        return path.stat().st_mtime
    return max((p.stat().st_mtime for p in path.rglob("*") if p.is_file()), default=0.0)


def is_built() -> bool:
    return (DIST / "package.json").is_file() and (DIST / "static" / "style.js").is_file()


def is_stale() -> bool:
    """True when the extension is missing or a source is newer than its built package.json."""
    if not is_built():
        return True
    built = (DIST / "package.json").stat().st_mtime
    return any(_newest_mtime(EXTENSION / name) > built for name in SOURCES if (EXTENSION / name).exists())


def _node_problem() -> str | None:
    """Why node/npm cannot build here, or None when they can."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return "node and npm were not found on PATH"
    out = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    try:
        major = int(out.lstrip("v").split(".")[0])
    except ValueError:
        return f"`node --version` printed {out!r}"
    if major < NODE_MAJOR:
        return f"node {out} is older than the {NODE_MAJOR}.x this build needs"
    return None


def _npm(*args: str) -> None:
    # jupyter-builder (which build:prod runs) comes with the build's Python: found last, after the isolated
    # build environment's scripts that pip and `build` put first on PATH
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([env.get("PATH", ""), str(Path(sys.executable).parent)])
    log.info("nnabla-nb labextension: %s", " ".join(["npm", *args]))
    subprocess.run([shutil.which("npm") or "npm", *args], cwd=EXTENSION, env=env, check=True)


def build(target_name: str, version: str) -> None:
    """hatch-jupyter-builder's build function: make labextension/dist/nnabla-nb if missing or stale.

    ``target_name`` ("wheel" or "sdist") and ``version`` ("standard" or "editable") build the same extension.
    """
    log.info("nnabla-nb labextension for the %s (%s) build", target_name, version)
    if not is_stale():
        log.info("nnabla-nb labextension: %s is up to date", DIST)
        return
    problem = _node_problem()
    if problem:
        if is_built():
            log.warning("nnabla-nb labextension: sources are newer than %s but %s; using it as built", DIST, problem)
            return
        raise ExtensionBuildError(
            f"nnabla-nb: the JupyterLab extension is not built ({DIST.relative_to(EXTENSION.parent)} is missing) "
            f"and it cannot be built here: {problem}. Install Node.js >= {NODE_MAJOR} with npm and build again, "
            "or install nnabla-nb from a wheel or an sdist, which carry the prebuilt extension."
        )
    lock = EXTENSION / "package-lock.json"
    stamp = EXTENSION / "node_modules" / ".package-lock.json"
    wanted = max(lock.stat().st_mtime, (EXTENSION / "package.json").stat().st_mtime)
    if not stamp.is_file() or stamp.stat().st_mtime < wanted:
        _npm("ci", "--no-audit", "--no-fund")
        stamp.touch()
    _npm("run", "build:prod")
    if not is_built():
        raise ExtensionBuildError(f"nnabla-nb: `npm run build:prod` left no package.json and static/style.js in {DIST}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        build("wheel", "standard")
    except ExtensionBuildError as e:
        sys.exit(str(e))
