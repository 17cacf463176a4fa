"""The workloads on NNabla's Python API: run by our engine and by real NNabla 1.36 alike (the same code).

Training steps are NNabla's idiom: ``forward(clear_no_need_grad=True)``, ``zero_grad``,
``backward(clear_buffer=True)``, ``update``; inference is ``forward(clear_buffer=True)``.
"""

from __future__ import annotations

import harness
import numpy as np

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla.solvers as S


def _trainer(loss, inputs, solver, decay=None):
    """A training step on fixed batches (``inputs``: Variable -> array, written each step as a loop would)."""
    solver.set_parameters(nn.get_parameters())

    def step():
        for v, a in inputs.items():
            v.d = a
        loss.forward(clear_no_need_grad=True)
        solver.zero_grad()
        loss.backward(clear_buffer=True)
        if decay is not None:
            solver.weight_decay(decay)
        solver.update()

    return step


def tutorial_mlp():
    nn.clear_parameters()
    rng = np.random.RandomState(0)
    x = nn.Variable([harness.TUTORIAL_BATCH, 2])
    label = nn.Variable([harness.TUTORIAL_BATCH, 1])
    h = x
    for i, units in enumerate(harness.TUTORIAL_HIDDEN):
        h = F.tanh(PF.affine(h, units, name=f"fc{i}"))
    loss = F.reduce_mean(F.squared_error(PF.affine(h, 1, name="fc"), label))
    xx = rng.uniform(-1, 1, size=(harness.TUTORIAL_BATCH, 2))
    data = {x: xx, label: np.sqrt(np.sum(xx**2, axis=1, keepdims=True))}
    return _trainer(loss, data, S.Adam(alpha=0.01), decay=1e-6)


def _classifier(label, logits):
    return F.mean(F.softmax_cross_entropy(logits, label))


def mnist_mlp():
    nn.clear_parameters()
    rng = np.random.RandomState(0)
    units = harness.MLP_UNITS
    x = nn.Variable([harness.MLP_BATCH, units[0]])
    label = nn.Variable([harness.MLP_BATCH, 1])
    h = x
    for i, n in enumerate(units[1:-1]):
        h = F.relu(PF.affine(h, n, name=f"fc{i}"))
    loss = _classifier(label, PF.affine(h, units[-1], name="out"))
    data = {x: rng.rand(*x.shape).astype(np.float32), label: rng.randint(0, units[-1], size=label.shape)}
    return _trainer(loss, data, S.Momentum(lr=0.1, momentum=0.9))


def lenet():
    """NNabla's MNIST example LeNet: two 5x5 convolutions of 16 maps with 2x2 max pooling, then 50 and 10 units."""
    nn.clear_parameters()
    rng = np.random.RandomState(0)
    x = nn.Variable([harness.LENET_BATCH, 1, 28, 28])
    label = nn.Variable([harness.LENET_BATCH, 1])
    h = F.relu(F.max_pooling(PF.convolution(x, 16, (5, 5), name="conv1"), (2, 2)))
    h = F.relu(F.max_pooling(PF.convolution(h, 16, (5, 5), name="conv2"), (2, 2)))
    h = F.relu(PF.affine(h, 50, name="fc3"))
    loss = _classifier(label, PF.affine(h, 10, name="fc4"))
    data = {x: rng.rand(*x.shape).astype(np.float32), label: rng.randint(0, 10, size=label.shape)}
    return _trainer(loss, data, S.Adam())


def _resnet(x, test):
    c = harness.RESNET_CHANNELS

    def conv_bn(h, name):
        h = PF.convolution(h, c, (3, 3), pad=(1, 1), with_bias=False, name=name)
        return PF.batch_normalization(h, batch_stat=not test, name=name + "_bn")

    h = F.relu(conv_bn(x, "stem"))
    r = conv_bn(F.relu(conv_bn(h, "conv1")), "conv2")
    h = F.global_average_pooling(F.relu(h + r))
    return PF.affine(h, 10, name="fc")


def resnet_train():
    nn.clear_parameters()
    rng = np.random.RandomState(0)
    x = nn.Variable([harness.RESNET_BATCH, 3, 32, 32])
    label = nn.Variable([harness.RESNET_BATCH, 1])
    loss = _classifier(label, _resnet(x, test=False))
    data = {x: rng.randn(*x.shape).astype(np.float32), label: rng.randint(0, 10, size=label.shape)}
    return _trainer(loss, data, S.Momentum(lr=0.01, momentum=0.9))


def resnet_infer():
    nn.clear_parameters()
    x = nn.Variable([harness.RESNET_BATCH, 3, 32, 32])
    y = _resnet(x, test=True)
    batch = np.random.RandomState(0).randn(*x.shape).astype(np.float32)

    def infer():
        x.d = batch
        y.forward(clear_buffer=True)

    return infer


def _chain(h):
    for i in range(harness.CHAIN_LENGTH):
        h = F.add_scalar(h, 0.01) if i % 2 == 0 else F.tanh(h)
    return h


def _chain_input():
    return np.random.RandomState(0).randn(*harness.CHAIN_SHAPE).astype(np.float32)


def backward_chain(seconds):
    x = nn.Variable.from_numpy_array(_chain_input(), need_grad=True)
    y = _chain(x)
    y.forward()
    return harness.per_unit_us(y.backward, harness.CHAIN_LENGTH, seconds)


def dynamic_call(seconds):
    x = nn.Variable.from_numpy_array(_chain_input(), need_grad=True)

    def build():
        with nn.auto_forward():
            _chain(x)

    return harness.per_unit_us(build, harness.CHAIN_LENGTH, seconds)


def imperative_call(seconds):
    x = nn.NdArray.from_numpy_array(_chain_input())
    return harness.per_unit_us(lambda: _chain(x), harness.CHAIN_LENGTH, seconds)


STEPS = {
    "tutorial_mlp": tutorial_mlp,
    "mnist_mlp": mnist_mlp,
    "lenet": lenet,
    "resnet_train": resnet_train,
    "resnet_infer": resnet_infer,
}
TIMERS = harness.step_timers(STEPS)
TIMERS.update(backward_chain=backward_chain, dynamic_call=dynamic_call, imperative_call=imperative_call)

if __name__ == "__main__":
    harness.main(TIMERS, STEPS)
