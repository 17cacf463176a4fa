"""Training-loop speed: NNabla's Python API tutorial loop against the same step written by hand in numpy.

The model is the tutorial's ``length_mlp``: affine layers of [4, 8, 4, 2] units with tanh, then an affine to 1
output, trained on batches of 100 two-dimensional points with Adam(alpha=0.01) and weight decay 1e-6. Each
iteration runs ``forward(clear_no_need_grad=True)``, ``zero_grad``, ``backward(clear_buffer=True)``,
``weight_decay`` and ``update``. The numpy version does the same arithmetic in float32 over the same
parameters; both are timed in the same process, in alternating blocks, and the medians are compared.

Run: ``python benchmarks/bench_training.py`` (``--quick`` for a short smoke run).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla.solvers as S

HIDDEN = [4, 8, 4, 2]
BATCH = 100
ALPHA, BETA1, BETA2, EPS = 0.01, 0.9, 0.999, 1e-8
DECAY = 1e-6


def vector2length(x: np.ndarray) -> np.ndarray:
    return np.sqrt(np.sum(x**2, axis=1, keepdims=True))


def make_batches(count: int, seed: int = 0) -> list:
    """Batches from the tutorial's data provider (float64, as ``np.random.uniform`` returns)."""
    rng = np.random.RandomState(seed)
    out = []
    for _ in range(count):
        x = rng.uniform(-1, 1, size=(BATCH, 2))
        out.append((x, vector2length(x)))
    return out


class EngineTrainer:
    """The tutorial's loop on the engine's public API."""

    def __init__(self):
        nn.clear_parameters()
        nn.seed(313)
        self.x = nn.Variable([BATCH, 2])
        h = self.x
        for i, units in enumerate(HIDDEN):
            h = F.tanh(PF.affine(h, units, name=f"fc{i}"))
        y = PF.affine(h, 1, name="fc")
        self.label = nn.Variable([BATCH, 1])
        self.loss = F.reduce_mean(F.squared_error(y, self.label))
        self.params = nn.get_parameters()
        self.solver = S.Adam(alpha=ALPHA, beta1=BETA1, beta2=BETA2, eps=EPS)
        self.solver.set_parameters(self.params)

    def step(self, xx: np.ndarray, ll: np.ndarray) -> None:
        self.x.d = xx
        self.label.d = ll
        self.loss.forward(clear_no_need_grad=True)
        self.solver.zero_grad()
        self.loss.backward(clear_buffer=True)
        self.solver.weight_decay(DECAY)
        self.solver.update()

    def weights(self) -> list:
        return [v.d.copy() for v in self.params.values()]


class NumpyTrainer:
    """The same step in plain numpy: flat float32 buffers for weights, gradients and Adam's moments."""

    def __init__(self, weights: list):
        sizes = [w.size for w in weights]
        self.flat_w = np.concatenate([w.ravel() for w in weights]).astype(np.float32)
        self.flat_g = np.zeros_like(self.flat_w)
        self.m = np.zeros_like(self.flat_w)
        self.v = np.zeros_like(self.flat_w)
        self.t = 0
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.w = [self.flat_w[a:b].reshape(w.shape) for a, b, w in zip(offsets[:-1], offsets[1:], weights)]
        self.g = [self.flat_g[a:b].reshape(w.shape) for a, b, w in zip(offsets[:-1], offsets[1:], weights)]

    def step(self, xx: np.ndarray, ll: np.ndarray) -> None:
        w, g = self.w, self.g
        n_layers = len(w) // 2
        h = xx.astype(np.float32)
        label = ll.astype(np.float32)
        hs = [h]
        for k in range(n_layers - 1):
            h = np.tanh(h @ w[2 * k] + w[2 * k + 1])
            hs.append(h)
        y = h @ w[-2] + w[-1]
        diff = y - label
        self.loss = (diff * diff).mean()
        gy = np.float32(2.0 / diff.size) * diff
        g[-2][...] = hs[-1].T @ gy
        g[-1][...] = gy.sum(axis=0)
        gh = gy @ w[-2].T
        for k in range(n_layers - 2, -1, -1):
            ga = gh * (1 - hs[k + 1] * hs[k + 1])
            g[2 * k][...] = hs[k].T @ ga
            g[2 * k + 1][...] = ga.sum(axis=0)
            if k:
                gh = ga @ w[2 * k].T
        self.flat_g += np.float32(DECAY) * self.flat_w
        self.t += 1
        m, v, gf = self.m, self.v, self.flat_g
        m *= np.float32(BETA1)
        m += np.float32(1 - BETA1) * gf
        v *= np.float32(BETA2)
        v += np.float32(1 - BETA2) * gf * gf
        alpha_t = np.float32(ALPHA * np.sqrt(1 - BETA2**self.t) / (1 - BETA1**self.t))
        self.flat_w -= alpha_t * m / (np.sqrt(v) + np.float32(EPS))


def time_block(step, batches: list, iterations: int) -> float:
    """Microseconds per iteration of ``step`` over ``iterations`` batches."""
    n = len(batches)
    start = time.perf_counter()
    for i in range(iterations):
        xx, ll = batches[i % n]
        step(xx, ll)
    return (time.perf_counter() - start) / iterations * 1e6


def check_same_step(batches: list, steps: int = 20) -> float:
    """Largest weight difference between the two trainers after ``steps`` iterations from the same start."""
    engine = EngineTrainer()
    reference = NumpyTrainer(engine.weights())
    for xx, ll in batches[:steps]:
        engine.step(xx, ll)
        reference.step(xx, ll)
    return max(float(np.abs(a - b).max()) for a, b in zip(engine.weights(), reference.w))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run that only checks the script works")
    parser.add_argument("--iterations", type=int, default=2000, help="iterations per timed block")
    parser.add_argument("--repeats", type=int, default=5, help="timed blocks per implementation")
    args = parser.parse_args(argv)
    iterations, repeats = (50, 2) if args.quick else (args.iterations, args.repeats)

    batches = make_batches(256)
    diff = check_same_step(batches)
    if diff > 1e-4:
        raise SystemExit(f"the numpy step and the engine step disagree (max weight difference {diff:.3g})")

    engine = EngineTrainer()
    reference = NumpyTrainer(engine.weights())
    time_block(engine.step, batches, 20)  # warm caches and the solver's flat buffers
    time_block(reference.step, batches, 20)
    engine_us, numpy_us = [], []
    for _ in range(repeats):
        engine_us.append(time_block(engine.step, batches, iterations))
        numpy_us.append(time_block(reference.step, batches, iterations))
    e, r = statistics.median(engine_us), statistics.median(numpy_us)
    print(f"training step, MLP {HIDDEN}+1, batch {BATCH}, Adam; {repeats} x {iterations} iterations")
    print(f"  engine (nnabla API): {e:8.1f} us/iteration")
    print(f"  hand-written numpy:  {r:8.1f} us/iteration")
    print(f"  engine / numpy:      {e / r:8.2f}x numpy step (weights agree to {diff:.1e} after 20 steps)")
    return {"engine_us": e, "numpy_us": r, "ratio": e / r}


if __name__ == "__main__":
    main()
