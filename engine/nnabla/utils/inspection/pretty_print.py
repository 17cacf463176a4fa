"""``pprint``: one block of text per function of a graph (scope, depth, args, shapes, value statistics)."""

from __future__ import annotations

import numpy as np

import nnabla as nn

_STATISTICS = (("Med", np.median), ("Ave", np.mean), ("Std", np.std), ("Min", np.min), ("Max", np.max))


def _values(arrays):
    # numpy scalars print as NNabla prints them (``1.3713952``), not as ``np.float32(1.3713952)``
    return "[" + ", ".join(str(a) for a in arrays) + "]"


class PrettyPrinter:
    """A ``Variable.visit`` callback printing each function; keeps ``functions`` when ``hidden``."""

    def __init__(self, summary: bool = False, hidden: bool = False):
        self._summary = summary
        self._hidden = hidden
        self.functions = []

    def get_scope_name(self, x):
        params = nn.get_parameters()
        for name, value in params.items():
            if value is x:
                return "/".join(name.split("/")[:-1])
        return None

    def _print_statistics(self, title, arrays):
        print("\t{}:".format(title))
        for label, statistic in _STATISTICS:
            print("\t\t{}: ".format(label), _values([statistic(a) for a in arrays]))

    def __call__(self, f):
        scope = self.get_scope_name(f.inputs[1]) if len(f.inputs) > 1 else None
        name = "{}({})".format(f.name, f.info.type_name)
        name = "{}/{}".format(scope, name) if scope else name
        print(name)
        print("\tDepth = {}".format(f.rank))
        print("\tArgs:", ["{}={}".format(k, v) for k, v in f.info.args.items()])
        print("\tInputs:", [i.shape for i in f.inputs])
        print("\tOutputs:", [o.shape for o in f.outputs])
        print("\tBackward Inputs:", [i.need_grad for i in f.inputs])
        if self._summary:
            self._print_statistics("Input Data", [i.d for i in f.inputs])
            self._print_statistics("Output Data", [o.d for o in f.outputs])
            self._print_statistics("Input Grads", [i.g for i in f.inputs])
            self._print_statistics("Output Grads", [o.g for o in f.outputs])
        if self._hidden:
            self.functions.append(dict(name=name, inputs=list(f.inputs), outputs=list(f.outputs)))


def pprint(v, forward: bool = False, backward: bool = False, summary: bool = False, hidden: bool = False,
           printer: bool = False):  # fmt: skip
    """Print every function of the graph ending at ``v`` (running forward/backward first when asked);
    return the printer when ``printer``."""
    if forward:
        v.forward()
    if backward:
        v.backward()
    pretty_printer = PrettyPrinter(summary, hidden)
    v.visit(pretty_printer)
    return pretty_printer if printer else None
