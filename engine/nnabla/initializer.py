"""``nnabla.initializer``: parameter initializers and NNabla's Glorot/He limits."""

from __future__ import annotations

import numpy as np

from . import random as _random


def _rng(rng):
    return rng if rng is not None else _random.prng


def calc_uniform_lim_glorot(inmaps, outmaps, kernel=(1, 1)):
    """sqrt(6 / (fan_in + fan_out)) with fans scaled by the kernel size."""
    d = np.sqrt(6.0 / (np.prod(kernel) * inmaps + np.prod(kernel) * outmaps))
    return -d, d


def calc_normal_std_glorot(inmaps, outmaps, kernel=(1, 1)):
    return np.sqrt(2.0 / (np.prod(kernel) * inmaps + outmaps))


def calc_normal_std_he_forward(inmaps, outmaps, kernel=(1, 1)):
    return np.sqrt(2.0 / (np.prod(kernel) * inmaps))


def calc_normal_std_he_backward(inmaps, outmaps, kernel=(1, 1)):
    return np.sqrt(2.0 / (np.prod(kernel) * outmaps))


class BaseInitializer:
    """Called with a shape, returns a numpy array of that shape."""

    def __call__(self, shape):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


class ConstantInitializer(BaseInitializer):
    def __init__(self, value=0):
        self.value = value

    def __call__(self, shape):
        return np.full(shape, self.value, dtype=np.float32)

    def __repr__(self):
        return f"ConstantInitializer({self.value})"


class NormalInitializer(BaseInitializer):
    def __init__(self, sigma=1.0, rng=None):
        self.sigma = sigma
        self.rng = rng

    def __call__(self, shape):
        return (_rng(self.rng).randn(*shape) * self.sigma).astype(np.float32)

    def __repr__(self):
        return f"NormalInitializer({self.sigma})"


class UniformInitializer(BaseInitializer):
    def __init__(self, lim=(-1, 1), rng=None):
        self.lim = lim
        self.rng = rng

    def __call__(self, shape):
        return _rng(self.rng).uniform(self.lim[0], self.lim[1], size=shape).astype(np.float32)

    def __repr__(self):
        return f"UniformInitializer({self.lim})"


class UniformIntInitializer(BaseInitializer):
    def __init__(self, lim=(0, 10), rng=None):
        self.lim = lim
        self.rng = rng

    def __call__(self, shape):
        return _rng(self.rng).randint(self.lim[0], self.lim[1], size=shape).astype(np.int32)


class RangeInitializer(BaseInitializer):
    def __init__(self, start=0, step=1):
        self.start = start
        self.step = step

    def __call__(self, shape):
        n = int(np.prod(shape))
        return (self.start + self.step * np.arange(n)).reshape(shape).astype(np.float32)


class OrthogonalInitializer(BaseInitializer):
    def __init__(self, gain=1.0, rng=None):
        self.gain = gain
        self.rng = rng

    def __call__(self, shape):
        flat = (shape[0], int(np.prod(shape[1:])))
        a = _rng(self.rng).normal(0.0, 1.0, flat)
        u, _, v = np.linalg.svd(a, full_matrices=False)
        q = u if u.shape == flat else v
        return (self.gain * q.reshape(shape)).astype(np.float32)


class WeightNormalizationScaleInitializer(BaseInitializer):
    def __init__(self, w, dim=0, eps=1e-12):
        self.w = w
        self.dim = dim
        self.eps = eps

    def __call__(self, shape):
        w = self.w.d if hasattr(self.w, "d") else np.asarray(self.w)
        axes = tuple(i for i in range(w.ndim) if i != self.dim)
        return np.sqrt(np.sum(w**2, axis=axes) + self.eps).reshape(shape).astype(np.float32)
