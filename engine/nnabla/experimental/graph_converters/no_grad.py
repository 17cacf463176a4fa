"""Stopping parameter gradients: the graph rebuilt with its parameters seen as ``need_grad=False``."""

from __future__ import annotations

import nnabla as nn

from .graph_converter import FunctionModifier


class NoGradModifier(FunctionModifier):
    """Every parameter input is replaced by an unlinked view of it with ``need_grad=False``."""

    def modify(self, f, inputs):
        params = {id(v.data) for v in nn.get_parameters(grad_only=False).values()}
        new = [x.get_unlinked_variable(need_grad=False) if id(x.data) in params else x for x in inputs]
        return self._call_function(f.info.type_name, new, f.info.args)
