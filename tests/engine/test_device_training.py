"""Training under a 'cudnn' context (on the device double), equal to the CPU: parametric functions, every solver,
the tutorial's MLP loop, saving and loading, mixed precision, random generators; and a training step that copies
nothing between host and device but what the loop itself asks for."""

import numpy as np
import pytest
from test_solvers import IDS, RULES

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla.solvers as S
from nnabla.experimental.mixed_precision_training import DynamicLossScalingUpdater
from nnabla.ext_utils import get_extension_context, import_extension_module
from nnabla.function import PythonFunction

CPU = "cpu"
DEVICE = "cudnn"


def on_both(device, run):
    """``run(ctx)`` under the CPU's context and the device's, from the same parameter seed; both results."""
    results = []
    for ext in (CPU, DEVICE):
        nn.clear_parameters()
        nn.seed(313)
        results.append(run(get_extension_context(ext)))
    nn.clear_parameters()
    return results


def assert_close(cpu, dev):
    for k in cpu:
        np.testing.assert_allclose(dev[k], cpu[k], rtol=1e-5, atol=1e-6, err_msg=k)


PF_CASES = {
    "affine": lambda x: PF.affine(x, 5),
    "convolution": lambda x: PF.convolution(x, 3, (3, 3), pad=(1, 1)),
    "deconvolution": lambda x: PF.deconvolution(x, 3, (3, 3)),
    "depthwise_convolution": lambda x: PF.depthwise_convolution(x, (3, 3)),
    "batch_normalization": lambda x: PF.batch_normalization(x),
    "layer_normalization": lambda x: PF.layer_normalization(x),
    "group_normalization": lambda x: PF.group_normalization(x, 2),
    "instance_normalization": lambda x: PF.instance_normalization(x),
    "prelu": lambda x: PF.prelu(x),
}


def pf_training(name):
    """``run(ctx)`` for ``on_both``: two Momentum steps of ``PF_CASES[name]``; the values, and the parameters'
    array types."""

    def run(ctx):
        with nn.context_scope(ctx):
            x = nn.Variable.from_numpy_array(np.random.RandomState(0).randn(2, 4, 6, 6), need_grad=True)
            loss = F.mean(F.tanh(PF_CASES[name](x)))
            solver = S.Momentum(lr=0.1)
        solver.set_parameters(nn.get_parameters())
        for _ in range(2):
            loss.forward()
            solver.zero_grad()
            loss.backward()
            solver.update()
        placed = {type(p.data._array) for p in nn.get_parameters().values()}
        return {"x.g": x.g, **{k: p.d.copy() for k, p in nn.get_parameters().items()}}, placed

    return run


@pytest.mark.parametrize("name", list(PF_CASES))
def test_parametric_functions_train_on_the_device_as_on_the_cpu(device, name):
    (cpu, cpu_placed), (dev, dev_placed) = on_both(device, pf_training(name))
    assert cpu_placed == {np.ndarray} and dev_placed == {device.ndarray}
    assert_close(cpu, dev)


def make_params():
    rng = np.random.RandomState(0)
    return {name: nn.Variable.from_numpy_array(rng.randn(*shape), need_grad=True) for name, shape in
            [("w", (3, 4)), ("b", (4,)), ("u", (2, 2))]}  # fmt: skip


def solver_steps(cls, hyper):
    """``run(ctx)`` for ``on_both``: five steps of solver ``cls(**hyper)`` with decay and clipping; "u" sits out
    one, so its step count differs from the others'. The values, and the array types of the solver's buffers."""

    def run(ctx):
        params = make_params()
        with nn.context_scope(ctx):
            solver = cls(**hyper)
        solver.set_parameters(params)
        rng = np.random.RandomState(1)
        for step in range(5):
            solver.zero_grad()
            for name, p in params.items():
                if not (name == "u" and step == 1):
                    p.g = rng.randn(*p.shape)
            solver.weight_decay(1e-2)
            solver.clip_grad_by_norm(2.0)
            solver.update()
        states = {f"{k}/{s}": v.d for k, st in solver.get_states().items() for s, v in st.pstate.items()}
        kinds = {type(a) for a in (solver._flat_w, solver._flat_g, *solver._state.values())}
        return {**{k: p.d for k, p in params.items()}, **states}, kinds

    return run


@pytest.mark.parametrize("cls, hyper, state_names, rule", RULES, ids=IDS)
def test_every_solver_steps_on_the_device_as_on_the_cpu(device, cls, hyper, state_names, rule):
    (cpu, _), (dev, kinds) = on_both(device, solver_steps(cls, hyper))
    assert kinds == {device.ndarray}  # the flat buffers and the state live on the device
    assert_close(cpu, dev)


def test_loss_scaling_checks_and_scales_on_the_device(device):
    params = make_params()
    with nn.context_scope(get_extension_context(DEVICE)):
        solver = S.Sgd(lr=1.0)
    solver.set_parameters(params)
    solver.zero_grad()
    for p in params.values():
        p.g = np.full(p.shape, 4.0)
    assert not solver.check_inf_or_nan_grad()
    solver.scale_grad(0.25)
    np.testing.assert_array_equal(params["w"].g, np.ones((3, 4)))
    params["b"].g[1] = np.inf  # written on the host: synced back before the check
    assert solver.check_inf_or_nan_grad() and solver.check_inf_grad() and not solver.check_nan_grad()


def seed_tutorial_mlp(ctx, iterations=20):
    """The MLP loop of the NNabla-by-examples tutorial (tanh affine layers, softmax cross entropy, Sgd lr=0.5)."""
    rng = np.random.RandomState(0)
    images, labels = rng.rand(64, 1, 8, 8), rng.randint(0, 10, (64, 1))
    with nn.context_scope(ctx):
        x, t = nn.Variable((16, 1, 8, 8)), nn.Variable((16, 1))
        h = x
        with nn.parameter_scope("mlp"):
            for i, size in enumerate((32, 32)):
                with nn.parameter_scope(f"affine{i + 1}"):
                    h = F.tanh(PF.affine(h, size))
            with nn.parameter_scope("classifier"):
                y = PF.affine(h, 10)
        loss = F.mean(F.softmax_cross_entropy(y, t))
        solver = S.Sgd(lr=0.5)
    solver.set_parameters(nn.get_parameters())
    losses = []
    for i in range(iterations):
        batch = slice(16 * (i % 4), 16 * (i % 4 + 1))
        x.d, t.d = images[batch], labels[batch]
        loss.forward()
        solver.zero_grad()
        loss.backward()
        solver.update()
        losses.append(float(loss.d))
    return losses, {k: p.d.copy() for k, p in nn.get_parameters().items()}


def test_the_tutorial_mlp_trains_on_the_device_as_on_the_cpu(device):
    (cpu_losses, cpu), (dev_losses, dev) = on_both(device, seed_tutorial_mlp)
    np.testing.assert_allclose(dev_losses, cpu_losses, rtol=1e-5)
    assert dev_losses[-1] < dev_losses[0]
    assert_close(cpu, dev)


def test_a_training_step_copies_only_what_the_loop_asks_for(device):
    """Per iteration: the batch and the target to the device, the loss to the host; nothing else crosses."""
    with nn.context_scope(get_extension_context(DEVICE)):
        x, t = nn.Variable((8, 5)), nn.Variable((8, 2))
        y = PF.affine(F.relu(PF.affine(x, 16, name="l1")), 2, name="l2")
        loss = F.mean(F.squared_error(y, t))
        solver = S.Adam(alpha=0.01)
    solver.set_parameters(nn.get_parameters())
    rng = np.random.RandomState(0)
    copies = []
    for _ in range(4):
        x.d, t.d = rng.randn(8, 5), rng.randn(8, 2)  # copied to the device when forward first reads them
        before = (device.transfers.to_device, device.transfers.to_host)
        loss.forward(clear_no_need_grad=True)
        solver.zero_grad()
        loss.backward(clear_buffer=True)
        solver.weight_decay(1e-4)
        solver.update()
        assert np.isfinite(loss.d)
        copies.append((device.transfers.to_device - before[0], device.transfers.to_host - before[1]))
    assert copies == [(2, 1)] * 4  # the parameters went to the device once, in set_parameters


def test_parameters_save_and_load_from_the_device(device, tmp_path):
    nn.clear_parameters()
    with nn.context_scope(get_extension_context(DEVICE)):
        x = nn.Variable.from_numpy_array(np.ones((2, 3)))
        y = PF.affine(x, 4, name="fc")
        solver = S.Adam()
    solver.set_parameters(nn.get_parameters())
    y.forward()
    y.backward()
    solver.update()
    expected = {k: p.data._host_copy() for k, p in nn.get_parameters().items()}
    device.transfers.reset()
    nn.save_parameters(str(tmp_path / "p.h5"))
    assert device.transfers.to_host == 2  # one copy per parameter, which stays on the device
    assert all(isinstance(p.data._array, device.ndarray) for p in nn.get_parameters().values())
    solver.save_states(str(tmp_path / "s.h5"))
    from nnabla.utils.save import save

    network = {"name": "n", "batch_size": 2, "outputs": {"y": y}, "names": {"x": x}}
    executor = {"name": "e", "network": "n", "data": ["x"], "output": ["y"]}
    save(str(tmp_path / "net.nnp"), {"networks": [network], "executors": [executor]})
    for p in nn.get_parameters().values():
        p.data.zero()
    nn.load_parameters(str(tmp_path / "p.h5"))
    solver.load_states(str(tmp_path / "s.h5"))
    for k, p in nn.get_parameters().items():
        np.testing.assert_array_equal(p.d, expected[k])
    nn.clear_parameters()
    nn.load_parameters(str(tmp_path / "net.nnp"))
    for k, p in nn.get_parameters().items():
        np.testing.assert_array_equal(p.d, expected[k])
    solver.update()  # the solver syncs the loaded values back into its device buffers and goes on


def mixed_precision_training(ctx):
    """Four loss-scaled Adam steps under ``type_config='half'`` of ``ctx``'s backend (asserting float16 compute
    and float32 masters): the final loss scale and the parameters."""
    rng = np.random.RandomState(0)
    ctx = get_extension_context(ctx.backend[0].split(":")[0], type_config="half")
    with nn.context_scope(ctx):
        x, t = nn.Variable((8, 4)), nn.Variable((8, 3))
        y = PF.affine(F.tanh(PF.affine(x, 6, name="l1")), 3, name="l2")
        loss = F.mean(F.squared_error(y, t))
        solver = S.Adam(alpha=0.01)
    solver.set_parameters(nn.get_parameters())

    def feed():
        x.d, t.d = rng.randn(8, 4), rng.randn(8, 3)

    updater = DynamicLossScalingUpdater(solver, loss, feed, scale=2.0**20, N=2)
    with np.errstate(all="ignore"):
        for _ in range(4):
            updater.update()
    assert y.d.dtype == np.float16 and loss.d.dtype == np.float16
    for p in nn.get_parameters().values():
        assert p.d.dtype == np.float32 and p.g.dtype == np.float32
    assert {a.dtype for a in solver._state.values()} == {np.dtype(np.float32)}
    return updater.scale, {k: p.d.copy() for k, p in nn.get_parameters().items()}


def test_mixed_precision_keeps_float32_masters_with_loss_scaling(device):
    """type_config='half': functions compute in float16; parameters, gradients and solver state stay float32;
    the dynamic loss-scaling updater backs off from an overflowing scale. The CPU and the device agree."""
    (cpu_scale, cpu), (dev_scale, dev) = on_both(device, mixed_precision_training)
    assert cpu_scale == dev_scale < 2.0**20
    assert_close(cpu, dev)


def test_random_functions_have_a_device_generator_reset_by_seed(device):
    import nnabla.random as random

    generator = random.function_generator(device)
    assert isinstance(generator, device.random.RandomState) and random.function_generator(device) is generator
    nn.seed(7)
    first = generator.normal(size=3).get()
    nn.seed(7)
    np.testing.assert_array_equal(generator.normal(size=3).get(), first)
    np.testing.assert_array_equal(
        random.new_generator(device, 5).normal(size=3).get(), device.random.RandomState(5).normal(size=3).get()
    )
    assert random.function_generator(np) is random.function_rng


def test_the_cuda_extension_has_nnablas_functions(device):
    cuda = import_extension_module("cuda")
    cudnn = import_extension_module("cudnn")
    assert cuda.get_device_count() == 1 and cuda.get_devices() == ["0"] and cudnn.get_devices() == ["0"]
    synced = device.cuda.synchronized[0]
    cuda.device_synchronize("0")
    cudnn.synchronize(device_id=0)
    assert device.cuda.synchronized[0] == synced + 2
    freed = device.get_default_memory_pool().freed
    cudnn.clear_memory_cache()
    assert device.get_default_memory_pool().freed == freed + 1
    handler = cuda.StreamEventHandler(0)
    handler.stream_wait_event()
    handler.event_synchronize()
    handler.stream_synchronize()
    handler.default_stream_synchronize()
    assert handler.value is not None
    free, total = cuda.get_device_memory_size("0")
    assert 0 < free <= total
    assert cudnn.context(device_id=0).device_id == "0"
    with pytest.raises(RuntimeError, match="device_id='1' but only 1 GPU"):
        with nn.context_scope(cuda.context(device_id=1)):
            F.relu(nn.Variable((2,)))


class Square(PythonFunction):
    """A user function on numpy (``.d``/``.g``): under a CUDA context its data crosses to the host and back."""

    def setup_impl(self, inputs, outputs):
        outputs[0].reset_shape(inputs[0].shape, True)

    def forward_impl(self, inputs, outputs):
        outputs[0].d = inputs[0].d ** 2

    def backward_impl(self, inputs, outputs, propagate_down, accum):
        g = 2 * inputs[0].d * outputs[0].g
        if accum[0]:
            inputs[0].g += g
        else:
            inputs[0].g = g


def python_function(x):
    y = F.sum(Square()(F.tanh(x)))
    y.forward()
    y.backward()
    return y


def double_backward(x):
    gx = nn.grad([F.sum(F.tanh(x) * x)], [x])[0]
    z = F.sum(gx * gx)
    z.forward()
    z.backward()
    return z


def recomputed(x):
    with nn.recompute(True):
        h = F.tanh(F.mul_scalar(x, 2.0))
    y = F.sum(h * h)
    y.forward(clear_no_need_grad=True)
    y.backward(clear_buffer=True)
    return y


@pytest.mark.parametrize("graph", [python_function, double_backward, recomputed])
def test_python_functions_nn_grad_and_recompute_on_the_device(device, graph):
    def run(ctx):
        with nn.context_scope(ctx):
            x = nn.Variable.from_numpy_array(np.linspace(-1, 1, 6).reshape(2, 3), need_grad=True)
            y = graph(x)
        return {"y": y.d.copy(), "x.g": x.g.copy()}

    cpu, dev = on_both(device, run)
    assert_close(cpu, dev)


def test_solver_states_share_the_device_state(device):
    params = make_params()
    with nn.context_scope(get_extension_context(DEVICE)):
        solver = S.Adagrad()
    solver.set_parameters(params)
    solver.get_states()["w"].pstate["v"].d[...] = 4.0  # a host copy: synced back before the solver acts
    solver.zero_grad()
    assert (solver.get_states()["w"].pstate["v"].d == 4.0).all()


def test_protobuf_saving_leaves_parameters_on_the_device(device, tmp_path):
    with nn.context_scope(get_extension_context(DEVICE)):
        y = PF.affine(nn.Variable.from_numpy_array(np.ones((2, 3))), 4, name="fc")
    y.forward()
    expected = {k: p.data.get_data("r") for k, p in nn.get_parameters().items()}
    nn.save_parameters(str(tmp_path / "p.protobuf"))
    assert all(isinstance(p.data._array, device.ndarray) for p in nn.get_parameters().values())
    nn.clear_parameters()
    nn.load_parameters(str(tmp_path / "p.protobuf"))
    for k, p in nn.get_parameters().items():
        np.testing.assert_array_equal(p.d, expected[k])
