"""File handles and extension-keyed loaders/savers for parameter files (NNabla's ``nnabla.utils.get_file_handle``).

``load_files(ctx, loaders, filenames)`` hands each file to the loader registered for its extension (file objects
use ``extension``); ``save_files(ctx, savers, filenames)`` likewise, and says whether every file had a saver.
``ctx`` (a ``FileHandlerContext``) carries what loaders share: ``parameter_scope`` (the scope parameters go to),
``needs_proto`` and ``proto`` (an ``NNablaProtoBuf`` that ``.h5`` parameters are added to),
and for savers ``parameters`` (an ordered dict of name -> Variable).

The parameter loaders and savers here are the ones ``nnabla.parameter`` uses (``.h5``, ``.protobuf``,
``.nntxt``/``.prototxt``, ``.nnp``); NNabla's loaders of whole networks and optimizer states live in
``nnabla.utils.load``/``nnabla.utils.save`` here instead.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import zipfile
from collections import OrderedDict

import numpy as np

import nnabla as nn
from nnabla.logger import logger


class FileHandlerContext:
    """The state loaders and savers share: set whatever attributes they read (see the module docstring)."""


@contextlib.contextmanager
def get_file_handle_load(nnp, path, ext):
    """An open handle on ``path`` for reading as ``ext``; inside an ``.nnp`` (``nnp``, a ZipFile) a member's."""
    if nnp is not None:
        mode = "r" if ext in (".nntxt", ".prototxt") else "rb"
        data = nnp.read(path)
        handle = io.StringIO(data.decode("utf-8")) if mode == "r" else io.BytesIO(data)
        if ext == ".h5":
            import h5py

            handle = h5py.File(handle, "r")
        with contextlib.closing(handle):
            yield handle
        return
    if ext == ".nnp":
        opened, close = zipfile.ZipFile(path, "r"), True
    elif ext == ".h5":
        import h5py

        opened, close = h5py.File(path if isinstance(path, str) else io.BytesIO(path.read()), "r"), True
    elif ext in (".nntxt", ".prototxt", ".protobuf"):
        if hasattr(path, "read"):
            opened, close = path, False
        else:
            opened, close = open(path, "r" if ext != ".protobuf" else "rb"), True
    else:
        raise ValueError(f"get_file_handle_load: extension {ext!r} is not supported (.nnp, .h5, .nntxt, .protobuf)")
    try:
        yield opened
    finally:
        if close:
            opened.close()


@contextlib.contextmanager
def get_file_handle_save(path, ext):
    """An open handle for writing ``path`` as ``ext``; a named file appears only once it is written whole."""
    if ext not in (".nnp", ".h5", ".nntxt", ".prototxt", ".protobuf"):
        raise ValueError(f"get_file_handle_save: extension {ext!r} is not supported (.nnp, .h5, .nntxt, .protobuf)")
    if hasattr(path, "write") and ext in (".nntxt", ".prototxt", ".protobuf"):
        yield path
        if hasattr(path, "seek"):
            path.seek(0)
        return
    named = isinstance(path, (str, os.PathLike))
    target = path
    if named:
        fd, target = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(os.fspath(path))), suffix=ext)
        os.close(fd)
    try:
        if ext == ".nnp":
            handle = zipfile.ZipFile(target, "w")
        elif ext == ".h5":
            import h5py

            handle = h5py.File(target, "w")
        else:
            handle = open(target, "w" if ext != ".protobuf" else "wb")
        try:
            yield handle
        finally:
            handle.close()
        if named:
            os.replace(target, os.fspath(path))
    finally:
        if named and os.path.exists(target):
            os.unlink(target)
    if hasattr(path, "seek"):
        path.seek(0)


def get_buf_type(filename: str) -> str:
    """The type word of a solver-state member name: ``'states_buf.h5'`` -> ``'h5'`` (NNabla's rule)."""
    return filename.split("_")[-1].split(".")[1].lower()


def _load_parameter_file(ctx, nnp, filename, ext):
    source = io.BytesIO(nnp.read(filename)) if nnp is not None else filename
    before = OrderedDict(nn.get_parameters(grad_only=False))
    nn.parameter.load_parameters(source, extension=ext)
    if ext == ".h5" and getattr(ctx, "needs_proto", False):
        if getattr(ctx, "proto", None) is None:
            from nnabla.utils import _proto

            ctx.proto = _proto.NNablaProtoBuf()
        for name, v in nn.get_parameters(grad_only=False).items():
            if name in before and before[name] is not v:
                continue
            entry = ctx.proto.parameter.add()
            entry.variable_name = name
            entry.shape.dim.extend(v.shape)
            entry.data.extend(np.asarray(v.d).ravel().tolist())
            entry.need_grad = bool(v.need_grad)


def _h5_parameter_file_loader(ctx, file_loaders, nnp, filename, ext):
    _load_parameter_file(ctx, nnp, filename, ext)


def _pb_parameter_file_loader(ctx, file_loaders, nnp, filename, ext):
    _load_parameter_file(ctx, nnp, filename, ext)


def _nntxt_parameter_file_loader(ctx, file_loaders, nnp, filename, ext):
    _load_parameter_file(ctx, nnp, filename, ext)


def _nnp_parameter_file_loader(ctx, file_loaders, nnp, filename, ext):
    """Each member of the ``.nnp`` goes to the loader of its extension."""
    if nnp is not None:
        raise ValueError(f"load_files: {filename!r}: an .nnp inside an .nnp is not a parameter file")
    with get_file_handle_load(None, filename, ext) as archive:
        for name in archive.namelist():
            member_ext = os.path.splitext(name)[1]
            for extensions, loader in file_loaders.items():
                if member_ext in extensions.split(","):
                    loader(ctx, file_loaders, archive, name, member_ext)


def get_parameter_file_loader() -> OrderedDict:
    """Extension(s) -> loader of parameter files, as ``nnabla.parameter.load_parameters`` uses them."""
    return OrderedDict(
        [
            (".h5", _h5_parameter_file_loader),
            (".protobuf", _pb_parameter_file_loader),
            (".nntxt,.prototxt", _nntxt_parameter_file_loader),
            (".nnp", _nnp_parameter_file_loader),
        ]
    )


def _parameter_file_saver(ctx, filename, ext):
    nn.parameter.save_parameters(filename, ctx.parameters, extension=ext)


def get_parameter_file_savers() -> OrderedDict:
    """Extension -> saver of parameter files (``ctx.parameters``): ``.h5`` and ``.protobuf``."""
    return OrderedDict([(".h5", _parameter_file_saver), (".protobuf", _parameter_file_saver)])


def _as_list(filenames) -> list:
    return list(filenames) if isinstance(filenames, (list, tuple)) else [filenames]


def _extension_of(filename, extension):
    return os.path.splitext(os.fspath(filename))[1] if isinstance(filename, (str, os.PathLike)) else extension


def load_files(ctx, file_loaders, filenames, extension=None) -> None:
    """Give each file to the loader of its extension (``extension`` for file objects); others are skipped."""

    def load_all():
        for filename in _as_list(filenames):
            ext = _extension_of(filename, extension)
            handled = False
            for extensions, loader in file_loaders.items():
                if ext in extensions.split(","):
                    loader(ctx, file_loaders, None, filename, ext)
                    handled = True
            if not handled:
                logger.warning(f"{filename} is omitted.")

    if getattr(ctx, "parameter_scope", None) is not None:
        with nn.parameter_scope("", ctx.parameter_scope):
            load_all()
    else:
        load_all()


def save_files(ctx, file_savers, filenames, extension=None) -> bool:
    """Give each file to the first saver of its extension; True when every file had one."""
    supported = []
    for filename in _as_list(filenames):
        ext = _extension_of(filename, extension)
        saver = next((s for extensions, s in file_savers.items() if ext in extensions.split(",")), None)
        if saver is not None:
            saver(ctx, filename, ext)
        supported.append(saver is not None)
    return all(supported)
