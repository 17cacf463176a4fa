"""Parameters: the scope tree, ``get_parameters``/``clear_parameters``, and ``.h5`` save/load.

Scopes are nested OrderedDicts holding sub-scopes and Variables in creation order, so ``get_parameters``
lists names in the order NNabla does. Files are written atomically; a load reads and checks the whole file
before it touches any parameter.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections import OrderedDict

import numpy as np

from . import _state
from ._files import write_atomically
from ._variable import Variable
from .logger import logger

_root_scope: OrderedDict = OrderedDict()
_stack: list = [(_root_scope, "")]  # (scope dict, its full name) of the current scope, innermost last


_FILE_HELPERS = (
    "FileHandlerContext",
    "get_file_handle_save",
    "get_parameter_file_loader",
    "get_parameter_file_savers",
    "load_files",
    "save_files",
)


def __getattr__(name):
    # NNabla's module globals, which follow the current state: current_scope, root_scope, current_no_grad
    if name == "current_scope":
        return _stack[-1][0]
    if name == "root_scope":
        return _root_scope
    if name == "current_no_grad":
        return _state.no_grad[0]
    if name in _FILE_HELPERS:  # NNabla's parameter module imports these from nnabla.utils.get_file_handle
        from .utils import get_file_handle

        return getattr(get_file_handle, name)
    raise AttributeError(f"module 'nnabla.parameter' has no attribute {name!r}")


@contextlib.contextmanager
def no_grad(no_grad_: bool = True):
    """``with nn.no_grad():`` parameters fetched inside (``get_parameter_or_create``, so every PF layer) come as
    views that need no gradient; as in NNabla, functions themselves are unaffected, so outputs need a gradient
    only where an input does."""
    previous = _state.no_grad[0]
    _state.no_grad[0] = bool(no_grad_)
    try:
        yield
    finally:
        _state.no_grad[0] = previous


@contextlib.contextmanager
def parameter_scope(name: str, scope=None):
    """``with nn.parameter_scope('fc1'):`` parameters created inside are named ``fc1/...``.

    ``name`` may hold ``/`` to enter several levels at once (``''`` enters none); ``scope`` (a dict) starts the
    walk from that scope instead of the current one, e.g. ``nn.parameter_scope('', my_scope)``.
    """
    if not isinstance(name, str):
        raise ValueError(f"parameter_scope: name must be a string, got {name!r}")
    if scope is None:
        current, path = _stack[-1]
    elif isinstance(scope, dict):
        current, path = scope, ""
    else:
        raise ValueError(f"parameter_scope: scope must be a dictionary, {type(scope).__name__} given")
    for part in name.strip("/").split("/"):
        if not part:
            continue
        child = current.get(part)
        path = f"{path}/{part}" if path else part
        if child is None:
            child = current[part] = OrderedDict()
        elif not isinstance(child, dict):
            raise ValueError(f"parameter_scope: {path!r} is a parameter, not a scope")
        current = child
    _stack.append((current, path))
    try:
        yield current
    finally:
        _stack.pop()


def get_current_parameter_scope() -> OrderedDict:
    """The current scope: the dict of its sub-scopes and parameters (NNabla returns the dict, not a name)."""
    return _stack[-1][0]


def _scope_name() -> str:
    return _stack[-1][1]


def _walk(scope, prefix):
    for key, value in list(scope.items()):
        name = f"{prefix}/{key}" if prefix else key
        if isinstance(value, dict):
            yield from _walk(value, name)
        else:
            yield name, value


def get_parameters(params=None, path: str = "", grad_only: bool = True) -> OrderedDict:
    """Parameters under the current scope, named relative to it (only those with need_grad by default)."""
    if params is None:
        params = OrderedDict()
    for name, v in _walk(_stack[-1][0], path):
        if not grad_only or v.need_grad:
            params[name] = v
    return params


def clear_parameters() -> None:
    """Remove every parameter (and sub-scope) under the current scope."""
    _stack[-1][0].clear()


def _lookup(name):
    scope = _stack[-1][0]
    parts = name.split("/")
    for part in parts[:-1]:
        scope = scope.get(part)
        if not isinstance(scope, dict):
            return None
    v = scope.get(parts[-1])
    return v if isinstance(v, Variable) else None


def _insertion_problem(name):
    """Why ``name`` cannot be stored under the current scope (a parameter in the way of a scope), or None."""
    scope = _stack[-1][0]
    parts = name.split("/")
    for i, part in enumerate(parts[:-1]):
        child = scope.get(part)
        if child is None:
            return None
        if not isinstance(child, dict):
            return f"{'/'.join(parts[: i + 1])!r} is a parameter, not a scope"
        scope = child
    if isinstance(scope.get(parts[-1]), dict):
        return f"{name!r} is a scope, not a parameter"
    return None


def _insert(name, var):
    problem = _insertion_problem(name)
    if problem:
        raise ValueError(f"parameter {name!r}: {problem}")
    scope = _stack[-1][0]
    parts = name.split("/")
    for part in parts[:-1]:
        scope = scope.setdefault(part, OrderedDict())
    scope[parts[-1]] = var


def get_parameter(key: str):
    """The parameter named ``key`` under the current scope, or None."""
    return _lookup(key)


def set_parameter(key: str, param: Variable) -> None:
    """Store ``param`` as ``key`` under the current scope (replacing one of that name)."""
    _insert(key, param)


def pop_parameter(key: str):
    """Remove the parameter ``key`` from the current scope and return it (None if there is none)."""
    param = _lookup(key)
    if param is not None:
        scope = _stack[-1][0]
        parts = key.split("/")
        for part in parts[:-1]:
            scope = scope[part]
        del scope[parts[-1]]
    return param


def _create(name, shape, initializer, need_grad) -> Variable:
    if isinstance(initializer, np.ndarray):
        if shape is not None and tuple(shape) != initializer.shape:
            raise ValueError(
                f"get_parameter_or_create: initial value of shape {initializer.shape} for {name!r} of shape "
                f"{tuple(shape)}"
            )
        return Variable.from_numpy_array(initializer, need_grad=need_grad)
    if shape is None:
        raise ValueError(f"get_parameter_or_create: parameter {name!r} does not exist and no shape was given")
    shape = tuple(int(s) for s in shape)
    param = Variable(shape, need_grad=need_grad)
    if initializer is None:
        param.d = np.zeros(shape, np.float32)
    elif callable(initializer):
        value = np.asarray(initializer(shape=list(shape)))
        if value.shape != shape:
            raise ValueError(
                f"get_parameter_or_create: initializer {initializer!r} gave shape {value.shape} for {name!r} "
                f"of shape {shape}"
            )
        param.d = value
    else:
        param.d = np.full(shape, initializer, np.float32)
    return param


def get_parameter_or_create(name, shape=None, initializer=None, need_grad=True, as_need_grad=None) -> Variable:
    """The parameter ``name`` in the current scope, created with ``initializer`` if it does not exist.

    An existing parameter takes the given ``need_grad``; ``as_need_grad`` returns a view with that need_grad
    without changing the stored parameter (under ``nn.no_grad()`` the view never needs a gradient).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"get_parameter_or_create: name must be a non-empty string, got {name!r}")
    if as_need_grad is None:
        as_need_grad = need_grad
    if _state.no_grad[0]:
        as_need_grad = False
    param = _lookup(name)
    if param is None:
        problem = _insertion_problem(name)
        if problem:
            raise ValueError(f"get_parameter_or_create: {problem}")
        param = _create(name, shape, initializer, need_grad)
        _insert(name, param)
    else:
        if shape is not None and tuple(int(s) for s in shape) != param.shape:
            prefix = _scope_name() + "/" if _scope_name() else ""
            raise ValueError(
                f"parameter {prefix}{name} exists with shape {param.shape}, but shape {tuple(shape)} was requested "
                "(nn.clear_parameters() removes all parameters)"
            )
        if bool(need_grad) != param.need_grad:
            param.need_grad = need_grad
    param.name = name.rsplit("/", 1)[-1]
    if bool(as_need_grad) != param.need_grad:
        view = param.get_unlinked_variable(need_grad=as_need_grad)
        view.name = param.name
        return view
    return param


# -- files -----------------------------------------------------------------------------------------
def _extension(path, extension):
    if isinstance(path, (str, os.PathLike)):
        return os.path.splitext(os.fspath(path))[1]
    return extension


def save_parameters(path, params=None, extension=None) -> None:
    """Write parameters (default: all under the current scope) to an ``.h5`` or ``.protobuf`` file, atomically.

    Layout as NNabla's: one dataset per parameter at its name, attributes ``need_grad`` and ``index``.
    """
    import h5py

    if params is None:
        params = get_parameters(grad_only=False)
    ext = _extension(path, extension)
    if ext == ".protobuf":
        from .utils._model_files import save_parameter_protobuf

        return save_parameter_protobuf(path, params)
    if ext != ".h5":
        raise ValueError(f"save_parameters: unsupported file extension {ext!r} for {path!r} (use .h5 or .protobuf)")

    def write(target):
        with h5py.File(target, "w") as hd:
            for index, (name, v) in enumerate(params.items()):
                # a copy from the device leaves the parameter there
                hd[name] = v.data._host_copy() if isinstance(v, Variable) else v.d
                hd[name].attrs["need_grad"] = v.need_grad
                hd[name].attrs["index"] = index

    if not isinstance(path, (str, os.PathLike)):
        buffer = io.BytesIO()
        write(buffer)
        path.write(buffer.getvalue())
        if hasattr(path, "seek"):
            path.seek(0)
        logger.info(f"Parameter save ({ext}): {path}")
        return
    path = os.fspath(path)
    write_atomically(path, write)
    logger.info(f"Parameter save ({ext}): {path}")


def _read_h5(source, label):
    """(index, name, values, need_grad) per dataset, in the file's parameter order."""
    import h5py

    entries = []
    try:
        with h5py.File(source, "r") as hd:

            def visit(name, obj):
                if isinstance(obj, h5py.Dataset):
                    index = obj.attrs.get("index", None)
                    need_grad = obj.attrs.get("need_grad", True)
                    entries.append((index, name, obj[()], bool(need_grad)))

            hd.visititems(visit)
    except (OSError, ValueError) as e:
        raise ValueError(f"load_parameters: {label} is not a readable .h5 parameter file ({e})") from None
    # as NNabla: by index, then name; datasets without an index come first
    entries.sort(key=lambda e: (e[0] is not None, -1 if e[0] is None else int(e[0]), e[1]))
    return entries


def load_parameters(path, proto=None, needs_proto=False, extension=".nntxt") -> None:
    """Load parameters from an ``.h5``, ``.protobuf``, ``.nntxt`` or ``.nnp`` file into the current scope.

    Names are made relative to the current scope.
    The whole file is read and checked first; on any error the current parameters are left untouched.
    """
    ext = _extension(path, extension)
    if ext != ".h5":  # .protobuf, .nntxt, .prototxt, .nnp: NNabla's other files holding parameters
        from .utils._model_files import parameter_entries

        entries = parameter_entries(path, ext)
    elif isinstance(path, (str, os.PathLike)):
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"load_parameters: no such parameter file: {path!r}")
        entries = _read_h5(path, repr(path))
    else:
        entries = _read_h5(io.BytesIO(path.read()), "the given file object")
    for _, name, data, _ in entries:
        if not isinstance(data, np.ndarray) or data.dtype.kind not in "fiub":
            dtype = getattr(data, "dtype", type(data).__name__)
            raise ValueError(f"load_parameters: parameter {name!r} in {path!r} has unsupported dtype {dtype}")
        existing = _lookup(name)
        if existing is not None and existing.shape != data.shape:
            raise ValueError(
                f"load_parameters: parameter {name!r} in {path!r} has shape {data.shape}, "
                f"but the existing parameter has shape {existing.shape}"
            )
        problem = _insertion_problem(name)
        if problem:
            raise ValueError(f"load_parameters: parameter {name!r} in {path!r} cannot be stored: {problem}")
    for _, name, data, need_grad in entries:
        param = get_parameter_or_create(name, data.shape, need_grad=need_grad)
        param.d = data  # adopts the file's dtype, as NNabla's cast does
    if ext == ".h5":  # NNabla logs only this kind
        logger.info(f"Parameter load ({ext}): {path}")
