"""nn.graph_def: networks made from Variables carry NNabla's names and order, and call back into graphs.

Expected names and orders below were read off NNabla 1.36 running the same lines.
"""

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF


@pytest.fixture(autouse=True)
def fresh_parameters():
    nn.clear_parameters()
    yield
    nn.clear_parameters()


def branching_graph():
    nn.seed(0)
    x = nn.Variable((2, 6))
    b = F.relu(F.relu(x))
    s0, s1 = F.split(F.reshape(b, (2, 2, 3)), axis=1)
    return x, PF.affine(s0, 2, name="fc"), F.sigmoid(s1) + 1.0


def test_names_and_order_are_nnablas():
    x, c, d = branching_graph()
    n = nn.graph_def.create_graph_from_variable("net", [c, d], names={"x": x}).default_graph()
    assert list(n.variables) == [
        "x",
        "@net/ReLU_out",
        "@net/ReLU_out_1",
        "@net/Reshape_out",
        "@net/Split_out",
        "@net/Split_out_1",
        "@net/Affine_out",
        "@net/Sigmoid_out",
        "@net/AddScalar_out",
    ]
    assert list(n.parameters) == ["fc/affine/W", "fc/affine/b"]
    assert list(n.functions) == [
        "@net/ReLU",
        "@net/ReLU_1",
        "@net/Reshape",
        "@net/Split",
        "@net/Affine",
        "@net/Sigmoid",
        "@net/AddScalar",
    ]
    assert n.inputs == ["x"] and n.outputs == ["@net/Affine_out", "@net/AddScalar_out"]
    split = n.functions["@net/Split"]
    assert (split.type, split.inputs, split.outputs) == (
        "Split",
        ["@net/Reshape_out"],
        ["@net/Split_out", "@net/Split_out_1"],
    )
    assert split.args == {"axis": 1}


def test_unnamed_inputs_and_plain_variables():
    x = nn.Variable((2, 3))
    w = nn.Variable((3, 2), need_grad=True)  # not a registered parameter: a Buffer input
    y = F.affine(x, w) + F.relu(nn.Variable((2, 2))) * 2
    n = nn.graph_def.create_graph_from_variable("n", y).default_graph()
    assert list(n.variables) == [
        "@n/Affine_in",
        "@n/Affine_in_1",
        "@n/Affine_out",
        "@n/ReLU_in",
        "@n/ReLU_out",
        "@n/MulScalar_out",
        "@n/Add2_out",
    ]
    assert n.inputs == ["@n/Affine_in", "@n/Affine_in_1", "@n/ReLU_in"] and not n.parameters
    proto = n.as_proto()
    # the batch dimension becomes -1 where it leads: not in w's (3, 2)
    assert [list(v.shape.dim) for v in proto.variable] == [[-1, 3], [3, 2], [-1, 2], [-1, 2], [-1, 2], [-1, 2], [-1, 2]]
    assert proto.batch_size == 2


def test_network_call_rebuilds_the_graph_with_the_same_numbers():
    x, c, d = branching_graph()
    x.d = np.random.RandomState(0).randn(2, 6)
    F.sink(c, d).forward()
    g = nn.graph_def.create_graph_from_variable("net", [c, d], names={"x": x})
    xv = nn.Variable.from_numpy_array(x.d)
    c2, d2 = g(xv)
    F.sink(c2, d2).forward()
    np.testing.assert_array_equal(c2.d, c.d)
    np.testing.assert_array_equal(d2.d, d.d)
    assert g.net is g.networks["net"] is g.default_graph()
    again = g.net()  # no inputs given: the last ones are used again
    assert g.net.variables["x"].variable_instance is xv and again[0].shape == (2, 2)
    fresh = nn.graph_def.create_graph_from_variable("net", [c, d], names={"x": x})
    made = fresh()  # never called: new placeholder inputs, as NNabla (the graph keeps no activations)
    assert fresh.net.variables["x"].variable_instance is not x and made[0].shape == (2, 2)


@pytest.mark.parametrize("ext", [".nnp", ".nntxt", ".protobuf"])
def test_save_and_load_keep_networks_and_parameters(tmp_path, ext):
    x, c, d = branching_graph()
    x.d = np.arange(12).reshape(2, 6) / 6.0
    F.sink(c, d).forward()
    g = nn.graph_def.create_graph_from_variable("net", [c, d], names={"x": x})
    path = str(tmp_path / f"g{ext}")
    g.save(path, include_parameter=True)
    nn.clear_parameters()
    loaded = nn.graph_def.load(path)
    assert list(loaded.networks) == ["net"] and loaded.net.inputs == ["x"]
    assert list(loaded.get_parameters()) == ["fc/affine/W", "fc/affine/b"]
    assert not nn.get_parameters()  # a loaded graph keeps its parameters in a scope of its own
    c2, d2 = loaded(nn.Variable.from_numpy_array(x.d))
    F.sink(c2, d2).forward()
    np.testing.assert_allclose(c2.d, c.d, rtol=1e-6)
    np.testing.assert_allclose(d2.d, d.d, rtol=1e-6)
    fresh = nn.graph_def.load(path, batch_size=4)
    made = fresh.net()  # placeholders of the asked batch size, where the file has -1
    assert fresh.net.variables["x"].variable_instance.shape == (4, 6) and made[0].shape == (4, 2)


def test_default_graph_and_graph_scope():
    nn.graph_def.reset_default_graph()
    assert not nn.graph_def.get_default_graph().networks
    assert nn.graph_def.get_default_graph("missing") is None
    with nn.graph_def.graph(name="outer") as g:
        assert isinstance(g, nn.graph_def.ProtoGraph) and nn.graph_def.get_default_graph() is g
    assert nn.graph_def.get_default_graph() is not g
    with pytest.raises(ValueError, match="No network is found"):
        g.default_graph()
    with pytest.raises(AttributeError, match="no network or attribute 'nothing'"):
        g.nothing


def test_wrong_number_of_inputs_is_refused():
    x, c, d = branching_graph()
    g = nn.graph_def.create_graph_from_variable("net", [c, d], names={"x": x})
    with pytest.raises(ValueError, match=r"network 'net' takes 1 inputs \['x'\], got 2"):
        g(x, x)


class Block(nn.Module):
    def __init__(self, n):
        self.n = n

    def call(self, x):
        return F.tanh(PF.affine(x, self.n, name="fc"))


class TwoBlocks(nn.Module):
    def __init__(self):
        self.b1 = Block(4)
        self.b2 = Block(2)

    def call(self, x, y):
        return self.b2(self.b1(x)) * y, F.sigmoid(y)


def test_proto_variables_through_a_module_build_nnablas_network():
    nn.seed(1)
    model = TwoBlocks()
    x, y = nn.ProtoVariable((2, 3)), nn.ProtoVariable((2, 2))
    with nn.graph_def.graph(name="two") as g:
        a, b = model(x, y)
        model(x, y)  # a second call is a second network, named after the module
    assert list(g.networks) == ["two", "two_blocks"]
    net = g.networks["two"]
    assert list(net.functions) == [
        "@two_blocks/@b1/Affine",
        "@two_blocks/@b1/Tanh",
        "@two_blocks/@b2/Affine",
        "@two_blocks/@b2/Tanh",
        "@two_blocks/Mul2",
        "@two_blocks/Sigmoid",
    ]
    assert list(net.parameters) == ["@b1/fc/affine/W", "@b1/fc/affine/b", "@b2/fc/affine/W", "@b2/fc/affine/b"]
    assert net.inputs == ["@two_blocks/@b1/Affine_in", "@two_blocks/Mul2_in"]
    assert net.outputs == ["@two_blocks/Mul2_out", "@two_blocks/Sigmoid_out"]
    assert (a.name, b.name, x.name, y.name) == (*net.outputs, *net.inputs)
    assert a.parent == "@two_blocks/Mul2" and a.shape == (2, 2)
    out = g(nn.Variable.from_numpy_array(np.ones((2, 3))), nn.Variable.from_numpy_array(np.full((2, 2), 0.5)))
    F.sink(*out).forward()
    assert np.allclose(out[0].d, [[0.395234, -0.266855]] * 2, atol=1e-6)  # NNabla 1.36, nn.seed(1)
    assert np.allclose(out[1].d, 0.622459, atol=1e-6)


def test_proto_variables_outside_modules_make_a_network_called_model():
    with nn.graph_def.graph() as g:
        z = F.relu(nn.ProtoVariable((3,))) - 2
    assert list(g.networks) == ["model"]
    assert list(g.networks["model"].functions) == ["ReLU", "AddScalar"]
    assert z.name == "AddScalar_out" and z.shape == (3,)


def test_batch_normalization_in_out_adapter_flattens_the_axes_last_and_back():
    adapter = F.BatchNormalizationInOutAdapter(4, [0, 2, 3])
    assert (adapter.transpose_axes, adapter.inv_transpose_axes, adapter.outer_axes) == ([1, 0, 2, 3], [1, 0, 2, 3], [1])
    data = np.arange(120.0).reshape(2, 3, 4, 5)
    y = adapter(nn.Variable.from_numpy_array(data))
    back = adapter.inv(y)
    back.forward()
    assert y.shape == (3, 40) and np.array_equal(y.d, data.transpose(1, 0, 2, 3).reshape(3, 40))
    assert np.array_equal(back.d, data)
    assert F.BatchNormalizationInOutAdapter(3, [])(nn.Variable((2, 3, 4))).shape == (2, 3, 4, 1)
    with pytest.raises(AssertionError):
        adapter(nn.Variable((2, 3, 4, 6)))


def test_a_network_built_from_proto_variables_saves_and_loads(tmp_path):
    class M(nn.Module):
        def call(self, x):
            return F.relu(PF.affine(x, 4, name="fc")) + 1.0

    nn.seed(0)
    with nn.graph_def.graph() as g:
        M()(nn.ProtoVariable((2, 3)))
    g.save(str(tmp_path / "m.nnp"))
    loaded = nn.graph_def.load(str(tmp_path / "m.nnp"))
    assert (loaded.default_graph().inputs, loaded.default_graph().outputs) == (["@m/Affine_in"], ["@m/AddScalar_out"])
    y = loaded(nn.Variable.from_numpy_array(np.ones((2, 3))))
    y.forward()
    assert np.allclose(y.d, [[1.8075578, 1.4527724, 1.6148846, 1.8620331]] * 2)  # NNabla 1.36, nn.seed(0)
