"""Model files: clear errors for damaged or unsupported files, nothing changed by a failed load or save."""

import os

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla.solvers as S
from nnabla.utils.nnp_graph import NnpLoader
from nnabla.utils.save import save

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


@pytest.fixture(autouse=True)
def fresh_parameters():
    nn.clear_parameters()
    yield
    nn.clear_parameters()


def small_contents():
    nn.seed(1)
    x = nn.Variable((2, 3))
    y = PF.affine(F.relu(x), 2, name="fc")
    return {
        "networks": [{"name": "net", "batch_size": 2, "outputs": {"y": y}, "names": {"x": x}}],
        "executors": [{"name": "run", "network": "net", "data": ["x"], "output": ["y"]}],
    }


def damaged(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_truncated_nnp_names_the_file(tmp_path):
    with open(os.path.join(FIXTURES, "nnabla_model.nnp"), "rb") as f:
        path = damaged(tmp_path, "cut.nnp", f.read()[:300])
    with pytest.raises(ValueError, match=r"cut\.nnp.*not a readable \.nnp"):
        NnpLoader(path)


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("bad.nntxt", b"network { name: 'n' variable { nme: 'x' } }", "not a readable NNabla text protobuf"),
        ("bad.protobuf", b"\xff\xff\xff\xff garbage", "not a readable NNabla binary protobuf"),
        ("bad.nntxt", b"network { name: 'n' function { name: 'f' type: 'NoSuchOp' } }", "type 'NoSuchOp'"),
        ("bad.nntxt", b"network { name: 'n' function { name: 'f' type: 'ReLU' input: 'x' } }", "undeclared"),
    ],
)
def test_damaged_network_files_raise_clear_errors(tmp_path, name, data, message):
    with pytest.raises(ValueError, match=message):
        nn.graph_def.load(damaged(tmp_path, name, data))


def test_failed_parameter_load_changes_nothing(tmp_path):
    w = nn.parameter.get_parameter_or_create("w", (2,), need_grad=True)
    w.d = [1.0, 2.0]
    path = damaged(tmp_path, "p.protobuf", b"\x0a\x05broken")
    with pytest.raises(ValueError, match=r"load_parameters: .*p\.protobuf"):
        nn.load_parameters(path)
    assert list(nn.get_parameters()) == ["w"]
    np.testing.assert_array_equal(nn.get_parameters()["w"].d, [1.0, 2.0])


def test_parameter_protobuf_with_wrong_value_count_is_refused(tmp_path):
    from nnabla.utils import _proto

    proto = _proto.NNablaProtoBuf()
    p = proto.parameter.add(variable_name="w")
    p.shape.dim.extend([2, 2])
    p.data.extend([1.0, 2.0, 3.0])
    path = damaged(tmp_path, "short.protobuf", proto.SerializeToString())
    with pytest.raises(ValueError, match=r"'w'.*3 values for shape \(2, 2\)"):
        nn.load_parameters(path)
    assert not nn.get_parameters()


def test_failed_save_leaves_the_old_file(tmp_path):
    path = tmp_path / "model.nnp"
    save(str(path), small_contents())
    before = path.read_bytes()
    contents = small_contents()
    contents["executors"][0]["network"] = "missing"
    with pytest.raises(ValueError, match="missing is not found in networks"):
        save(str(path), contents)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.nnp"]


def test_unsupported_extensions_are_named():
    with pytest.raises(ValueError, match=r"unsupported file extension '\.zip'"):
        save("model.zip", small_contents())
    with pytest.raises(ValueError, match=r"unsupported file extension '\.csv'"):
        nn.graph_def.load("model.csv")


def test_states_protobuf_for_other_parameters_is_refused(tmp_path):
    a = nn.parameter.get_parameter_or_create("a", (3,), need_grad=True)
    solver = S.Momentum()
    solver.set_parameters({"a": a})
    solver.save_states(str(tmp_path / "s.protobuf"))
    other = S.Momentum()
    other.set_parameters({"b": nn.Variable((3,), need_grad=True)})
    with pytest.raises(ValueError, match="'a' is not a parameter of this solver"):
        other.load_states(str(tmp_path / "s.protobuf"))


def test_nntxt_with_parameters_and_executor_round_trip(tmp_path):
    contents = small_contents()
    y = contents["networks"][0]["outputs"]["y"]
    x = contents["networks"][0]["names"]["x"]
    x.d = np.arange(6).reshape(2, 3) - 2.5
    y.forward()
    path = str(tmp_path / "m.nntxt")
    save(path, contents, include_params=True)
    text = open(path).read()
    assert 'executor {\n  name: "run"\n  network_name: "net"' in text and 'variable_name: "fc/affine/W"' in text
    nn.clear_parameters()
    net = NnpLoader(path).get_network("net", batch_size=2)
    net.inputs["x"].d = x.d
    net.outputs["y"].forward()
    np.testing.assert_allclose(net.outputs["y"].d, y.d, rtol=1e-6)


INITIALIZED = """
network {
  name: "net"
  batch_size: 1
  variable { name: "x" type: "Buffer" shape { dim: -1 dim: 3 } }
  variable { name: "y" type: "Buffer" shape { dim: -1 dim: 2 } }
  variable { name: "W" type: "Parameter" shape { dim: 3 dim: 2 }
             initializer { type: "UniformAffineGlorot" multiplier: 1.0 } }
  variable { name: "b" type: "Parameter" shape { dim: 2 } initializer { type: "Constant" multiplier: 0.5 } }
  function { name: "Affine" type: "Affine" input: "x" input: "W" input: "b" output: "y" affine_param { base_axis: 1 } }
}
"""


def test_parameters_a_file_only_describes_are_initialized_as_nnabla_does(tmp_path):
    path = tmp_path / "init.nntxt"
    path.write_text(INITIALIZED)
    net = NnpLoader(str(path)).get_network("net", batch_size=1)
    # NNabla 1.36's NnpLoader gives these values (its loader's generator is RandomState(1223))
    expected = [
        [0.06370407342910767, -0.7375536561012268],
        [1.077354907989502, -1.039014220237732],
        [0.3182584345340729, -0.7888800501823425],
    ]
    np.testing.assert_array_equal(net.variables["W"].d, np.float32(expected))
    np.testing.assert_array_equal(net.variables["b"].d, [0.5, 0.5])


def test_a_loaded_network_trains_its_parameters(tmp_path):
    path = str(tmp_path / "m.nnp")
    save(path, small_contents())
    nn.clear_parameters()
    net = NnpLoader(path).get_network("net", batch_size=2)
    assert sorted(nn.get_parameters()) == ["fc/affine/W", "fc/affine/b"]  # set in the current scope, as NNabla
    w = nn.get_parameters()["fc/affine/W"]
    before = w.d.copy()
    solver = S.Sgd(lr=0.1)
    solver.set_parameters(nn.get_parameters())
    net.inputs["x"].d = np.ones((2, 3))
    loss = F.sum(net.outputs["y"])
    loss.forward()
    solver.zero_grad()
    loss.backward()
    solver.update()
    np.testing.assert_allclose(w.d, before - 0.1 * 2.0, rtol=1e-6)  # d(sum y)/dW = sum over the batch of relu(x)


def test_global_and_training_config_round_trip(tmp_path):
    from nnabla.ext_utils import get_extension_context
    from nnabla.utils.load import load

    contents = small_contents()
    ctx = get_extension_context("cpu")
    contents["global_config"] = {"default_context": ctx}
    contents["training_config"] = {"max_epoch": 3, "iter_per_epoch": 20, "save_best": True}
    path = str(tmp_path / "m.nntxt")
    save(path, contents)
    assert 'backends: "cpu:float"' in open(path).read()
    before = nn.get_current_context()
    try:
        info = load([path])
        assert str(info.default_context) == str(ctx) == str(nn.get_current_context())  # the file's, made default
    finally:
        nn.set_default_context(before)
    t = info.training_config
    assert (t.max_epoch, t.iter_per_epoch, t.save_best, t.monitor_interval) == (3, 20, True, 10)
