"""``nnabla.utils.load.load``: read model files into networks, executors, optimizers, monitors and datasets.

``info = load(['model.nnp'])`` returns NNabla's ``Info``: ``info.networks`` (name -> ``ProtoNetwork``, each
built into a Variable graph of the requested batch size), ``info.executors`` (name -> an executor whose
``forward_target`` runs its outputs, ``dataset_assign``/``output_assign`` map ProtoVariables to data names),
``info.optimizers`` (with a solver set up on the network's parameters), ``info.monitors``, ``info.datasets``,
``info.global_config``; parameters are loaded into the current parameter scope.
"""

from __future__ import annotations

import os
from collections import OrderedDict

import numpy as np

import nnabla as nn
from nnabla.core import graph_def
from nnabla.logger import logger

from ._model_files import apply_optimizer_states, read_all

__all__ = ["load"]


class _Record:
    """A plain record of attributes (NNabla's load returns such objects)."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(sorted(self.__dict__))})"


class Info(_Record):
    """What ``load`` read."""


class GlobalConfig(_Record):
    pass


class TrainingConfig(_Record):
    pass


class Executor(_Record):
    pass


class Optimizer(_Record):
    pass


class Monitor(_Record):
    pass


class Dataset(_Record):
    pass


def _dataset(d, index: int, prepare: bool) -> Dataset:
    """A dataset of the file, its ``data_iterator`` a function making a DataIterator (None without ``prepare``).

    NNabla's rules: an explicit cache (``create_cache_explicitly``) is written now unless its index is there, then
    read by ``data_iterator_cache``; otherwise the CSV is read (into ``cache_dir``, created now, if named) unless
    ``cache_dir`` already holds files, which are then read. Each dataset has one random state, seeded with its
    position in the file, shared by the iterators it makes.
    """
    from nnabla.utils.data_iterator import data_iterator_cache, data_iterator_csv_dataset

    uri, batch_size, shuffle, normalize = d.uri, d.batch_size, d.shuffle, not d.no_image_normalization
    cache_dir = d.cache_dir or None
    rng = np.random.RandomState(index)
    make = None
    if prepare:

        def from_cache():
            return data_iterator_cache(cache_dir, batch_size, shuffle, rng=rng, normalize=normalize)

        if cache_dir and d.create_cache_explicitly:
            if d.overwrite_cache or not os.path.exists(os.path.join(cache_dir, "cache_index.csv")):
                os.makedirs(cache_dir, exist_ok=True)
                logger.log(99, f'Creating cache data for "{uri}"')
                with data_iterator_csv_dataset(
                    uri, batch_size, shuffle, rng=rng, normalize=False, cache_dir=cache_dir, with_memory_cache=False
                ):
                    pass
            rng = np.random.RandomState(index)
            make = from_cache
        elif not cache_dir or d.overwrite_cache or not os.path.isdir(cache_dir) or not os.listdir(cache_dir):
            if cache_dir:
                os.makedirs(cache_dir, exist_ok=True)

            def make():
                return data_iterator_csv_dataset(
                    uri, batch_size, shuffle, rng=rng, normalize=normalize, cache_dir=cache_dir
                )
        else:
            make = from_cache
    return Dataset(
        name=d.name,
        uri=uri,
        cache_dir=d.cache_dir,
        normalize=normalize,
        variables=list(d.variable),
        shuffle=shuffle,
        batch_size=batch_size,
        no_image_normalization=d.no_image_normalization,
        data_iterator=make,
    )


def _data_iterators(names, datasets) -> OrderedDict:
    """Name -> the named dataset's ``data_iterator`` (NNabla's ``optimizer.data_iterators``)."""
    return OrderedDict((n, datasets[n].data_iterator if n in datasets else None) for n in names)


def _file_context(proto):
    """The context a file's ``global_config`` names (it also becomes the default context, as NNabla does)."""
    c = proto.global_config.default_context
    ctx = nn.Context(list(c.backends), c.array_class, c.device_id)
    nn.set_default_context(ctx)
    return ctx


def _default_context(proto, context):
    """NNabla's rule: ``context`` ('cpu' or 'cudnn[:device]') first, then the file's, then the CPU extension's."""
    from nnabla.ext_utils import get_extension_context

    if context:
        if context == "cpu":
            return get_extension_context("cpu")
        kind, _, device = context.partition(":")
        if kind == "cudnn":
            return get_extension_context("cudnn", device_id=device or "0")
        logger.warning(f"Invalid context [{context}]")
    if proto.HasField("global_config"):
        return _file_context(proto)
    return get_extension_context("cpu")


def _variable(network, name):
    return network.variables[name] if name in network.variables else network.parameters[name]


def _executor(e, networks):
    network = networks[e.network_name]
    outputs = [_variable(network, v.variable_name).variable_instance for v in e.output_variable]
    if not outputs:
        raise ValueError(f"executor {e.name!r}: no output variable")
    target = outputs[0] if len(outputs) == 1 else nn.functions.sink(*outputs)
    return Executor(
        proto=e,
        network=network,
        num_evaluations=e.num_evaluations or 1,
        repeat_evaluation_type=e.repeat_evaluation_type,
        need_back_propagation=e.need_back_propagation,
        no_image_normalization=e.no_image_normalization,
        dataset_assign=OrderedDict((_variable(network, v.variable_name), v.data_name) for v in e.data_variable),
        generator_assign=OrderedDict((_variable(network, v.variable_name), v.type) for v in e.generator_variable),
        output_assign=OrderedDict(
            (_variable(network, v.variable_name), [v.type, v.data_name]) for v in e.output_variable
        ),
        parameters=OrderedDict((_variable(network, v.variable_name), v.variable_name) for v in e.parameter_variable),
        forward_target=target,
    )


def _solver(o):
    import nnabla.solvers as S
    from nnabla.core.graph_def import _read_args

    kind = o.solver.type
    if not hasattr(S, kind):
        raise ValueError(f"optimizer {o.name!r}: solver type {kind!r} is unknown here")
    field = o.solver.WhichOneof("parameter")
    args = _read_args(getattr(o.solver, field)) if field else {}
    return getattr(S, kind)(**args)


def _optimizer(o, networks):
    network = networks.get(o.network_name)
    solver = _solver(o)
    params = OrderedDict()
    if network is not None:
        for p in o.parameter_variable:
            if p.learning_rate_multiplier != 0 and p.variable_name in network.parameters:
                params[p.variable_name] = network.parameters[p.variable_name].variable_instance
    solver.set_parameters(params)
    return Optimizer(
        proto=o,
        name=o.name,
        order=o.order,
        network=network,
        network_name=o.network_name,
        dataset_name=list(o.dataset_name),
        solver=solver,
        weight_decay=o.solver.weight_decay,
        lr_decay=o.solver.lr_decay,
        lr_decay_interval=o.solver.lr_decay_interval,
        update_interval=o.update_interval or 1,
        loss_variables=[v.variable_name for v in o.loss_variable],
        data_variables=OrderedDict((v.variable_name, v.data_name) for v in o.data_variable),
        parameters=params,
        start_iter=o.start_iter,
        end_iter=o.end_iter,
    )


def load(
    filenames,
    prepare_data_iterator=True,
    batch_size=None,
    exclude_parameter=False,
    parameter_only=False,
    extension=".nntxt",
    context=None,
) -> Info:
    """Read ``filenames`` (a path, a file object or a list of them) as NNabla's ``nnabla.utils.load.load``.

    Each of ``info.datasets`` has ``data_iterator``, a function making its DataIterator (None when
    ``prepare_data_iterator`` is False; None asks the file's ``training_config.max_epoch``); optimizers and
    monitors hold those functions in ``data_iterators``.
    """
    files = filenames if isinstance(filenames, (list, tuple)) else [filenames]
    states = []
    proto, params = read_all(files, extension, want_params=not exclude_parameter, states=states)
    default_context = _default_context(proto, context)
    logger.log(99, f'Using context "{default_context}"')
    for name, (data, need_grad) in params.items():
        var = nn.parameter.get_parameter_or_create(name, data.shape, need_grad=need_grad)
        var.d = data
    info = Info(
        proto=proto,
        batch_size=batch_size,
        default_context=default_context,
        exclude_parameter=exclude_parameter,
        parameter_only=parameter_only,
        prepare_data_iterator=prepare_data_iterator,
        parameter_scope=nn.get_current_parameter_scope(),
        global_config=GlobalConfig(default_context=default_context),
        networks=OrderedDict(),
        executors=OrderedDict(),
        optimizers=OrderedDict(),
        monitors=OrderedDict(),
        datasets=OrderedDict(),
        renamed_variables={},
    )
    if proto.HasField("training_config"):
        t = proto.training_config
        info.training_config = TrainingConfig(
            max_epoch=t.max_epoch,
            iter_per_epoch=t.iter_per_epoch,
            save_best=t.save_best,
            monitor_interval=t.monitor_interval if t.monitor_interval > 0 else 10,
        )
    if parameter_only:
        return info
    info.proto_graph = graph_def.ProtoGraph.from_proto(proto, batch_size, nn.get_current_parameter_scope())
    info.proto_graph.current_context = default_context
    for name, network in info.proto_graph.networks.items():
        with nn.context_scope(default_context):
            network(batch_size=batch_size or network.batch_size or 1)
        info.networks[name] = network
    if prepare_data_iterator is None:  # NNabla's rule: iterators when the file says it trains
        prepare_data_iterator = info.training_config.max_epoch > 0 if hasattr(info, "training_config") else False
    for index, d in enumerate(proto.dataset):
        info.datasets[d.name] = _dataset(d, index, prepare_data_iterator)
    for o in proto.optimizer:
        info.optimizers[o.name] = _optimizer(o, info.networks)
        info.optimizers[o.name].data_iterators = _data_iterators(o.dataset_name, info.datasets)
    apply_optimizer_states(states, info.optimizers)
    for m in proto.monitor:
        network = info.networks.get(m.network_name)
        info.monitors[m.name] = Monitor(
            proto=m,
            name=m.name,
            network=network,
            network_name=m.network_name,
            dataset_name=list(m.dataset_name),
            data_variables=OrderedDict((v.variable_name, v.data_name) for v in m.data_variable),
            monitor_variables=[v.variable_name for v in m.monitor_variable],
            data_iterators=_data_iterators(m.dataset_name, info.datasets),
        )
    for e in proto.executor:
        info.executors[e.name] = _executor(e, info.networks)
    return info
