"""Random functions: Rand, Randint, Randn, RandBinomial, RandBeta, RandGamma, RandomChoice and Dropout.

Functions draw where they compute: with numpy's generators on the CPU, with the device module's own under a
'cuda'/'cudnn' context (``nnabla.random.function_generator`` / ``new_generator``), so no draw crosses from the
host. ``seed=-1`` draws from the shared generator (reset by ``nn.seed``); any other seed gives the function its
own, so two functions made with the same seed produce the same numbers. Each function remembers the generator
state (numpy) or the draws (device) of its last forward, so ``recompute`` replays exactly the same randomness.
"""

from __future__ import annotations

import math

import numpy as np

from .. import random as _random
from ..function import Function, FunctionError, register
from ._base import NoGrad


class Sampler(Function):
    """Shared seeding and replay; subclasses write ``sample(xp, rng, *xs)``."""

    stochastic = True
    # argument -> (test, what it must be): distribution parameters numpy would refuse only when drawing
    limits: dict = {}

    def init(self):
        for key, (test, what) in self.limits.items():
            if not test(self.args[key]):
                raise FunctionError(f"{self.type_name}: {key}={self.args[key]!r} must be {what}")
        seed = self.args["seed"]
        self._rng = np.random.RandomState(seed) if seed != -1 else None  # the host's; the device's is made on use
        self._device_rng = None
        self._replay_state = None
        self._replaying = False

    def _generator(self, xp):
        """This function's generator on array module ``xp``: its own for a seed, else the shared one."""
        if xp is np:
            return self._rng if self._rng is not None else _random.function_rng
        if self.args["seed"] == -1:
            return _random.function_generator(xp)
        if self._device_rng is None:
            self._device_rng = _random.new_generator(xp, self.args["seed"])
        return self._device_rng

    def compute(self, xp, *xs):
        rng = self._generator(xp)
        if isinstance(rng, np.random.RandomState):  # numpy's generator state is replayed
            if self._replaying and self._replay_state is not None:
                rng = np.random.RandomState()
                rng.set_state(self._replay_state)
            else:
                self._replay_state = rng.get_state()
        elif self._replaying and self._replay_state is not None:  # cupy's has no state to read: the draws are kept
            rng = _Replayed(self._replay_state)
        else:
            rng = _Recorded(rng)
            self._replay_state = rng.draws
        return self.sample(xp, rng, *xs)

    def sample(self, xp, rng, *xs):
        raise NotImplementedError

    def recompute(self, inputs, outputs) -> None:
        self._replaying = True
        try:
            self.forward(inputs, outputs)
        finally:
            self._replaying = False


class _Recorded:
    """A device generator that keeps what it draws, for a recomputation to be given the same draws."""

    def __init__(self, rng):
        self._rng, self.draws = rng, []

    def __getattr__(self, name):
        method = getattr(self._rng, name)

        def draw(*args, **kwargs):
            value = method(*args, **kwargs)
            self.draws.append(value)
            return value

        return draw


class _Replayed:
    """Gives back the draws a ``_Recorded`` kept, in order, whatever method is called."""

    def __init__(self, draws):
        self._draws = iter(draws)

    def __getattr__(self, name):
        return lambda *args, **kwargs: next(self._draws)


class Generator(Sampler, NoGrad):
    """A random array of the argument ``shape``, from no inputs."""

    inputs_spec = ()

    def output_shapes(self):
        shape = self.args["shape"]
        shape = tuple(shape) if isinstance(shape, (list, tuple)) else (shape,)
        if any(int(d) < 0 for d in shape):
            raise FunctionError(f"{self.type_name}: shape={shape} has a negative dimension")
        return [shape]

    def sample(self, xp, rng):
        return xp.asarray(self.draw(rng, tuple(self.output_shapes()[0])))

    def draw(self, rng, shape):
        raise NotImplementedError


@register
class Rand(Generator):
    """Uniform samples in [low, high)."""

    args_spec = {"low": 0, "high": 1, "shape": [], "seed": -1}
    limits = {"low": (math.isfinite, "a finite number"), "high": (math.isfinite, "a finite number")}

    def draw(self, rng, shape):
        return rng.uniform(self.args["low"], self.args["high"], size=shape)


@register
class Randint(Generator):
    """Integer samples uniform in [low, high), as int32."""

    args_spec = {"low": 0, "high": 1, "shape": [], "seed": -1}
    limits = {
        "low": (lambda v: float(v).is_integer(), "a whole number"),
        "high": (lambda v: float(v).is_integer(), "a whole number"),
    }

    def init(self):
        super().init()
        if self.args["high"] <= self.args["low"]:
            raise FunctionError(f"Randint: high={self.args['high']} must be greater than low={self.args['low']}")

    def draw(self, rng, shape):
        return rng.randint(self.args["low"], self.args["high"], size=shape).astype(np.int32)


@register
class Randn(Generator):
    """Normal samples with mean ``mu`` and standard deviation ``sigma``."""

    args_spec = {"mu": 0, "sigma": 1, "shape": [], "seed": -1}
    limits = {"sigma": (lambda s: s >= 0, "at least 0")}

    def draw(self, rng, shape):
        return rng.normal(self.args["mu"], self.args["sigma"], size=shape)


@register
class RandBinomial(Generator):
    """Binomial samples: successes in ``n`` trials of probability ``p`` (floats)."""

    args_spec = {"n": 1, "p": 0.5, "shape": [], "seed": -1}
    limits = {"n": (lambda n: n >= 0, "at least 0"), "p": (lambda p: 0 <= p <= 1, "in [0, 1]")}

    def draw(self, rng, shape):
        return rng.binomial(self.args["n"], self.args["p"], size=shape).astype(np.float64)


@register
class RandBeta(Generator):
    """Beta(alpha, beta) samples."""

    args_spec = {"alpha": 0.5, "beta": 0.5, "shape": [], "seed": -1}
    limits = {"alpha": (lambda a: a > 0, "positive"), "beta": (lambda b: b > 0, "positive")}

    def draw(self, rng, shape):
        return rng.beta(self.args["alpha"], self.args["beta"], size=shape)


@register
class RandGamma(Generator):
    """Gamma samples with shape ``k`` and scale ``theta``."""

    args_spec = {"k": 0.5, "theta": 1, "shape": [], "seed": -1}
    limits = {"k": (lambda k: k > 0, "positive"), "theta": (lambda t: t > 0, "positive")}

    def draw(self, rng, shape):
        return rng.gamma(self.args["k"], self.args["theta"], size=shape)


@register
class RandomChoice(Sampler):
    """Samples of the last axis of x, drawn with probabilities proportional to the weights w (the same shape);
    the output shape is x.shape[:-1] + shape (or + (1,) when shape is empty). Gradients of x and w both collect
    the output gradient at the chosen positions, as NNabla's do."""

    inputs_spec = ("x", "w")
    args_spec = {"shape": [], "replace": True, "seed": -1}
    grad_uses = ""

    def output_shapes(self, xs, ws):
        if tuple(xs) != tuple(ws) or not xs:
            raise FunctionError(f"RandomChoice: input x of shape {xs} and weights w of shape {ws} must match")
        shape = self.args["shape"]
        shape = tuple(shape) if isinstance(shape, (list, tuple)) else (shape,)
        self._draws = int(np.prod(shape)) if shape else 1
        if not self.args["replace"] and self._draws > xs[-1]:
            raise FunctionError(
                f"RandomChoice: cannot draw {self._draws} samples without replacement from populations of "
                f"{xs[-1]} (shape={list(shape)})"
            )
        self._in_shape = tuple(xs)
        self._out_shape = tuple(xs[:-1]) + (shape if shape else (1,))
        return [self._out_shape]

    def sample(self, xp, rng, x, w):
        n = x.shape[-1]
        if xp is not np:
            self._index = self._device_draws(xp, rng, w.reshape(-1, n).astype(np.float64))
            return xp.take_along_axis(x.reshape(-1, n), self._index, axis=1).reshape(self._out_shape)
        weights = w.reshape(-1, n).astype(np.float64)
        rows = []
        for row in weights:
            if (row < 0).any() or row.sum() <= 0:
                raise FunctionError("RandomChoice: weights must be non-negative with a positive sum in each row")
            if not self.args["replace"] and np.count_nonzero(row) < self._draws:
                raise FunctionError("RandomChoice: too few positive weights to sample without replacement")
            rows.append(rng.choice(n, size=self._draws, replace=self.args["replace"], p=row / row.sum()))
        self._index = xp.asarray(np.stack(rows))  # (populations, draws)
        y = xp.take_along_axis(x.reshape(-1, n), self._index, axis=1)
        return y.reshape(self._out_shape)

    def _device_draws(self, xp, rng, weights):
        """(populations, draws) indices drawn on the device, all rows at once (the weights are not checked there,
        which would read them back): by the inverse of each row's cumulative distribution with replacement, and
        without it by the largest keys log(u) / w (sampling proportional to w, one draw after another)."""
        if self.args["replace"]:
            cdf = xp.cumsum(weights, axis=1)
            u = rng.uniform(size=(weights.shape[0], self._draws)) * cdf[:, -1:]
            return xp.minimum((u[..., None] >= cdf[:, None, :]).sum(axis=-1), weights.shape[1] - 1)
        positive = weights > 0
        keys = xp.where(positive, xp.log(rng.uniform(size=weights.shape)) / xp.where(positive, weights, 1), -np.inf)
        return xp.argsort(-keys, axis=1)[:, : self._draws]

    def select(self, xp, xs, u):
        """u at the drawn positions (the derivative of y along u, for double backward)."""
        n = self._in_shape[-1]
        return xp.take_along_axis(u.reshape(-1, n), self._index, axis=1).reshape(self._out_shape)

    def grad(self, xp, xs, ys, gys, need):
        n = self._in_shape[-1]
        gy = gys[0].reshape(self._index.shape)
        onehot = self._index[..., None] == xp.arange(n)
        g = (onehot * gy[..., None]).sum(axis=1).reshape(self._in_shape)
        return (g if need[0] else None, g if need[1] else None)


@register
class Dropout(Sampler):
    """y = x * m / (1 - p) with m = 1 where a uniform sample exceeds p (else 0); backward reuses the same m."""

    args_spec = {"p": 0.5, "seed": -1}
    grad_uses = ""

    def init(self):
        super().init()
        p = self.args["p"]
        if not 0.0 <= p < 1.0:
            raise FunctionError(f"Dropout: p={p} must be in [0, 1)")

    def sample(self, xp, rng, x):
        keep = rng.uniform(size=x.shape) > self.args["p"]  # drawn where x is
        self._mask = keep.astype(x.dtype) * (1.0 / (1.0 - self.args["p"]))
        return x * self._mask

    def select(self, xp, xs, u):
        return u * self._mask  # the same mask, for double backward

    def grad(self, xp, xs, ys, gys, need):
        return (gys[0] * self._mask,)
