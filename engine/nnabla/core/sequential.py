"""``nnabla.core.sequential``: ``Sequential``, modules applied one after another (NNabla's ``nn.Sequential``)."""

from __future__ import annotations

from .module import Module


class Sequential(Module):
    """``Sequential(m1, m2, ...)`` names submodules ``{name}_{index}``; ``Sequential(('a', m1), ...)`` names
    them as given. Calling it feeds each module's output to the next."""

    def __init__(self, *args, **kwargs):
        for index, item in enumerate(args):
            name, module = item if isinstance(item, tuple) else (None, item)
            if not isinstance(module, Module):
                raise TypeError("The input layer {}/{} should be a instance of nn.Module".format(
                    self.name, module.__class__.__name__))  # fmt: skip
            self.submodules[name if name is not None else module.name + "_" + str(index)] = module

    def call(self, *args, **kwargs):
        result = None
        for module in self.submodules.values():
            args = module(*args, **kwargs)
            result = args
            if args is not None and not isinstance(args, tuple):
                args = (args,)
        return result
