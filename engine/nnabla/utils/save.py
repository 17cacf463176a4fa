"""``nnabla.utils.save``: write networks, executors, optimizers, datasets and monitors as NNabla's model files.

``save('model.nnp', contents)`` with ``contents`` a dict as NNabla's: ``networks`` (each ``name``,
``batch_size``, ``outputs`` and ``names``: dicts of name -> Variable), ``executors``, ``optimizers``,
``datasets``, ``monitors``, ``global_config``, ``training_config``. ``.nnp`` holds the text definition and the
parameters (``.h5``); ``.nntxt``/``.prototxt`` and ``.protobuf`` hold the definition, with the parameters when
``include_params`` is set.
"""

from __future__ import annotations

import re
from collections import OrderedDict

import nnabla as nn
from nnabla.core import graph_def
from nnabla.logger import logger
from nnabla.parameter import get_parameters

from . import _proto
from ._model_files import save_proto

__all__ = ["create_proto", "save"]

# the solvers whose hyper-parameters NNabla writes into the optimizer message
_SOLVER_FIELDS = {
    "Adadelta": ("adadelta_param", ("lr", "decay", "eps")),
    "Adagrad": ("adagrad_param", ("lr", "eps")),
    "AdaBelief": (
        "adabelief_param",
        ("alpha", "beta1", "beta2", "eps", "wd", "amsgrad", "weight_decouple", "fixed_decay", "rectify"),
    ),
    "Adam": ("adam_param", ("alpha", "beta1", "beta2", "eps")),
    "Adamax": ("adamax_param", ("alpha", "beta1", "beta2", "eps")),
    "Momentum": ("momentum_param", ("lr", "momentum")),
    "Nesterov": ("nesterov_param", ("lr", "momentum")),
    "RMSprop": ("rmsprop_param", ("lr", "decay", "eps")),
    "RMSpropGraves": ("rmsprop_graves_param", ("lr", "decay", "momentum", "eps")),
    "Sgd": ("sgd_param", ("lr",)),
}


def _hyper(solver) -> dict:
    info = getattr(solver, "info", None)
    return dict(info) if isinstance(info, dict) else dict(solver._hyper)


def _names(value) -> list:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


class _Built:
    """What the parts of one ``contents`` dict share while it is turned into a message."""

    def __init__(self):
        self.graphs = OrderedDict()  # network name -> ProtoNetwork
        self.datasets = OrderedDict()


def _network(built, net, variable_batch_size):
    names = dict(net.get("names", {}))
    names.update(net["outputs"])
    g = graph_def.create_graph_from_variable(
        net["name"], list(net["outputs"].values()), names=names, parameter_scope=nn.get_current_parameter_scope()
    )
    network = g.default_graph()
    n = network.as_proto(variable_batch_size=variable_batch_size)
    n.batch_size = int(net["batch_size"])
    built.graphs[net["name"]] = network
    return n


def _dataset(d):
    out = _proto.Dataset(
        name=d["name"],
        uri=d["uri"],
        shuffle=d["shuffle"],
        batch_size=d["batch_size"],
        no_image_normalization=d["no_image_normalization"],
    )
    if d.get("cache_dir") is not None:
        out.cache_dir = d["cache_dir"]
    out.variable.extend(d["variables"])
    return out


def _dataset_names(built, names, where):
    found = []
    for name in _names(names):
        if name not in built.datasets:
            raise ValueError(f"Invalid dataset name is found in {where}: {name}")
        found.append(name)
    return found


def _optimizer(built, o, save_solver_in_proto):
    solver = o["solver"]
    network = built.graphs.get(o["network"])
    out = _proto.Optimizer(name=o["name"], network_name=o["network"] if network else "None")
    out.dataset_name.extend(_dataset_names(built, o.get("dataset"), "optimizer"))
    out.solver.type = re.sub(r"(|Cuda)$", "", str(solver.name))
    if out.solver.type in _SOLVER_FIELDS:
        field, keys = _SOLVER_FIELDS[out.solver.type]
        hyper = _hyper(solver)
        message = getattr(out.solver, field)
        for key in keys:
            setattr(message, key, hyper[key])
    out.solver.weight_decay = o["weight_decay"]
    out.solver.lr_decay = o["lr_decay"]
    out.solver.lr_decay_interval = o["lr_decay_interval"]
    out.update_interval = o["update_interval"]
    for var_name, data_name in o.get("data_variables", {}).items():
        out.data_variable.add(variable_name=var_name, data_name=data_name)
    if network is not None:
        for loss_name in o.get("loss_variables", network.outputs):
            out.loss_variable.add(variable_name=loss_name)
    solver_params = solver.get_parameters()
    keys = network.parameters.keys() if network is not None else nn.get_parameters().keys()
    for name in keys:
        out.parameter_variable.add(variable_name=name, learning_rate_multiplier=1.0 if name in solver_params else 0.0)
    for g_var in o.get("generator_variables", []):
        out.generator_variable.add(variable_name=g_var, type="Constant", multiplier=0)
    if save_solver_in_proto:
        solver.set_states_to_protobuf(out)
    return out


def _monitor(built, m):
    if m["network"] not in built.graphs:
        raise ValueError(f"{m['network']} is not found in networks.")
    network = built.graphs[m["network"]]
    out = _proto.Monitor(name=m["name"], network_name=m["network"])
    out.dataset_name.extend(_dataset_names(built, m.get("dataset"), "monitor definition"))
    if not out.dataset_name:
        raise ValueError("Dataset is not defined in monitor definition.")
    for var_name, data_name in m.get("data_variables", {}).items():
        out.data_variable.add(variable_name=var_name, data_name=data_name)
    for name in m.get("monitor_variables", network.outputs):
        out.monitor_variable.add(type="Error", variable_name=name)
    for g_var in m.get("generator_variables", []):
        out.generator_variable.add(variable_name=g_var, type="Constant", multiplier=0)
    return out


def _executor(built, e):
    if e["network"] not in built.graphs:
        raise ValueError(f"{e['network']} is not found in networks.")
    network = built.graphs[e["network"]]
    remap = e.get("remp", {})  # NNabla's key, spelled so
    out = _proto.Executor(name=e["name"], network_name=e["network"])
    if e.get("no_image_normalization") is not None:
        out.no_image_normalization = e["no_image_normalization"]
    for name in e.get("data", network.inputs):
        if name not in network.variables:
            raise ValueError(f"{name} is not found in networks!")
        out.data_variable.add(variable_name=name, data_name=remap.get(name, name))
    for name in e.get("output", network.outputs):
        if name not in network.variables:
            raise ValueError(f"{name} is not found in networks!")
        out.output_variable.add(variable_name=name, data_name=remap.get(name, name))
    for name in network.parameters:
        out.parameter_variable.add(variable_name=name)
    for name in e.get("generator_variables", []):
        out.generator_variable.add(variable_name=name, type="Constant", multiplier=0)
    return out


def create_proto(contents, include_params=False, variable_batch_size=True, save_solver_in_proto=False):
    """``contents`` as NNabla's ``NNablaProtoBuf`` message."""
    proto = _proto.NNablaProtoBuf()
    if "global_config" in contents:
        ctx = contents["global_config"]["default_context"]
        proto.global_config.default_context.backends[:] = list(ctx.backend)
        proto.global_config.default_context.array_class = ctx.array_class
        proto.global_config.default_context.device_id = ctx.device_id
    if "training_config" in contents:
        t = contents["training_config"]
        proto.training_config.max_epoch = t["max_epoch"]
        proto.training_config.iter_per_epoch = t["iter_per_epoch"]
        proto.training_config.save_best = t["save_best"]
    built = _Built()
    proto.network.extend(_network(built, n, variable_batch_size) for n in contents.get("networks", []))
    for d in contents.get("datasets", []):
        built.datasets[d["name"]] = _dataset(d)
    proto.dataset.extend(built.datasets.values())
    proto.optimizer.extend(_optimizer(built, o, save_solver_in_proto) for o in contents.get("optimizers", []))
    proto.monitor.extend(_monitor(built, m) for m in contents.get("monitors", []))
    proto.executor.extend(_executor(built, e) for e in contents.get("executors", []))
    if include_params:
        from ._model_files import parameter_message

        proto.parameter.extend(parameter_message(k, v) for k, v in get_parameters(grad_only=False).items())
    return proto


def _solver_state_members(filename, contents, solver_state_format):
    """The optimizer state files NNabla puts in an ``.nnp`` (``include_solver_state``)."""
    import os

    base = os.path.splitext(os.path.basename(filename))[0] if isinstance(filename, str) else "nnp"
    members = []
    if solver_state_format == ".protobuf":
        proto = _proto.NNablaProtoBuf()
        for o in contents.get("optimizers", []):
            opt = proto.optimizer.add(name=o["name"])
            o["solver"].set_states_to_protobuf(opt)
        members.append(("optimizer.protobuf.optimizer", proto.SerializeToString()))
    elif solver_state_format == ".h5":
        import tempfile

        for o in contents.get("optimizers", []):
            solver = o["solver"]
            name = f"{o['name']}_{re.sub(r'(|Cuda)$', '', str(solver.name))}_optimizer.h5"
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, f"{base}_{name}")
                solver.save_states(path)
                with open(path, "rb") as f:
                    members.append((name + ".optimizer", f.read()))
    else:
        raise ValueError(f"save: solver_state_format must be '.h5' or '.protobuf', got {solver_state_format!r}")
    return members


def save(
    filename,
    contents,
    include_params=False,
    variable_batch_size=True,
    extension=".nnp",
    parameters=None,
    include_solver_state=False,
    solver_state_format=".h5",
) -> None:
    """Write ``contents`` to ``filename`` (``.nnp``, ``.nntxt``, ``.prototxt`` or ``.protobuf``), atomically.

    ``parameters`` (a dict name -> Variable) replaces the current scope's parameters in the file;
    ``include_solver_state`` adds each optimizer's states to an ``.nnp``, as ``solver_state_format``.
    """
    from ._model_files import extension_of

    ext = extension_of(filename, extension)
    nnp = ext == ".nnp"
    proto = create_proto(contents, include_params=False, variable_batch_size=variable_batch_size)
    params = parameters if parameters is not None else get_parameters(grad_only=False)
    extra = _solver_state_members(filename, contents, solver_state_format) if nnp and include_solver_state else ()
    save_proto(filename, proto, params, include_params and not nnp, ext, extra)
    logger.info(f"Model file is saved as ({ext}): {filename}")
