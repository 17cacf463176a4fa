"""Writing files atomically: parameter and solver-state ``.h5`` files are never left half written.

A file is written to a temporary file in the same folder and then renamed over the target in one step, so a
crash or an error while writing leaves the old file (or none) in place. A process killed while writing cannot
remove its temporary file; the next write of the same target does: temporary files are named
``.<target>.<pid>.<random>.tmp``, and those of processes no longer running are stale.
"""

from __future__ import annotations

import errno
import os
import tempfile


def write_atomically(path, write) -> None:
    """Call ``write(temporary_path)``, then move the temporary file to ``path`` (removing it if anything fails)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, f"cannot write {path!r}: no folder {folder!r}", path)
    remove_stale_temporaries(folder, name)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.{os.getpid()}.", suffix=".tmp", dir=folder)
    except PermissionError as e:
        raise PermissionError(e.errno, f"cannot write {path!r}: the folder {folder!r} is not writable", path) from None
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.errno == errno.ENOSPC:
            raise OSError(e.errno, f"cannot write {path!r}: no space left on the device; {path!r} is unchanged") from e
        raise


def remove_stale_temporaries(folder: str, name: str) -> list:
    """Remove the temporary files of earlier writes of ``name`` in ``folder`` whose process has ended."""
    prefix = f".{name}."
    removed = []
    try:
        entries = os.listdir(folder)
    except OSError:
        return removed
    for entry in entries:
        if not (entry.startswith(prefix) and entry.endswith(".tmp")):
            continue
        pid = entry[len(prefix) :].split(".", 1)[0]
        if not pid.isdigit() or _running(int(pid)):
            continue
        try:
            os.unlink(os.path.join(folder, entry))
            removed.append(entry)
        except OSError:
            pass
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True  # a write of this process in progress (another thread): not stale
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process: leave its file alone
    return True
