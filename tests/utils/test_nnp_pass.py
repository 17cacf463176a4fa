"""NnpNetworkPass: networks rewritten while NnpLoader builds them, as NNabla 1.36 rewrites them.

Each row builds the fixture's ``runtime`` network with one pass; the expected inputs, outputs, function
sequence and output sum are what NNabla 1.36 gives for the same lines.
"""

import os

import numpy as np
import pytest

import nnabla as nn
from nnabla.utils.nnp_graph import NnpLoader, NnpNetworkPass

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
REF = np.load(os.path.join(FIXTURES, "nnabla_model_outputs.npz"))
ALL = ["Convolution", "BatchNormalization", "ReLU", "MaxPooling", "Affine", "Tanh", "Affine"]


def replace_tanh_by_sigmoid(p):
    @p.on_generate_function_by_type("Tanh")
    def to_sigmoid(f):
        f.proto.type = "Sigmoid"
        return f


PASSES = [
    # (name, set up the pass, inputs, outputs, functions, sum of the output)
    ("use_up_to", lambda p: p.use_up_to("@runtime/MaxPooling_out"), ["x"], ["@runtime/MaxPooling_out"], ALL[:4], 29.34),
    ("remove_and_rewire", lambda p: p.remove_and_rewire("@runtime/ReLU"), ["x"], ["y"], ALL[:2] + ALL[3:], -2.822),
    (
        "drop_function",
        lambda p: p.drop_function("@runtime/Tanh"),
        ["@runtime/Tanh_out", "x"],
        ["@runtime/Affine_out", "y"],
        ALL[:5],
        4.683,
    ),
    ("batch_stat", lambda p: p.set_batch_normalization_batch_stat_all(True), ["x"], ["y"], ALL, -4.042),
    ("on_generate_function_by_type", replace_tanh_by_sigmoid, ["x"], ["y"], ALL[:5] + ["Sigmoid", "Affine"], 0.068),
    ("fix_parameters", lambda p: p.fix_parameters(), ["x"], ["y"], ALL, -2.945),
]


@pytest.fixture(autouse=True)
def fresh_parameters():
    nn.clear_parameters()
    yield
    nn.clear_parameters()


def built(setup, batch_size=2):
    network_pass = NnpNetworkPass()
    setup(network_pass)
    return NnpLoader(os.path.join(FIXTURES, "nnabla_model.nnp")).get_network("runtime", batch_size, network_pass)


@pytest.mark.parametrize("name, setup, inputs, outputs, functions, total", PASSES, ids=[p[0] for p in PASSES])
def test_passes_rewrite_as_nnabla(name, setup, inputs, outputs, functions, total):
    net = built(setup)
    assert sorted(net.inputs) == inputs and sorted(net.outputs) == outputs
    net.inputs["x"].d = REF["x"]
    y = net.outputs[outputs[0]]
    y.forward()
    seen = []
    y.visit(lambda f: seen.append(f.info.type_name))
    assert seen == functions
    assert float(y.d.sum()) == pytest.approx(total, abs=2e-3)
    if name == "fix_parameters":
        assert not any(v.need_grad for v in net.variables.values() if v is not None)


def test_set_variable_feeds_a_variable_of_our_own():
    x = nn.Variable((3, 1, 6, 6))
    net = built(lambda p: p.set_variable("x", x), batch_size=3)
    assert net.inputs["x"] is x and net.outputs["y"].shape == (3, 3)
    x.d = np.concatenate([REF["x"], REF["x"][:1]])
    net.outputs["y"].forward()
    np.testing.assert_allclose(net.outputs["y"].d[:2], REF["y"], rtol=1e-5, atol=1e-6)


def test_average_pooling_passes():
    def net(x):
        import nnabla.functions as F

        return F.average_pooling(x, (2, 2))

    x = nn.Variable((1, 2, 4, 4))
    y = net(x)
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"pool-{os.getpid()}.nntxt")
    from nnabla.utils.save import save

    save(path, {"networks": [{"name": "n", "batch_size": 1, "outputs": {"y": y}, "names": {"x": x}}]})
    try:
        with pytest.raises(ValueError, match="not for global pooling"):
            p = NnpNetworkPass()
            p.check_average_pooling_global("AveragePooling", by_type=True)
            NnpLoader(path).get_network("n", 1, p)
        p = NnpNetworkPass()
        p.force_average_pooling_global("@n/AveragePooling")
        assert NnpLoader(path).get_network("n", 1, p).outputs["y"].shape == (1, 2, 1, 1)
    finally:
        os.remove(path)
