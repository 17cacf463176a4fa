"""Writing files atomically: parameter and solver-state ``.h5`` files are never left half written.

A file is written to a temporary file in the same folder and then renamed over the target in one step, so a
crash or an error while writing leaves the old file (or none) in place and no temporary file behind.
"""

from __future__ import annotations

import os
import tempfile


def write_atomically(path, write) -> None:
    """Call ``write(temporary_path)``, then move the temporary file to ``path`` (removing it if anything fails)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=os.path.splitext(path)[1] + ".tmp", dir=folder)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
