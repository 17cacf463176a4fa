"""``nnabla.solver``: where NNabla defines the Solver class and the solvers that ``nnabla.solvers`` re-exports."""

from __future__ import annotations

from .solvers import (  # noqa: F401
    AMSGRAD,
    AdaBelief,
    AdaBound,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    AMSBound,
    Lamb,
    Lars,
    Lion,
    Momentum,
    Nesterov,
    RMSprop,
    RMSpropGraves,
    Sgd,
    SgdW,
    Solver,
    SolverState,
    solver_api,
)
