"""Recurrent and attention parametric functions: ``rnn``, ``lstm``, ``gru``, the ``LSTMCell`` class,
``multi_head_attention`` and the transformer layers, with NNabla's parameter names, shapes and initializers.

The recurrent weights are drawn as NNabla draws them: the input part and the hidden part of [x, h] each
uniform within its own Glorot limit, then joined on the last axis.
"""

from __future__ import annotations

import numpy as np

from .. import functions as F
from .._variable import Variable
from ..initializer import ConstantInitializer, UniformInitializer, calc_uniform_lim_glorot
from ..parameter import get_parameter, get_parameter_or_create
from ..parametric_functions import affine, layer_normalization, lstm_cell, parametric_function_api

__all__ = [
    "LSTMCell",
    "rnn",
    "lstm",
    "gru",
    "multi_head_attention",
    "transformer",
    "transformer_encode",
    "transformer_decode",
]


def _glorot(inmaps, outmaps, rng):
    return UniformInitializer(calc_uniform_lim_glorot(inmaps, outmaps), rng)


def _recurrent_weights(shape_lead, input_size, hidden_size, rng):
    """Initial weights of shape ``shape_lead + (hidden_size, input_size + hidden_size)``."""
    w_ih = _glorot(input_size, hidden_size, rng)(shape_lead + (hidden_size, input_size))
    w_hh = _glorot(hidden_size, hidden_size, rng)(shape_lead + (hidden_size, hidden_size))
    return np.concatenate((w_ih, w_hh), axis=-1)


def _sizes(x, h, bidirectional):
    return x.shape[2], h.shape[3], h.shape[0], 2 if bidirectional else 1


@parametric_function_api(
    "rnn",
    [
        ("weight_l0", "Filter weights at 0-th layer", "(D, H, I + H)", True),
        ("weight", "Filter weights at 1-st layer and above", "(L-1, D, H, DH + H)", True),
        ("bias", "Biases", "(L, D, H)", True),
    ],
)
def rnn(
    x,
    h,
    w0_init=None,
    w_init=None,
    b_init=None,
    num_layers=1,
    nonlinearity="tanh",
    dropout=0.0,
    bidirectional=False,
    training=True,
    rng=None,
    with_bias=True,
    fix_parameters=False,
):
    """Elman RNN over a sequence: ``rnn/weight_l0`` (D, H, I + H), ``rnn/weight`` (L-1, D, H, D*H + H) when
    there are several layers, ``rnn/bias`` (L, D, H); the number of layers is h's first dimension."""
    input_size, hidden, num_layers, d = _sizes(x, h, bidirectional)
    # NNabla draws the default weights on every call, whether or not the parameters exist
    if w0_init is None:
        w0_init = _recurrent_weights((d,), input_size, hidden, rng)
    if w_init is None:
        w_init = _recurrent_weights((num_layers - 1, d), d * hidden, hidden, rng)
    if with_bias and b_init is None:
        b_init = ConstantInitializer()
    w0 = get_parameter_or_create("weight_l0", (d, hidden, input_size + hidden), w0_init, True, not fix_parameters)
    w = None
    if num_layers > 1:
        w = get_parameter_or_create(
            "weight", (num_layers - 1, d, hidden, d * hidden + hidden), w_init, True, not fix_parameters
        )
    b = None
    if with_bias:
        b = get_parameter_or_create("bias", (num_layers, d, hidden), b_init, True, not fix_parameters)
    return F.rnn(
        x,
        h,
        weight_l0=w0,
        weight=w,
        bias=b,
        num_layers=num_layers,
        nonlinearity=nonlinearity,
        dropout=dropout,
        bidirectional=bidirectional,
        training=training,
    )


def _gated_parameters(x, h, gates, w0_init, w_init, b_init, bidirectional, rng, with_bias, fix_parameters):
    """``weight_l0``, ``weight`` and ``bias`` of an LSTM (4 gates) or GRU (3 gates); defaults are drawn only
    for parameters that do not exist yet."""
    input_size, hidden, num_layers, d = _sizes(x, h, bidirectional)
    w0, w, b = get_parameter("weight_l0"), get_parameter("weight"), get_parameter("bias")
    if w0 is None:
        if w0_init is None:
            w0_init = _recurrent_weights((d, gates), input_size, hidden, rng)
        w0 = get_parameter_or_create("weight_l0", (d, gates, hidden, input_size + hidden), w0_init, True)
    if num_layers > 1 and w is None:
        if w_init is None:
            w_init = _recurrent_weights((num_layers - 1, d, gates), d * hidden, hidden, rng)
        w = get_parameter_or_create("weight", (num_layers - 1, d, gates, hidden, (d + 1) * hidden), w_init, True)
    if with_bias and b is None:
        b = get_parameter_or_create(
            "bias", (num_layers, d, 4, hidden), b_init if b_init is not None else ConstantInitializer(), True
        )
    return (
        num_layers,
        _used(w0, fix_parameters),
        _used(w, fix_parameters) if num_layers > 1 else None,
        _used(b, fix_parameters) if with_bias else None,
    )


def _used(param, fix_parameters):
    """The parameter itself (so graphs and saved files see it as one), or a view without gradient when fixed."""
    if param.need_grad == (not fix_parameters):
        return param
    return param.get_unlinked_variable(need_grad=not fix_parameters)


@parametric_function_api(
    "lstm",
    [
        ("weight_l0", "Filter weights at 0-th layer", "(D, 4, H, I + H)", True),
        ("weight", "Filter weights at 1-st layer and above", "(L-1, D, 4, H, DH + H)", True),
        ("bias", "Biases", "(L, D, 4, H)", True),
    ],
)
def lstm(
    x,
    h,
    c,
    w0_init=None,
    w_init=None,
    b_init=None,
    num_layers=1,
    dropout=0.0,
    bidirectional=False,
    training=True,
    rng=None,
    with_bias=True,
    fix_parameters=False,
):
    """N-step LSTM: ``lstm/weight_l0`` (D, 4, H, I + H), ``lstm/weight`` (L-1, D, 4, H, D*H + H),
    ``lstm/bias`` (L, D, 4, H); returns (y, h_n, c_n)."""
    if isinstance(w0_init, int):
        raise ValueError("PF.lstm: arguments seem to be for the one-step LSTM, which is PF.lstm_cell")
    num_layers, w0, w, b = _gated_parameters(
        x, h, 4, w0_init, w_init, b_init, bidirectional, rng, with_bias, fix_parameters
    )
    return F.lstm(
        x,
        h,
        c,
        weight_l0=w0,
        weight=w,
        bias=b,
        num_layers=num_layers,
        dropout=dropout,
        bidirectional=bidirectional,
        training=training,
    )


@parametric_function_api(
    "gru",
    [
        ("weight_l0", "Filter weights at 0-th layer", "(D, 3, H, I + H)", True),
        ("weight", "Filter weights at 1-st layer and above", "(L-1, D, 3, H, DH + H)", True),
        ("bias", "Biases", "(L, D, 4, H)", True),
    ],
)
def gru(
    x,
    h,
    w0_init=None,
    w_init=None,
    b_init=None,
    num_layers=1,
    dropout=0.0,
    bidirectional=False,
    training=True,
    rng=None,
    with_bias=True,
    fix_parameters=False,
):
    """N-step GRU: ``gru/weight_l0`` (D, 3, H, I + H), ``gru/weight`` (L-1, D, 3, H, D*H + H),
    ``gru/bias`` (L, D, 4, H); returns (y, h_n)."""
    num_layers, w0, w, b = _gated_parameters(
        x, h, 3, w0_init, w_init, b_init, bidirectional, rng, with_bias, fix_parameters
    )
    return F.gru(
        x,
        h,
        weight_l0=w0,
        weight=w,
        bias=b,
        num_layers=num_layers,
        dropout=dropout,
        bidirectional=bidirectional,
        training=training,
    )


class LSTMCell:
    """A stateful one-step LSTM: keeps h and c (zeros of (batch_size, state_size) unless given) and advances
    them with ``PF.lstm_cell`` on each call, under the scope ``name``."""

    def __init__(self, batch_size: int, state_size: int, h=None, c=None, name=None):
        self.batch_size = batch_size
        self.state_size = state_size
        self.name = name
        self.h = h if h is not None else self._zeros()
        self.c = c if c is not None else self._zeros()

    def _zeros(self):
        v = Variable((self.batch_size, self.state_size))
        v.data.zero()
        return v

    def reset_state(self) -> None:
        """Set h and c back to zeros."""
        self.h.data.zero()
        self.c.data.zero()

    def __call__(self, x, w_init=None, b_init=None, fix_parameters=False):
        """One step on ``x``: returns the new h (the new c is kept in ``self.c``)."""
        self.h, self.c = lstm_cell(
            x, self.h, self.c, self.state_size, w_init, b_init, fix_parameters=fix_parameters, name=self.name
        )
        return self.h


@parametric_function_api(
    "multi_head_attention",
    [
        ("q_weight", "weights for query", "(E, E)", True),
        ("k_weight", "weights for key", "(E_k, E)", True),
        ("v_weight", "weights for value", "(E_v, E)", True),
        ("out_weight", "weigths for out projection", "(E, E)", True),
        ("q_bias", "bias for query", "(E, )", True),
        ("k_bias", "bias for key", "(E, )", True),
        ("v_bias", "bais for value", "(E, )", True),
        ("out_bias", "bias for out projection", "(E, )", True),
        ("attn_bias_k", "attnetion bias for k", "(E, 1)", True),
        ("attn_bias_v", "attnetion bias for v", "(E, 1)", True),
    ],
)
def multi_head_attention(
    query,
    key,
    value,
    num_heads=12,
    dropout=0.0,
    k_embed_dim=None,
    v_embed_dim=None,
    out_dim=None,
    rng=None,
    with_bias=True,
    add_attn_bias=False,
    additive_mask=None,
    key_padding_mask=None,
    fix_parameters=False,
    param_init=None,
):
    """Multi-head attention with its projections: ``q_weight`` (D_q, E), ``k_weight`` (D_k, E), ``v_weight``
    (D_v, E_v), ``out_weight`` (E_v, E_out), their biases, and with ``add_attn_bias`` ``attn_bias_k`` (1, 1, E)
    and ``attn_bias_v`` (1, 1, E_v). Returns (output, attention weights)."""
    embed = k_embed_dim if k_embed_dim is not None else query.shape[2]
    v_embed = v_embed_dim if v_embed_dim is not None else value.shape[2]
    out_dim = out_dim if out_dim is not None else v_embed
    init = param_init or {}
    trainable = not fix_parameters

    def param(name, shape, default):
        return get_parameter_or_create(name, shape, init.get(name, default), True, trainable)

    qw = param("q_weight", (query.shape[2], embed), _glorot(query.shape[2], embed, rng))
    kw = param("k_weight", (key.shape[2], embed), _glorot(key.shape[2], embed, rng))
    vw = param("v_weight", (value.shape[2], v_embed), _glorot(value.shape[2], v_embed, rng))
    ow = param("out_weight", (v_embed, out_dim), _glorot(v_embed, out_dim, rng))
    qb = kb = vb = ob = None
    if with_bias:
        qb = param("q_bias", (embed,), ConstantInitializer())
        kb = param("k_bias", (embed,), ConstantInitializer())
        vb = param("v_bias", (v_embed,), ConstantInitializer())
        ob = param("out_bias", (out_dim,), ConstantInitializer())
    abk = abv = None
    if add_attn_bias:
        abk = param("attn_bias_k", (1, 1, embed), _glorot(embed, 1, rng))
        abv = param("attn_bias_v", (1, 1, v_embed), _glorot(v_embed, 1, rng))
    return F.multi_head_attention(
        query,
        key,
        value,
        num_heads,
        qw,
        kw,
        vw,
        ow,
        qb,
        kb,
        vb,
        ob,
        abk,
        abv,
        dropout,
        additive_mask=additive_mask,
        key_padding_mask=key_padding_mask,
    )


def _residual_norm(x, update, dropout, name):
    """layer_normalization(x + dropout(update)) over the feature axis of (length, batch, features)."""
    if dropout > 0:
        update = F.dropout(update, dropout)
    return layer_normalization(x + update, batch_axis=(0, 1), name=name)


def _feedforward(x, embed_dim, dim_feedforward, dropout, activation, prefix):
    hidden = activation(affine(x, dim_feedforward, base_axis=2, name=f"{prefix}_affine1"))
    if dropout > 0:
        hidden = F.dropout(hidden, dropout)
    return affine(hidden, embed_dim, base_axis=2, name=f"{prefix}_affine2")


@parametric_function_api(
    "transformer_encode",
    [
        ("src_self_attn", "self-attention parameters for source sequence", "Refer to multi_head_attention", True),
        ("enc_affine1", "first affine used in encoder", "Refer to affine for details", True),
        ("enc_affine2", "second affine used in encoder", "Refer to affine for details", True),
        ("enc_layer_norm1", "fist layer normalization used in encoder", "Refer to layer_normalization", True),
        ("enc_layer_norm2", "second layer normalization used in encoder", "Refer to layer_normalization", True),
    ],
)
def transformer_encode(
    src,
    embed_dim,
    num_heads,
    dim_feedforward=2048,
    dropout=0.1,
    activation=None,
    src_additive_mask=None,
    src_key_padding_mask=None,
    rng=None,
    add_attn_bias=False,
    fix_parameters=False,
):
    """One transformer encoder layer (post-norm): self-attention ``src_self_attn``, then the feed-forward
    ``enc_affine1``/``enc_affine2``, each added back and normalized (``enc_layer_norm1``/``2``)."""
    activation = activation or F.relu
    attn = multi_head_attention(
        src,
        src,
        src,
        num_heads=num_heads,
        add_attn_bias=add_attn_bias,
        additive_mask=src_additive_mask,
        key_padding_mask=src_key_padding_mask,
        name="src_self_attn",
    )[0]
    src = _residual_norm(src, attn, dropout, "enc_layer_norm1")
    return _residual_norm(
        src, _feedforward(src, embed_dim, dim_feedforward, dropout, activation, "enc"), dropout, "enc_layer_norm2"
    )


@parametric_function_api(
    "transformer_decode",
    [
        ("tgt_self_attn", "self-attention parameters for target sequence", "Refer to multi_head_attention", True),
        ("tgt_memory_attn", "attention of the target on the encoder output", "Refer to multi_head_attention", True),
        ("dec_affine1", "first affine used in decoder", "Refer to affine for details", True),
        ("dec_affine2", "second affine used in decoder", "Refer to affine for details", True),
        ("dec_layer_norm1", "fist layer normalization used in decoder", "Refer to layer_normalization", True),
        ("dec_layer_norm2", "second layer normalization used in decoder", "Refer to layer_normalization", True),
        ("dec_layer_norm3", "third layer normalization used in decoder", "Refer to layer_normalization", True),
    ],
)
def transformer_decode(
    tgt,
    memory,
    embed_dim,
    num_heads,
    dim_feedforward=2048,
    dropout=0.1,
    activation=None,
    tgt_additive_mask=None,
    memory_additive_mask=None,
    tgt_key_padding_mask=None,
    memory_key_padding_mask=None,
    rng=None,
    add_attn_bias=False,
    fix_parameters=False,
):
    """One transformer decoder layer (post-norm): self-attention ``tgt_self_attn``, attention on the encoder's
    ``memory`` ``tgt_memory_attn``, then the feed-forward ``dec_affine1``/``dec_affine2``, each added back and
    normalized (``dec_layer_norm1``/``2``/``3``)."""
    activation = activation or F.relu
    attn = multi_head_attention(
        tgt,
        tgt,
        tgt,
        num_heads=num_heads,
        add_attn_bias=add_attn_bias,
        additive_mask=tgt_additive_mask,
        key_padding_mask=tgt_key_padding_mask,
        name="tgt_self_attn",
    )[0]
    tgt = _residual_norm(tgt, attn, dropout, "dec_layer_norm1")
    attn = multi_head_attention(
        tgt,
        memory,
        memory,
        num_heads=num_heads,
        add_attn_bias=add_attn_bias,
        additive_mask=memory_additive_mask,
        key_padding_mask=memory_key_padding_mask,
        name="tgt_memory_attn",
    )[0]
    tgt = _residual_norm(tgt, attn, dropout, "dec_layer_norm2")
    return _residual_norm(
        tgt, _feedforward(tgt, embed_dim, dim_feedforward, dropout, activation, "dec"), dropout, "dec_layer_norm3"
    )


@parametric_function_api(
    "transformer",
    [
        ("encoder{layer#}", "parameters for the n'th encoder layer", "Refer to transformer_encode for details", True),
        ("decoder{layer#}", "parameters for the n'th decoder layer", "Refer to transformer_decode for details", True),
    ],
)
def transformer(
    src,
    tgt,
    embed_dim=512,
    num_heads=8,
    num_encoder_layers=6,
    num_decoder_layers=6,
    dim_feedforward=2048,
    dropout=0.1,
    activation=None,
    src_additive_mask=None,
    tgt_additive_mask=None,
    memory_additive_mask=None,
    src_key_padding_mask=None,
    tgt_key_padding_mask=None,
    memory_key_padding_mask=None,
    rng=None,
    add_attn_bias=False,
    fix_parameters=False,
):
    """A transformer: ``num_encoder_layers`` encoder layers (``encoder00``, ...) over ``src``, then
    ``num_decoder_layers`` decoder layers (``decoder00``, ...) over ``tgt`` attending to the encoded source."""
    if src.shape[1] != tgt.shape[1]:
        raise ValueError(f"PF.transformer: src of shape {src.shape} and tgt of shape {tgt.shape} differ in batch")
    if src.shape[2] != embed_dim or tgt.shape[2] != embed_dim:
        raise ValueError(
            f"PF.transformer: src of shape {src.shape} and tgt of shape {tgt.shape} need embed_dim={embed_dim} features"
        )
    shared = dict(
        embed_dim=embed_dim,
        num_heads=num_heads,
        dim_feedforward=dim_feedforward,
        dropout=dropout,
        activation=activation,
        rng=rng,
        add_attn_bias=add_attn_bias,
        fix_parameters=fix_parameters,
    )
    memory = src
    for i in range(num_encoder_layers):
        memory = transformer_encode(
            memory,
            src_additive_mask=src_additive_mask,
            src_key_padding_mask=src_key_padding_mask,
            name=f"encoder{i:02d}",
            **shared,
        )
    output = tgt
    for i in range(num_decoder_layers):
        output = transformer_decode(
            output,
            memory,
            tgt_additive_mask=tgt_additive_mask,
            memory_additive_mask=memory_additive_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            name=f"decoder{i:02d}",
            **shared,
        )
    return output
