"""The workloads in PyTorch (CPU, eager): the same layers, shapes, losses and solvers as ``nnabla_api.py``.

A training step is ``zero_grad``, forward, ``backward``, ``step``; inference runs under ``torch.no_grad()`` with
batch normalization in eval mode (running statistics), as ``batch_stat=False`` does in NNabla.
"""

from __future__ import annotations

import os

import harness
import torch
import torch.nn as tnn

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
torch.manual_seed(0)


def _trainer(model, loss_of, optimizer):
    def step():
        optimizer.zero_grad()
        loss_of(model).backward()
        optimizer.step()

    return step


def tutorial_mlp():
    layers, width = [], 2
    for units in harness.TUTORIAL_HIDDEN:
        layers += [tnn.Linear(width, units), tnn.Tanh()]
        width = units
    model = tnn.Sequential(*layers, tnn.Linear(width, 1))
    x = torch.rand(harness.TUTORIAL_BATCH, 2) * 2 - 1
    label = x.pow(2).sum(dim=1, keepdim=True).sqrt()
    loss_of = lambda m: tnn.functional.mse_loss(m(x), label)
    return _trainer(model, loss_of, torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-6))


def _classify(x, label):
    return lambda m: tnn.functional.cross_entropy(m(x), label)


def mnist_mlp():
    units = harness.MLP_UNITS
    layers = []
    for a, b in zip(units[:-2], units[1:-1]):
        layers += [tnn.Linear(a, b), tnn.ReLU()]
    model = tnn.Sequential(*layers, tnn.Linear(units[-2], units[-1]))
    x = torch.rand(harness.MLP_BATCH, units[0])
    label = torch.randint(0, units[-1], (harness.MLP_BATCH,))
    return _trainer(model, _classify(x, label), torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))


def lenet():
    model = tnn.Sequential(
        tnn.Conv2d(1, 16, 5),
        tnn.MaxPool2d(2),
        tnn.ReLU(),
        tnn.Conv2d(16, 16, 5),
        tnn.MaxPool2d(2),
        tnn.ReLU(),
        tnn.Flatten(),
        tnn.Linear(256, 50),
        tnn.ReLU(),
        tnn.Linear(50, 10),
    )
    x = torch.rand(harness.LENET_BATCH, 1, 28, 28)
    label = torch.randint(0, 10, (harness.LENET_BATCH,))
    return _trainer(model, _classify(x, label), torch.optim.Adam(model.parameters()))


class ResNetBlock(tnn.Module):
    def __init__(self):
        super().__init__()
        c = harness.RESNET_CHANNELS
        conv_bn = lambda cin: tnn.Sequential(tnn.Conv2d(cin, c, 3, padding=1, bias=False), tnn.BatchNorm2d(c))
        self.stem, self.conv1, self.conv2 = conv_bn(3), conv_bn(c), conv_bn(c)
        self.fc = tnn.Linear(c, 10)

    def forward(self, x):
        h = torch.relu(self.stem(x))
        r = self.conv2(torch.relu(self.conv1(h)))
        return self.fc(torch.relu(h + r).mean(dim=(2, 3)))


def _resnet_input():
    return torch.randn(harness.RESNET_BATCH, 3, 32, 32)


def resnet_train():
    model = ResNetBlock()
    label = torch.randint(0, 10, (harness.RESNET_BATCH,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return _trainer(model, _classify(_resnet_input(), label), optimizer)


def resnet_infer():
    model = ResNetBlock().eval()
    x = _resnet_input()

    def infer():
        with torch.no_grad():
            model(x)

    return infer


def _chain(h):
    for i in range(harness.CHAIN_LENGTH):
        h = h + 0.01 if i % 2 == 0 else torch.tanh(h)
    return h


def backward_chain(seconds):
    x = torch.randn(*harness.CHAIN_SHAPE, requires_grad=True)
    y = _chain(x)
    seed = torch.ones_like(y)
    return harness.per_unit_us(lambda: y.backward(seed, retain_graph=True), harness.CHAIN_LENGTH, seconds)


def dynamic_call(seconds):
    x = torch.randn(*harness.CHAIN_SHAPE, requires_grad=True)
    return harness.per_unit_us(lambda: _chain(x), harness.CHAIN_LENGTH, seconds)


def imperative_call(seconds):
    x = torch.randn(*harness.CHAIN_SHAPE)
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
