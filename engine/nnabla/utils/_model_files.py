"""Reading and writing NNabla's model files: ``.nnp``, ``.nntxt``/``.prototxt``, ``.protobuf`` and ``.h5``.

- ``.nntxt`` / ``.prototxt``: an ``NNablaProtoBuf`` message in protobuf text format;
- ``.protobuf``: the same message in binary (parameter files hold only its ``parameter`` field);
- ``.nnp``: a zip of ``nnp_version.txt`` (``0.1``), ``network.nntxt`` and ``parameter.h5`` (read: any members
  of the kinds above);
- ``.h5``: parameters only, in NNabla's layout (``nnabla.parameter``).
Writes are atomic; a file that cannot be read raises a ValueError naming it, before anything is changed.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections import OrderedDict

import numpy as np

from nnabla._files import write_atomically
from nnabla.logger import logger

from . import _proto

NNP_VERSION = "0.1"
TEXT = (".nntxt", ".prototxt")


def _label(f) -> str:
    return repr(os.fspath(f)) if isinstance(f, (str, os.PathLike)) else "the given file object"


def extension_of(f, extension) -> str:
    return os.path.splitext(os.fspath(f))[1] if isinstance(f, (str, os.PathLike)) else extension


def _host_values(variable):
    """A Variable's values as numpy, read only: data on the device stays there."""
    nd = getattr(variable, "data", None)
    return nd.get_data("r") if hasattr(nd, "get_data") else variable.d


def parameter_message(name: str, variable):
    """One parameter as NNabla's ``Parameter`` message (values written as float32, as NNabla does)."""
    p = _proto.Parameter(variable_name=name, need_grad=bool(variable.need_grad))
    p.shape.dim.extend(variable.shape)
    p.data.extend(np.asarray(_host_values(variable), dtype=np.float32).ravel().tolist())
    return p


def parameters_of(proto, label) -> OrderedDict:
    """name -> (float32 array, need_grad) from the ``parameter`` field of ``proto``, checked."""
    out = OrderedDict()
    for p in proto.parameter:
        shape = tuple(p.shape.dim)
        data = np.asarray(p.data, dtype=np.float32)
        if data.size != int(np.prod(shape)):
            raise ValueError(f"parameter {p.variable_name!r} in {label} has {data.size} values for shape {shape}")
        out[p.variable_name] = (data.reshape(shape), bool(p.need_grad))
    return out


# -- bytes <-> messages -------------------------------------------------------------------------------
def parse_text(text, label):
    from google.protobuf import text_format

    proto = _proto.NNablaProtoBuf()
    try:
        text_format.Merge(text.decode("utf-8") if isinstance(text, bytes) else text, proto)
    except (text_format.ParseError, UnicodeDecodeError) as e:
        hint = "; written by a newer NNabla? this reads NNabla 1.36's format" if "has no field named" in str(e) else ""
        raise ValueError(f"{label} is not a readable NNabla text protobuf ({e}{hint})") from None
    return proto


def parse_binary(data, label, message=None):
    from google.protobuf.message import DecodeError

    proto = (message or _proto.NNablaProtoBuf)()
    try:
        proto.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as e:
        raise ValueError(f"{label} is not a readable NNabla binary protobuf ({e})") from None
    return proto


def read_h5_parameters(data, label) -> OrderedDict:
    from nnabla.parameter import _read_h5

    try:
        entries = _read_h5(io.BytesIO(data), label)
    except ValueError as e:
        raise ValueError(str(e).replace("load_parameters: ", "")) from None
    return OrderedDict((name, (values, need_grad)) for _, name, values, need_grad in entries)


def _read_bytes(f, label) -> bytes:
    if isinstance(f, (str, os.PathLike)):
        if not os.path.exists(f):
            raise FileNotFoundError(f"no such file: {label}")
        with open(f, "rb") as stream:
            return stream.read()
    return f.read()


def read_one(f, extension, want_params=True, states=None):
    """(NNablaProtoBuf without parameters, parameters) from one file of any kind.

    An ``.nnp``'s solver-state members (``*.optimizer``) are appended to ``states`` as (name, bytes), if given.
    """
    label = _label(f)
    ext = extension_of(f, extension)
    if ext not in TEXT + (".protobuf", ".h5", ".nnp"):
        raise ValueError(f"{label}: unsupported file extension {ext!r} (use .nnp, .nntxt, .prototxt, .protobuf, .h5)")
    data = _read_bytes(f, label)
    params = OrderedDict()
    if ext in TEXT:
        proto = parse_text(data, label)
    elif ext == ".protobuf":
        proto = parse_binary(data, label)
    elif ext == ".h5":
        return _proto.NNablaProtoBuf(), read_h5_parameters(data, label) if want_params else params
    else:
        proto = _proto.NNablaProtoBuf()
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            members = [(m, archive.read(m)) for m in archive.namelist()]
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise ValueError(f"{label} is not a readable .nnp file (a zip archive): {e}") from None
        for name, content in members:
            inner = f"{name!r} in {label}"
            kind = os.path.splitext(name)[1]
            if kind in TEXT:
                proto.MergeFrom(parse_text(content, inner))
            elif kind == ".protobuf":
                proto.MergeFrom(parse_binary(content, inner))
            elif kind == ".h5" and want_params:
                params.update(read_h5_parameters(content, inner))
            elif kind == ".optimizer" and states is not None:
                states.append((name, content))
    if want_params:
        params.update(parameters_of(proto, label))
    del proto.parameter[:]
    return proto, params


def read_all(files, extension, want_params=True, states=None):
    """Every file read and merged: (NNablaProtoBuf without parameters, name -> (array, need_grad))."""
    proto = _proto.NNablaProtoBuf()
    params = OrderedDict()
    for f in files:
        part, part_params = read_one(f, extension, want_params, states)
        proto.MergeFrom(part)
        params.update(part_params)
    return proto, params


# -- writing ------------------------------------------------------------------------------------------
def _h5_bytes(params) -> bytes:
    from nnabla.parameter import save_parameters

    buffer = io.BytesIO()
    save_parameters(buffer, params, extension=".h5")
    return buffer.getvalue()


def nnp_bytes(proto, params, extra_members=()) -> bytes:
    """An ``.nnp`` archive: version, network text (no parameters) and an ``.h5`` of ``params``."""
    from google.protobuf import text_format

    text = io.StringIO()
    logger.info(f"Saving {text} as prototxt")
    text.write(text_format.MessageToString(proto))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as nnp:
        nnp.writestr("nnp_version.txt", NNP_VERSION + "\n")
        nnp.writestr("network.nntxt", text.getvalue())
        nnp.writestr("parameter.h5", _h5_bytes(params))
        for name, data in extra_members:
            nnp.writestr(name, data)
    return buffer.getvalue()


def write_bytes(f, data: bytes) -> None:
    """``data`` to a path (atomically) or a writable file object."""
    if isinstance(f, (str, os.PathLike)):

        def write(target):
            with open(target, "wb") as stream:
                stream.write(data)

        write_atomically(os.fspath(f), write)
    else:
        f.write(data if not isinstance(f, io.TextIOBase) else data.decode("utf-8"))


def save_proto(f, proto, params, include_parameters, extension, extra_members=()) -> None:
    """Write ``proto`` (and ``params``) as the file kind ``f``'s extension names."""
    from google.protobuf import text_format

    ext = extension_of(f, extension)
    if ext not in TEXT + (".protobuf", ".nnp"):
        raise ValueError(f"{_label(f)}: unsupported file extension {ext!r} (use .nnp, .nntxt, .prototxt, .protobuf)")
    kind = {".nnp": "nnp", ".protobuf": "protobuf"}.get(ext, "prototxt")
    logger.info(f"Saving {f} as {kind}")
    if ext == ".nnp":
        write_bytes(f, nnp_bytes(proto, params, extra_members))
        return
    if include_parameters:
        proto = _proto.NNablaProtoBuf.FromString(proto.SerializeToString())
        proto.parameter.extend(parameter_message(k, v) for k, v in params.items())
    if ext in TEXT:
        write_bytes(f, text_format.MessageToString(proto).encode("utf-8"))
    else:
        write_bytes(f, proto.SerializeToString())


# -- parameter files (nn.save_parameters / nn.load_parameters) -----------------------------------------
def save_parameter_protobuf(f, params) -> None:
    """Parameters as an ``NNablaProtoBuf`` holding only its ``parameter`` field, in binary."""
    proto = _proto.NNablaProtoBuf()
    proto.parameter.extend(parameter_message(k, v) for k, v in params.items())
    write_bytes(f, proto.SerializeToString())
    logger.info(f"Parameter save (.protobuf): {f}")


def parameter_entries(f, extension) -> list:
    """(index, name, values, need_grad) per parameter of a ``.protobuf``, ``.nntxt`` or ``.nnp`` file."""
    try:
        _, params = read_one(f, extension)
    except (ValueError, FileNotFoundError) as e:
        raise type(e)(f"load_parameters: {e}") from None
    return [(i, name, data, need_grad) for i, (name, (data, need_grad)) in enumerate(params.items())]


# -- solver states (Solver.save_states / load_states with .protobuf) ------------------------------------
def states_to_protobuf(states, optimizer) -> None:
    for pname, state in states.items():
        entry = optimizer.solver.states[pname]
        entry.t = int(state.t)
        for sname, var in state.pstate.items():
            param = entry.state_parameter[sname]
            param.shape.dim.extend(var.shape)
            param.data.extend(np.asarray(_host_values(var), dtype=np.float32).ravel().tolist())


def states_from_protobuf(optimizer, state_class) -> OrderedDict:
    from nnabla import Variable

    states = OrderedDict()
    for pname in sorted(optimizer.solver.states):
        entry = optimizer.solver.states[pname]
        pstate = OrderedDict()
        for sname in sorted(entry.state_parameter):
            param = entry.state_parameter[sname]
            shape = tuple(param.shape.dim)
            data = np.asarray(param.data, dtype=np.float32)
            if data.size != int(np.prod(shape)):
                raise ValueError(f"solver state {sname!r} of {pname!r} has {data.size} values for shape {shape}")
            pstate[sname] = Variable.from_numpy_array(data.reshape(shape))
        states[pname] = state_class(pstate, entry.t)
    return states


def save_states_protobuf(solver, path) -> None:
    optimizer = _proto.Optimizer()
    solver.set_states_to_protobuf(optimizer)
    write_bytes(path, optimizer.SerializeToString())
    logger.info(f"Solver state save (.protobuf): {path}")


def load_states_protobuf(solver, path) -> None:
    with open(path, "rb") as f:
        optimizer = parse_binary(f.read(), f"{solver.name}.load_states: {path!r}", _proto.Optimizer)
    solver.set_states_from_protobuf(optimizer)
    logger.info(f"Solver state load (.protobuf): {path}")


def apply_optimizer_states(members, optimizers) -> None:
    """Set the solver states an ``.nnp`` holds (``save(..., include_solver_state=True)``) on ``optimizers``.

    ``optimizers``: name -> an object with ``solver``; the members are ``optimizer.protobuf.optimizer`` (all
    optimizers) or ``<name>_<Solver>_optimizer.h5.optimizer`` (one each).
    """
    import re
    import tempfile

    for member, data in members:
        if ".protobuf" in member:
            proto = parse_binary(data, repr(member))
            for p in proto.optimizer:
                if p.name in optimizers:
                    optimizers[p.name].solver.set_states_from_protobuf(p)
                else:
                    logger.warning(f"No matched optimizer is found for {member}.")
            continue
        matched = False
        for name, o in optimizers.items():
            if member == f"{name}_{re.sub(r'(|Cuda)$', '', str(o.solver.name))}_optimizer.h5.optimizer":
                with tempfile.TemporaryDirectory() as folder:
                    path = os.path.join(folder, "states.h5")
                    with open(path, "wb") as f:
                        f.write(data)
                    o.solver.load_states(path)
                matched = True
        if not matched:
            logger.warning(f"No matched optimizer is found for {member}.")
