"""``nnabla.random``: the generators behind initializers (``prng``, seeded by ``pseed``) and random functions."""

from __future__ import annotations

import numpy as np

pseed = 313
prng = np.random.RandomState(pseed)
_function_seed = [313]
function_rng = np.random.RandomState(313)


def seed(seed_value: int, set_function_seed: bool = True, set_parameter_seed: bool = True) -> None:
    """Reset ``prng`` (parameters) and/or the generator of functions whose ``seed=-1``."""
    if not isinstance(seed_value, (int, np.integer)) or isinstance(seed_value, bool):
        raise TypeError(f"nnabla.random.seed: seed_value must be an int, got {seed_value!r}")
    global pseed, prng
    if set_parameter_seed:
        pseed = int(seed_value)
        prng = np.random.RandomState(pseed)
    if set_function_seed:
        function_rng.seed(int(seed_value))
        _function_seed[0] = int(seed_value)


def set_parameter_seed(seed_value: int) -> None:
    """Reset only the generator initializers draw from."""
    seed(seed_value, set_function_seed=False, set_parameter_seed=True)


def set_function_seed(seed_value: int) -> None:
    """Reset only the generator of random functions with ``seed=-1``."""
    seed(seed_value, set_function_seed=True, set_parameter_seed=False)


def get_prng():
    return prng
