"""Reference and gradient checks for the recurrent functions (RNN, LSTM, GRU over layers and directions), sequence
packing, and multi-head attention; and their numbers against real NNabla's (tests/engine/fixtures/recurrent.npz,
made by tests/reference/make_recurrent_fixtures.py)."""

import os

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
import nnabla.utils.rnn as rnn_utils
from nnabla.function import FunctionError
from opcheck import Case, check_forward, check_grad, randn

FIXTURES = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "recurrent.npz"))


# -- an independent reference: one step at a time on [x_t, h_{t-1}], as NNabla's documentation writes it --------
def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def rnn_step(nonlinearity):
    def step(xh, x, h, c, w, b):
        a = xh @ w.T + b
        return (np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0)), None

    return step


def lstm_step(xh, x, h, c, w, b):
    i, f, g, o = (xh @ w[k].T + b[k] for k in range(4))
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def gru_step(xh, x, h, c, w, b):
    r = sigmoid(xh @ w[0].T + b[0])
    z = sigmoid(xh @ w[1].T + b[1])
    n_in = x.shape[1]
    n = np.tanh(x @ w[2][:, :n_in].T + b[2] + r * (h @ w[2][:, n_in:].T + b[3]))
    return (1 - z) * n + z * h, None


KINDS = {
    # function, step, gates (None: no gate axis), bias gates, states (h, or h and c)
    "rnn": (F.rnn, rnn_step("tanh"), None, None, 1),
    "rnn_relu": (lambda *a, **k: F.rnn(*a, nonlinearity="relu", **k), rnn_step("relu"), None, None, 1),
    "lstm": (F.lstm, lstm_step, 4, 4, 2),
    "gru": (F.gru, gru_step, 3, 4, 1),
}


def reference(kind, num_layers, bidirectional, with_bias):
    """(y, h_n[, c_n]) computed step by step from the inputs (x, h[, c], weight_l0[, weight][, bias])."""
    _, step, gates, bias_gates, states = KINDS[kind]

    def run(*arrays):
        x, h = arrays[0], arrays[1]
        c = arrays[2] if states == 2 else None
        w0 = arrays[states + 1]
        w = arrays[states + 2] if num_layers > 1 else None
        b = arrays[-1] if with_bias else None
        d_count = 2 if bidirectional else 1
        steps, hidden = x.shape[0], h.shape[3]
        hn, cn = np.zeros_like(h), np.zeros_like(h)
        inp = x
        for layer in range(num_layers):
            weights = w0 if layer == 0 else w[layer - 1]
            outs = []
            for d in range(d_count):
                bias = b[layer, d] if b is not None else np.zeros(((bias_gates or 1), hidden))
                if gates is None:
                    bias = bias.reshape(hidden)
                hs, cs = h[layer, d], (c[layer, d] if c is not None else None)
                ys = [None] * steps
                for t in reversed(range(steps)) if d == 1 else range(steps):
                    hs, cs = step(np.concatenate([inp[t], hs], axis=1), inp[t], hs, cs, weights[d], bias)
                    ys[t] = hs
                hn[layer, d] = hs
                if c is not None:
                    cn[layer, d] = cs
                outs.append(np.stack(ys))
            inp = np.concatenate(outs, axis=2)
        return (inp, hn, cn) if states == 2 else (inp, hn)

    return run


def recurrent_case(name, kind, steps=2, batch=2, n_in=2, hidden=2, layers=1, bidirectional=False, with_bias=True):
    function, _, gates, bias_gates, states = KINDS[kind]
    d = 2 if bidirectional else 1
    g = () if gates is None else (gates,)
    rng = np.random.RandomState(len(name))
    shapes = [(steps, batch, n_in)] + [(layers, d, batch, hidden)] * states + [(d,) + g + (hidden, n_in + hidden)]
    if layers > 1:
        shapes.append((layers - 1, d) + g + (hidden, d * hidden + hidden))
    if with_bias:
        shapes.append((layers, d) + ((bias_gates,) if gates else ()) + (hidden,))
    inputs = [rng.randn(*s).astype(np.float32) for s in shapes]

    def fn(*xs):
        k = states + 2
        return function(
            *xs[:k],
            weight=xs[k] if layers > 1 else None,
            bias=xs[-1] if with_bias else None,
            num_layers=layers,
            bidirectional=bidirectional,
        )

    return Case(name, fn, reference(kind, layers, bidirectional, with_bias), inputs, atol=1e-5, rtol=1e-4)


# -- packing references -------------------------------------------------------------------------------------------
def pack_reference(padded, lengths, batch_first=False):
    if batch_first:
        padded = padded.transpose(1, 0, *range(2, padded.ndim))
    rows = [padded[t, b] for t in range(padded.shape[0]) for b in range(padded.shape[1]) if lengths[b] > t]
    batch_sizes = np.array([(lengths > t).sum() for t in range(padded.shape[0])], np.int32)
    return np.stack(rows), batch_sizes


def unpack_reference(packed, batch_sizes, batch_first=False, padding_value=0.0, total_length=-1):
    steps = max(len(batch_sizes), total_length)
    out = np.full((steps, batch_sizes[0]) + packed.shape[1:], padding_value, packed.dtype)
    row = 0
    for t, n in enumerate(batch_sizes):
        out[t, :n] = packed[row : row + n]
        row += n
    lengths = np.array([(batch_sizes > b).sum() for b in range(batch_sizes[0])], np.int32)
    return (out.transpose(1, 0, *range(2, out.ndim)) if batch_first else out), lengths


LENGTHS = np.array([3, 3, 1], np.int32)
BATCH_SIZES = np.array([3, 2, 2, 1], np.int32)


# -- multi-head attention reference ---------------------------------------------------------------------------------
def softmax(a):
    e = np.exp(a - a.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def attention_reference(num_heads, additive_mask=None, key_padding_mask=None):
    def run(query, key, value, qw, kw, vw, ow, qb, kb, vb, ob, *masks):
        masks = list(masks)
        am = masks.pop(0) if additive_mask else None
        kpm = masks.pop(0) if key_padding_mask else None
        lt, batch, _ = query.shape
        ls = key.shape[0]
        q, k, v = query @ qw + qb, key @ kw + kb, value @ vw + vb
        e = q.shape[2] // num_heads
        outs = np.zeros((lt, batch, v.shape[2]))
        weights = np.zeros((batch, num_heads, lt, ls))
        for b in range(batch):
            for n in range(num_heads):
                part = slice(n * e, (n + 1) * e)
                scores = q[:, b, part] @ k[:, b, part].T / np.sqrt(e)
                if am is not None:
                    scores = scores + am
                if kpm is not None:
                    scores = np.where(kpm[b] != 0, -np.inf, scores)
                weights[b, n] = softmax(scores)
                vpart = slice(n * (v.shape[2] // num_heads), (n + 1) * (v.shape[2] // num_heads))
                outs[:, b, vpart] = weights[b, n] @ v[:, b, vpart]
        return outs @ ow + ob, weights.reshape(batch * num_heads, lt, ls)

    return run


def attention_inputs(lt=2, ls=3, batch=2, dq=3, dk=2, dv=4, embed=4, v_embed=2, out=3):
    rng = np.random.RandomState(5)
    shapes = [(lt, batch, dq), (ls, batch, dk), (ls, batch, dv), (dq, embed), (dk, embed), (dv, v_embed)]
    shapes += [(v_embed, out), (embed,), (embed,), (v_embed,), (out,)]
    return [rng.randn(*s).astype(np.float32) * 0.7 for s in shapes]


def mha(num_heads, masks=0):
    def fn(*xs):
        extra = dict(zip(["additive_mask", "key_padding_mask"][:masks], xs[11:]))
        return F.multi_head_attention(*xs[:3], num_heads, *xs[3:11], **extra)

    return fn


KEY_PADDING = np.array([[0, 0, 1], [0, 0, 0]], np.float32)

CASES = [
    recurrent_case("rnn", "rnn"),
    recurrent_case("rnn_relu_no_bias", "rnn_relu", with_bias=False),
    recurrent_case("rnn_2_layers_bidirectional", "rnn", layers=2, bidirectional=True),
    recurrent_case("lstm", "lstm", steps=3),
    recurrent_case("lstm_2_layers_bidirectional", "lstm", layers=2, bidirectional=True),
    recurrent_case("lstm_2_layers_no_bias", "lstm", layers=2, with_bias=False),
    recurrent_case("gru", "gru", steps=3),
    recurrent_case("gru_2_layers_bidirectional", "gru", layers=2, bidirectional=True),
    recurrent_case("gru_bidirectional_no_bias", "gru", bidirectional=True, with_bias=False),
    Case("pack_padded_sequence", F.pack_padded_sequence, pack_reference, [randn(4, 3, 2), LENGTHS]),
    Case(
        "pack_padded_sequence_batch_first",
        lambda p, lengths: F.pack_padded_sequence(p, lengths, batch_first=True),
        lambda p, lengths: pack_reference(p, lengths, batch_first=True),
        [randn(3, 3), LENGTHS],
    ),
    Case("pad_packed_sequence", F.pad_packed_sequence, unpack_reference, [randn(8, 2), BATCH_SIZES]),
    Case(
        "pad_packed_sequence_batch_first_total_length",
        lambda p, s: F.pad_packed_sequence(p, s, batch_first=True, padding_value=-2.0, total_length=6),
        lambda p, s: unpack_reference(p, s, batch_first=True, padding_value=-2.0, total_length=6),
        [randn(8), BATCH_SIZES],
    ),
    Case("multi_head_attention", mha(2), attention_reference(2), attention_inputs(), atol=1e-5, rtol=1e-4),
    Case(
        "multi_head_attention_masks",
        mha(1, masks=2),
        attention_reference(1, additive_mask=True, key_padding_mask=True),
        attention_inputs() + [randn(2, 3), KEY_PADDING],
        grad_inputs=list(range(11)),
        atol=1e-5,
        rtol=1e-4,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_forward(case):
    check_forward(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=str)
def test_grad(case):
    check_grad(case)


# -- the same numbers as NNabla 1.36 ------------------------------------------------------------------------------
NNABLA_CASES = [  # fixture name, function, states, layers, bidirectional, bias, extra arguments
    ("rnn_tanh", F.rnn, 1, 2, True, True, {}),
    ("rnn_relu", F.rnn, 1, 1, False, False, {"nonlinearity": "relu"}),
    ("lstm", F.lstm, 2, 2, True, True, {}),
    ("lstm_1", F.lstm, 2, 1, False, False, {}),
    ("gru", F.gru, 1, 2, True, True, {}),
    ("gru_1", F.gru, 1, 1, False, False, {}),
]


@pytest.mark.parametrize("name, function, states, layers, bidirectional, with_bias, extra", NNABLA_CASES)
def test_outputs_and_gradients_equal_nnabla(name, function, states, layers, bidirectional, with_bias, extra):
    count = sum(1 for k in FIXTURES.files if k.startswith(f"{name}/in"))
    xs = [nn.Variable.from_numpy_array(FIXTURES[f"{name}/in{j}"], need_grad=True) for j in range(count)]
    k = states + 1
    outs = function(
        *xs[: k + 1],
        weight=xs[k + 1] if layers > 1 else None,
        bias=xs[-1] if with_bias else None,
        num_layers=layers,
        bidirectional=bidirectional,
        **extra,
    )
    weights = [nn.Variable.from_numpy_array(FIXTURES[f"{name}/weight{j}"]) for j in range(len(outs))]
    total = F.add_n(*[F.sum(o * w) for o, w in zip(outs, weights)])
    total.forward()
    for x in xs:
        x.grad.zero()
    total.backward()
    for j, o in enumerate(outs):
        np.testing.assert_allclose(o.d, FIXTURES[f"{name}/out{j}"], atol=2e-6, rtol=1e-5)
    for j, x in enumerate(xs):
        np.testing.assert_allclose(x.g, FIXTURES[f"{name}/grad{j}"], atol=1e-5, rtol=1e-5, err_msg=f"input {j}")


MHA_INPUTS = ["query", "key", "value", "q_weight", "k_weight", "v_weight", "out_weight"]
MHA_INPUTS += ["q_bias", "k_bias", "v_bias", "out_bias", "attn_bias_k", "attn_bias_v"]


def test_multi_head_attention_equals_nnabla_with_masks_and_attention_biases():
    xs = {k: nn.Variable.from_numpy_array(FIXTURES[f"mha/{k}"], need_grad=True) for k in MHA_INPUTS}
    masks = {k: nn.Variable.from_numpy_array(FIXTURES[f"mha/{k}"]) for k in ("additive_mask", "key_padding_mask")}
    args = [xs[k] for k in MHA_INPUTS]
    out, attn = F.multi_head_attention(*args[:3], 2, *args[3:], **masks)
    total = F.sum(out * nn.Variable.from_numpy_array(FIXTURES["mha/w_out"]))
    total += F.sum(attn * nn.Variable.from_numpy_array(FIXTURES["mha/w_attn"]))
    total.forward()
    for x in xs.values():
        x.grad.zero()
    total.backward()
    np.testing.assert_allclose(out.d, FIXTURES["mha/out"], atol=1e-6, rtol=1e-5)
    np.testing.assert_allclose(attn.d, FIXTURES["mha/attn"], atol=1e-6, rtol=1e-5)
    for k, x in xs.items():
        np.testing.assert_allclose(x.g, FIXTURES[f"mha/grad_{k}"], atol=1e-5, rtol=1e-5, err_msg=k)


def test_packing_equals_nnabla():
    padded = nn.Variable.from_numpy_array(FIXTURES["pack/padded"])
    lengths = nn.Variable.from_numpy_array(FIXTURES["pack/lengths"])
    with nn.auto_forward():
        packed, batch_sizes = F.pack_padded_sequence(padded, lengths)
        first = F.pack_padded_sequence(
            nn.Variable.from_numpy_array(FIXTURES["pack/padded"].transpose(1, 0, 2)), lengths, batch_first=True
        )[0]
        # made with padding_value=-1, which NNabla's CPU kernel ignores (padding 0); ours honors it (see CASES)
        unpacked, unpacked_lengths = F.pad_packed_sequence(packed, batch_sizes, total_length=5)
        unpacked_first = F.pad_packed_sequence(packed, batch_sizes, batch_first=True)[0]
    np.testing.assert_array_equal(packed.d, FIXTURES["pack/packed"])
    np.testing.assert_array_equal(first.d, FIXTURES["pack/packed_batch_first"])
    assert batch_sizes.d.dtype == FIXTURES["pack/batch_sizes"].dtype == np.int32
    np.testing.assert_array_equal(batch_sizes.d, FIXTURES["pack/batch_sizes"])
    np.testing.assert_array_equal(unpacked.d, FIXTURES["pack/unpacked"])
    np.testing.assert_array_equal(unpacked_lengths.d, FIXTURES["pack/unpacked_lengths"])
    np.testing.assert_array_equal(unpacked_first.d, FIXTURES["pack/unpacked_batch_first"])


def test_utils_rnn_equals_nnabla():
    sequences = [nn.Variable.from_numpy_array(FIXTURES[f"utils/seq{j}"]) for j in range(3)]
    with nn.auto_forward():
        padded = rnn_utils.pad_sequence(sequences, padding_value=9.0)
        padded_first = rnn_utils.pad_sequence(sequences, batch_first=True)
        packed = rnn_utils.pack_sequence(sequences, enforce_sorted=False)
        unpacked, lengths = rnn_utils.pad_packed_sequence(packed, batch_first=True)
    np.testing.assert_array_equal(padded.d, FIXTURES["utils/pad_sequence"])
    np.testing.assert_array_equal(padded_first.d, FIXTURES["utils/pad_sequence_batch_first"])
    np.testing.assert_array_equal(packed.data.d, FIXTURES["utils/packed"])
    np.testing.assert_array_equal(packed.batch_sizes.d, FIXTURES["utils/batch_sizes"])
    np.testing.assert_array_equal(packed.sorted_indices.d, FIXTURES["utils/sorted_indices"])
    np.testing.assert_array_equal(packed.unsorted_indices.d, FIXTURES["utils/unsorted_indices"])
    np.testing.assert_array_equal(unpacked.d, FIXTURES["utils/unpacked"])
    np.testing.assert_array_equal(lengths.d, FIXTURES["utils/unpacked_lengths"])
    assert "batch_sizes=" in str(packed)


# -- the rules users trip on --------------------------------------------------------------------------------------
def lstm_inputs(layers=2, d=1, steps=3, batch=2, n_in=3, hidden=4):
    rng = np.random.RandomState(1)
    shapes = [(steps, batch, n_in), (layers, d, batch, hidden), (layers, d, batch, hidden)]
    shapes += [(d, 4, hidden, n_in + hidden), (layers - 1, d, 4, hidden, d * hidden + hidden)]
    return [nn.Variable.from_numpy_array(rng.randn(*s).astype(np.float32), need_grad=True) for s in shapes]


def test_signatures_and_arguments_are_nnabla_s():
    x, h, c, w0, w = lstm_inputs()
    y, hn, cn = F.lstm(x, h, c, w0, w, num_layers=2)
    assert y.shape == (3, 2, 4) and hn.shape == cn.shape == (2, 1, 2, 4)
    assert y.parent.name == "LSTM"
    assert y.parent.info.args == {"num_layers": 2, "dropout": 0.0, "bidirectional": False, "training": True}
    y, hn = F.rnn(x, h, nn.Variable((1, 4, 7)), nn.Variable((1, 1, 4, 8)), num_layers=2)
    assert y.parent.info.args["nonlinearity"] == "tanh"


def test_training_false_forwards_but_refuses_backward():
    x, h, c, w0, w = lstm_inputs()
    y, _, _ = F.lstm(x, h, c, w0, w, num_layers=2, training=False)
    reference_y, _, _ = F.lstm(x, h, c, w0, w, num_layers=2)
    F.sink(y, reference_y).forward()
    np.testing.assert_array_equal(y.d, reference_y.d)
    with pytest.raises(FunctionError, match="training"):
        y.backward()


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda x, h, c, w0, w: F.lstm(x, h, c, w0, num_layers=2), "weight must be given"),
        (lambda x, h, c, w0, w: F.lstm(x, h[:1], c[:1], w0, w, num_layers=1), "weight cannot be given"),
        (lambda x, h, c, w0, w: F.lstm(x, h, c, w0, w, num_layers=2, bidirectional=True), "h of shape"),
        (lambda x, h, c, w0, w: F.lstm(x, h, c, w, w, num_layers=2), "weight_l0 of shape"),
        (lambda x, h, c, w0, w: F.lstm(x, h, h[:1], w0, w, num_layers=2), "c of shape"),
        (lambda x, h, c, w0, w: F.lstm(x, h, c, w0, w, nn.Variable((2, 1, 3, 4)), num_layers=2), "bias of shape"),
        (lambda x, h, c, w0, w: F.rnn(x, h, w0, nonlinearity="sigmoid"), "nonlinearity"),
        (lambda x, h, c, w0, w: F.lstm(x, h, c, w0, w, num_layers=2, dropout=1.0), "dropout"),
        (lambda x, h, c, w0, w: F.lstm(x[0], h, c, w0, w, num_layers=2), "3-D"),
    ],
)
def test_bad_inputs_raise_when_the_graph_is_built(build, message):
    with pytest.raises(FunctionError, match=message):
        build(*lstm_inputs())


class ReplayedRng(np.random.RandomState):
    """Draws the same numbers on every forward, so numerical gradients see one dropout mask."""

    def get_state(self, *args, **kwargs):
        self.seed(7)
        return super().get_state(*args, **kwargs)


def with_replayed_dropout(outputs):
    outputs[0].parent._rng = ReplayedRng()
    return outputs


def test_dropout_drops_between_layers_only_while_training():
    xs = lstm_inputs(layers=3)
    xs.append(nn.Variable.from_numpy_array(np.random.RandomState(2).randn(2, 1, 4, 4, 8).astype(np.float32)))
    x, h, c, w0, _, w = xs
    y, hn, cn = F.lstm(x, h, c, w0, w, num_layers=3, dropout=0.5)
    y.forward()
    masks = y.parent._masks
    assert len(masks) == 2 and {float(v) for v in np.unique(masks[0])} == {0.0, 2.0}
    # layer by layer with the same masks between them
    inp, states = x.d, []
    for layer in range(3):
        weights = w0.d if layer == 0 else w.d[layer - 1]
        args = [inp, h.d[layer : layer + 1], c.d[layer : layer + 1], weights]
        out, hl, cl = reference("lstm", 1, False, False)(*args)
        states.append(hl)
        inp = out * masks[layer] if layer < 2 else out
    np.testing.assert_allclose(y.d, inp, atol=1e-5)
    np.testing.assert_allclose(hn.d, np.concatenate(states), atol=1e-5)
    y.parent.recompute(y.parent.inputs, y.parent.outputs)  # replays the same masks
    np.testing.assert_allclose(y.d, inp, atol=1e-5)
    y_test, _, _ = F.lstm(x, h, c, w0, w, num_layers=3, dropout=0.5, training=False)
    y_plain, _, _ = F.lstm(x, h, c, w0, w, num_layers=3)
    F.sink(y_test, y_plain).forward()
    np.testing.assert_array_equal(y_test.d, y_plain.d)


def test_dropout_gradient():
    rng = np.random.RandomState(3)
    shapes = [(2, 2, 2), (2, 1, 2, 3), (1, 3, 3, 5), (1, 1, 3, 3, 6), (2, 1, 4, 3)]
    inputs = [rng.randn(*s).astype(np.float32) for s in shapes]
    case = Case(
        "gru_dropout",
        lambda x, h, w0, w, b: with_replayed_dropout(F.gru(x, h, w0, w, b, num_layers=2, dropout=0.4)),
        None,
        inputs,
    )
    check_grad(case)


def test_double_backward_with_states_computed_from_the_input():
    # the rebuilt forward stops at the op's inputs: h and c depending on x must not count x's path twice
    rng = np.random.RandomState(5)
    inputs = [rng.randn(*s).astype(np.float32) for s in [(2, 2, 2), (1, 4, 2, 4), (1, 1, 4, 2)]]

    def fn(x, w0, b):
        h = F.reshape(F.tanh(x[0]), (1, 1, 2, 2))
        return F.lstm(x, h, F.reshape(x[1] * 0.5, (1, 1, 2, 2)), w0, bias=b)

    check_grad(Case("lstm_states_from_x", fn, None, inputs))


def test_second_order_gradients_match_nnabla_s():
    # fixtures/recurrent_second_order.npz: real NNabla 1.36's nn.grad of nn.grad on these very graphs
    rng = np.random.RandomState(0)
    arrays = [
        rng.randn(*s).astype(np.float32) for s in [(2, 2, 3), (1, 1, 2, 2), (1, 1, 2, 2), (1, 4, 2, 5), (1, 1, 4, 2)]
    ]
    found = []
    for kind in ("lstm", "gru"):
        x, h, c, w0, b = [nn.Variable.from_numpy_array(a, need_grad=True) for a in arrays]
        if kind == "lstm":
            y, _, state = F.lstm(x, h, c, w0, bias=b)
            inputs = [x, h, c, w0, b]
        else:
            y, state = F.gru(x, h, w0[:, :3], bias=b)
            inputs = [x, h, w0, b]
        g = nn.grad([F.sum(y * y * y) + F.sum(state * state)], inputs)
        gg = nn.grad([F.add_n(*[F.sum(gi * gi) for gi in g])], inputs)
        F.sink(*gg).forward()
        found.append(np.concatenate([v.d.ravel() for v in gg]))
    expected = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "recurrent_second_order.npz"))["lstm_gru"]
    np.testing.assert_allclose(np.concatenate(found), expected, rtol=1e-4, atol=2e-3)


def test_dropout_refuses_double_backward_naming_it():
    x, h, c, w0, w = lstm_inputs()
    y, _, _ = F.lstm(x, h, c, w0, w, num_layers=2, dropout=0.5)
    (gx,) = nn.grad([F.sum(y * y)], [x])  # first order works
    gx.forward()
    with pytest.raises(FunctionError, match=r"LSTM \(F.lstm\) has no double backward, with dropout=0.5"):
        nn.grad([F.sum(gx * gx)], [x])


def test_second_backward_accumulates_and_matches_the_first():
    x, h, c, w0, w = lstm_inputs()
    y, hn, cn = F.lstm(x, h, c, w0, w, num_layers=2)
    loss = F.sum(y) + F.sum(cn)
    loss.forward()
    for v in (x, h, c, w0, w):
        v.grad.zero()
    loss.backward()
    first = [v.g.copy() for v in (x, h, c, w0, w)]
    loss.backward()
    for v, g in zip((x, h, c, w0, w), first):
        np.testing.assert_allclose(v.g, 2 * g, rtol=1e-6)


def test_packing_needs_the_lengths_values_and_checks_them_again():
    lengths = nn.Variable.from_numpy_array(np.array([2, 1], np.int32))
    packed, _ = F.pack_padded_sequence(nn.Variable((2, 2, 3)), lengths)
    assert packed.shape == (3, 3)
    lengths.d = np.array([2, 2])
    with pytest.raises(FunctionError, match="sum to 4"):
        packed.forward()
    with pytest.raises(FunctionError, match="build it with F.pack_padded_sequence"):
        nn.function.PackPaddedSequence(None)(nn.Variable((2, 2)), lengths)
    with pytest.raises(ValueError, match="total length"):
        sequence = rnn_utils.pack_sequence([nn.Variable.from_numpy_array(np.ones((3, 1)))])
        rnn_utils.pad_packed_sequence(sequence, total_length=2)
