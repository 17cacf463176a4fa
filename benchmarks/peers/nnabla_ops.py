"""Single functions at a size where the kernel, not the call, decides: one script that both NNabla engines run
unchanged (ours and real NNabla 1.36), for ``benchmarks/bench_ops.py``.

``python nnabla_ops.py time NAME[,NAME...]|all [--quick]`` prints one JSON object on its last line:
case -> [microseconds of a forward, microseconds of a forward and a backward] (the backward None where the case
has no gradient). Each case is a static graph of one function (sometimes with the small per-channel parameters
it needs) on inputs of about half a million float32 elements; timings are medians of five blocks, after two
warm-up calls.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import numpy as np

import nnabla as nn
import nnabla.functions as F

IMAGE = (32, 16, 32, 32)  # a batch of feature maps: 524,288 elements
MATRIX = (512, 1024)  # rows of features
CHANNEL = (1, 16, 1, 1)


def _positive(shape):
    return lambda rng: (rng.rand(*shape) + 0.5).astype(np.float32)


def _normal(shape):
    return lambda rng: rng.randn(*shape).astype(np.float32)


def _labels(shape, classes):
    return lambda rng: rng.randint(0, classes, size=shape).astype(np.int32)


def _probabilities(shape):
    return lambda rng: rng.uniform(0.05, 0.95, size=shape).astype(np.float32)


def _onehot_free(shape):
    return lambda rng: (rng.rand(*shape) > 0.5).astype(np.float32)


N, P = _normal(IMAGE), _positive(IMAGE)
NM = _normal(MATRIX)

# name -> (input makers, the graph of the inputs' Variables, which inputs take a gradient)
CASES = {
    # elementwise activations and math
    "relu": ([N], lambda x: F.relu(x), [0]),
    "leaky_relu": ([N], lambda x: F.leaky_relu(x, 0.1), [0]),
    "elu": ([N], lambda x: F.elu(x), [0]),
    "selu": ([N], lambda x: F.selu(x), [0]),
    "gelu": ([N], lambda x: F.gelu(x), [0]),
    "swish": ([N], lambda x: F.swish(x), [0]),
    "mish": ([N], lambda x: F.mish(x), [0]),
    "sigmoid": ([N], lambda x: F.sigmoid(x), [0]),
    "tanh": ([N], lambda x: F.tanh(x), [0]),
    "softplus": ([N], lambda x: F.softplus(x), [0]),
    "relu6": ([N], lambda x: F.relu6(x), [0]),
    "hard_sigmoid": ([N], lambda x: F.hard_sigmoid(x), [0]),
    "log_sigmoid": ([N], lambda x: F.log_sigmoid(x), [0]),
    "prelu": ([N, lambda rng: np.full((16,), 0.25, np.float32)], lambda x, w: F.prelu(x, w, base_axis=1), [0, 1]),
    "exp": ([N], lambda x: F.exp(x), [0]),
    "log": ([P], lambda x: F.log(x), [0]),
    "erf": ([N], lambda x: F.erf(x), [0]),
    "abs": ([N], lambda x: F.abs(x), [0]),
    "pow_scalar": ([P], lambda x: F.pow_scalar(x, 1.5), [0]),
    "add2": ([N, N], lambda a, b: F.add2(a, b), [0, 1]),
    "mul2": ([N, N], lambda a, b: F.mul2(a, b), [0, 1]),
    "div2": ([N, P], lambda a, b: F.div2(a, b), [0, 1]),
    "add2_broadcast": ([N, _normal(CHANNEL)], lambda a, b: F.add2(a, b), [0, 1]),
    "mul_scalar": ([N], lambda x: F.mul_scalar(x, 3.0), [0]),
    "maximum2": ([N, N], lambda a, b: F.maximum2(a, b), [0, 1]),
    "clip_by_value": ([N], lambda x: F.clip_by_value(x, -0.5, 0.5), [0]),
    "dropout": ([N], lambda x: F.dropout(x, 0.5, seed=1), [0]),
    # reductions, softmax and losses
    "sum_axis1": ([N], lambda x: F.sum(x, axis=1), [0]),
    "mean_spatial": ([N], lambda x: F.mean(x, axis=(2, 3)), [0]),
    "max_axis1": ([N], lambda x: F.max(x, axis=1), [0]),
    "sum_all": ([N], lambda x: F.sum(x), [0]),
    "cumsum": ([NM], lambda x: F.cumsum(x, axis=1), [0]),
    "softmax": ([NM], lambda x: F.softmax(x, axis=1), [0]),
    "log_softmax": ([NM], lambda x: F.log_softmax(x, axis=1), [0]),
    "softmax_cross_entropy": ([NM, _labels((512, 1), 1024)], lambda x, t: F.softmax_cross_entropy(x, t), [0]),
    "sigmoid_cross_entropy": ([NM, _onehot_free(MATRIX)], lambda x, t: F.sigmoid_cross_entropy(x, t), [0]),
    "binary_cross_entropy": (
        [_probabilities(MATRIX), _onehot_free(MATRIX)],
        lambda x, t: F.binary_cross_entropy(x, t),
        [0],
    ),
    "squared_error": ([NM, NM], lambda a, b: F.squared_error(a, b), [0, 1]),
    "huber_loss": ([NM, NM], lambda a, b: F.huber_loss(a, b), [0, 1]),
    # normalization
    "batch_normalization": (
        [N, _normal(CHANNEL), _positive(CHANNEL), _normal(CHANNEL), _positive(CHANNEL)],
        lambda x, b, g, m, v: F.batch_normalization(x, b, g, m, v, batch_stat=True),
        [0, 1, 2],
    ),
    "batch_normalization_infer": (
        [N, _normal(CHANNEL), _positive(CHANNEL), _normal(CHANNEL), _positive(CHANNEL)],
        lambda x, b, g, m, v: F.batch_normalization(x, b, g, m, v, batch_stat=False),
        [0, 1, 2],
    ),
    "layer_normalization": (
        [N, _normal((1, 16, 32, 32)), _positive((1, 16, 32, 32))],
        lambda x, b, g: F.layer_normalization(x, b, g, batch_axis=0),
        [0, 1, 2],
    ),
    "instance_normalization": (
        [N, _normal(CHANNEL), _positive(CHANNEL)],
        lambda x, b, g: F.instance_normalization(x, b, g, channel_axis=1, batch_axis=[0]),
        [0, 1, 2],
    ),
    "group_normalization": (
        [N, _normal(CHANNEL), _positive(CHANNEL)],
        lambda x, b, g: F.group_normalization(x, b, g, num_groups=4, channel_axis=1, batch_axis=[0]),
        [0, 1, 2],
    ),
    # convolutions and pooling
    "convolution_3x3": (
        [N, lambda rng: (rng.randn(16, 16, 3, 3) * 0.1).astype(np.float32), _normal((16,))],
        lambda x, w, b: F.convolution(x, w, b, pad=(1, 1)),
        [0, 1, 2],
    ),
    "convolution_stride2": (
        [N, lambda rng: (rng.randn(32, 16, 3, 3) * 0.1).astype(np.float32)],
        lambda x, w: F.convolution(x, w, None, pad=(1, 1), stride=(2, 2)),
        [0, 1],
    ),
    "depthwise_convolution": (
        [N, lambda rng: (rng.randn(16, 3, 3) * 0.1).astype(np.float32)],
        lambda x, w: F.depthwise_convolution(x, w, None, pad=(1, 1)),
        [0, 1],
    ),
    "deconvolution_stride2": (
        [_normal((32, 16, 16, 16)), lambda rng: (rng.randn(16, 16, 4, 4) * 0.1).astype(np.float32)],
        lambda x, w: F.deconvolution(x, w, None, pad=(1, 1), stride=(2, 2)),
        [0, 1],
    ),
    "max_pooling_2x2": ([N], lambda x: F.max_pooling(x, (2, 2)), [0]),
    "max_pooling_3x3_s2": ([N], lambda x: F.max_pooling(x, (3, 3), (2, 2), pad=(1, 1)), [0]),
    "average_pooling_2x2": ([N], lambda x: F.average_pooling(x, (2, 2)), [0]),
    "global_average_pooling": ([N], lambda x: F.global_average_pooling(x), [0]),
    "interpolate_linear_x2": ([N], lambda x: F.interpolate(x, scale=(2, 2), mode="linear"), [0]),
    "interpolate_nearest_x2": ([N], lambda x: F.interpolate(x, scale=(2, 2), mode="nearest"), [0]),
    # dense layers and array functions
    "affine": (
        [NM, lambda rng: (rng.randn(1024, 256) * 0.03).astype(np.float32), _normal((256,))],
        lambda x, w, b: F.affine(x, w, b),
        [0, 1, 2],
    ),
    "batch_matmul": ([_normal((64, 64, 128)), _normal((64, 128, 64))], lambda a, b: F.batch_matmul(a, b), [0, 1]),
    "embed": (
        [_labels((512, 16), 1000), lambda rng: rng.randn(1000, 64).astype(np.float32)],
        lambda i, w: F.embed(i, w),
        [1],
    ),
    "concatenate": ([N, N], lambda a, b: F.concatenate(a, b, axis=1), [0, 1]),
    "split_sum": ([N], lambda x: F.add_n(*F.split(x, axis=1)), [0]),
    "slice_strided": ([N], lambda x: F.slice(x, (0, 0, 0, 0), IMAGE, (1, 2, 2, 1)), [0]),
    "transpose": ([N], lambda x: F.transpose(x, (0, 2, 3, 1)), [0]),
    "broadcast": ([_normal((32, 16, 1, 32))], lambda x: F.broadcast(x, IMAGE), [0]),
    "tile": ([_normal((32, 16, 16, 16))], lambda x: F.tile(x, (1, 1, 2, 2)), [0]),
    "pad_reflect": ([N], lambda x: F.pad(x, (2, 2, 2, 2), mode="reflect"), [0]),
    "flip": ([N], lambda x: F.flip(x, axes=(2, 3)), [0]),
    "one_hot": ([_labels((8192, 1), 64)], lambda t: F.one_hot(t, (64,)), []),
    "sort": ([NM], lambda x: F.sort(x, axis=1), [0]),
    "top_k_data": ([NM], lambda x: F.top_k_data(x, 8), [0]),
    "where": (
        [lambda rng: (rng.rand(*IMAGE) > 0.5).astype(np.float32), N, N],
        lambda c, a, b: F.where(c, a, b),
        [1, 2],
    ),
    "greater": ([N, N], lambda a, b: F.greater(a, b), []),
    "rand": ([], lambda: F.rand(shape=IMAGE, seed=1), []),
    "randn": ([], lambda: F.randn(shape=IMAGE, seed=1), []),
}


def per_call_us(run, seconds):
    """Median over five timed blocks of microseconds per call, after two warm-up calls."""
    run()
    run()
    start = time.perf_counter()
    run()
    once = max(time.perf_counter() - start, 1e-6)
    repeats = max(1, int(seconds / 5 / once))
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            run()
        times.append((time.perf_counter() - start) / repeats * 1e6)
    return statistics.median(times)


def measure(name, seconds):
    makers, graph, grads = CASES[name]
    rng = np.random.RandomState(0)
    xs = [nn.Variable.from_numpy_array(make(rng), need_grad=i in grads) for i, make in enumerate(makers)]
    y = graph(*xs)
    forward = per_call_us(lambda: y.forward(clear_no_need_grad=True), seconds)
    if not grads:
        return [forward, None]

    def step():
        y.forward(clear_no_need_grad=True)
        y.backward(clear_buffer=True)

    return [forward, per_call_us(step, seconds)]


def main():
    names = list(CASES) if sys.argv[2] == "all" else sys.argv[2].split(",")
    seconds = 0.05 if "--quick" in sys.argv else 0.3
    print(json.dumps({name: measure(name, seconds) for name in names}))


if __name__ == "__main__":
    main()
