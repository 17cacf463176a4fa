"""``nnabla.backward_functions``: the registry ``nn.grad`` consults for each function's gradient graph.

``registry`` maps a function's type name to its backward function, called NNabla's way:
``backward(grad_inputs, inputs, input_shapes, outputs, output_shapes, **args)`` returning one gradient Variable
(or None) per input. The entries for the registered ops are generated from them (each op's ``grad_graph``,
see ``nnabla.function``); ``register(name, func)`` puts one's own in place, for a ``PythonFunction`` say, and
``nn.grad`` then calls it.
"""

from __future__ import annotations

from collections import OrderedDict

from .function import registry as _functions


def _generated(cls):
    from .functions import _public_name

    def backward(grad_inputs, inputs, input_shapes, outputs, output_shapes, **kwargs):
        from ._variable import Variable

        op = cls(None, **kwargs)
        op._shapes_checked([tuple(s) for s in input_shapes])
        xs = [x if x is not None else Variable(s) for x, s in zip(inputs, input_shapes)]
        ys = [y if y is not None else Variable(s) for y, s in zip(outputs, output_shapes)]
        op.inputs, op._outputs = xs, ()
        return op.grad_graph(xs, ys, list(grad_inputs), [True] * len(xs))

    backward.__name__ = backward.__qualname__ = f"{_public_name(cls)}_backward"
    backward.__doc__ = f"The gradient graph of {cls.__name__} (generated from the op)."
    backward.generated = True
    return backward


registry: OrderedDict = OrderedDict((name, _generated(cls)) for name, cls in _functions().items() if cls.differentiable)
globals().update({f.__name__: f for f in registry.values()})


def register(func_name: str, func) -> None:
    """Make ``func`` the backward function ``nn.grad`` uses for functions of type ``func_name``."""
    registry[func_name] = func


def show_registry() -> None:
    """Print every registered backward function."""
    for name, func in registry.items():
        print(name, func)
    print(
        "Functions registered are ones which originally support the backward method.\n"
        "Functions without a backward (F.constant ...) may still be parts of the graph nn.grad differentiates."
    )
