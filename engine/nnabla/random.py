"""``nnabla.random``: the generators behind initializers (``prng``) and random functions."""

from __future__ import annotations

import numpy as np

prng = np.random.RandomState(313)
_function_seed = [313]
function_rng = np.random.RandomState(313)


def seed(seed_: int) -> None:
    """Reset ``prng`` and the generator of functions whose ``seed=-1``."""
    global prng
    prng = np.random.RandomState(seed_)
    function_rng.seed(seed_)
    _function_seed[0] = seed_


def get_prng():
    return prng
