"""``nnabla.utils.nnp_graph``: build Variable graphs from the networks of an ``.nnp`` (or ``.nntxt``) file.

``net = NnpLoader('model.nnp').get_network('runtime', batch_size=1)``, then fill ``net.inputs['x'].d`` and run
``net.outputs['y'].forward()``.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict

import numpy as np

import nnabla as nn

__all__ = ["NnpLoader", "NnpNetwork"]


class NnpNetwork:
    """A Variable graph made from one network: ``inputs``, ``outputs`` and ``variables`` by name."""

    def __init__(self, proto_network, batch_size, callback=None):
        if callback is not None:
            raise ValueError("NnpNetwork: callback (an NnpNetworkPass that rewrites the network) is not supported")
        self.proto_network = proto_network
        for v in proto_network.variables.values():  # each network gets inputs of its own batch size
            v.variable_instance = None
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
