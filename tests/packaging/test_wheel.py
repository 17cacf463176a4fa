"""The wheel and the sdist as an index, pip or uv builds them: from a fresh clone, with the JupyterLab extension inside.

`pip wheel .` in a fresh clone runs the extension's build (npm) inside the Python build; the sdist made from that
clone carries the prebuilt extension, so a wheel built from it on a machine with no node still has it; and with no
node and no prebuilt extension the build stops with a message saying what to install.
Run by `make test-packaging` (about a minute); `pytest tests` leaves these out (marker `packaging`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
SHARE = "share/jupyter/labextensions/nnabla-nb/"
# uv (in the test extra) builds the sdist, and wheels from it, as `python -m build` does
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv") or "uv"


def _run(cmd: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, **kw)


def _no_node_env(tmp: Path) -> dict[str, str]:
    """The environment of a machine with no node: PATH holds only git."""
    bin_dir = tmp / "bin-without-node"
    bin_dir.mkdir(exist_ok=True)
    git = shutil.which("git")
    if git and not (bin_dir / "git").exists():
        (bin_dir / "git").symlink_to(git)
    return {**os.environ, "PATH": str(bin_dir)}


def _native_reason():
    """Why the native kernels cannot be built here (engine/nnabla/_native/build.py), or None."""
    sys.path.insert(0, str(ROOT / "engine"))
    try:
        from nnabla._native import build
    finally:
        sys.path.pop(0)
    return build.supported()


def _fresh_clone(dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(ROOT), str(dest)], check=True)
    assert not (dest / "labextension" / "dist").exists()
    return dest


def _extension_files(names: list[str], prefix: str) -> dict[str, str]:
    """The extension's files under `prefix` (the wheel's data dir or the sdist's labextension/dist/nnabla-nb/)."""
    return {n[len(prefix) :]: n for n in names if n.startswith(prefix)}


def _check_extension(files: dict[str, str], read) -> None:
    assert "package.json" in files, sorted(files)
    assert "static/style.js" in files
    meta = json.loads(read(files["package.json"]))
    assert meta["name"] == "nnabla-nb"
    assert meta["jupyterlab"]["mimeExtension"] is True
    # the federated entry point JupyterLab loads is in the package
    assert meta["jupyterlab"]["_build"]["load"] in files


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """A fresh clone and the wheel `pip wheel --no-deps .` made in it (node builds the extension)."""
    clone = _fresh_clone(tmp_path_factory.mktemp("clone") / "nnabla-nb")
    out = tmp_path_factory.mktemp("wheel")
    r = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), "."], cwd=clone)
    assert r.returncode == 0, r.stdout + r.stderr
    (wheel,) = out.glob("nnabla_nb-*.whl")
    return clone, wheel


def test_pip_wheel_from_a_fresh_clone_carries_the_extension(built):
    clone, wheel = built
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        data = next(n.split("/")[0] for n in names if n.endswith(".data/data/" + SHARE + "package.json"))
        files = _extension_files(names, f"{data}/data/{SHARE}")
        _check_extension(files, z.read)
        # JupyterLab lists it as installed by pip ("python, nnabla-nb")
        assert json.loads(z.read(files["install.json"]))["packageName"] == "nnabla-nb"
    # the Python side is whole: the engine, its extension modules and the kit, but no tests and no node_modules
    for module in ("nnabla/__init__.py", "nnabla/utils/nnabla.proto", "nnabla_ext/cpu.py", "nnabla_nb/__init__.py"):
        assert module in names
    assert not [n for n in names if "node_modules" in n or n.startswith("tests/")]
    # the native kernels, compiled by the build where it can, make it a platform wheel
    if _native_reason() is None:
        assert "nnabla/_native/libnnbkernels.so" in names
        assert not wheel.name.endswith("-none-any.whl"), wheel.name
    else:
        assert wheel.name.endswith("-py3-none-any.whl"), wheel.name
    # the files are the ones the build left in the clone
    built_dir = clone / "labextension" / "dist" / "nnabla-nb"
    assert {p.relative_to(built_dir).as_posix() for p in built_dir.rglob("*") if p.is_file()} | {"install.json"} == set(
        files
    )


def test_sdist_carries_the_prebuilt_extension_and_builds_a_wheel_without_node(built, tmp_path):
    clone, _ = built
    r = _run([UV, "build", "--sdist", "-q", "-o", str(tmp_path / "sdist"), "."], cwd=clone)
    assert r.returncode == 0, r.stdout + r.stderr
    (sdist,) = (tmp_path / "sdist").glob("nnabla_nb-*.tar.gz")
    with tarfile.open(sdist) as t:
        names = t.getnames()
        top = names[0].split("/")[0]
        files = _extension_files(names, f"{top}/labextension/dist/nnabla-nb/")
        _check_extension(files, lambda n: t.extractfile(n).read())
    assert not [n for n in names if "node_modules" in n]
    # a machine with no node builds the wheel from the sdist, extension included
    r = _run(
        [UV, "build", "--wheel", "-q", "--python", sys.executable, "-o", str(tmp_path / "wheel"), str(sdist)],
        cwd=tmp_path,
        env=_no_node_env(tmp_path),
    )
    assert r.returncode == 0, r.stdout + r.stderr
    (wheel,) = (tmp_path / "wheel").glob("nnabla_nb-*.whl")
    with zipfile.ZipFile(wheel) as z:
        assert any(n.endswith(".data/data/" + SHARE + "static/style.js") for n in z.namelist())
        # (no C compiler on that PATH either: a pure wheel, whose engine computes with numpy)
        assert not [n for n in z.namelist() if n.endswith(".so")]
    assert wheel.name.endswith("-py3-none-any.whl"), wheel.name


def test_without_node_or_a_prebuilt_extension_the_build_stops_with_a_message(tmp_path):
    clone = _fresh_clone(tmp_path / "nnabla-nb")
    r = _run(
        [UV, "build", "--wheel", "--python", sys.executable, "-o", str(tmp_path / "out"), "."],
        cwd=clone,
        env=_no_node_env(tmp_path),
    )
    assert r.returncode != 0
    assert "node and npm were not found on PATH" in r.stderr, r.stderr[-3000:]
    assert "Install Node.js >= 20" in r.stderr
    assert not list((tmp_path / "out").glob("*.whl"))
