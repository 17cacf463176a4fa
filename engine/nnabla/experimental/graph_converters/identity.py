"""The identity conversion: the same graph rebuilt, optionally on other first inputs."""

from __future__ import annotations

from .graph_converter import FunctionModifier


class IdentityModifier(FunctionModifier):
    """Rebuild every function as it is; ``inputs`` maps original first inputs to replacements.

    With ``copy_value=True`` each replacement first takes the original's data and gradient (same shape needed).
    """

    def __init__(self, inputs=None, copy_value=False):
        super().__init__()
        self._input_dict = dict(inputs or {})
        self._copy_value = copy_value

    def modify(self, f, inputs):
        if not self._input_dict:
            return None
        replaced = list(inputs)
        changed = False
        for i, x in enumerate(f.inputs):
            if x.parent is None and x in self._input_dict:
                new = self._input_dict[x]
                if self._copy_value:
                    if new.shape != x.shape:
                        raise ValueError(
                            f"IdentityModifier: shape between the replaced input ({new.shape}) and original input "
                            f"({x.shape}) differs when copy_value=True"
                        )
                    new.d = x.d.copy()
                    new.g = x.g.copy()
                replaced[i] = new
                changed = True
        return self._call_function(f.info.type_name, replaced, f.info.args) if changed else None
