"""Parameters: the scope tree, ``get_parameters``/``clear_parameters``, and ``.h5`` save/load.

Scopes are nested OrderedDicts holding sub-scopes and Variables in creation order, so ``get_parameters``
lists names in the order NNabla does. Files are written atomically; a load reads and checks the whole file
before it touches any parameter.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections import OrderedDict

import numpy as np

from ._variable import Variable
from .logger import logger

_root_scope: OrderedDict = OrderedDict()
_scope_path: list = []  # names of the current scope, outermost first
_current = [_root_scope]


def _check_name(name, what="parameter scope"):
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what}: name must be a non-empty string, got {name!r}")


@contextlib.contextmanager
def parameter_scope(name: str, scope=None):
    """``with nn.parameter_scope('fc1'):`` parameters created inside are named ``fc1/...``.

    ``name`` may hold ``/`` to enter several levels at once.
    """
    _check_name(name)
    entered = 0
    try:
        for part in name.strip("/").split("/"):
            current = _current[-1]
            child = current.get(part)
            if child is None:
                child = current[part] = OrderedDict()
            elif not isinstance(child, OrderedDict):
                raise ValueError(f"parameter_scope: {'/'.join(_scope_path + [part])!r} is a parameter, not a scope")
            _current.append(child)
            _scope_path.append(part)
            entered += 1
        yield child
    finally:
        for _ in range(entered):
            _current.pop()
            _scope_path.pop()


def get_current_parameter_scope() -> str:
    """The current scope's full name, e.g. ``'foo/bar'`` ('' at the top)."""
    return "/".join(_scope_path)


def _walk(scope, prefix):
    for key, value in scope.items():
        name = f"{prefix}/{key}" if prefix else key
        if isinstance(value, OrderedDict):
            yield from _walk(value, name)
        else:
            yield name, value


def get_parameters(params=None, path: str = "", grad_only: bool = True) -> OrderedDict:
    """Parameters under the current scope, named relative to it (only those with need_grad by default)."""
    if params is None:
        params = OrderedDict()
    for name, v in _walk(_current[-1], path):
        if not grad_only or v.need_grad:
            params[name] = v
    return params


def clear_parameters() -> None:
    """Remove every parameter (and sub-scope) under the current scope."""
    _current[-1].clear()


def _lookup(name):
    scope = _current[-1]
    parts = name.split("/")
    for part in parts[:-1]:
        scope = scope.get(part)
        if not isinstance(scope, OrderedDict):
            return None
    v = scope.get(parts[-1])
    return v if isinstance(v, Variable) else None


def _insert(name, var):
    scope = _current[-1]
    parts = name.split("/")
    for part in parts[:-1]:
        child = scope.get(part)
        if child is None:
            child = scope[part] = OrderedDict()
        elif not isinstance(child, OrderedDict):
            raise ValueError(f"parameter {name!r}: {part!r} is a parameter, not a scope")
        scope = child
    if isinstance(scope.get(parts[-1]), OrderedDict):
        raise ValueError(f"parameter {name!r} clashes with a scope of the same name")
    scope[parts[-1]] = var


def get_parameter(key: str):
    """The parameter named ``key`` under the current scope, or None."""
    return _lookup(key)


def set_parameter(key: str, param: Variable) -> None:
    _insert(key, param)


def get_parameter_or_create(name, shape=None, initializer=None, need_grad=True, as_need_grad=None) -> Variable:
    """The parameter ``name`` in the current scope, created with ``initializer`` if it does not exist.

    ``as_need_grad`` returns a view with that need_grad without changing the stored parameter.
    """
    _check_name(name, "get_parameter_or_create")
    param = _lookup(name)
    if param is None:
        if shape is None:
            raise ValueError(f"get_parameter_or_create: parameter {name!r} does not exist and no shape was given")
        shape = tuple(int(s) for s in shape)
        param = Variable(shape, need_grad=need_grad)
        if initializer is None:
            param.d = np.zeros(shape, np.float32)
        elif isinstance(initializer, np.ndarray):
            if initializer.shape != shape:
                raise ValueError(
                    f"get_parameter_or_create: initial value of shape {initializer.shape} for {name!r} of shape {shape}"
                )
            param.d = initializer
        elif callable(initializer):
            param.d = np.asarray(initializer(shape))
        else:
            param.d = np.full(shape, initializer, np.float32)
        _insert(name, param)
    elif shape is not None and tuple(shape) != param.shape:
        raise ValueError(
            f"parameter {get_current_parameter_scope() + '/' if _scope_path else ''}{name} exists with shape "
            f"{param.shape}, but shape {tuple(shape)} was requested"
        )
    if as_need_grad is not None and as_need_grad != param.need_grad:
        return param.get_unlinked_variable(need_grad=as_need_grad)
    return param


# -- files -----------------------------------------------------------------------------------------
def save_parameters(path, params=None, extension=None) -> None:
    """Write parameters (default: all under the current scope) to an ``.h5`` file, atomically."""
    import h5py

    if params is None:
        params = get_parameters(grad_only=False)
    path = os.fspath(path)
    ext = extension or os.path.splitext(path)[1]
    if ext not in (".h5",):
        raise ValueError(f"save_parameters: unsupported file extension {ext!r} for {path!r} (use .h5)")
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(suffix=".h5.tmp", dir=directory)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as hd:
            for index, (name, v) in enumerate(params.items()):
                ds = hd.create_dataset(name, data=v.d)
                ds.attrs["need_grad"] = v.need_grad
                ds.attrs["index"] = index
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    logger.info(f"Parameter save ({ext}): {path}")


def _read_h5(path):
    import h5py

    entries = []
    try:
        with h5py.File(path, "r") as hd:

            def visit(name, obj):
                if isinstance(obj, h5py.Dataset):
                    index = int(obj.attrs.get("index", len(entries)))
                    entries.append((index, name, obj[...], bool(obj.attrs.get("need_grad", True))))

            hd.visititems(visit)
    except OSError as e:
        raise ValueError(f"load_parameters: {path!r} is not a readable .h5 parameter file ({e})") from None
    entries.sort(key=lambda e: e[0])
    return entries


def load_parameters(path, proto=None, needs_proto=False, extension=".h5") -> None:
    """Load parameters from an ``.h5`` file into the current scope (names are made relative to it).

    The whole file is read and checked first; on any error the current parameters are left untouched.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_parameters: no such parameter file: {path!r}")
    ext = os.path.splitext(path)[1] or extension
    if ext != ".h5":
        raise ValueError(f"load_parameters: unsupported file extension {ext!r} for {path!r} (use .h5)")
    entries = _read_h5(path)
    for _, name, data, _ in entries:
        if data.dtype.kind not in "fiub":
            raise ValueError(f"load_parameters: parameter {name!r} in {path!r} has unsupported dtype {data.dtype}")
        existing = _lookup(name)
        if existing is not None and existing.shape != data.shape:
            raise ValueError(
                f"load_parameters: parameter {name!r} in {path!r} has shape {data.shape}, "
                f"but the existing parameter has shape {existing.shape}"
            )
    for _, name, data, need_grad in entries:
        param = get_parameter_or_create(name, data.shape, need_grad=need_grad)
        param.d = data
        param.need_grad = need_grad
    logger.info(f"Parameter load ({ext}): {path}")
