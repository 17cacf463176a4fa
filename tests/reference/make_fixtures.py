"""Writes tests/engine/fixtures/<family>.npz from real NNabla 1.36 for the cases in nnabla_cases.py; run by hand:

    "$(/work/shared/tools/nnabla-reference)" tests/reference/make_fixtures.py geometry [...]

Stores, per case: the inputs ``<case>/x<i>``, the outputs ``<case>/y<k>``, fixed random output weights
``<case>/w<k>`` and the gradients ``<case>/g<i>`` of sum_k <y_k, w_k> in the inputs listed in the case.
"""

import os
import sys

import numpy as np

import nnabla as nn
import nnabla.functions as F

sys.path.insert(0, os.path.dirname(__file__))
from nnabla_cases import FAMILIES  # noqa: E402


def make_input(rng, spec):
    if spec[0] == "randn":
        return rng.randn(*spec[1]).astype(np.float32)
    if spec[0] == "uniform":
        return rng.uniform(spec[1], spec[2], size=spec[3]).astype(np.float32)
    return np.asarray(spec[1], dtype=np.float32)


def run_case(rng, build, specs, wrt):
    arrays = [make_input(rng, s) for s in specs]
    xs = [nn.Variable.from_numpy_array(a, need_grad=i in wrt) for i, a in enumerate(arrays)]
    ys = build(F, *xs)
    ys = list(ys) if isinstance(ys, (tuple, list)) else [ys]
    out = {f"x{i}": a for i, a in enumerate(arrays)}
    weights = []
    for k, y in enumerate(ys):
        y.forward()
        out[f"y{k}"] = np.array(y.d)
        weights.append(rng.randn(*y.shape).astype(np.float32))
        out[f"w{k}"] = weights[-1]
    if wrt:
        terms = [F.sum(y * nn.Variable.from_numpy_array(w)) for y, w in zip(ys, weights)]
        loss = terms[0] if len(terms) == 1 else F.add_n(*terms)
        for i in wrt:
            xs[i].grad.zero()
        loss.forward()
        loss.backward()
        for i in wrt:
            out[f"g{i}"] = np.array(xs[i].g)
    return out


def main(families):
    for family in families:
        rng = np.random.RandomState(0)
        stored = {}
        for name, (build, specs, wrt) in FAMILIES[family].items():
            for key, value in run_case(rng, build, specs, wrt).items():
                stored[f"{name}/{key}"] = value
        path = os.path.join(os.path.dirname(__file__), "..", "engine", "fixtures", f"{family}.npz")
        np.savez_compressed(path, **stored)
        print(f"{path}: {len(FAMILIES[family])} cases")


if __name__ == "__main__":
    main(sys.argv[1:] or sorted(FAMILIES))
