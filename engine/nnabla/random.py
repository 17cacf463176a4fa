"""``nnabla.random``: the generators behind initializers (``prng``, seeded by ``pseed``) and random functions.

Initializers draw on the host from ``prng`` (numpy), as NNabla's do. Random functions draw where they compute:
``function_generator(xp)`` is the shared generator of functions with ``seed=-1`` (``function_rng`` on the CPU,
the device module's own ``random.RandomState`` under a 'cuda'/'cudnn' context, so no draw crosses from the
host), and ``new_generator(xp, seed)`` a function's own one; ``nn.seed`` resets them all.
"""

from __future__ import annotations

import numpy as np

pseed = 313
prng = np.random.RandomState(pseed)
_function_seed = [313]
function_rng = np.random.RandomState(313)
_device_generators = {}  # device module -> its shared generator, seeded by the current function seed


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
        for generator in _device_generators.values():
            generator.seed(int(seed_value))


def function_generator(xp=np):
    """The generator of random functions with ``seed=-1`` on array module ``xp``, reset by ``nn.seed``."""
    if xp is np:
        return function_rng
    generator = _device_generators.get(xp)
    if generator is None:
        generator = _device_generators[xp] = xp.random.RandomState(_function_seed[0])
    return generator


def new_generator(xp, seed: int):
    """A function's own generator for ``seed`` on array module ``xp`` (numpy's RandomState, or the device's)."""
    return np.random.RandomState(seed) if xp is np else xp.random.RandomState(seed)


def set_parameter_seed(seed_value: int) -> None:
    """Reset only the generator initializers draw from."""
    seed(seed_value, set_function_seed=False, set_parameter_seed=True)


def set_function_seed(seed_value: int) -> None:
    """Reset only the generator of random functions with ``seed=-1``."""
    seed(seed_value, set_function_seed=True, set_parameter_seed=False)


def get_prng():
    return prng
