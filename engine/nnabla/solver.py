"""``nnabla.solver``: the module NNabla's solver classes are defined in (``nnabla.solvers`` re-exports them).

Some of NNabla's lessons write ``import nnabla.solver as S``; the classes are the same objects as in
``nnabla.solvers``.
"""

from .solvers import (  # noqa: F401
    AMSGRAD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    Lion,
    Momentum,
    Nesterov,
    RMSprop,
    RMSpropGraves,
    Sgd,
    SgdW,
    Solver,
    SolverState,
)
