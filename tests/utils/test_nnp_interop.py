"""Model files made by real NNabla 1.36 load here with the same network and numbers, and ours match theirs.

The fixtures (tests/utils/fixtures/nnabla_*) were written by tests/reference/make_model_fixtures.py with NNabla
from the network in nnp_models.py, trained one Adam step; ``nnabla_model_outputs.npz`` holds what NNabla
computed. That NNabla reads the files we write is checked by hand with tests/reference/check_ours_in_nnabla.py.
"""

import io
import os
import sys
import zipfile

import numpy as np
import pytest

import nnabla as nn
import nnabla.solvers as S
from nnabla.utils.load import load
from nnabla.utils.nnp_graph import NnpLoader
from nnabla.utils.save import save

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from nnp_models import build, contents_of  # noqa: E402

FIXTURES = os.path.join(HERE, "fixtures")
REF = np.load(os.path.join(FIXTURES, "nnabla_model_outputs.npz"))
PARAMS = {k[len("param:") :]: REF[k] for k in REF.files if k.startswith("param:")}
STATES = {k[len("state:") :]: REF[k] for k in REF.files if k.startswith("state:")}


def fixture(name):
    return os.path.join(FIXTURES, name)


@pytest.fixture(autouse=True)
def fresh_parameters():
    nn.clear_parameters()
    yield
    nn.clear_parameters()


def trained():
    """Our engine's copy of the fixture's network, after the same Adam step."""
    x, t, y, loss = build(nn)
    solver = S.Adam(alpha=0.01)
    solver.set_parameters(nn.get_parameters())
    x.d, t.d = REF["x"], REF["t"]
    loss.forward()
    solver.zero_grad()
    loss.backward()
    solver.update()
    y.forward()
    return x, t, y, loss, solver


# -- NNabla's files, read here --------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["nnabla_model.nnp", "nnabla_model.nntxt", "nnabla_model.protobuf"])
def test_nnp_loader_gives_nnablas_outputs(name):
    nnp = NnpLoader(fixture(name))
    assert nnp.get_network_names() == ["training", "runtime"]
    net = nnp.get_network("runtime", batch_size=2)
    assert list(net.inputs) == ["x"] and list(net.outputs) == ["y"]
    net.inputs["x"].d = REF["x"]
    net.outputs["y"].forward()
    np.testing.assert_allclose(net.outputs["y"].d, REF["y"], rtol=1e-5, atol=1e-6)
    training = nnp.get_network("training", batch_size=2)
    assert sorted(training.inputs) == ["t", "x"] and list(training.outputs) == ["loss"]
    for k, v in PARAMS.items():
        np.testing.assert_allclose(training.variables[k].d, v, rtol=1e-6, atol=1e-7)


def test_nnp_loader_batch_size_sets_input_shapes():
    net = NnpLoader(fixture("nnabla_model.nnp")).get_network("runtime", batch_size=5)
    assert net.inputs["x"].shape == (5, 1, 6, 6)
    assert net.outputs["y"].shape == (5, 3)
    assert net.variables["fc2/affine/W"].shape == (5, 3)


def test_graph_def_load_calls_a_network_on_given_inputs():
    g = nn.graph_def.load(fixture("nnabla_model.nnp"))
    assert list(g.networks) == ["training", "runtime"]
    assert g.networks["runtime"].inputs == ["x"] and g.networks["runtime"].outputs == ["y"]
    y = g.runtime(nn.Variable.from_numpy_array(REF["x"]))
    y.forward()
    np.testing.assert_allclose(y.d, REF["y"], rtol=1e-5, atol=1e-6)


def test_load_reads_executors_optimizers_monitors_and_datasets():
    info = load([fixture("nnabla_model.nnp")])
    assert list(info.networks) == ["training", "runtime"]
    executor = info.executors["inference"]
    assert [v.name for v in executor.dataset_assign] == ["x"]
    [(out, (_, data_name))] = executor.output_assign.items()
    assert (out.name, data_name) == ("y", "y")
    list(executor.dataset_assign)[0].variable_instance.d = REF["x"]
    executor.forward_target.forward()
    np.testing.assert_allclose(executor.forward_target.d, REF["y"], rtol=1e-5, atol=1e-6)
    optimizer = info.optimizers["optimizer"]
    assert optimizer.solver.name == "Adam" and optimizer.network_name == "training"
    assert optimizer.solver.learning_rate() == pytest.approx(0.01)
    # the solver updates what needs a gradient: batch-norm statistics have learning-rate multiplier 0
    assert sorted(optimizer.parameters) == sorted(k for k in PARAMS if not k.endswith(("/mean", "/var")))
    assert info.monitors["training_loss"].monitor_variables == ["loss"]
    assert info.datasets["made_data"].variables == ["x", "t"] and info.datasets["made_data"].shuffle


def assert_states_are_nnablas(solver):
    states = solver.get_states()
    for key, value in STATES.items():
        pname, sname = key.rsplit("/", 1)
        np.testing.assert_array_equal(states[pname].pstate[sname].d, value)
        assert states[pname].t == 1


@pytest.mark.parametrize("kind", ["h5", "protobuf"])
def test_load_sets_solver_states_an_nnp_holds(kind):
    info = load([fixture(f"nnabla_model_states_{kind}.nnp")])
    assert_states_are_nnablas(info.optimizers["optimizer"].solver)


def test_load_parameters_reads_nnablas_protobuf():
    nn.load_parameters(fixture("nnabla_params.protobuf"))
    params = nn.get_parameters(grad_only=False)
    assert list(params) == list(PARAMS)
    for k, v in PARAMS.items():
        np.testing.assert_array_equal(params[k].d, v)
    assert not params["bn1/bn/mean"].need_grad and params["fc1/affine/W"].need_grad


def test_load_states_reads_nnablas_protobuf():
    build(nn)
    solver = S.Adam(alpha=0.01)
    solver.set_parameters(nn.get_parameters())
    solver.load_states(fixture("nnabla_adam_states.protobuf"))
    assert_states_are_nnablas(solver)


# -- ours, as NNabla writes them ------------------------------------------------------------------------
def test_our_network_text_is_nnablas_byte_for_byte():
    x, t, y, loss, solver = trained()
    buffer = io.BytesIO()
    save(buffer, contents_of(x, t, y, loss, solver), extension=".nnp")
    ours = zipfile.ZipFile(buffer)
    theirs = zipfile.ZipFile(fixture("nnabla_model.nnp"))
    assert ours.namelist() == theirs.namelist() == ["nnp_version.txt", "network.nntxt", "parameter.h5"]
    assert ours.read("nnp_version.txt") == theirs.read("nnp_version.txt") == b"0.1\n"
    assert ours.read("network.nntxt").decode() == theirs.read("network.nntxt").decode()


@pytest.mark.parametrize("ext", [".nnp", ".nntxt", ".protobuf"])
def test_our_files_load_back_with_the_same_outputs(tmp_path, ext):
    x, t, y, loss, solver = trained()
    expected = y.d.copy()
    path = tmp_path / f"model{ext}"
    save(str(path), contents_of(x, t, y, loss, solver), include_params=True)
    nn.clear_parameters()
    net = NnpLoader(str(path)).get_network("runtime", batch_size=2)
    net.inputs["x"].d = REF["x"]
    net.outputs["y"].forward()
    np.testing.assert_allclose(net.outputs["y"].d, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("fmt", [".h5", ".protobuf"])
def test_our_nnp_with_solver_states_round_trip(tmp_path, fmt):
    x, t, y, loss, solver = trained()
    states = {(p, s): v.d.copy() for p, st in solver.get_states().items() for s, v in st.pstate.items()}
    path = str(tmp_path / "with_states.nnp")
    save(path, contents_of(x, t, y, loss, solver), include_solver_state=True, solver_state_format=fmt)
    theirs = "optimizer.protobuf.optimizer" if fmt == ".protobuf" else "optimizer_Adam_optimizer.h5.optimizer"
    assert zipfile.ZipFile(path).namelist()[-1] == theirs
    nn.clear_parameters()
    loaded = load([path]).optimizers["optimizer"].solver
    for (p, s), v in states.items():
        np.testing.assert_array_equal(loaded.get_states()[p].pstate[s].d, v)


def test_parameter_and_state_protobuf_round_trip(tmp_path):
    *_, solver = trained()
    params = {k: v.d.copy() for k, v in nn.get_parameters(grad_only=False).items()}
    states = {(p, s): v.d.copy() for p, st in solver.get_states().items() for s, v in st.pstate.items()}
    nn.save_parameters(str(tmp_path / "p.protobuf"))
    solver.save_states(str(tmp_path / "s.protobuf"))
    nn.clear_parameters()
    nn.load_parameters(str(tmp_path / "p.protobuf"))
    loaded = nn.get_parameters(grad_only=False)
    assert list(loaded) == list(params)
    for k, v in params.items():
        np.testing.assert_array_equal(loaded[k].d, v)
    fresh = S.Adam(alpha=0.01)
    fresh.set_parameters(nn.get_parameters())
    fresh.load_states(str(tmp_path / "s.protobuf"))
    for (p, s), v in states.items():
        np.testing.assert_array_equal(fresh.get_states()[p].pstate[s].d, v)
