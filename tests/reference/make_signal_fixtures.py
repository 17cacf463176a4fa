"""Writes tests/engine/fixtures/signal.npz from real NNabla 1.36 (run by hand with its python):

    "$(/work/shared/tools/nnabla-reference)" tests/reference/make_signal_fixtures.py

STFT and ISTFT (both directions and the backward flags) on small inputs, with the input gradients of a fixed
random weighting of the outputs. NNabla's CPU build has no FFT forward, so FFT is checked against numpy instead.
"""

import os

import numpy as np

import nnabla as nn
import nnabla.functions as F

CASES = {
    "stft_hanning": (dict(window_size=8, stride=4, fft_size=8), "stft", (2, 20)),
    "stft_hamming_pad": (dict(window_size=6, stride=2, fft_size=8, window_type="hamming"), "stft", (1, 13)),
    "stft_rect_constant": (
        dict(window_size=4, stride=2, fft_size=4, window_type=None, pad_mode="constant"),
        "stft",
        (2, 9),
    ),
    "stft_nocenter": (dict(window_size=8, stride=3, fft_size=8, center=False), "stft", (1, 20)),
    "stft_as_istft_backward": (
        dict(window_size=8, stride=4, fft_size=8, pad_mode="constant", as_istft_backward=True),
        "stft",
        (2, 16),
    ),
    "istft_hanning": (dict(window_size=8, stride=4, fft_size=8, pad_mode="constant"), "istft", (2, 5, 6)),
    "istft_nocenter": (
        dict(window_size=8, stride=2, fft_size=8, window_type="hamming", center=False, pad_mode="constant"),
        "istft",
        (1, 5, 5),
    ),
    "istft_as_stft_backward": (dict(window_size=8, stride=4, fft_size=8, as_stft_backward=True), "istft", (2, 5, 6)),
}


def main():
    rng = np.random.RandomState(0)
    out = {}
    for name, (kw, kind, shape) in CASES.items():
        ins = [rng.randn(*shape).astype(np.float32) for _ in range(1 if kind == "stft" else 2)]
        xs = [nn.Variable.from_numpy_array(a, need_grad=True) for a in ins]
        ys = F.stft(*xs, **kw) if kind == "stft" else (F.istft(*xs, **kw),)
        weights = [rng.randn(*y.shape).astype(np.float32) for y in ys]
        loss = (
            F.add_n(*[F.sum(y * nn.Variable.from_numpy_array(w)) for y, w in zip(ys, weights)])
            if len(ys) > 1
            else F.sum(ys[0] * nn.Variable.from_numpy_array(weights[0]))
        )
        for x in xs:
            x.grad.zero()
        loss.forward()
        loss.backward()
        for i, a in enumerate(ins):
            out[f"{name}/x{i}"] = a
            out[f"{name}/gx{i}"] = xs[i].g.copy()
        for k, (y, w) in enumerate(zip(ys, weights)):
            out[f"{name}/y{k}"] = y.d.copy()
            out[f"{name}/w{k}"] = w
    path = os.path.join(os.path.dirname(__file__), "..", "engine", "fixtures", "signal.npz")
    np.savez_compressed(path, **out)


if __name__ == "__main__":
    main()
