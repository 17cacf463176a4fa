"""``nnabla.utils.nnp_graph``: build Variable graphs from the networks of an ``.nnp`` (or ``.nntxt``) file.

``net = NnpLoader('model.nnp').get_network('runtime', batch_size=1)``, then fill ``net.inputs['x'].d`` and run
``net.outputs['y'].forward()``.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict

import numpy as np

import nnabla as nn

__all__ = ["NnpLoader", "NnpNetwork", "NnpNetworkPass"]


class NnpNetwork:
    """A Variable graph made from one network: ``inputs``, ``outputs`` and ``variables`` by name."""

    def __init__(self, proto_network, batch_size, callback=None):
        for v in proto_network.variables.values():  # each network gets inputs of its own batch size
            v.variable_instance = None
        proto_network = proto_network.promote(callback)
        self.proto_network = proto_network
        proto_network(batch_size=batch_size)
        pairs = list(itertools.chain(proto_network.variables.items(), proto_network.parameters.items()))
        for k, v in pairs:
            if v.variable_instance is not None:
                v.variable_instance.name = k
        self._inputs = {i: proto_network.variables[i].variable_instance for i in proto_network.inputs}
        self._outputs = {i: proto_network.variables[i].variable_instance for i in proto_network.outputs}
        self._variables = {k: v.variable_instance for k, v in pairs}
        for k, v in proto_network.parameters.items():
            nn.parameter.set_parameter(k, v.variable_instance)

    @property
    def inputs(self) -> dict:
        """Input Variables by name (fill their ``.d`` before ``forward``)."""
        return self._inputs

    @property
    def outputs(self) -> dict:
        """Output Variables by name."""
        return self._outputs

    @property
    def variables(self) -> dict:
        """Every Variable of the graph (activations and parameters) by name."""
        return self._variables


class NnpLoader:
    """Read an ``.nnp`` file (or ``.nntxt``; ``extension`` names the kind of a file object); parameters go to
    ``scope`` (default: a scope of the loader's own)."""

    def __init__(self, filepath, scope=None, extension: str = ".nntxt"):
        self._params = scope if scope else OrderedDict()
        self.g = nn.graph_def.load(
            filepath, parameter_scope=self._params, rng=np.random.RandomState(1223), extension=extension
        )
        self.network_dict = dict(self.g.networks.items())

    def get_network_names(self) -> list:
        """The names of the file's networks."""
        return list(self.network_dict.keys())

    def get_network(self, name: str, batch_size=None, callback=None) -> NnpNetwork:
        """A Variable graph of network ``name`` with the given batch size (default: the file's)."""
        if name not in self.network_dict:
            raise ValueError(f"NnpLoader.get_network: no network {name!r} (the file has {self.get_network_names()})")
        return NnpNetwork(self.network_dict[name], batch_size, callback=callback)


# -- rewriting a network while it is loaded ----------------------------------------------------------------
class _VariableView:
    """What a variable callback sees: ``name``, ``proto`` (its ``Variable`` message, editable), ``variable``
    (set it to use a Variable of your own), ``need_grad``; ``rewire_on(other)`` makes readers of this one read
    ``other`` and drops the function that wrote this one."""

    def __init__(self, pv, views):
        self.pv = pv
        self._views = views
        self.proto = pv.proto()
        self.stop = False

    @property
    def name(self) -> str:
        return self.pv.name

    @property
    def variable(self):
        return self.pv.variable_instance

    @variable.setter
    def variable(self, v):
        self.pv.variable_instance = v

    @property
    def need_grad(self) -> bool:
        return self.pv.need_grad

    @need_grad.setter
    def need_grad(self, value):
        self.pv.need_grad = bool(value)

    def rewire_on(self, other) -> None:
        writer = self._views.functions.get(self.pv.parent)
        if writer is not None:
            writer.disable()
        self._views.renames[self.name] = other.name


class _FunctionView:
    """What a function callback sees: ``name``, ``proto`` (its ``Function`` message, editable: type, arguments),
    ``inputs``/``outputs`` (variable views) and ``disable()`` to drop it."""

    def __init__(self, pf, views):
        self.pf = pf
        self._views = views
        self.proto = pf.proto()
        self.disabled = False

    @property
    def name(self) -> str:
        return self.pf.name

    @property
    def inputs(self) -> list:
        return [self._views.variables[n] for n in self.proto.input]

    @property
    def outputs(self) -> list:
        return [self._views.variables[n] for n in self.proto.output]

    def disable(self) -> None:
        self.disabled = True


class _Views:
    def __init__(self, network):
        self.variables = OrderedDict(
            (k, _VariableView(v, self))
            for k, v in itertools.chain(network.variables.items(), network.parameters.items())
        )
        self.functions = OrderedDict((k, _FunctionView(f, self)) for k, f in network.functions.items())
        self.renames = {}


class NnpNetworkPass:
    """Rewrite a network as ``NnpLoader.get_network(name, callback=...)`` builds it (NNabla's NnpNetworkPass).

    Register callbacks with the decorators (``on_generate_variable(name)``, ``on_generate_function_by_name``,
    ``on_generate_function_by_type``, ``on_function_pass_by_name``, ``on_function_pass_by_type``) or use the
    ready-made passes: ``set_variable``, ``fix_parameters``, ``use_up_to``, ``remove_and_rewire``,
    ``drop_function``, ``force_average_pooling_global``, ``check_average_pooling_global``,
    ``set_batch_normalization_batch_stat_all``. ``verbose`` prints what each pass does.
    """

    def __init__(self, verbose=0):
        self._variable_callbacks = {}
        self._function_callbacks_by_name = {}
        self._function_callbacks_by_type = {}
        self._passes_by_name = {}
        self._passes_by_type = {}
        self._fix_parameters = False
        self._use_up_to_variables = set()
        self.verbose = print if verbose else (lambda *a, **k: None)
        self.verbose2 = print if verbose > 1 else (lambda *a, **k: None)

    # -- registration ------------------------------------------------------------------------------
    def _register(self, table, name):
        def decorator(callback):
            table[name] = callback
            return callback

        return decorator

    def on_function_pass_by_name(self, name):
        """``@pass.on_function_pass_by_name(name)``: ``callback(f, variables, param_scope)`` once the network is
        built from the file, for the function ``name`` (it may ``disable()`` it or rewire its variables)."""
        return self._register(self._passes_by_name, name)

    def on_function_pass_by_type(self, name):
        """Like ``on_function_pass_by_name``, for every function of type ``name``."""
        return self._register(self._passes_by_type, name)

    def on_generate_variable(self, name):
        """``@pass.on_generate_variable(name)``: ``callback(v)`` returns the (edited) variable view ``v``."""
        return self._register(self._variable_callbacks, name)

    def on_generate_function_by_name(self, name):
        """``@pass.on_generate_function_by_name(name)``: ``callback(f)`` may edit ``f.proto`` and returns ``f``."""
        return self._register(self._function_callbacks_by_name, name)

    def on_generate_function_by_type(self, name):
        """Like ``on_generate_function_by_name``, for every function of type ``name``."""
        return self._register(self._function_callbacks_by_type, name)

    # -- ready-made passes ---------------------------------------------------------------------------
    def drop_function(self, *names) -> None:
        """Remove the functions ``names``."""

        def drop(f, variables, param_scope):
            self.verbose(f"Pass: Deleting {f.name}.")
            f.disable()

        for name in names:
            self.on_function_pass_by_name(name)(drop)

    def fix_parameters(self) -> None:
        """Every variable is built with ``need_grad=False``."""
        self._fix_parameters = True

    def use_up_to(self, *names) -> None:
        """The network ends at the variables ``names``: they become its outputs, what follows them is dropped."""
        self._use_up_to_variables.update(names)

    def remove_and_rewire(self, name, i=0, o=0) -> None:
        """Remove function ``name``; what read its output ``o`` reads its input ``i``."""

        @self.on_function_pass_by_name(name)
        def remove(f, variables, param_scope):
            fi, fo = f.inputs[i], f.outputs[o]
            self.verbose(f"Removing {f.name} and rewire input={fi.name} and output={fo.name}.")
            fo.rewire_on(fi)

    def set_variable(self, name, input_var) -> None:
        """Use the Variable ``input_var`` as the network's variable ``name`` (its shape replaces the file's)."""

        @self.on_generate_variable(name)
        def replace(v):
            self.verbose(f"Replace {name} by {input_var}.")
            v.proto.shape.dim[:] = input_var.shape
            v.variable = input_var
            input_var.name = v.name
            return v

    def _average_pooling_pass(self, name, by_type, check):
        register = self.on_generate_function_by_type if by_type else self.on_generate_function_by_name

        @register(name)
        def global_pooling(f):
            pool_shape = list(f.inputs[0].proto.shape.dim[2:])
            p = f.proto.average_pooling_param
            if check:
                if list(p.kernel.dim) != pool_shape or list(p.stride.dim) != pool_shape:
                    raise ValueError(
                        "Stride configuration of average pooling is not for global pooling. Given Image shape is "
                        f"{pool_shape}, whereas pooling window size is {list(p.kernel.dim)} and its stride is "
                        f"{list(p.stride.dim)}. Consider using force_global_pooling=True"
                    )
                return f
            self.verbose(f"Change strides of {f.name} to {pool_shape}.")
            p.kernel.dim[:] = pool_shape
            p.stride.dim[:] = pool_shape
            return f

    def force_average_pooling_global(self, name, by_type=False) -> None:
        """Make the average pooling ``name`` (a type with ``by_type``) pool its whole input image."""
        self._average_pooling_pass(name, by_type, check=False)

    def check_average_pooling_global(self, name, by_type=False) -> None:
        """Raise a ValueError unless the average pooling ``name`` pools its whole input image."""
        self._average_pooling_pass(name, by_type, check=True)

    def set_batch_normalization_batch_stat_all(self, batch_stat) -> None:
        """Set ``batch_stat`` of every BatchNormalization."""

        @self.on_generate_function_by_type("BatchNormalization")
        def set_batch_stat(f):
            self.verbose(f"Setting batch_stat={batch_stat} at {f.name}.")
            f.proto.batch_normalization_param.batch_stat = batch_stat
            return f

    # -- applying them to a network --------------------------------------------------------------------
    def _apply(self, network):
        from nnabla.core.graph_def import _read_args, param_field

        views = _Views(network)
        for v in views.variables.values():
            if v.name in self._variable_callbacks:
                v = self._variable_callbacks[v.name](v)
            if self._fix_parameters:
                v.need_grad = False
            v.pv.shape = tuple(int(d) for d in v.proto.shape.dim)
        for f in views.functions.values():
            for table, key in (
                (self._function_callbacks_by_type, f.proto.type),
                (self._function_callbacks_by_name, f.name),
            ):
                if key in table:
                    f = table[key](f)
            field = param_field(f.proto.type)
            f.pf.type = f.proto.type
            f.pf.args = _read_args(getattr(f.proto, field)) if field else {}
        scope = network.owner.parameter_scope
        variables = list(views.variables.values())
        for f in list(views.functions.values()):
            if f.disabled:
                continue
            for table, key in ((self._passes_by_type, f.proto.type), (self._passes_by_name, f.name)):
                if key in table and not f.disabled:
                    table[key](f, variables, scope)
        for name, f in views.functions.items():
            if f.disabled:
                del network.functions[name]

        def renamed(name):
            while name in views.renames:
                name = views.renames[name]
            return name

        for f in network.functions.values():
            f.inputs = [renamed(n) for n in f.inputs]
        network._link()
        if self._use_up_to_variables:
            self._cut(network)
        for name, v in views.variables.items():  # variables given by set_variable feed the built graph
            if v.variable is not None and name in network.inputs:
                network.variables[name].variable_instance = v.variable
        return network

    def _cut(self, network) -> None:
        wanted = [n for n in network.variables if n in self._use_up_to_variables]
        missing = sorted(self._use_up_to_variables - set(wanted))
        if missing:
            raise ValueError(f"NnpNetworkPass.use_up_to: no variable {missing} in network {network.name!r}")
        needed, keep = set(wanted), []
        for f in reversed(list(network.functions.values())):
            if needed & set(f.outputs):
                keep.append(f.name)
                needed.update(f.inputs)
        for name in list(network.functions):
            if name not in keep:
                del network.functions[name]
        for name in list(network.variables):
            if name not in needed:
                del network.variables[name]
        for name in list(network.parameters):
            if name not in needed:
                del network.parameters[name]
        network._link()
        network.outputs = wanted
        self.verbose(f"Stopping at {wanted}.")
