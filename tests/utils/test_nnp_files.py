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
