"""``nnabla.initializer``: parameter initializers and NNabla's Glorot/He scales.

Random initializers take ``nnabla.random.prng`` when created with ``rng=None`` (as NNabla does, so an
initializer made before ``nn.seed`` keeps drawing from the generator it was made with). Values are float32.
"""

from __future__ import annotations

import numpy as np

from . import random as _random


def calc_uniform_lim_glorot(inmaps, outmaps, kernel=(1, 1)):
    """(-d, d) with d = sqrt(6 / (prod(kernel) * (inmaps + outmaps))): Glorot's uniform limits."""
    d = np.sqrt(6.0 / (np.prod(kernel) * (inmaps + outmaps)))
    return -d, d


def calc_normal_std_glorot(inmaps, outmaps, kernel=(1, 1)):
    """sqrt(2 / (prod(kernel) * (inmaps + outmaps))): Glorot's normal standard deviation."""
    return np.sqrt(2.0 / (np.prod(kernel) * (inmaps + outmaps)))


def calc_normal_std_he_forward(inmaps, outmaps, kernel=(1, 1)):
    """sqrt(2 / (prod(kernel) * inmaps)): He's standard deviation for the forward pass."""
    return np.sqrt(2.0 / (np.prod(kernel) * inmaps))


def calc_normal_std_he_backward(inmaps, outmaps, kernel=(1, 1)):
    """sqrt(2 / (prod(kernel) * outmaps)): He's standard deviation for the backward pass."""
    return np.sqrt(2.0 / (np.prod(kernel) * outmaps))


class BaseInitializer:
    """Called with a shape, returns a numpy array of that shape."""

    def __call__(self, shape):
        raise NotImplementedError()


class NormalInitializer(BaseInitializer):
    """Samples of N(0, sigma^2)."""

    def __init__(self, sigma=1.0, rng=None):
        self.rng = rng if rng is not None else _random.prng
        self.sigma = sigma

    def __repr__(self):
        return f"{type(self).__name__}({self.sigma})"

    def __call__(self, shape):
        return np.float32(self.rng.randn(*shape) * self.sigma)


class UniformInitializer(BaseInitializer):
    """Samples of U(lim[0], lim[1])."""

    def __init__(self, lim=(-1, 1), rng=None):
        self.rng = rng if rng is not None else _random.prng
        self.lim = lim

    def __repr__(self):
        return f"{type(self).__name__}({self.lim!r})"

    def __call__(self, shape):
        return np.float32(self.rng.uniform(self.lim[0], self.lim[1], size=shape))


class UniformIntInitializer(BaseInitializer):
    """Integers drawn uniformly from [lim[0], lim[1])."""

    def __init__(self, lim=(0, 10), rng=None):
        self.rng = rng if rng is not None else _random.prng
        self.lim = lim

    def __repr__(self):
        return f"{type(self).__name__}({self.lim!r})"

    def __call__(self, shape):
        return self.rng.randint(self.lim[0], self.lim[1], size=shape)


class RangeInitializer(BaseInitializer):
    """start + step * i along the last axis, repeated over the other axes."""

    def __init__(self, start=0, step=1):
        self.start = start
        self.step = step

    def __call__(self, shape):
        return np.broadcast_to(self.start + np.arange(0, shape[-1], 1) * self.step, shape)


class ConstantInitializer(BaseInitializer):
    """Every element ``value``."""

    def __init__(self, value=0):
        self.value = value

    def __call__(self, shape):
        return np.float32(np.ones(shape) * self.value)


class OrthogonalInitializer(BaseInitializer):
    """A (scaled) orthogonal matrix over (shape[0], prod(shape[1:])), from the SVD of a Gaussian sample."""

    def __init__(self, gain=1.0, rng=None):
        self.rng = rng if rng is not None else _random.prng
        self.gain = gain

    def __repr__(self):
        return f"{type(self).__name__}({self.gain})"

    def __call__(self, shape):
        flat_shape = (shape[0], int(np.prod(shape[1:])))
        x = self.rng.normal(0.0, 1.0, flat_shape)
        u, _, v = np.linalg.svd(x, full_matrices=False)
        q = u if u.shape == flat_shape else v
        return np.float32(q.reshape(shape) * self.gain)


class WeightNormalizationScaleInitializer(BaseInitializer):
    """The norm of ``w`` over every axis but ``dim`` (sqrt(sum w^2 + eps)): weight normalization's scale g."""

    def __init__(self, w, dim=0, eps=1e-12):
        self.w = w.get_unlinked_variable() if hasattr(w, "get_unlinked_variable") else w
        self.dim = dim
        self.eps = eps

    def __repr__(self):
        return f"{type(self).__name__}(dim={self.dim}, eps={self.eps})"

    def __call__(self, shape):
        w = self.w.d if hasattr(self.w, "d") else np.asarray(self.w)
        axes = tuple(a for a in range(w.ndim) if a != self.dim)
        return np.float32(np.sqrt(np.sum(w**2, axis=axes) + self.eps))
