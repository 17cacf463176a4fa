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
    return _traced_peak(step)


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


def _alive_when_its_producer_backward_runs(variable, producer_name, loss, leaf, passes=1):
    """Whether ``variable``'s data buffer is still allocated when the backward of ``producer_name`` starts, per pass
    (``leaf``'s gradient zeroed before each)."""
    seen = []

    def hook(func):
        if func.name == producer_name:
            seen.append(variable.data._is_allocated())

    for _ in range(passes):
        loss.forward(clear_no_need_grad=True)
        leaf.grad.zero()
        loss.backward(clear_buffer=True, function_pre_hook=hook)
    return seen


def test_clear_buffer_frees_data_once_no_remaining_backward_reads_it():
    x = nn.Variable.from_numpy_array(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), need_grad=True)
    s = F.sin(x)  # sin's backward reads x, not s: only the product's backward reads s
    loss = F.sum(s * s)
    assert _alive_when_its_producer_backward_runs(s, "Sin", loss, x, passes=2) == [False, False]
    np.testing.assert_allclose(x.g, 2 * np.sin(x.d) * np.cos(x.d), rtol=1e-5)


def test_clear_buffer_keeps_data_its_producer_backward_reads():
    x = nn.Variable.from_numpy_array(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), need_grad=True)
    t = F.tanh(x)  # tanh's backward reads its output
    loss = F.sum(t * t)
    assert _alive_when_its_producer_backward_runs(t, "Tanh", loss, x, passes=2) == [True, True]
    np.testing.assert_allclose(x.g, 2 * np.tanh(x.d) * (1 - np.tanh(x.d) ** 2), rtol=1e-5)


def test_the_compiled_backward_frees_data_as_early():
    x = nn.Variable.from_numpy_array(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), need_grad=True)
    s = F.sin(x)
    loss = F.sum(s * s)
    for _ in range(2):  # a plan is compiled on its second use
        loss.forward(clear_no_need_grad=True)
        loss.backward(clear_buffer=True)
    runs = loss._order.runs[True]  # the compiled steps: Sum, Mul2, Sin
    assert len(runs) == 3 and runs[2].function.name == "Sin"
    loss.forward(clear_no_need_grad=True)
    x.grad.zero()
    loss.grad.fill(1.0)
    runs[0]()
    runs[1]()
    assert not s.data._is_allocated()  # before Sin's backward runs
    runs[2]()
    np.testing.assert_allclose(x.g, 2 * np.sin(x.d) * np.cos(x.d), rtol=1e-5)


# -- the peak of a convolutional training step ----------------------------------------------------------------------
CONV_BATCH, CONV_MAPS, CONV_SIZE, CONV_KERNEL = 64, 16, 28, 5


def _conv_training_step():
    """NNabla's MNIST LeNet idiom, one convolution: conv 5x5, 2x2 max pooling, ReLU, affine, softmax cross entropy;
    forward(clear_no_need_grad), backward(clear_buffer), Adam. Returns the step, the loss and the convolution's
    output."""
    nn.clear_parameters()
    rng = np.random.RandomState(0)
    x = nn.Variable([CONV_BATCH, 1, CONV_SIZE, CONV_SIZE])
    label = nn.Variable([CONV_BATCH, 1])
    c = PF.convolution(x, CONV_MAPS, (CONV_KERNEL, CONV_KERNEL), name="conv")
    h = F.relu(F.max_pooling(c, (2, 2)))
    loss = F.mean(F.softmax_cross_entropy(PF.affine(h, 10, name="fc"), label))
    solver = S.Adam()
    solver.set_parameters(nn.get_parameters())
    xd = rng.rand(*x.shape).astype(np.float32)
    ld = rng.randint(0, 10, size=label.shape)

    def step():
        x.d, label.d = xd, ld
        loss.forward(clear_no_need_grad=True)
        solver.zero_grad()
        loss.backward(clear_buffer=True)
        solver.update()

    return step, loss, c


def _traced_peak(run) -> int:
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - start


def test_a_convolutional_training_step_holds_at_most_two_activations_at_once():
    # the largest arrays are the convolution's output and its gradient, one activation each (2.4 MB); the pooling
    # gradient needs only the gradient (the maxima's offsets are a byte per pooled output), and the im2col columns
    # go through in slices released when each primitive returns. So at no point are two activations alive along
    # with anything near the size of one: not the columns of the whole batch (3.7 MB), not the pooling's input
    activation = CONV_BATCH * CONV_MAPS * (CONV_SIZE - CONV_KERNEL + 1) ** 2 * 4
    step, _, _ = _conv_training_step()
    first = _traced_peak(step)  # the walked plans, as a graph's first step runs them
    second = _traced_peak(step)
    third = _traced_peak(step)  # the compiled ones
    for peak in (first, second, third):
        assert peak < 1.75 * activation, (first, second, third, activation)


def test_no_scratch_columns_outlive_a_convolution():
    from nnabla._ops import convolution

    step, _, _ = _conv_training_step()
    step()
    assert not getattr(convolution._scratch, "buffers", None)


def test_clear_no_need_grad_frees_the_input_of_max_pooling_as_nnabla_does():
    step, loss, c = _conv_training_step()
    step()
    loss.forward(clear_no_need_grad=True)
    assert not c.data._is_allocated()  # max pooling's backward reads the offsets its forward kept, not c
    step()  # and backward runs on them


def test_max_pooling_gradient_from_kept_offsets_equals_the_one_found_in_the_input():
    rng = np.random.RandomState(0)
    xd = np.round(rng.randn(3, 2, 7, 7) * 2).astype(np.float32)  # many ties: the first maximum takes the gradient
    xd.flat[::11] = np.nan  # a window holding NaN has no maximum: no gradient
    gd = rng.randn(3, 2, 4, 4).astype(np.float32)
    for stride, pad in (((2, 2), (0, 0)), ((1, 1), (1, 1))):
        x = nn.Variable.from_numpy_array(xd, need_grad=True)
        y = F.max_pooling(F.identity(x), (2, 2), stride=stride, pad=pad, ignore_border=False)
        y.forward(clear_no_need_grad=True)
        x.grad.zero()
        gy = rng.randn(*y.shape).astype(np.float32) if stride == (1, 1) else gd
        y.backward(gy, clear_buffer=True)
        found = F.max_pooling_backward(
            nn.Variable.from_numpy_array(gy), nn.Variable.from_numpy_array(xd), (2, 2), stride, False, pad
        )
        found.forward()
        np.testing.assert_array_equal(x.g, found.d)
