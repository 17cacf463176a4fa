"""The converter machinery: ``GraphConverter`` walks a graph and each ``FunctionModifier`` rebuilds it.

``GraphConverter(modifiers).convert(y)`` runs every modifier in turn over the graph leading to ``y``: the
functions are visited in forward order, and ``modifier.modify(f, inputs)`` gets each original function ``f``
with its *new* inputs (the outputs the modifier already made for ``f``'s producers, or the original leaves).
It returns the new output Variable, or None to rebuild ``f`` unchanged on the new inputs. The original graph
is left as it was; the new graph shares its leaves (inputs and parameters) unless a modifier replaces them.
"""

from __future__ import annotations

from collections import defaultdict

import nnabla as nn
import nnabla.functions as F
from nnabla.core.graph_def import call_function


class FunctionModifier:
    """Base of the modifiers: override ``modify(f, inputs)`` (and ``__finish__`` to reset state)."""

    def __init__(self):
        self._map_func_inputs = defaultdict(list)  # original function -> its new inputs
        self.outputs = []

    def init_map_func_inputs(self, f, inputs) -> None:
        """Give the function ``f`` these new inputs (used to replace a graph's very first inputs)."""
        self._map_func_inputs[f] = list(inputs)

    def get_parameter_scope(self, v) -> str:
        """The scope of the parameter ``v`` (e.g. ``'conv1/conv'`` for ``conv1/conv/W``); ``''`` if it is none."""
        for name, param in nn.get_parameters(grad_only=False).items():
            if param is v or param.data is v.data:
                return name.rpartition("/")[0]
        return ""

    def __call__(self, f) -> None:
        inputs = list(self._map_func_inputs.get(f, []))
        inputs += [None] * (len(f.inputs) - len(inputs))
        inputs = [new if new is not None else old for new, old in zip(inputs, f.inputs)]
        out = self.modify(f, inputs)
        if out is not None and not isinstance(out, (nn.Variable, list, tuple)):
            raise ValueError(f"{type(self).__name__}.modify must return None or Variables, got {type(out).__name__}")
        if out is None:
            out = self._modify_as_same(f, inputs)
        outputs = list(out) if isinstance(out, (list, tuple)) else [out]
        self.outputs = outputs
        for old, new in zip(f.outputs, outputs):
            for consumer in old.function_references:
                mapped = self._map_func_inputs[consumer]
                mapped += [None] * (len(consumer.inputs) - len(mapped))
                for i, x in enumerate(consumer.inputs):
                    if x is old:
                        mapped[i] = new

    def modify(self, f, inputs):
        """Return the output(s) that replace ``f`` built on ``inputs``, or None to keep ``f`` as it is."""
        return None

    def _modify_as_same(self, f, inputs):
        outs = call_function(f.info.type_name, inputs, dict(f.info.args), len(f.outputs))
        return outs[0] if len(outs) == 1 else list(outs)

    def _call_function(self, type_name, inputs, args):
        outs = call_function(type_name, inputs, dict(args), 1)
        return outs[0] if len(outs) == 1 else list(outs)

    def __finish__(self) -> None:
        """Hook: reset what a subclass keeps between conversions."""

    def finish_up(self) -> None:
        """Forget this conversion's state (called by GraphConverter after each conversion)."""
        self._map_func_inputs = defaultdict(list)
        self.__finish__()


class GraphConverter:
    """Convert a graph with ``modifiers`` (a list; nested lists are flattened), one after the other."""

    def __init__(self, modifiers=()):
        self._modifiers = self._prepare_modifiers(modifiers)

    def _prepare_modifiers(self, modifiers) -> list:
        flat = []
        for m in modifiers:
            flat += self._prepare_modifiers(m) if isinstance(m, (list, tuple)) else [m]
        return flat

    def convert(self, o):
        """The converted output(s) of ``o`` (a Variable, or a list of them: a list comes back)."""
        outputs = list(o) if isinstance(o, (list, tuple)) else [o]
        for modifier in self._modifiers:
            root = F.sink(*outputs)
            root.visit(modifier)
            outputs = list(modifier.outputs[0].parent.inputs)
            modifier.finish_up()
        return outputs if isinstance(o, list) else outputs[0]
