"""Faults around parameter files: saving where it cannot, a disk that fills, a process killed mid-save, files that
are not parameter files. Each answers with a clear error, the target stays whole, no temporary file stays."""

import errno
import os
import signal
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import nnabla as nn
import nnabla.parametric_functions as PF
from nnabla import _files


@pytest.fixture
def params():
    nn.clear_parameters()
    PF.affine(nn.Variable((2, 3)), 4, name="fc")
    yield nn.get_parameters()
    nn.clear_parameters()


def test_save_into_a_missing_folder_says_so(tmp_path, params):
    target = tmp_path / "nowhere" / "p.h5"
    with pytest.raises(FileNotFoundError, match="no folder"):
        nn.save_parameters(target)
    assert not (tmp_path / "nowhere").exists()


def test_save_into_a_read_only_folder_says_so(tmp_path, params, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()

    def refused(*args, **kwargs):  # what a read-only folder answers (root ignores chmod, so it is simulated)
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(_files.tempfile, "mkstemp", refused)
    with pytest.raises(PermissionError, match="not writable"):
        nn.save_parameters(folder / "p.h5")
    assert list(folder.iterdir()) == []


def test_a_full_disk_leaves_the_old_file_and_no_temporary(tmp_path, params, monkeypatch):
    target = tmp_path / "p.h5"
    nn.save_parameters(target)
    original = target.read_bytes()

    def full(tmp):
        with open(tmp, "wb") as f:
            f.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="no space left.*unchanged") as info:
        _files.write_atomically(target, full)
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.h5"]


KILLED_WRITER = """
import importlib.util, os, signal
spec = importlib.util.spec_from_file_location("files", {files!r})  # the module alone: no engine start-up
_files = importlib.util.module_from_spec(spec)
spec.loader.exec_module(_files)

def write(tmp):
    with open(tmp, "wb") as f:
        f.write(b"half a file")
    os.kill(os.getpid(), signal.SIGKILL)  # killed mid-save: no cleanup code runs

_files.write_atomically({target!r}, write)
"""


def test_a_process_killed_mid_save_leaves_the_target_and_the_next_save_cleans_up(tmp_path, params):
    target = tmp_path / "p.h5"
    nn.save_parameters(target)
    original = target.read_bytes()
    script = KILLED_WRITER.format(files=_files.__file__, target=str(target))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert done.returncode == -signal.SIGKILL
    assert target.read_bytes() == original  # the target itself stays whole
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "p.h5"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".p.h5.") and leftovers[0].endswith(".tmp")
    params["fc/affine/b"].d = 7
    nn.save_parameters(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.h5"]
    nn.clear_parameters()
    nn.load_parameters(target)
    np.testing.assert_array_equal(nn.get_parameters()["fc/affine/b"].d, 7)


def test_temporaries_of_live_processes_and_other_files_are_left_alone(tmp_path, params):
    live = tmp_path / f".p.h5.{os.getppid()}.abc.tmp"  # the parent process is running
    other = tmp_path / ".q.h5.1.abc.tmp"  # another target's
    mine = tmp_path / "notes.tmp"
    for p in (live, other, mine):
        p.write_bytes(b"x")
    nn.save_parameters(tmp_path / "p.h5")
    assert live.exists() and other.exists() and mine.exists()


@pytest.mark.parametrize(
    "name, content, error, words",
    [
        ("p.h5", b"not hdf5 at all", ValueError, "not a readable .h5 parameter file"),
        ("p.h5", b"", ValueError, "not a readable .h5 parameter file"),
        ("p.protobuf", b"\xff\xfe garbage \x00\x01", ValueError, "p.protobuf"),
        ("p.nnp", b"PK not really a zip", ValueError, "p.nnp"),
    ],
    ids=["text as h5", "empty h5", "garbage protobuf", "broken nnp"],
)
def test_files_that_are_not_parameter_files_are_refused_and_change_nothing(
    tmp_path, params, name, content, error, words
):
    before = {k: v.d.copy() for k, v in nn.get_parameters().items()}
    (tmp_path / name).write_bytes(content)
    with pytest.raises(error) as info:
        nn.load_parameters(tmp_path / name)
    assert words in str(info.value)
    after = nn.get_parameters()
    assert list(after) == list(before)
    for k, d in before.items():
        np.testing.assert_array_equal(after[k].d, d)


def test_a_file_from_a_newer_nnabla_is_refused_with_a_hint_and_changes_nothing(tmp_path, params):
    """A field this engine does not know (NNabla 1.36's format) is named, with the likely reason."""
    before = params["fc/affine/b"].d.copy()
    path = tmp_path / "newer.nnp"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("nnp_version.txt", "9.9\n")
        archive.writestr(
            "network.nntxt",
            'parameter { variable_name: "fc/affine/b" shape { dim: 4 } data: [1, 2, 3, 4] need_grad: true }\n'
            "future_section { x: 1 }\n",
        )
    with pytest.raises(ValueError, match="future_section.*newer NNabla"):
        nn.load_parameters(path)
    np.testing.assert_array_equal(nn.get_parameters()["fc/affine/b"].d, before)
