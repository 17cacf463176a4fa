"""Graph definitions (NNabla's ``nn.graph_def``): a computation graph as named variables and functions.

A ``ProtoGraph`` holds ``ProtoNetwork``s (one per network of an ``.nnp`` file) and executors. A network lists its
``variables`` (activations), ``parameters``, ``functions`` (type, argument dict, input and output names) and its
``inputs``/``outputs``; it is made from Variables (``create_graph_from_variable``) or read from a file (``load``),
written as NNabla's protobuf ``Network`` message (``as_proto``, ``save``), and called with input Variables to build
a new Variable graph (``network(x)``). Names follow NNabla's: ``@<network>/<Type>`` for functions,
``@<network>/<Type>_out`` for their outputs, ``@<network>/<Type>_in`` for unnamed inputs, ``_1``, ``_2`` ... on repeats.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict

import numpy as np

import nnabla as nn
from nnabla._operators import OperatorMixin

__all__ = [
    "ProtoExecutor",
    "ProtoFunction",
    "ProtoGraph",
    "ProtoNetwork",
    "ProtoVariable",
    "create_graph_from_variable",
    "get_default_graph",
    "get_default_graph_by_variable",
    "graph",
    "load",
    "reset_default_graph",
    "save",
]

# functions whose ``shape`` argument carries the batch size in its first entry
_BATCHED_SHAPE_ARGS = {
    "Reshape",
    "Broadcast",
    "Constant",
    "Rand",
    "Randint",
    "Randn",
    "RandBinomial",
    "RandBeta",
    "RandGamma",
}


def _unique(counters: dict, prefix: str) -> str:
    """``prefix`` the first time, then ``prefix_1``, ``prefix_2``, ... (NNabla's rule)."""
    if prefix in counters:
        name = f"{prefix}_{counters[prefix]}"
        counters[prefix] += 1
        return name
    counters[prefix] = 1
    return prefix


# -- function arguments <-> their protobuf parameter message ---------------------------------------
def _param_fields():
    from nnabla.utils import _proto

    fields = {}
    for field in _proto.Function.DESCRIPTOR.oneofs_by_name["parameter"].fields:
        fields[field.message_type.name[: -len("Parameter")]] = field.name
    return fields


_PARAM_FIELD = None


def param_field(type_name: str):
    """The name of the ``Function`` message's field holding the arguments of ``type_name`` (None: it has none)."""
    global _PARAM_FIELD
    if _PARAM_FIELD is None:
        _PARAM_FIELD = _param_fields()
    return _PARAM_FIELD.get(type_name)


def _repeated(field) -> bool:
    # protobuf 5.x has ``is_repeated``; older versions only ``label``
    is_repeated = getattr(field, "is_repeated", None)
    return is_repeated if is_repeated is not None else field.label == field.LABEL_REPEATED


# arguments our functions keep as None where NNabla's Python wrappers resolve them: the value NNabla writes
_LAST_AXIS = {"Flip"}


_CONVOLUTIONS = {
    "Convolution",
    "Deconvolution",
    "DepthwiseConvolution",
    "DepthwiseDeconvolution",
    "FusedConvolution",
    "DeformableConvolution",
}


def _resolved(type_name, name, value, input_shapes):
    if value is not None or not input_shapes:
        return value
    if name == "axes":
        ndim = len(input_shapes[0])
        return [ndim - 1] if type_name in _LAST_AXIS else list(range(ndim))
    if type_name in _CONVOLUTIONS and name in ("pad", "stride", "dilation") and len(input_shapes) > 1:
        spatial = len(input_shapes[1]) - (1 if type_name.startswith("Depthwise") else 2)
        return [0 if name == "pad" else 1] * spatial
    return value


def _write_args(message, args: dict, input_shapes, type_name="") -> None:
    for field in message.DESCRIPTOR.fields:
        value = _resolved(type_name, field.name, args.get(field.name), input_shapes)
        if value is None:
            continue
        if field.message_type is not None and field.message_type.name != "Shape":
            continue  # a communicator: nothing a file can hold
        target = getattr(message, field.name)
        if (field.message_type is not None or _repeated(field)) and np.ndim(value) == 0:
            value = [value]
        if field.message_type is not None:  # Shape
            target.dim.extend(int(d) for d in value)
        elif _repeated(field):
            target.extend(value)
        elif field.type == field.TYPE_STRING:
            setattr(message, field.name, str(value))
        else:
            setattr(message, field.name, value.item() if hasattr(value, "item") else value)


def _read_args(message) -> dict:
    args = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if field.message_type is not None:
            args[field.name] = list(value.dim) if field.message_type.name == "Shape" else None
        elif _repeated(field):
            args[field.name] = list(value)
        else:
            args[field.name] = value
    return args


# -- the parts of a network ----------------------------------------------------------------------------
def _fan(shape, layout):
    """(inmaps, outmaps, kernel) of a weight: affine (in, out...), convolution (out, in, k...), channel-last
    convolution (out, k..., in)."""
    if layout == "Affine":
        return shape[0], int(np.prod(shape[1:])), (1, 1)
    if layout == "Convolution":
        return shape[-3], shape[0], tuple(shape[-2:])
    return shape[-1], shape[0], tuple(shape[1:3])


def _initial_values(initializer, shape, rng):
    """Values for a parameter from a file's ``Initializer`` (type, multiplier), NNabla's named kinds."""
    import nnabla.initializer as I

    shape = tuple(shape)
    if initializer is None:
        return np.zeros(shape, np.float32)
    kind, k = initializer
    if kind == "Normal":
        return I.NormalInitializer(k, rng=rng)(shape)
    if kind == "Uniform":
        return I.UniformInitializer((-k, k), rng=rng)(shape)
    if kind == "Constant":
        return np.full(shape, k, np.float32)
    if kind == "Range":
        return I.RangeInitializer(0, 1)(shape) * k
    for prefix, layout in (
        ("NormalAffine", "Affine"),
        ("NormalConvolution", "Convolution"),
        ("NormalCLConv", "CLConv"),
        ("UniformAffine", "Affine"),
        ("UniformConvolution", "Convolution"),
        ("UniformCLConv", "CLConv"),
    ):
        if kind.startswith(prefix):
            inmaps, outmaps, kernel = _fan(shape, layout)
            rule = kind[len(prefix) :]
            if prefix.startswith("Uniform") and rule == "Glorot":
                return I.UniformInitializer(I.calc_uniform_lim_glorot(inmaps, outmaps, kernel), rng=rng)(shape) * k
            std = {
                "He": I.calc_normal_std_he_forward,
                "HeForward": I.calc_normal_std_he_forward,
                "HeBackward": I.calc_normal_std_he_backward,
                "Glorot": I.calc_normal_std_glorot,
            }.get(rule)
            if prefix.startswith("Normal") and std is not None:
                return I.NormalInitializer(std(inmaps, outmaps, kernel), rng=rng)(shape) * k
    raise ValueError(f"parameter initializer type {kind!r} is unknown here")


def call_function(type_name, inputs, args, n_outputs, ctx=None) -> tuple:
    """Apply a new function ``type_name(**args)`` to ``inputs``; its outputs as a tuple."""
    import nnabla.function as function

    func = getattr(function, type_name)(ctx if ctx is not None else nn.get_current_context(), **args)
    if n_outputs > 1:  # functions whose output count an argument implies (output_stat, with_index, ...)
        func.n_outputs = n_outputs
    outs = func(*inputs, n_outputs=n_outputs)
    return outs if isinstance(outs, tuple) else (outs,)


class ProtoVariable(OperatorMixin):
    """A named variable of a network: shape, type (``'Buffer'`` or ``'Parameter'``), need_grad, its producer.

    Given to functions (``F.*``, ``PF.*``, a ``Module``, operators) it builds a network instead of computing:
    the outputs are ProtoVariables, and when the outermost module returns (or ``graph()`` ends) the functions
    become a ``ProtoNetwork`` of the current graph, named after that module (NNabla's ``nn.ProtoVariable``).
    """

    def __init__(self, shape, name=None, need_grad=False, var_type="Buffer"):
        self.shape = tuple(int(d) for d in shape)
        self.name = name
        self.need_grad = need_grad
        self.type = var_type
        self.parent = None  # the name of the function that writes it
        self.required = []  # the names of the functions that read it
        self.initializer = None
        self.variable_instance = None

    def proto(self, shape=None):
        """This variable as NNabla's ``Variable`` message."""
        from nnabla.utils import _proto

        v = _proto.Variable(name=self.name, type=self.type)
        v.shape.dim.extend(self.shape if shape is None else shape)
        if self.initializer is not None:
            v.initializer.type, v.initializer.multiplier = self.initializer
        return v

    def __repr__(self):
        return f"ProtoVariable({self.name!r}, shape={self.shape}, type={self.type!r})"


class ProtoFunction:
    """A function of a network: NNabla type name, arguments, and the names of its inputs and outputs."""

    def __init__(self, name, f_type, args, inputs, outputs, owner=None):
        self.name = name
        self.type = f_type
        self.args = dict(args)
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.owner = owner

    def proto(self, args=None):
        """This function as NNabla's ``Function`` message."""
        from nnabla.utils import _proto

        f = _proto.Function(name=self.name, type=self.type)
        f.input.extend(self.inputs)
        f.output.extend(self.outputs)
        field = param_field(self.type)
        if field is not None:
            message = getattr(f, field)
            message.SetInParent()
            shapes = [self.owner.shape_of(name) for name in self.inputs] if self.owner is not None else []
            _write_args(message, self.args if args is None else args, shapes, self.type)
        return f

    def __repr__(self):
        return f"ProtoFunction({self.name!r}, {self.type}, inputs={self.inputs}, outputs={self.outputs})"


class ProtoExecutor:
    """An executor of a file, kept as its protobuf message."""

    def __init__(self, proto):
        self.proto = proto

    @staticmethod
    def from_proto(proto) -> ProtoExecutor:
        return ProtoExecutor(proto)

    def as_proto(self):
        return self.proto


class ProtoNetwork:
    """One network: ``variables``, ``parameters`` and ``functions`` (ordered dicts by name), ``inputs``, ``outputs``."""

    def __init__(self, owner, name=None, batch_size=None):
        self.owner = owner
        self.name = name
        self.batch_size = batch_size
        self.variables = OrderedDict()
        self.parameters = OrderedDict()
        self.functions = OrderedDict()
        self.inputs = []
        self.outputs = []

    def __getitem__(self, item):
        return getattr(self, item)

    def shape_of(self, name):
        v = self.variables.get(name) or self.parameters.get(name)
        return v.shape

    def _link(self):
        for v in list(self.variables.values()) + list(self.parameters.values()):
            v.parent, v.required = None, []
        for f in self.functions.values():
            for name in f.inputs:
                (self.variables.get(name) or self.parameters[name]).required.append(f.name)
            for name in f.outputs:
                self.variables[name].parent = f.name
        self.inputs = [k for k, v in self.variables.items() if v.parent is None and v.required]
        self.outputs = [k for k, v in self.variables.items() if v.parent is not None and not v.required]

    def forward_sequence(self):
        """The functions in the order a forward pass runs them."""
        return list(self.functions.values())

    def clone(self) -> ProtoNetwork:
        """An independent copy (same owner, so the same parameters)."""
        return ProtoNetwork.from_proto(self.owner, self.as_proto(variable_batch_size=False), self.batch_size)

    def promote(self, callback) -> ProtoNetwork:
        """A copy of this network rewritten by ``callback`` (an ``nnabla.utils.nnp_graph.NnpNetworkPass``)."""
        if callback is None:
            return self
        from nnabla.utils.nnp_graph import NnpNetworkPass

        if not isinstance(callback, NnpNetworkPass):
            raise ValueError(f"promote: callback must be an NnpNetworkPass, got {type(callback).__name__}")
        return callback._apply(self.clone())

    # -- writing ---------------------------------------------------------------------------------
    def _batch_size_of(self):
        """The batch size the graph was built with: the leading dimensions before the first ``base_axis``."""
        for f in self.functions.values():
            if f.args.get("base_axis", 0) != 0:
                for name in f.inputs:
                    if name in self.variables:
                        return int(np.prod(self.variables[name].shape[: f.args["base_axis"]]))
        return None

    def as_proto(self, variable_batch_size: bool = True, **kwargs):
        """This network as NNabla's ``Network`` message; ``variable_batch_size`` writes the batch dimension as -1."""
        from nnabla.utils import _proto

        batch = self._batch_size_of() if variable_batch_size else None
        unbatched = set()  # outputs of functions with no activation input (constants, random sources)
        n = _proto.Network(name=self.name or "")
        if self.batch_size:
            n.batch_size = int(self.batch_size)
        elif batch:
            n.batch_size = batch
        functions = []
        for f in self.functions.values():
            args = dict(f.args)
            if f.type in _BATCHED_SHAPE_ARGS and args.get("shape") is not None:
                shape = list(args["shape"])
                if f.type == "Reshape" and -1 in shape and min(self.shape_of(f.inputs[0])) >= 0:  # resolved, as NNabla
                    known = int(np.prod([d for d in shape if d != -1]))
                    shape[shape.index(-1)] = int(np.prod(self.shape_of(f.inputs[0]))) // max(known, 1)
                if batch is not None and shape and shape[0] == batch:
                    shape[0] = -1
                args["shape"] = shape
            if batch is not None and not any(i in self.variables and i not in unbatched for i in f.inputs):
                unbatched.update(f.outputs)
            functions.append((f, args))
        for v in list(self.variables.values()) + list(self.parameters.values()):
            shape = v.shape
            if batch is not None and v.type == "Buffer" and shape and shape[0] == batch and v.name not in unbatched:
                shape = (-1,) + shape[1:]
            n.variable.append(v.proto(shape))
        for f, args in functions:
            n.function.append(f.proto(args))
        return n

    def save(self, filename, include_parameter: bool = False, variable_batch_size: bool = True) -> None:
        ProtoGraph(OrderedDict([(self.name, self)]), self.owner.parameter_scope).save(
            filename, include_parameter, variable_batch_size
        )

    # -- reading ---------------------------------------------------------------------------------
    @staticmethod
    def from_proto(owner, proto, batch_size=None) -> ProtoNetwork:
        from nnabla.function import registry

        n = ProtoNetwork(owner, proto.name, proto.batch_size or None)
        if batch_size is not None:
            n.batch_size = batch_size
        known = registry()
        for v in proto.variable:
            pv = ProtoVariable(v.shape.dim, v.name, False, v.type or "Buffer")
            if v.HasField("initializer") and v.initializer.type:
                pv.initializer = (v.initializer.type, v.initializer.multiplier)
            if pv.type == "Parameter":
                pv.need_grad = True
                n.parameters[v.name] = pv
            else:
                n.variables[v.name] = pv
        for f in proto.function:
            if f.type not in known:
                raise ValueError(f"network {proto.name!r}: function {f.name!r} has type {f.type!r}, unknown here")
            for name in list(f.input) + list(f.output):
                if name not in n.variables and name not in n.parameters:
                    raise ValueError(f"network {proto.name!r}: function {f.name!r} names undeclared variable {name!r}")
            field = param_field(f.type)
            args = _read_args(getattr(f, field)) if field else {}
            n.functions[f.name] = ProtoFunction(f.name, f.type, args, f.input, f.output, n)
        n._link()
        return n

    def __call__(self, *args, batch_size=None, ctx=None, **kwargs):
        """Build a Variable graph of this network; ``args`` are its input Variables (made when not given).

        Returns the output Variable, or a tuple of them when the network has several.
        """
        if kwargs:
            raise TypeError(f"ProtoNetwork({self.name!r})(): unexpected arguments {sorted(kwargs)}")
        batch = batch_size if batch_size is not None else (self.batch_size or 1)
        if args and len(args) != len(self.inputs):
            raise ValueError(f"network {self.name!r} takes {len(self.inputs)} inputs {self.inputs}, got {len(args)}")
        instances = {}
        for i, name in enumerate(self.inputs):
            pv = self.variables[name]
            if args:
                instances[name] = args[i]
            elif pv.variable_instance is not None:  # called before: the same inputs again, as NNabla
                instances[name] = pv.variable_instance
            else:
                instances[name] = nn.Variable(tuple(batch if d < 0 else d for d in pv.shape))
            pv.variable_instance = instances[name]
        params = self.owner.get_parameters()
        for name, pv in self.parameters.items():
            if name in params:
                instances[name] = params[name]
                if not pv.need_grad and params[name].need_grad:  # fixed (NnpNetworkPass.fix_parameters)
                    instances[name] = params[name].get_unlinked_variable(need_grad=False)
            else:  # not in the file: made by the file's initializer (zeros without one), as NNabla does
                param = nn.Variable(pv.shape, need_grad=pv.need_grad)
                param.d = _initial_values(pv.initializer, pv.shape, self.owner.rng)
                self.owner.set_parameter(name, param)
                instances[name] = param
            pv.variable_instance = instances[name]
        ctx = ctx if ctx is not None else self.owner.current_context
        for f in self.functions.values():
            fargs = dict(f.args)
            if f.type in _BATCHED_SHAPE_ARGS and f.type != "Reshape" and fargs.get("shape"):
                fargs["shape"] = [batch if d < 0 else d for d in fargs["shape"]]
            for name in f.inputs:
                if name not in instances:  # an input nothing writes and nobody gave: a placeholder
                    shape = tuple(batch if d < 0 else d for d in self.shape_of(name))
                    instances[name] = self.variables[name].variable_instance = nn.Variable(shape)
            outs = call_function(f.type, [instances[name] for name in f.inputs], fargs, len(f.outputs), ctx)
            for name, out in zip(f.outputs, outs):
                instances[name] = out
                self.variables[name].variable_instance = out
        outputs = tuple(instances[name] for name in self.outputs)
        return outputs[0] if len(outputs) == 1 else outputs


class ProtoGraph:
    """A group of networks sharing one parameter scope: what an ``.nnp`` file holds.

    ``g.networks[name]`` (or ``g.<name>``) is a network; ``g(x)`` calls the first one (``default_graph()``).
    """

    def __init__(self, networks=None, parameter_scope=None):
        self.networks = networks if networks is not None else OrderedDict()
        self.executors = OrderedDict()
        self.parameter_scope = parameter_scope if parameter_scope is not None else OrderedDict()
        self._context = None
        self.rng = np.random.RandomState(0)  # for parameters a file describes by initializer only

    def __getattr__(self, item):
        networks = self.__dict__.get("networks", {})
        if item in networks:
            return networks[item]
        if item in ("variables", "parameters", "functions", "inputs", "outputs") and networks:
            return getattr(self.default_graph(), item)
        raise AttributeError(f"ProtoGraph has no network or attribute {item!r}")

    def __getitem__(self, item):
        return getattr(self, item)

    def get_parameters(self, grad_only: bool = False) -> OrderedDict:
        """The parameters of this graph's scope, by full name."""
        with nn.parameter_scope("", self.parameter_scope):
            return nn.get_parameters(grad_only=grad_only)

    def set_parameter(self, key: str, param) -> None:
        with nn.parameter_scope("", self.parameter_scope):
            nn.parameter.set_parameter(key, param)

    def set_parameters(self, params) -> None:
        for key, param in params.items():
            self.set_parameter(key, param)

    @property
    def current_context(self):
        return self._context if self._context is not None else nn.get_current_context()

    @current_context.setter
    def current_context(self, ctx):
        self._context = ctx

    @staticmethod
    def from_proto(proto, batch_size=None, param_scope=None, rng=None) -> ProtoGraph:
        g = ProtoGraph(parameter_scope=param_scope)
        g.rng = rng if rng is not None else np.random.RandomState(0)
        for p in proto.network:
            g.networks[p.name] = ProtoNetwork.from_proto(g, p, batch_size)
        for e in proto.executor:
            g.executors[e.name] = ProtoExecutor.from_proto(e)
        return g

    def as_proto(self, include_parameter=False, only_parameter=False, networks=None, variable_batch_size=True):
        """This graph as NNabla's ``NNablaProtoBuf`` message."""
        from nnabla.utils import _proto

        proto = _proto.NNablaProtoBuf()
        if not only_parameter:
            nets = self.networks.values() if networks is None else networks
            proto.network.extend(n.as_proto(variable_batch_size=variable_batch_size) for n in nets)
            proto.executor.extend(e.as_proto() for e in self.executors.values())
        if include_parameter:
            from nnabla.utils._model_files import parameter_message

            proto.parameter.extend(parameter_message(k, v) for k, v in self.get_parameters().items())
        return proto

    def default_graph(self) -> ProtoNetwork:
        """The first network of this graph."""
        if self.networks:
            return next(iter(self.networks.values()))
        raise ValueError("No network is found in current graph.")

    def __call__(self, *args, **kwargs):
        return self.default_graph()(*args, **kwargs)

    def save(self, filename, include_parameter: bool = False, variable_batch_size: bool = True) -> None:
        save(filename, [self], include_parameters=include_parameter, variable_batch_size=variable_batch_size)


# -- from Variables -----------------------------------------------------------------------------------
def _network_from_variables(owner, name, outputs, names=None, params=None, prefixes=None) -> ProtoNetwork:
    """Walk the graph leading to ``outputs`` (NNabla's visit order) into a network named ``name``.

    Functions are named ``@<name>/<Type>``, or ``<prefixes[id(function)]><Type>`` where ``prefixes`` has them.
    """
    import nnabla.functions as F

    root = F.sink(*outputs) if len(outputs) > 1 else outputs[0]
    given = {id(v): k for k, v in (names or {}).items()}
    params = params or {}
    net = ProtoNetwork(owner, name)
    func_names, var_names = {}, {}
    by_id = {}  # id(Variable) -> ProtoVariable
    keep = []  # the Variables walked, alive while ids are in use

    def variable(v, prefix, is_output):
        pv = by_id.get(id(v))
        if pv is not None:
            return pv
        keep.append(v)
        if id(v) in params:
            pv = ProtoVariable(v.shape, params[id(v)], v.need_grad, "Parameter")
            net.parameters[pv.name] = pv
        else:
            label = given.get(id(v)) or _unique(var_names, prefix)
            pv = ProtoVariable(v.shape, label, v.need_grad, "Buffer")
            net.variables[pv.name] = pv
        pv.variable_instance = v
        by_id[id(v)] = pv
        return pv

    functions = []
    root.visit(functions.append)
    for func in functions:
        type_name = func.info.type_name
        if type_name == "Sink" and func is root.parent and len(outputs) > 1:
            continue
        prefix = prefixes.get(id(func), f"@{name}/") if prefixes is not None else f"@{name}/"
        fname = _unique(func_names, prefix + type_name)
        ins = [variable(x, f"{prefix}{type_name}_in", False).name for x in func.inputs]
        outs = [variable(y, f"{prefix}{type_name}_out", True).name for y in func.outputs]
        net.functions[fname] = ProtoFunction(fname, type_name, func.info.args, ins, outs, net)
    if not functions:
        raise ValueError(f"create_graph_from_variable: {name!r}: the given variables have no function leading to them")
    net._link()
    return net


def _forget_buffers(net) -> None:
    """Drop the network's references to activations (as NNabla does): calling it makes new input Variables."""
    for pv in net.variables.values():
        pv.variable_instance = None


class _Builder:
    """Where ``graph()`` and ``create_graph_from_variable`` put the networks they make.

    While ProtoVariables flow through functions it also holds the network being built: the ProtoVariables
    given and made, and which Variables functions read (those never read are the network's outputs).
    """

    def __init__(self, name=None, parameter_scope=None):
        self.name = name
        self.proto_graph = ProtoGraph(parameter_scope=parameter_scope)
        self.network_names = {}
        self.modules = []  # the modules being called, outermost first
        self._clear()

    def _clear(self):
        self.given, self.made, self.read, self.top = [], [], set(), None
        self.prefixes = {}  # id(function) -> the path of the module that applied it, "@net/@sub/" (NNabla's names)

    @property
    def dirty(self) -> bool:
        return bool(self.made)

    def commit(self, module=None) -> None:
        """Turn the functions recorded so far into a network of the graph (NNabla's ``commit_network``)."""
        module = module if module is not None else self.top
        if self.name:
            name, self.name = self.name, None
        else:
            name = module.name if module is not None else "model"
        name = _unique(self.network_names, name)
        found = module.get_parameters(grad_only=False) if module is not None else nn.get_parameters(grad_only=False)
        params = {id(v): k for k, v in found.items()}
        outputs = [pv.variable_instance for pv in self.made if id(pv.variable_instance) not in self.read]
        net = _network_from_variables(self.proto_graph, name, outputs, None, params, self.prefixes)
        by_id = {id(pv.variable_instance): pv for pv in net.variables.values()}
        for pv in self.given + self.made:  # the caller's ProtoVariables become the network's own
            own = by_id.get(id(pv.variable_instance))
            if own is not None:
                pv.name, pv.parent, pv.required, pv.need_grad = own.name, own.parent, own.required, own.need_grad
                net.variables[own.name] = pv
        self.proto_graph.networks[name] = net
        for k, pv in net.parameters.items():
            self.proto_graph.set_parameter(k, pv.variable_instance)
        _forget_buffers(net)
        self._clear()


def _apply_to_proto(func, inputs, n_outputs):
    """``func`` applied to ProtoVariables (and Variables): a Variable graph shadows the network being built."""
    import nnabla.function as function

    builder = _builder
    variables = []
    for x in inputs:
        if isinstance(x, ProtoVariable):
            if x.variable_instance is None:
                x.variable_instance = nn.Variable(x.shape, need_grad=x.need_grad)
                builder.given.append(x)
            x = x.variable_instance
        variables.append(x)
        builder.read.add(id(x))
    outs = function.apply(func, variables, n_outputs=n_outputs)
    builder.prefixes[id(func)] = builder.modules[-1].get_path_name() + "/" if builder.modules else ""
    made = []
    for o in outs if isinstance(outs, tuple) else (outs,):
        pv = ProtoVariable(o.shape, need_grad=o.need_grad)
        pv.variable_instance = o
        made.append(pv)
    builder.made.extend(made)
    return made[0] if len(made) == 1 else tuple(made)


@contextlib.contextmanager
def module_scope(builder, module):
    """Entered by every Module method: the outermost module's return commits what ProtoVariables built."""
    builder.modules.append(module)
    try:
        yield builder.proto_graph
    finally:
        builder.modules.pop()
        if not builder.modules and builder.dirty:
            builder.commit(module)


def current_graph_builder() -> _Builder:
    return _builder


_builder = _Builder()


@contextlib.contextmanager
def graph(name=None, parameter_scope=None):
    """``with nn.graph_def.graph() as g:`` networks made inside are added to ``g`` (not to the default graph)."""
    global _builder
    previous, _builder = _builder, _Builder(name, parameter_scope)
    try:
        yield _builder.proto_graph
        if _builder.dirty:  # functions applied to ProtoVariables outside any module
            _builder.commit()
    finally:
        _builder = previous


def reset_default_graph() -> None:
    """Forget every network of the default graph."""
    global _builder
    _builder = _Builder()


def get_default_graph(*args, **kwargs):
    """The default graph (a ``ProtoGraph``), or its network of the given name (None when there is none)."""
    name = args[0] if args and isinstance(args[0], str) else kwargs.get("name")
    if name is None:
        return _builder.proto_graph
    return _builder.proto_graph.networks.get(name, None)


def get_default_graph_by_variable(proto_variable) -> ProtoNetwork:
    """The network of the default graph that has ``proto_variable`` among its outputs."""
    for network in _builder.proto_graph.networks.values():
        if proto_variable.name in network.outputs:
            return network
    raise ValueError(f"{proto_variable.name} is not the output variable of any network")


def create_graph_from_variable(name, variables, names=None, parameter_scope=None) -> ProtoGraph:
    """A ``ProtoGraph`` holding one network ``name`` made from the graph leading to ``variables``.

    ``names`` maps names to Variables that should carry them; parameters are named by their full names in
    ``parameter_scope`` (default: the current scope).
    """
    outputs = list(variables) if isinstance(variables, (list, tuple)) else [variables]
    if parameter_scope is not None:
        with nn.parameter_scope("", parameter_scope):
            found = nn.get_parameters(grad_only=False)
    else:
        found = nn.get_parameters(grad_only=False)
    params = {id(v): k for k, v in found.items()}
    with graph(name=name, parameter_scope=parameter_scope) as g:
        net = _network_from_variables(g, name, outputs, names, params)
        g.networks[name] = net
        for k, pv in net.parameters.items():
            g.set_parameter(k, pv.variable_instance)
        _forget_buffers(net)
    return g


# -- files ----------------------------------------------------------------------------------------------
def save(filename, content, include_parameters=False, variable_batch_size=True, extension=".nnp") -> None:
    """Write ProtoGraphs (``content``: one or a list) to ``.nnp``, ``.nntxt`` or ``.protobuf``, atomically."""
    from nnabla.utils import _model_files as _files

    graphs = content if isinstance(content, (list, tuple)) else [content]
    proto = None
    params = OrderedDict()
    for g in graphs:
        if not isinstance(g, ProtoGraph):
            raise ValueError(f"nn.graph_def.save: content must hold ProtoGraphs, got {type(g).__name__}")
        part = g.as_proto(variable_batch_size=variable_batch_size)
        proto = part if proto is None else (proto.MergeFrom(part) or proto)
        params.update(g.get_parameters())
    _files.save_proto(filename, proto, params, include_parameters, extension)


def load(
    filename,
    batch_size=None,
    exclude_parameter=False,
    parameter_only=False,
    extension=".nntxt",
    parameter_scope=None,
    rng=None,
) -> ProtoGraph:
    """Read ``.nnp``, ``.nntxt``, ``.protobuf`` or ``.h5`` files (one or a list) into a ``ProtoGraph``.

    Parameters go to ``parameter_scope`` (default: a new scope owned by the graph).
    """
    from nnabla.utils import _model_files as _files

    scope = parameter_scope if parameter_scope is not None else OrderedDict()
    names = filename if isinstance(filename, (list, tuple)) else [filename]
    proto, params = _files.read_all(names, extension, want_params=not exclude_parameter)
    g = ProtoGraph.from_proto(proto if not parameter_only else type(proto)(), batch_size, scope, rng)
    for key, (data, need_grad) in params.items():
        g.set_parameter(key, nn.Variable.from_numpy_array(data, need_grad=need_grad))
    return g
