"""Compare our functions with real NNabla's stored outputs and gradients (tests/engine/fixtures/<family>.npz,
written by tests/reference/make_fixtures.py from the cases in tests/reference/nnabla_cases.py)."""

from __future__ import annotations

import os
import sys

import numpy as np

import nnabla as nn
import nnabla.functions as F

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
from nnabla_cases import FAMILIES  # noqa: E402

_cache: dict = {}


def names(family: str) -> list:
    return sorted(FAMILIES[family])


def stored(family: str):
    if family not in _cache:
        _cache[family] = dict(np.load(os.path.join(HERE, "fixtures", f"{family}.npz")))
    return _cache[family]


def check_case(family: str, name: str, rtol: float = 1e-4, atol: float = 1e-5) -> None:
    """Forward and (where stored) gradients of one case equal NNabla's."""
    data = stored(family)
    build, specs, wrt = FAMILIES[family][name]
    arrays = [data[f"{name}/x{i}"] for i in range(len(specs))]
    xs = [nn.Variable.from_numpy_array(a, need_grad=i in wrt) for i, a in enumerate(arrays)]
    ys = build(F, *xs)
    ys = list(ys) if isinstance(ys, (tuple, list)) else [ys]
    for k, y in enumerate(ys):
        y.forward()
        expected = data[f"{name}/y{k}"]
        assert y.shape == expected.shape, f"{name}: output {k} shape {y.shape} != NNabla's {expected.shape}"
        np.testing.assert_allclose(y.d, expected, rtol=rtol, atol=atol, err_msg=f"{name}: output {k}")
    if not wrt:
        return
    terms = [F.sum(y * nn.Variable.from_numpy_array(data[f"{name}/w{k}"])) for k, y in enumerate(ys)]
    loss = terms[0] if len(terms) == 1 else F.add_n(*terms)
    for i in wrt:
        xs[i].grad.zero()
    loss.forward()
    loss.backward()
    for i in wrt:
        np.testing.assert_allclose(
            xs[i].g, data[f"{name}/g{i}"], rtol=rtol, atol=atol * 10, err_msg=f"{name}: grad {i}"
        )


def cases(family: str, grad_names=(), **tolerances) -> list:
    """The family's fixtures as op-table rows: forward against NNabla's stored outputs; a float64 gradient check
    of the stored gradient inputs for the cases named in ``grad_names``."""
    from opcheck import Case

    data = stored(family)
    rows = []
    for name in names(family):
        build, specs, wrt = FAMILIES[family][name]
        inputs = [data[f"{name}/x{i}"] for i in range(len(specs))]
        n_out = sum(1 for key in data if key.startswith(f"{name}/y"))
        expected = [data[f"{name}/y{k}"] for k in range(n_out)]
        rows.append(
            Case(
                name,
                lambda *v, build=build: build(F, *v),
                lambda *a, expected=expected: expected if len(expected) > 1 else expected[0],
                inputs,
                grad_inputs=list(wrt),
                grad=name in grad_names,
                **tolerances,
            )
        )
    return rows
