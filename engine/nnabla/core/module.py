"""``nnabla.core.module``: ``Module``, a model block that owns its parameters (NNabla's ``nn.Module``).

Every method a subclass defines runs inside the module's own parameter scope (a private dict, not the global
one), so two instances of one class have separate parameters. A module assigned as an attribute becomes a
submodule named after the attribute; ``get_parameters()`` names a submodule's parameters ``@name/...``, e.g.
``@conv1/conv/W``. ``training`` set on a module is set on all its submodules.
"""

from __future__ import annotations

import re
import sys
from collections import OrderedDict
from contextlib import ExitStack
from functools import wraps

from nnabla import parameter as _parameter


def insert_parent_name(name: str, params) -> OrderedDict:
    return OrderedDict(("/".join(("@" + name, k)), v) for k, v in params.items())


class ParamMemo:
    """Parameters already listed, so one shared by two submodules is listed once (first name wins)."""

    def __init__(self):
        self._memo = set()

    def filter_and_update(self, params) -> OrderedDict:
        kept = OrderedDict()
        for k, v in params.items():
            if v not in self._memo:
                kept[k] = v
                self._memo.add(v)
        return kept


def _graph_module_scope(module):
    # nnabla.core.graph_def records modules while ProtoVariable graphs are built; used only when it is loaded
    graph_def = sys.modules.get("nnabla.core.graph_def")
    if graph_def is None or not hasattr(graph_def, "module_scope"):
        return None
    return graph_def.module_scope(graph_def.current_graph_builder(), module)


class MetaClass(type):
    """Runs every method of a Module subclass inside that module's parameter scope."""

    @staticmethod
    def method_wrapper(method):
        @wraps(method)
        def wrapped(self, *args, **kwargs):
            with ExitStack() as stack:
                graph_scope = _graph_module_scope(self)
                if graph_scope is not None:
                    stack.enter_context(graph_scope)
                stack.enter_context(_parameter.parameter_scope("", self.parameter_scope))
                return method(self, *args, **kwargs)

        return wrapped

    def __new__(meta, classname, bases, class_dict):
        if bases:
            class_dict = {k: MetaClass.method_wrapper(v) if callable(v) else v for k, v in class_dict.items()}
        return type.__new__(meta, classname, bases, class_dict)


class Module(metaclass=MetaClass):
    """A block of a model: subclasses set submodules in ``__init__`` and build the graph in ``call``."""

    _recursive_attrs = ["training"]

    def __repr__(self):
        return self.__class__.__name__

    @property
    def training(self) -> bool:
        """Whether the module builds its training graph (True until set); setting it sets submodules too."""
        return self.__dict__.setdefault("training", True)

    @property
    def parameter_scope(self) -> OrderedDict:
        """The module's own parameter scope (a dict of its parameters and sub-scopes)."""
        return self.__dict__.setdefault("_parameter_scope", OrderedDict())

    @property
    def submodules(self) -> OrderedDict:
        return self.__dict__.setdefault("_submodules", OrderedDict())

    def get_scope_name(self) -> str:
        for name, module in self.submodules.items():
            return "/".join(("@" + name, module.get_scope_name())).strip("/")
        return ""

    def get_parameters(self, recursive: bool = True, grad_only: bool = False, memo=None) -> OrderedDict:
        """All parameters: submodules' first (``@name/...``, recursively), then the module's own."""
        memo = ParamMemo() if memo is None else memo
        params = OrderedDict()
        if recursive:
            for name, module in self.submodules.items():
                params.update(insert_parent_name(name, module.get_parameters(recursive, grad_only, memo)))
        with _parameter.parameter_scope("", self.parameter_scope):
            params.update(memo.filter_and_update(_parameter.get_parameters(grad_only=grad_only)))
        return params

    def load_parameters(self, path, extension: str = ".h5", raise_if_missing: bool = True) -> None:
        """Load a parameter file saved by ``save_parameters`` into this module and its submodules."""
        scope = OrderedDict()
        with _parameter.parameter_scope("", scope):
            _parameter.load_parameters(path, extension=extension)
            params = _parameter.get_parameters(grad_only=False)
        self.set_parameters(params, raise_if_missing=raise_if_missing)

    def save_parameters(self, path, extension: str = ".h5") -> None:
        _parameter.save_parameters(path, params=self.get_parameters(grad_only=False), extension=extension)

    def set_parameter(self, key: str, param, raise_if_missing: bool = False) -> None:
        """Set one parameter by the name ``get_parameters`` gives it (``@sub/.../name``)."""
        if key.startswith("@"):
            pos = key.find("/")
            if pos < 0 or pos == len(key) - 1:
                raise ValueError("Invalid parameter key {}. A module parameter scope represented as `@name` "
                                 "must be followed by `/`.".format(key))  # fmt: skip
            module_name, subkey = key[1:pos], key[pos + 1 :]
            if module_name in self.submodules:
                self.submodules[module_name].set_parameter(subkey, param, raise_if_missing=raise_if_missing)
            elif raise_if_missing:
                raise ValueError("A child module {} cannot be found in {}. This error is raised because "
                                 "`raise_if_missing` is specified as True. Please turn off if you allow it.".format(
                                     module_name, self))  # fmt: skip
            return
        with _parameter.parameter_scope("", self.parameter_scope):
            _parameter.set_parameter(key, param)

    def set_parameters(self, params, raise_if_missing: bool = False) -> None:
        for key, param in params.items():
            self.set_parameter(key, param, raise_if_missing=raise_if_missing)

    def update_parameter(self) -> None:
        self.set_parameters(self.get_parameters())

    def zero_grad(self) -> None:
        for param in self.get_parameters().values():
            param.grad.zero()

    def __len__(self) -> int:
        return len(self.submodules)

    def __setattr__(self, name, value):
        if isinstance(value, Module):
            self.submodules[name] = value
            value.__dict__["_name"] = name
            value.__dict__["_parent"] = self
            return
        self.__dict__[name] = value
        if name in self._recursive_attrs:
            for module in self.submodules.values():
                setattr(module, name, value)

    def __getattr__(self, name):
        submodules = self.__dict__.get("_submodules", {})
        if name in submodules:
            return submodules[name]
        raise AttributeError("'{}' object has no attribute '{}'".format(type(self).__name__, name))

    @property
    def name(self) -> str:
        """The attribute name it was assigned to, else its class name in snake case (``ConvBn`` -> ``conv_bn``)."""
        if "_name" in self.__dict__:
            return self.__dict__["_name"]
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.__class__.__name__).lower()

    @property
    def parent(self):
        return self.__dict__.get("_parent", None)

    def is_root(self) -> bool:
        return self.parent is None

    def get_path_name(self) -> str:
        if self.is_root():
            return "@" + self.name
        parent_name = self.parent.get_path_name()
        return "/".join([parent_name, "@" + self.name]) if parent_name else "@" + self.name

    def __call__(self, *args, **kwargs):
        return self.call(*args, **kwargs)

    def call(self, *args, **kwargs):
        """Build the module's graph from its inputs; every subclass implements it."""
        raise NotImplementedError("call(*av, **kw) must be implemented.")
