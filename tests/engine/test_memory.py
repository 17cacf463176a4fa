"""Buffer clearing: clear_no_need_grad and clear_buffer really release intermediate arrays; persistent keeps one."""

import tracemalloc

import numpy as np

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla.solvers as S

LAYERS, BATCH, WIDTH = 20, 256, 256


def _deep_mlp():
    nn.clear_parameters()
    nn.seed(0)
    x = nn.Variable.from_numpy_array(np.random.RandomState(0).randn(BATCH, WIDTH).astype(np.float32))
    h = x
    for i in range(LAYERS):
        h = F.tanh(PF.affine(h, WIDTH, name=f"fc{i}"))
    loss = F.mean(h * h)
    solver = S.Sgd(lr=0.01)
    solver.set_parameters(nn.get_parameters())
    return loss, solver


def _peak_bytes_of_a_training_step(clear: bool) -> int:
    loss, solver = _deep_mlp()

    def step():
        loss.forward(clear_no_need_grad=clear)
        solver.zero_grad()
        loss.backward(clear_buffer=clear)
        solver.update()

    step()  # parameters, gradients and solver buffers exist before measuring
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - start


def test_clearing_buffers_cuts_the_peak_memory_of_a_training_step():
    without = _peak_bytes_of_a_training_step(clear=False)
    with_clearing = _peak_bytes_of_a_training_step(clear=True)
    activation = BATCH * WIDTH * 4
    # without clearing every affine and tanh output and gradient of the 20 layers is alive at the end
    assert without > 2 * LAYERS * activation
    assert with_clearing < 0.4 * without, (with_clearing, without)


def test_clearing_does_not_change_the_gradients():
    grads = []
    for clear in (False, True):
        loss, solver = _deep_mlp()
        loss.forward(clear_no_need_grad=clear)
        solver.zero_grad()
        loss.backward(clear_buffer=clear)
        grads.append([p.g.copy() for p in nn.get_parameters().values()])
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)


def test_clear_no_need_grad_frees_data_backward_will_not_read():
    x = nn.Variable.from_numpy_array(np.ones((2, 3), np.float32), need_grad=True)
    w = nn.Variable.from_numpy_array(np.ones((3, 4), np.float32), need_grad=True)
    a = F.affine(x, w)  # tanh's gradient reads its output, not this input
    y = F.tanh(a)
    loss = F.sum(y)
    loss.forward(clear_no_need_grad=True)
    assert not a.data._is_allocated()
    assert y.data._is_allocated()


def test_clear_buffer_in_backward_frees_intermediates_and_their_grads():
    x = nn.Variable.from_numpy_array(np.ones((2, 3), np.float32), need_grad=True)
    h = F.tanh(x * 2)
    loss = F.sum(h)
    loss.forward()
    loss.backward(clear_buffer=True)
    assert not h.data._is_allocated() and not h.grad._is_allocated()
    assert x.data._is_allocated() and x.grad._is_allocated()  # leaves are kept
    np.testing.assert_allclose(x.g, 2 * (1 - np.tanh(2.0) ** 2), rtol=1e-5)


def test_persistent_keeps_a_buffer_through_clearing():
    x = nn.Variable.from_numpy_array(np.ones((2, 3), np.float32), need_grad=True)
    a = x * 2
    a.persistent = True
    b = F.tanh(a + 1)
    loss = F.sum(b)
    loss.forward(clear_no_need_grad=True)
    loss.backward(clear_buffer=True)
    np.testing.assert_array_equal(a.d, np.full((2, 3), 2.0))
    assert not b.data._is_allocated()
