"""The recurrent and attention parametric functions: NNabla's signatures, parameter names, shapes, need_grad flags,
initial values and outputs (tests/engine/fixtures/recurrent.npz, made by real NNabla from the same calls)."""

import inspect
import os

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF

FIXTURES = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "recurrent.npz"))
INPUTS = {k.split("/", 1)[1]: FIXTURES[k] for k in FIXTURES.files if k.startswith("pf_in/")}

# argument names and defaults, as NNabla 1.36 prints them
SIGNATURES = {
    "rnn": "x, h, w0_init=None, w_init=None, b_init=None, num_layers=1, nonlinearity='tanh', dropout=0.0, "
    "bidirectional=False, training=True, rng=None, with_bias=True, fix_parameters=False, name=None",
    "lstm": "x, h, c, w0_init=None, w_init=None, b_init=None, num_layers=1, dropout=0.0, bidirectional=False, "
    "training=True, rng=None, with_bias=True, fix_parameters=False, name=None",
    "gru": "x, h, w0_init=None, w_init=None, b_init=None, num_layers=1, dropout=0.0, bidirectional=False, "
    "training=True, rng=None, with_bias=True, fix_parameters=False, name=None",
    "multi_head_attention": "query, key, value, num_heads=12, dropout=0.0, k_embed_dim=None, v_embed_dim=None, "
    "out_dim=None, rng=None, with_bias=True, add_attn_bias=False, additive_mask=None, key_padding_mask=None, "
    "fix_parameters=False, param_init=None, name=None",
    "transformer": "src, tgt, embed_dim=512, num_heads=8, num_encoder_layers=6, num_decoder_layers=6, "
    "dim_feedforward=2048, dropout=0.1, activation=None, src_additive_mask=None, tgt_additive_mask=None, "
    "memory_additive_mask=None, src_key_padding_mask=None, tgt_key_padding_mask=None, "
    "memory_key_padding_mask=None, rng=None, add_attn_bias=False, fix_parameters=False, name=None",
    "transformer_encode": "src, embed_dim, num_heads, dim_feedforward=2048, dropout=0.1, activation=None, "
    "src_additive_mask=None, src_key_padding_mask=None, rng=None, add_attn_bias=False, fix_parameters=False, "
    "name=None",
    "transformer_decode": "tgt, memory, embed_dim, num_heads, dim_feedforward=2048, dropout=0.1, activation=None, "
    "tgt_additive_mask=None, memory_additive_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None, "
    "rng=None, add_attn_bias=False, fix_parameters=False, name=None",
}


def plain_signature(f):
    return ", ".join(
        p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
        for p in inspect.signature(f).parameters.values()
        if p.name != "self"
    )


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_signature_is_nnabla_s(name):
    assert plain_signature(getattr(PF, name)) == SIGNATURES[name]


def test_lstm_cell_class_signature():
    assert plain_signature(PF.LSTMCell.__init__) == "batch_size, state_size, h=None, c=None, name=None"
    assert plain_signature(PF.LSTMCell.__call__) == "x, w_init=None, b_init=None, fix_parameters=False"


def nnabla_calls():
    """The calls tests/reference/make_recurrent_fixtures.py made, in the same order."""
    v = {k: nn.Variable.from_numpy_array(a) for k, a in INPUTS.items()}
    outs = {
        "rnn": PF.rnn(v["x"], v["h"], bidirectional=True, name="r"),
        "lstm": PF.lstm(v["x"], v["h"], v["c"], bidirectional=True),
        "gru": PF.gru(v["x"], v["h"][:1], bidirectional=True, with_bias=False),
        "mha": PF.multi_head_attention(v["q"], v["kv"], v["kv"], num_heads=2, add_attn_bias=True),
        "transformer": (
            PF.transformer(
                v["kv"],
                v["q"],
                embed_dim=4,
                num_heads=2,
                num_encoder_layers=1,
                num_decoder_layers=2,
                dim_feedforward=6,
                dropout=0.0,
            ),
        ),
    }
    cell = PF.LSTMCell(2, 4, name="cell")
    cell(v["cell_x"])
    outs["cell"] = (cell(v["cell_x"]), cell.c)
    return outs


@pytest.fixture
def replayed():
    nn.clear_parameters()
    nn.seed(313)
    outs = nnabla_calls()
    yield outs, nn.get_parameters(grad_only=False)
    nn.clear_parameters()


def test_parameter_names_order_and_need_grad_are_nnabla_s(replayed):
    _, params = replayed
    assert list(params) == list(FIXTURES["pf/names"])
    assert [p.need_grad for p in params.values()] == list(FIXTURES["pf/need_grad"])


def test_parameter_shapes_and_initial_values_are_nnabla_s(replayed):
    _, params = replayed
    for name, p in params.items():
        expected = FIXTURES[f"pf/param/{name}"]
        assert p.shape == expected.shape, name
        np.testing.assert_allclose(p.d, expected, rtol=1e-6, atol=1e-7, err_msg=name)


def test_outputs_are_nnabla_s(replayed):
    outs, _ = replayed
    for name, ys in outs.items():
        for j, y in enumerate(ys):
            y.forward()
            np.testing.assert_allclose(y.d, FIXTURES[f"pf_out/{name}/{j}"], atol=2e-6, rtol=1e-5, err_msg=name)


PARAMETERS = [  # call, {name: shape}
    (
        lambda x, h: PF.rnn(x, h[:, :1]),
        {"rnn/weight_l0": (1, 4, 7), "rnn/weight": (1, 1, 4, 8), "rnn/bias": (2, 1, 4)},
    ),
    (
        lambda x, h: PF.lstm(x, h, h, bidirectional=True, with_bias=False),
        {"lstm/weight_l0": (2, 4, 4, 7), "lstm/weight": (1, 2, 4, 4, 12)},
    ),
    (lambda x, h: PF.gru(x, h[:1, :1]), {"gru/weight_l0": (1, 3, 4, 7), "gru/bias": (1, 1, 4, 4)}),
    (
        lambda x, h: PF.multi_head_attention(x, x, x, num_heads=1, with_bias=False, out_dim=5),
        {
            "multi_head_attention/q_weight": (3, 3),
            "multi_head_attention/k_weight": (3, 3),
            "multi_head_attention/v_weight": (3, 3),
            "multi_head_attention/out_weight": (3, 5),
        },
    ),
]


@pytest.mark.parametrize("call, expected", PARAMETERS)
def test_parameter_shapes(call, expected):
    nn.clear_parameters()
    x = nn.Variable((5, 2, 3))
    h = nn.Variable((2, 2, 2, 4))
    call(x, h)
    assert {k: p.shape for k, p in nn.get_parameters(grad_only=False).items()} == expected
    nn.clear_parameters()


def test_fix_parameters_keeps_stored_parameters_trainable_but_uses_them_without_gradient():
    nn.clear_parameters()
    x, h = nn.Variable((3, 2, 4), need_grad=True), nn.Variable((1, 1, 2, 5))
    for call in (lambda: PF.rnn(x, h, fix_parameters=True), lambda: PF.lstm(x, h, h, fix_parameters=True)):
        y = call()[0]
        assert all(p.need_grad for p in nn.get_parameters(grad_only=False).values())
        assert not any(v.need_grad for v in y.parent.inputs[2:])
    nn.clear_parameters()


def test_parameters_are_reused_on_a_second_call():
    nn.clear_parameters()
    x = nn.Variable.from_numpy_array(INPUTS["x"])
    h = nn.Variable.from_numpy_array(INPUTS["h"])
    y1 = PF.gru(x, h, bidirectional=True)[0]
    y2 = PF.gru(x, h, bidirectional=True)[0]
    F.sink(y1, y2).forward()
    np.testing.assert_array_equal(y1.d, y2.d)
    assert len(nn.get_parameters()) == 3
    nn.clear_parameters()


def test_lstm_cell_keeps_its_state_and_resets_it():
    nn.clear_parameters()
    cell = PF.LSTMCell(2, 4, name="cell")
    assert cell.h.shape == cell.c.shape == (2, 4) and not cell.h.d.any()
    x = nn.Variable.from_numpy_array(INPUTS["cell_x"])
    h1 = cell(x)
    h1.forward()
    assert list(nn.get_parameters()) == ["cell/lstm/affine/W", "cell/lstm/affine/b"]
    assert cell.h is h1 and h1.d.any()
    cell.reset_state()
    assert not cell.h.d.any() and not cell.c.d.any()
    nn.clear_parameters()


def test_transformer_checks_its_inputs():
    with pytest.raises(ValueError, match="batch"):
        PF.transformer(nn.Variable((3, 2, 4)), nn.Variable((3, 1, 4)), embed_dim=4)
    with pytest.raises(ValueError, match="embed_dim=8"):
        PF.transformer(nn.Variable((3, 2, 4)), nn.Variable((3, 2, 4)), embed_dim=8)


def test_lstm_refuses_arguments_meant_for_lstm_cell():
    with pytest.raises(ValueError, match="lstm_cell"):
        PF.lstm(nn.Variable((3, 2, 4)), nn.Variable((1, 1, 2, 5)), nn.Variable((1, 1, 2, 5)), 5)


def test_a_saved_recurrent_network_loads_back_with_its_parameters(tmp_path):
    from nnabla.utils.nnp_graph import NnpLoader
    from nnabla.utils.save import save

    nn.clear_parameters()
    x = nn.Variable.from_numpy_array(INPUTS["x"])
    h = nn.Variable.from_numpy_array(INPUTS["h"][:1, :1])
    lstm_outputs, gru_outputs = PF.lstm(x, h, h), PF.gru(x, h)  # all outputs kept alive for the saver
    y = lstm_outputs[0] + gru_outputs[0]
    net = {"name": "net", "batch_size": 2, "outputs": {"y": y}, "names": {"x": x, "h": h}}
    save(str(tmp_path / "rnn.nnp"), {"networks": [net]})
    loaded = NnpLoader(str(tmp_path / "rnn.nnp")).get_network("net", batch_size=2)
    assert sorted(loaded.inputs) == ["h", "x"]
    loaded.inputs["x"].d, loaded.inputs["h"].d = x.d, h.d
    loaded.outputs["y"].forward()
    y.forward()
    np.testing.assert_allclose(loaded.outputs["y"].d, y.d, rtol=1e-6)
    nn.clear_parameters()
