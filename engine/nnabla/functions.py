"""``nnabla.functions`` (F): one public function per registered op, generated with NNabla's signatures,
plus the few that NNabla writes by hand in Python (``sum``, ``mean``, ``max``, ``softmax``'s axis default ...).
"""

from __future__ import annotations

import re

from . import _ops  # noqa: F401  (registers every op)
from .function import apply as _apply
from .function import registry as _registry

__all__ = []


def _public_name(cls) -> str:
    if "fname" in cls.__dict__:
        return cls.fname
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", cls.__name__).lower()


def _generate(cls):
    """Build ``F.<name>`` for ``cls`` with NNabla's signature: inputs, then arguments with their defaults."""
    params, required, optional, variadic = [], [], [], None
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
    namespace = {"_apply": _apply, "_cls": cls}
    required_args = getattr(cls, "required_args", ())
    for key, default in cls.args_spec.items():
        if key in required_args:  # NNabla's signature has no default for it
            params.append(key)
            continue
        namespace[f"_d_{key}"] = default
        params.append(f"{key}=_d_{key}")
    params += ["n_outputs=-1", "outputs=None"]
    if variadic:
        inputs = variadic
    else:
        inputs = "(" + "".join(f"{n}, " for n in required) + ")"
        for n in optional:
            inputs += f" + (({n},) if {n} is not None else ())"
    passed = ", ".join(f"{k}={k}" for k in cls.args_spec)
    fname = _public_name(cls)
    src = f"def {fname}({', '.join(params)}):\n    return _apply(_cls(None, {passed}), {inputs}, outputs=outputs)\n"
    exec(src, namespace)  # noqa: S102 - generated from the registry, no user input
    f = namespace[fname]
    f.__doc__ = cls.__doc__
    f.__module__ = __name__
    return fname, f


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


from .function_bases import FUNCTION_API_BODY, FUNCTION_API_HEADER, function_api  # noqa: E402, F401
