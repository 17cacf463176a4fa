"""Record real NNabla's solver steps for tests/engine/test_solvers_nnabla.py.

Run by hand with the python of a real NNabla 1.36 install (not by CI):
    "$(/work/shared/tools/nnabla-reference)" tests/reference/make_solver_fixtures.py
It writes tests/engine/fixtures/solver_steps_nnabla.npz. The same script runs on this engine, which is how the
test replays each case.
"""

from __future__ import annotations

import os
import sys
from collections import OrderedDict

import numpy as np

# case name -> (solver name, hyperparameters, weight_decay rate given before each update)
CASES = OrderedDict(
    [
        ("AdaBound", ("AdaBound", dict(alpha=0.01), 0.01)),
        ("AdaBound-tight", ("AdaBound", dict(alpha=0.05, final_lr=0.02, gamma=0.5), 0.0)),
        ("AMSBound", ("AMSBound", dict(alpha=0.01), 0.01)),
        ("AMSBound-bc-tight", ("AMSBound", dict(alpha=0.05, final_lr=0.02, gamma=0.5, bias_correction=True), 0.0)),
        ("AdaBelief", ("AdaBelief", dict(alpha=0.01), 0.01)),
        ("AdaBelief-decoupled", ("AdaBelief", dict(alpha=0.01, wd=0.1, weight_decouple=True), 0.0)),
        ("AdaBelief-decoupled-rate", ("AdaBelief", dict(alpha=0.01, wd=0.1, weight_decouple=True), 0.3)),
        (
            "AdaBelief-fixed-amsgrad",
            ("AdaBelief", dict(alpha=0.01, wd=0.1, weight_decouple=True, fixed_decay=True, amsgrad=True), 0.0),
        ),
        ("AdaBelief-rectify", ("AdaBelief", dict(alpha=0.01, rectify=True), 0.0)),
        ("Lamb", ("Lamb", dict(eta=0.01), 0.01)),
        ("Lamb-bc-clipped", ("Lamb", dict(eta=0.01, gamma_l=0.5, gamma_u=1.0, bias_correction=True), 0.0)),
        ("Lars", ("Lars", dict(lr=0.1), 0.01)),
        ("Lars-coefficient", ("Lars", dict(lr=0.1, momentum=0.5, coefficient=0.05), 0.0)),
    ]
)
SHAPES = [(3,), (2, 3), (2, 1, 2), (4,)]  # the last parameter is all zeros (Lars' and Lamb's zero-norm branch)
STEPS = 6


def initial_params() -> OrderedDict:
    rng = np.random.RandomState(0)
    out = OrderedDict((f"p{i}", rng.randn(*shape).astype(np.float32)) for i, shape in enumerate(SHAPES))
    out[f"p{len(SHAPES) - 1}"][...] = 0
    return out


def gradients(step: int) -> OrderedDict:
    rng = np.random.RandomState(100 + step)
    return OrderedDict((f"p{i}", rng.randn(*shape).astype(np.float32)) for i, shape in enumerate(SHAPES))


def run_case(nn, S, name: str) -> dict:
    """Every parameter after each step, then the final states and step counts, as name -> array."""
    solver_name, hyper, decay = CASES[name]
    params = OrderedDict(
        (k, nn.Variable.from_numpy_array(v.copy(), need_grad=True)) for k, v in initial_params().items()
    )
    solver = getattr(S, solver_name)(**hyper)
    solver.set_parameters(params)
    out = {}
    for step in range(STEPS):
        solver.zero_grad()
        for k, g in gradients(step).items():
            params[k].g = g
        if decay:
            solver.weight_decay(decay)
        solver.update()
        for k, p in params.items():
            out[f"{name}/step{step}/{k}"] = p.d.copy()
            out[f"{name}/step{step}/{k}.grad"] = p.g.copy()
    for k, st in solver.get_states().items():
        out[f"{name}/t/{k}"] = np.array(st.t)
        for sname, var in st.pstate.items():
            out[f"{name}/state/{k}/{sname}"] = var.d.copy()
    return out


def main() -> None:
    import nnabla as nn
    import nnabla.solvers as S

    arrays = {}
    for name in CASES:
        arrays.update(run_case(nn, S, name))
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "engine", "fixtures", "solver_steps_nnabla.npz")
    np.savez_compressed(path, nnabla_version=np.array(nn.__version__), **arrays)
    print(f"wrote {len(arrays)} arrays to {os.path.normpath(path)}", file=sys.stderr)


if __name__ == "__main__":
    main()
