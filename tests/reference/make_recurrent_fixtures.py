"""Writes tests/engine/fixtures/recurrent.npz from real NNabla 1.36: outputs and gradients of F.rnn / F.lstm /
F.gru / F.multi_head_attention, sequence packing, and the parameters and outputs of the recurrent and attention
parametric functions. Run by hand with NNabla's python (not our engine on the path):

    env -u PYTHONPATH "$(/work/shared/tools/nnabla-reference)" tests/reference/make_recurrent_fixtures.py

tests/engine/test_pf_recurrent.py and test_ops_recurrent.py replay the same calls and compare.
"""

import os

import numpy as np

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla.utils.rnn as rnn_utils

OUT = os.path.join(os.path.dirname(__file__), "..", "engine", "fixtures", "recurrent.npz")
store = {}

# -- F.rnn / F.lstm / F.gru: (name, function, kwargs, gates, bias gates, states, layers, directions, with bias)
T, B, I, H = 3, 2, 3, 4
CASES = [
    ("rnn_tanh", F.rnn, {}, None, None, 1, 2, 2, True),
    ("rnn_relu", F.rnn, {"nonlinearity": "relu"}, None, None, 1, 1, 1, False),
    ("lstm", F.lstm, {}, 4, 4, 2, 2, 2, True),
    ("lstm_1", F.lstm, {}, 4, 4, 2, 1, 1, False),
    ("gru", F.gru, {}, 3, 4, 1, 2, 2, True),
    ("gru_1", F.gru, {}, 3, 4, 1, 1, 1, False),
]


def gate(g):
    return () if g is None else (g,)


rng = np.random.RandomState(0)
for name, fn, kwargs, g, gb, states, L, D, with_bias in CASES:
    arrays = [rng.randn(T, B, I)] + [rng.randn(L, D, B, H) for _ in range(states)]
    arrays.append(rng.randn(*((D,) + gate(g) + (H, I + H))) * 0.5)
    if L > 1:
        arrays.append(rng.randn(*((L - 1, D) + gate(g) + (H, D * H + H))) * 0.5)
    if with_bias:
        arrays.append(rng.randn(*((L, D) + gate(gb) + (H,))) * 0.5)
    arrays = [a.astype(np.float32) for a in arrays]
    xs = [nn.Variable.from_numpy_array(a, need_grad=True) for a in arrays]
    k = 1 + states
    weight = xs[k + 1] if L > 1 else None
    bias = xs[-1] if with_bias else None
    outs = fn(*xs[: k + 1], weight=weight, bias=bias, num_layers=L, bidirectional=D == 2, **kwargs)
    ws = [rng.randn(*o.shape).astype(np.float32) for o in outs]
    total = F.add_n(*[F.sum(o * nn.Variable.from_numpy_array(w)) for o, w in zip(outs, ws)])
    for v in xs:
        v.grad.zero()
    total.forward()
    total.backward()
    for j, a in enumerate(arrays):
        store[f"{name}/in{j}"] = a
        store[f"{name}/grad{j}"] = xs[j].g.copy()
    for j, (o, w) in enumerate(zip(outs, ws)):
        store[f"{name}/out{j}"] = o.d.copy()
        store[f"{name}/weight{j}"] = w

# -- packing
nn.set_auto_forward(True)
padded = rng.randn(4, 3, 2).astype(np.float32)
lengths = np.array([4, 2, 1], dtype=np.int32)
packed, batch_sizes = F.pack_padded_sequence(
    nn.Variable.from_numpy_array(padded), nn.Variable.from_numpy_array(lengths)
)
store["pack/padded"], store["pack/lengths"] = padded, lengths
store["pack/packed"], store["pack/batch_sizes"] = packed.d.copy(), batch_sizes.d.copy()
packed_bf, _ = F.pack_padded_sequence(
    nn.Variable.from_numpy_array(padded.transpose(1, 0, 2).copy()),
    nn.Variable.from_numpy_array(lengths),
    batch_first=True,
)
store["pack/packed_batch_first"] = packed_bf.d.copy()
# NNabla's CPU kernel pads with 0 whatever padding_value says (-1 here); ours honors it, so the test uses 0
unpacked, lens = F.pad_packed_sequence(packed, batch_sizes, padding_value=-1.0, total_length=5)
store["pack/unpacked"], store["pack/unpacked_lengths"] = unpacked.d.copy(), lens.d.copy()
unpacked_bf, _ = F.pad_packed_sequence(packed, batch_sizes, batch_first=True)
store["pack/unpacked_batch_first"] = unpacked_bf.d.copy()
sequences = [rng.randn(n, 2).astype(np.float32) for n in (2, 4, 1)]
for j, s in enumerate(sequences):
    store[f"utils/seq{j}"] = s
seq_vars = [nn.Variable.from_numpy_array(s) for s in sequences]
store["utils/pad_sequence"] = rnn_utils.pad_sequence(seq_vars, padding_value=9.0).d.copy()
store["utils/pad_sequence_batch_first"] = rnn_utils.pad_sequence(seq_vars, batch_first=True).d.copy()
ps = rnn_utils.pack_sequence(seq_vars, enforce_sorted=False)
store["utils/packed"], store["utils/batch_sizes"] = ps.data.d.copy(), ps.batch_sizes.d.copy()
store["utils/sorted_indices"], store["utils/unsorted_indices"] = (
    ps.sorted_indices.d.copy(),
    ps.unsorted_indices.d.copy(),
)
back, back_lengths = rnn_utils.pad_packed_sequence(ps, batch_first=True)
store["utils/unpacked"], store["utils/unpacked_lengths"] = back.d.copy(), back_lengths.d.copy()
nn.set_auto_forward(False)

# -- F.multi_head_attention: L_T=3, L_S=4, B=2, E=4, 2 heads, masks and attention biases
mha = {
    "query": rng.randn(3, 2, 4),
    "key": rng.randn(4, 2, 5),
    "value": rng.randn(4, 2, 6),
    "q_weight": rng.randn(4, 4) * 0.5,
    "k_weight": rng.randn(5, 4) * 0.5,
    "v_weight": rng.randn(6, 4) * 0.5,
    "out_weight": rng.randn(4, 3) * 0.5,
    "q_bias": rng.randn(4),
    "k_bias": rng.randn(4),
    "v_bias": rng.randn(4),
    "out_bias": rng.randn(3),
    "attn_bias_k": rng.randn(1, 1, 4),
    "attn_bias_v": rng.randn(1, 1, 4),
    "additive_mask": rng.randn(3, 4),
}
mha = {k: v.astype(np.float32) for k, v in mha.items()}
mha["key_padding_mask"] = np.array([[0, 0, 0, 1], [0, 0, 0, 0]], np.float32)
mv = {
    k: nn.Variable.from_numpy_array(v, need_grad=k not in ("additive_mask", "key_padding_mask")) for k, v in mha.items()
}
order = ["query", "key", "value", "q_weight", "k_weight", "v_weight", "out_weight"]
order += ["q_bias", "k_bias", "v_bias", "out_bias", "attn_bias_k", "attn_bias_v"]
args = [mv[k] for k in order]
out, attn = F.multi_head_attention(
    *args[:3], 2, *args[3:], additive_mask=mv["additive_mask"], key_padding_mask=mv["key_padding_mask"]
)
w_out = rng.randn(*out.shape).astype(np.float32)
w_attn = rng.randn(*attn.shape).astype(np.float32)
total = F.sum(out * nn.Variable.from_numpy_array(w_out)) + F.sum(attn * nn.Variable.from_numpy_array(w_attn))
for v in mv.values():
    v.grad.zero()
total.forward()
total.backward()
for k, v in mha.items():
    store[f"mha/{k}"] = v
    if mv[k].need_grad:
        store[f"mha/grad_{k}"] = mv[k].g.copy()
store["mha/out"], store["mha/attn"] = out.d.copy(), attn.d.copy()
store["mha/w_out"], store["mha/w_attn"] = w_out, w_attn

# -- parametric functions: parameters drawn from nn.seed(313), then the outputs for fixed inputs
PF_INPUTS = {
    "x": rng.randn(3, 2, 3).astype(np.float32),
    "h": rng.randn(2, 2, 2, 4).astype(np.float32),
    "c": rng.randn(2, 2, 2, 4).astype(np.float32),
    "q": rng.randn(3, 2, 4).astype(np.float32),
    "kv": rng.randn(5, 2, 4).astype(np.float32),
    "cell_x": rng.randn(2, 3).astype(np.float32),
}
for k, v in PF_INPUTS.items():
    store[f"pf_in/{k}"] = v


def pf_calls():
    """The same calls, in the same order, replayed by the tests (so every parameter is drawn identically)."""
    v = {k: nn.Variable.from_numpy_array(a) for k, a in PF_INPUTS.items()}
    outs = {}
    outs["rnn"] = PF.rnn(v["x"], v["h"], bidirectional=True, name="r")
    outs["lstm"] = PF.lstm(v["x"], v["h"], v["c"], bidirectional=True)
    outs["gru"] = PF.gru(v["x"], v["h"][:1], bidirectional=True, with_bias=False)
    outs["mha"] = PF.multi_head_attention(v["q"], v["kv"], v["kv"], num_heads=2, add_attn_bias=True)
    outs["transformer"] = (
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
    )
    cell = PF.LSTMCell(2, 4, name="cell")
    cell(v["cell_x"])
    outs["cell"] = (cell(v["cell_x"]), cell.c)
    return outs


nn.clear_parameters()
nn.seed(313)
outs = pf_calls()
for name, ys in outs.items():
    for j, y in enumerate(ys):
        y.forward()
        store[f"pf_out/{name}/{j}"] = y.d.copy()
params = nn.get_parameters(grad_only=False)
store["pf/names"] = np.array(list(params))
store["pf/need_grad"] = np.array([p.need_grad for p in params.values()])
for k, p in params.items():
    store[f"pf/param/{k}"] = p.d.copy()

os.makedirs(os.path.dirname(OUT), exist_ok=True)
np.savez_compressed(OUT, **store)
print(f"wrote {len(store)} arrays to {os.path.normpath(OUT)}")
