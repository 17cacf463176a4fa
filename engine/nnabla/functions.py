"""``nnabla.functions`` (F): one public function per registered op, generated with NNabla's signatures,
plus the few that NNabla writes by hand in Python (``sum``, ``mean``, ``max``, ``softmax``'s axis default ...).
"""

from __future__ import annotations

import re

import numpy as np

from . import _ops  # noqa: F401  (registers every op)
from .function import ENGINE_DIR as _ENGINE_DIR
from .function import REQUIRED, _check_arg_type, _contexts
from .function import Function as _Function
from .function import apply as _apply
from .function import registry as _registry

__all__ = []


def _public_name(cls) -> str:
    if "fname" in cls.__dict__:
        return cls.fname
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", cls.__name__).lower()


def _generate(cls):
    """Build ``F.<name>`` for ``cls`` with NNabla's signature: inputs, then arguments with their defaults.

    ``cls.signature_defaults`` says where NNabla's Python signature shows something else than the stored
    default: ``REQUIRED`` (no default), ``None`` (meaning the stored default) or another value shown and passed.
    A function with a variadic input takes its arguments as ``**kw``, as NNabla's do.
    """
    params, required, optional, variadic = [], [], [], None
    shown = getattr(cls, "signature_defaults", {})
    body = []
    for name in cls.inputs_spec:
        if name.startswith("*"):
            variadic = name[1:]
            params.append(name)
        elif name.endswith("?"):
            optional.append(name[:-1])
            params.append(f"{name[:-1]}=None")
        else:
            required.append(name)
            params.append(name)
    namespace = {"_apply": _apply, "_cls": cls, "_unexpected": _unexpected, "_new": object.__new__}
    namespace["_check_arg_type"] = _check_arg_type
    checks = []
    for key, default in cls.args_spec.items():
        namespace[f"_d_{key}"] = default
        if variadic:
            body.append(f"{key} = kw.pop({key!r}, _d_{key})")
        elif key not in shown:
            params.append(f"{key}=_d_{key}")
        elif shown[key] is REQUIRED:
            params.append(key)
        elif shown[key] is None:
            params.append(f"{key}=None")
            body.append(f"if {key} is None: {key} = _d_{key}")
        else:
            namespace[f"_s_{key}"] = shown[key]
            params.append(f"{key}=_s_{key}")
        if default is not None:  # Function.__init__'s check of a value unlike its default, written out
            namespace[f"_t_{key}"] = type(default)
            checks.append(
                f"if {key} is not _d_{key} and type({key}) is not _t_{key}: "
                f"_check_arg_type(f, {key!r}, {key}, _d_{key})"
            )
    if variadic:
        params.append("**kw")
        body += ["n_outputs = kw.pop('n_outputs', -1)", "outputs = kw.pop('outputs', None)", "_unexpected(_cls, kw)"]
    else:
        params += ["n_outputs=-1", "outputs=None"]
    if variadic:
        inputs = variadic
    else:
        inputs = "(" + "".join(f"{n}, " for n in required) + ")"
        for n in optional:
            inputs += f" + (({n},) if {n} is not None else ())"
    # the function made as ``_cls(None, **args)`` makes it, without passing the arguments as keywords
    body.append("f = _new(_cls)")
    body += checks
    body.append("f.args = {" + ", ".join(f"{k!r}: {k}" for k in cls.args_spec) + "}")
    if cls._start is _Function._start:  # Function._start, written out: a call less per function
        namespace["_contexts"] = _contexts
        body += [
            "ctx = _contexts[-1]",
            "f.context = ctx",
            "r = ctx._resolved",
            "f.xp, f.dtype = r if r is not None else ctx.resolve()",
            "f.inputs = []",
        ]
    else:
        body.append("f._start(None)")
    if cls._has_init:
        body.append("f._init_checked()")
    fname = _public_name(cls)
    lines = "".join(f"    {line}\n" for line in body)
    src = f"def {fname}({', '.join(params)}):\n{lines}    return _apply(f, {inputs}, False, outputs, n_outputs)\n"
    # named under the engine's folder, so a function's creation site is the caller of F.<name>, not this code
    exec(compile(src, f"{_ENGINE_DIR}/<F.{fname}>", "exec"), namespace)  # noqa: S102 - from the registry
    f = namespace[fname]
    f.__doc__ = cls.__doc__
    f.__module__ = __name__
    return fname, f


def _unexpected(cls, kw) -> None:
    if kw:
        raise TypeError(f"{_public_name(cls)}() got unexpected keyword argument(s) {sorted(kw)}")


for _cls in _registry().values():
    if "fname" in _cls.__dict__ and _cls.fname is None:  # a node made by another API (``nn.grad``'s Grad)
        continue
    _name, _f = _generate(_cls)
    globals()[_name] = _f
    __all__.append(_name)


for _module in _ops.MODULES:
    for _name, _f in getattr(_module, "PUBLIC", {}).items():
        globals()[_name] = _f
        if _name not in __all__:
            __all__.append(_name)


from .context import get_current_context  # noqa: E402,F401  (NNabla's F namespace has these)
from .function_bases import FUNCTION_API_BODY, FUNCTION_API_HEADER, function_api  # noqa: E402,F401
from .graph_utils import get_auto_forward  # noqa: E402,F401


def _matmul(a, b):
    """``a @ b`` with numpy's matmul rules, built from Affine / BatchMatmul / Reshape."""
    if a.ndim == 2 and b.ndim == 2:
        return affine(a, b)  # noqa: F821 - generated above
    if a.ndim == 1 and b.ndim == 2:
        return reshape(affine(reshape(a, (1, a.shape[0])), b), (b.shape[1],))  # noqa: F821
    if a.ndim == 2 and b.ndim == 1:
        return reshape(affine(a, reshape(b, (b.shape[0], 1))), (a.shape[0],))  # noqa: F821
    if a.ndim == 1 and b.ndim == 1:
        return sum(a * b)
    return _ops.matmul.matmul_batched(a, b)


class BatchNormalizationInOutAdapter:
    """Moves the batch-norm ``axes`` of an ``ndim``-D input last and flattens them into one (NNabla's adapter).

    ``adapter(x)`` transposes the other axes first, then reshapes the ``axes`` into one trailing axis, so a
    normalization over several axes becomes one over a single axis; ``adapter.inv(y)`` undoes both. One adapter
    serves one shape: a second call with another (transposed) shape fails.
    """

    def __init__(self, ndim: int, axes) -> None:
        assert len(axes) != 1
        self.ndim = ndim
        self.axes = axes
        self.outer_axes = sorted(set(range(ndim)).difference(axes))
        self.transpose_axes = self.outer_axes + sorted(axes)
        self.transposed_shape = None
        self.inv_transpose_axes = [int(i) for i in np.argsort(self.transpose_axes)]

    def __call__(self, x):
        transposed = transpose(x, self.transpose_axes)  # noqa: F821 - generated above
        if self.transposed_shape is not None:
            assert self.transposed_shape == transposed.shape, "Wrong shape input given."
        self.transposed_shape = transposed.shape
        n_outer = len(self.outer_axes)
        inner_size = int(np.prod(transposed.shape[n_outer:]))
        return reshape(transposed, list(transposed.shape[:n_outer]) + [inner_size])  # noqa: F821

    def inv(self, y):
        return transpose(reshape(y, self.transposed_shape), self.inv_transpose_axes)  # noqa: F821
