"""Recurrent networks over whole sequences: RNN (Elman), LSTM and GRU, multi-layer and bidirectional, and the
packing of variable-length sequences (PackPaddedSequence, PadPackedSequence).

NNabla's layouts (T steps, B batch, I input size, L layers, D directions, H hidden size, G gates):
x (T, B, I); h, c (L, D, B, H); weight_l0 (D, G, H, I + H) and weight (L-1, D, G, H, D*H + H) hold, per layer
and direction, the gate matrices applied to [x_t, h_{t-1}]; bias (L, D, G_b, H). RNN has no gate axis (G = 1);
LSTM's gates are input, forget, cell, output; GRU's are reset, update, new, with a fourth bias for the hidden
part of the new gate. Outputs: y (T, B, D*H) (each direction's h_t side by side), h_n (and c_n) (L, D, B, H).

Backward runs backpropagation through time: it replays the forward to rebuild the per-step activations (so the
graph keeps only the inputs) and walks the steps in reverse. ``dropout`` drops units of every layer's output but
the last while training, as NNabla's cuDNN kernel does (its CPU kernel ignores the argument). Higher orders
(``nn.grad``) rebuild the forward from registered functions, step by step with the cell's own arithmetic, and
differentiate that; with dropout applied they stop at first order, as NNabla refuses dropout there.
"""

from __future__ import annotations

import numpy as np

from .._array import NdArray as _NdArray
from ..function import Function, FunctionError, apply, register
from .indexing import mask_positions
from .random_ops import Sampler


def _sigmoid(xp, a):
    return 0.5 * (xp.tanh(0.5 * a) + 1)  # no overflow for large |a|


# A cell is one step's arithmetic on the projections px = x_t W_x^T and ph = h_{t-1} W_h^T (B, G, H):
#   step(px, ph, b, h, c) -> (h_t, c_t or None, what back needs)
#   back(saved, gh_t, gc_t) -> (grad of px, grad of ph, grad of b, grad of h_{t-1} besides ph's, grad of c_{t-1})
class TanhCell:
    """h' = tanh([x, h] W^T + b)."""

    gates, bias_gates = 1, 1

    def act(self, xp, a):
        return xp.tanh(a)

    def step(self, xp, px, ph, b, h, c):
        y = self.act(xp, px + ph + b)
        return y[:, 0], None, (y,)

    def act_grad(self, xp, y, gy):
        return gy * (1 - y * y)

    def back(self, xp, saved, gh, gc):
        ga = self.act_grad(xp, saved[0], gh[:, None])
        return ga, ga, ga.sum(axis=0), None, None


class ReluCell(TanhCell):
    """h' = max([x, h] W^T + b, 0)."""

    def act(self, xp, a):
        return xp.maximum(a, 0)

    def act_grad(self, xp, y, gy):
        return gy * (y > 0)


class LSTMCellMath:
    """i, f, o = sigmoid(gates), g = tanh(gate); c' = f c + i g; h' = o tanh(c')."""

    gates, bias_gates = 4, 4

    def step(self, xp, px, ph, b, h, c):
        a = px + ph + b
        i, f, o = _sigmoid(xp, a[:, 0]), _sigmoid(xp, a[:, 1]), _sigmoid(xp, a[:, 3])
        g = xp.tanh(a[:, 2])
        c_new = f * c + i * g
        tc = xp.tanh(c_new)
        return o * tc, c_new, (i, f, g, o, c, tc)

    def back(self, xp, saved, gh, gc):
        i, f, g, o, c, tc = saved
        gc = gc + gh * o * (1 - tc * tc)
        go = gh * tc
        ga = xp.stack([gc * g * i * (1 - i), gc * c * f * (1 - f), gc * i * (1 - g * g), go * o * (1 - o)], axis=1)
        return ga, ga, ga.sum(axis=0), None, gc * f


class GRUCellMath:
    """r, z = sigmoid(gates); n = tanh(x W_n^T + b_in + r (h U_n^T + b_hn)); h' = (1 - z) n + z h."""

    gates, bias_gates = 3, 4

    def step(self, xp, px, ph, b, h, c):
        r = _sigmoid(xp, px[:, 0] + ph[:, 0] + b[0])
        z = _sigmoid(xp, px[:, 1] + ph[:, 1] + b[1])
        hn = ph[:, 2] + b[3]
        n = xp.tanh(px[:, 2] + b[2] + r * hn)
        return (1 - z) * n + z * h, None, (r, z, n, hn, h)

    def back(self, xp, saved, gh, gc):
        r, z, n, hn, h = saved
        gan = gh * (1 - z) * (1 - n * n)
        gar = gan * hn * r * (1 - r)
        gaz = gh * (h - n) * z * (1 - z)
        ghn = gan * r
        gpx = xp.stack([gar, gaz, gan], axis=1)
        gph = xp.stack([gar, gaz, ghn], axis=1)
        gb = xp.stack([gar.sum(0), gaz.sum(0), gan.sum(0), ghn.sum(0)])
        return gpx, gph, gb, gh * z, None


class Recurrent(Sampler):
    """Shared by RNN, LSTM and GRU: input layout, the layer/direction loop, dropout and backpropagation in time."""

    n_states = 1  # h (and c for LSTM)
    gate_axis = True  # weights and biases have a gate axis (RNN's do not)
    stochastic = False

    def init(self):
        if self.args["dropout"] is None:
            self.args["dropout"] = 0.0
        p = float(self.args["dropout"])
        if not 0.0 <= p < 1.0:
            raise FunctionError(f"{self.type_name}: dropout={p} must be in [0, 1)")
        if int(self.args["num_layers"]) < 1:
            raise FunctionError(f"{self.type_name}: num_layers={self.args['num_layers']} must be at least 1")
        self.cell = self.make_cell()
        self.stochastic = p > 0 and bool(self.args["training"]) and int(self.args["num_layers"]) > 1
        if self.stochastic:  # NNabla's double backward refuses dropout; first-order nn.grad works here
            self.double_backward = False
            self.no_double_backward_why = f"with dropout={p} while training (NNabla's needs dropout 0.0)"
        self._rng = None
        self._replay_state = None
        self._replaying = False
        self._masks = None

    def make_cell(self):
        raise NotImplementedError

    # -- shapes -----------------------------------------------------------------------------------------------
    def _w_shape(self, layers, d, h, inner):
        g = (self.cell.gates,) if self.gate_axis else ()
        return layers + (d,) + g + (h, inner)

    def _b_shape(self, layers, d, h):
        g = (self.cell.bias_gates,) if self.gate_axis else ()
        return (layers, d) + g + (h,)

    def output_shapes(self, *shapes):
        name, k = self.type_name, self.n_states
        num_layers = int(self.args["num_layers"])
        d = 2 if self.args["bidirectional"] else 1
        xs, hs = shapes[0], shapes[1]
        if len(xs) != 3:
            raise FunctionError(f"{name}: x must be 3-D (steps, batch, input size), got shape {xs}")
        t, b, i = xs
        if len(hs) != 4 or tuple(hs[:3]) != (num_layers, d, b):
            raise FunctionError(
                f"{name}: h of shape {hs} must be (num_layers, directions, batch, hidden) = "
                f"({num_layers}, {d}, {b}, hidden) for x of shape {xs}"
            )
        hidden = hs[3]
        if k == 2 and tuple(shapes[2]) != tuple(hs):
            raise FunctionError(f"{name}: c of shape {shapes[2]} must equal h's shape {hs}")
        w0 = tuple(shapes[1 + k])
        if w0 != self._w_shape((), d, hidden, i + hidden):
            raise FunctionError(
                f"{name}: weight_l0 of shape {w0} must be {self._w_shape((), d, hidden, i + hidden)} "
                f"for x of shape {xs} and h of shape {hs}"
            )
        extra = [tuple(s) for s in shapes[2 + k :]]
        w_ndim = len(self._w_shape((1,), d, hidden, 1))
        self._has_weight = num_layers > 1
        if num_layers > 1 and (not extra or len(extra[0]) != w_ndim):
            raise FunctionError(f"{name}: weight must be given when num_layers={num_layers} > 1")
        if num_layers == 1 and (len(extra) > 1 or (extra and len(extra[0]) == w_ndim)):
            raise FunctionError(f"{name}: weight cannot be given when num_layers == 1")
        if self._has_weight:
            want = self._w_shape((num_layers - 1,), d, hidden, d * hidden + hidden)
            if extra[0] != want:
                raise FunctionError(f"{name}: weight of shape {extra[0]} must be {want}")
        self._has_bias = len(extra) > int(self._has_weight)
        if self._has_bias and extra[-1] != self._b_shape(num_layers, d, hidden):
            raise FunctionError(f"{name}: bias of shape {extra[-1]} must be {self._b_shape(num_layers, d, hidden)}")
        self._dims = (t, b, i, num_layers, d, hidden)
        return [(t, b, d * hidden)] + [tuple(hs)] * k

    # -- forward ----------------------------------------------------------------------------------------------
    def _split(self, xs):
        """(x, h, c or None, weight_l0, weight or None, bias or None) in the gate layout of every kind."""
        k = self.n_states
        _, _, i, num_layers, d, hidden = self._dims
        g, gb = self.cell.gates, self.cell.bias_gates
        x, h = xs[0], xs[1]
        c = xs[2] if k == 2 else None
        w0 = xs[1 + k].reshape(d, g, hidden, i + hidden)
        rest = list(xs[2 + k :])
        w = rest.pop(0).reshape(num_layers - 1, d, g, hidden, (d + 1) * hidden) if self._has_weight else None
        bias = rest[0].reshape(num_layers, d, gb, hidden) if self._has_bias else None
        return x, h, c, w0, w, bias

    def compute(self, xp, *xs):
        if not self.stochastic:  # no dropout: no generator to record
            return self.sample(xp, None, *xs)
        return super().compute(xp, *xs)

    def sample(self, xp, rng, *xs):
        ys, hn, cn, _ = self._run(xp, xs, rng=rng)
        return (ys, hn) if cn is None else (ys, hn, cn)

    def _run(self, xp, xs, rng=None, keep=False):
        """Every layer and direction; with ``keep``, also what backward needs (per layer: its input and, per
        direction, the per-step activations)."""
        x, h, c, w0, w, bias = self._split(xs)
        num_layers, d, hidden = self._dims[3:]
        p = float(self.args["dropout"])
        drop = p > 0 and bool(self.args["training"])
        if rng is not None:
            self._masks = []
        hn = xp.empty(h.shape, h.dtype)
        cn = xp.empty(h.shape, h.dtype) if c is not None else None
        record = []
        inp = x
        for layer in range(num_layers):
            weights = w0 if layer == 0 else w[layer - 1]
            outs, runs = [], []
            for direction in range(d):
                b_ld = bias[layer, direction] if bias is not None else xp.zeros((self.cell.bias_gates, hidden), x.dtype)
                c0 = c[layer, direction] if c is not None else None
                ys, h_last, c_last, saved = self._sequence(
                    xp, inp, h[layer, direction], c0, weights[direction], b_ld, direction == 1
                )
                hn[layer, direction] = h_last
                if c is not None:
                    cn[layer, direction] = c_last
                outs.append(ys)
                runs.append(saved if keep else None)
            record.append((inp, runs))
            out = outs[0] if d == 1 else xp.concatenate(outs, axis=2)
            if drop and layer < num_layers - 1:
                if rng is not None:
                    keep_mask = rng.uniform(size=out.shape) > p
                    self._masks.append(xp.asarray(keep_mask, dtype=out.dtype) * (1.0 / (1.0 - p)))
                out = out * self._masks[layer]
            inp = out
        return inp, hn, cn, record

    def _sequence(self, xp, xs, h, c, w, b, reverse):
        """One direction of one layer over the steps: outputs (T, B, H), final h and c, per-step activations."""
        t, batch, n_in = xs.shape
        g, hidden = w.shape[0], w.shape[1]
        wx = w[..., :n_in].reshape(g * hidden, n_in)
        wh = w[..., n_in:].reshape(g * hidden, hidden)
        px = (xs.reshape(t * batch, n_in) @ wx.T).reshape(t, batch, g, hidden)
        ys = xp.empty((t, batch, hidden), xs.dtype)
        saved = [None] * t
        for step in range(t - 1, -1, -1) if reverse else range(t):
            ph = (h @ wh.T).reshape(batch, g, hidden)
            h_new, c, act = self.cell.step(xp, px[step], ph, b, h, c)
            saved[step] = (h, act)
            ys[step] = h = h_new
        return ys, h, c, saved

    # -- backward ---------------------------------------------------------------------------------------------
    def grad(self, xp, xs, ys, gys, need):
        if not self.args["training"]:
            raise FunctionError(f"{self.type_name}: backward is called for training only (training=False)")
        k = self.n_states
        x, h, c, w0, w, bias = self._split(xs)
        steps, batch, _, num_layers, d, hidden = self._dims
        _, _, _, record = self._run(xp, xs, keep=True)
        gy = gys[0] if gys[0] is not None else xp.zeros((steps, batch, d * hidden), x.dtype)
        ghn = gys[1] if gys[1] is not None else xp.zeros(h.shape, x.dtype)
        gcn = gys[2] if k == 2 and gys[2] is not None else None
        gh0 = xp.empty(h.shape, x.dtype)
        gc0 = xp.empty(h.shape, x.dtype) if k == 2 else None
        gw0 = xp.empty(w0.shape, x.dtype)
        gw = xp.empty(w.shape, x.dtype) if w is not None else None
        gbias = xp.empty(bias.shape, x.dtype) if bias is not None else None
        for layer in range(num_layers - 1, -1, -1):
            weights = w0 if layer == 0 else w[layer - 1]
            gweights = gw0 if layer == 0 else gw[layer - 1]
            inp, runs = record[layer]
            if self._masks and layer < num_layers - 1:
                gy = gy * self._masks[layer]
            g_inp = xp.zeros(inp.shape, x.dtype)
            for direction in range(d):
                gc_last = gcn[layer, direction] if gcn is not None else (xp.zeros_like(ghn[0, 0]) if k == 2 else None)
                g_in, gh_first, gc_first, gweights[direction], gb = self._sequence_grad(
                    xp,
                    inp,
                    runs[direction],
                    weights[direction],
                    gy[..., direction * hidden : (direction + 1) * hidden],
                    ghn[layer, direction],
                    gc_last,
                    direction == 1,
                )
                g_inp += g_in
                gh0[layer, direction] = gh_first
                if k == 2:
                    gc0[layer, direction] = gc_first
                if gbias is not None:
                    gbias[layer, direction] = gb
            gy = g_inp
        grads = [gy, gh0] + ([gc0] if k == 2 else []) + [gw0.reshape(xs[1 + k].shape)]
        if gw is not None:
            grads.append(gw.reshape(xs[2 + k].shape))
        if gbias is not None:
            grads.append(gbias.reshape(xs[-1].shape))
        return tuple(g if n else None for g, n in zip(grads, need))

    def _sequence_grad(self, xp, xs, saved, w, gys, gh, gc, reverse):
        t, batch, n_in = xs.shape
        g, hidden = w.shape[0], w.shape[1]
        wx = w[..., :n_in].reshape(g * hidden, n_in)
        wh = w[..., n_in:].reshape(g * hidden, hidden)
        gpx_all = xp.empty((t, batch, g * hidden), xs.dtype)
        gwh = xp.zeros((g * hidden, hidden), xs.dtype)
        gb = 0
        for step in range(t) if reverse else range(t - 1, -1, -1):
            h_prev, act = saved[step]
            gh = gh + gys[step]
            gpx, gph, gb_step, gh_direct, gc = self.cell.back(xp, act, gh, gc)
            gpx_all[step] = gpx.reshape(batch, g * hidden)
            gph = gph.reshape(batch, g * hidden)
            gwh += gph.T @ h_prev
            gh = gph @ wh
            if gh_direct is not None:
                gh = gh + gh_direct
            gb = gb + gb_step
        flat = gpx_all.reshape(t * batch, g * hidden)
        gx = (flat @ wx).reshape(t, batch, n_in)
        gwx = flat.T @ xs.reshape(t * batch, n_in)
        gw = xp.concatenate([gwx.reshape(g, hidden, n_in), gwh.reshape(g, hidden, hidden)], axis=2)
        return gx, gh, gc, gw, gb

    def grad_depends_output_data(self, i, o):
        return False

    # -- higher order -----------------------------------------------------------------------------------------
    def grad_graph(self, xs, ys, gys, need):
        """The forward rebuilt from registered functions (the cell's own step on graph stand-ins), differentiated
        by ``nn.grad``: differentiable again, as NNabla's composed backward. Dropout masks are refused there."""
        from .._grad_graph import first_order_only
        from ..grad import grad_within

        if not self.double_backward:
            return first_order_only(self, xs, ys, gys, need)
        wanted = [x for x, n in zip(xs, need) if n]
        grads = iter(grad_within(self._graph_forward(xs), wanted, list(gys)))
        return [next(grads) if n else None for n in need]

    def _graph_forward(self, xs) -> list:
        """y, h_n (and c_n) as Variables of registered functions of the inputs ``xs``."""
        from .. import functions as F
        from .._grad_graph import GraphModule, Sym, constant

        xp = GraphModule(self.xp)
        x, h, c, w0, w, bias = self._split([Sym(v) for v in xs])
        num_layers, d, hidden = self._dims[3:]
        hn, cn = [], []
        inp = x
        for layer in range(num_layers):
            weights = w0 if layer == 0 else w[layer - 1]
            outs = []
            for direction in range(d):
                no_bias = Sym(constant(0, (self.cell.bias_gates, hidden)))
                b_ld = bias[layer, direction] if bias is not None else no_bias
                c0 = c[layer, direction] if c is not None else None
                ys, h_last, c_last = self._graph_sequence(
                    xp, inp, h[layer, direction], c0, weights[direction], b_ld, direction == 1
                )
                outs.append(ys)
                hn.append(h_last.v)
                cn.append(c_last.v if c is not None else None)
            inp = outs[0] if d == 1 else Sym(F.concatenate(*[o.v for o in outs], axis=2))

        def states(vs):
            return F.reshape(F.stack(*vs, axis=0), (num_layers, d) + tuple(vs[0].shape))

        return [inp.v, states(hn)] + ([states(cn)] if c is not None else [])

    def _graph_sequence(self, xp, xs, h, c, w, b, reverse):
        """``_sequence`` on graph stand-ins: outputs (T, B, H) and the final h and c."""
        from .. import functions as F
        from .._grad_graph import Sym

        t, batch, n_in = xs.shape
        g, hidden = w.shape[0], w.shape[1]
        wx = w[:, :, :n_in].reshape(g * hidden, n_in)
        wh = w[:, :, n_in:].reshape(g * hidden, hidden)
        px = (xs.reshape(t * batch, n_in) @ wx.T).reshape(t, batch, g, hidden)
        ys = [None] * t
        for step in range(t - 1, -1, -1) if reverse else range(t):
            ph = (h @ wh.T).reshape(batch, g, hidden)
            h, c, _ = self.cell.step(xp, px[step], ph, b, h, c)
            ys[step] = h.v
        return Sym(F.stack(*ys, axis=0)), h, c


@register
class RNN(Recurrent):
    """Elman RNN: h_t = tanh or relu([x_t, h_{t-1}] W^T + b), over layers and directions."""

    inputs_spec = ("x", "h", "weight_l0", "weight?", "bias?")
    args_spec = {"num_layers": 1, "nonlinearity": "tanh", "dropout": None, "bidirectional": False, "training": True}
    gate_axis = False

    def make_cell(self):
        cells = {"tanh": TanhCell, "relu": ReluCell}
        if self.args["nonlinearity"] not in cells:
            raise FunctionError(f"RNN: nonlinearity={self.args['nonlinearity']!r} must be 'tanh' or 'relu'")
        return cells[self.args["nonlinearity"]]()


@register
class LSTM(Recurrent):
    """N-step LSTM: gates input, forget, cell, output from [x_t, h_{t-1}]; returns y, h_n, c_n."""

    inputs_spec = ("x", "h", "c", "weight_l0", "weight?", "bias?")
    args_spec = {"num_layers": 1, "dropout": None, "bidirectional": False, "training": True}
    n_states = 2

    def make_cell(self):
        return LSTMCellMath()


@register
class GRU(Recurrent):
    """N-step GRU: reset and update gates, new gate with separate input and hidden biases; returns y, h_n."""

    inputs_spec = ("x", "h", "weight_l0", "weight?", "bias?")
    args_spec = {"num_layers": 1, "dropout": None, "bidirectional": False, "training": True}

    def make_cell(self):
        return GRUCellMath()


# -- variable-length sequences ----------------------------------------------------------------------------------


def _places(xp, filled, count, batch_first):
    """Index arrays (first axis, second axis) of the padded array that the packed rows come from, in order.

    ``filled`` (steps, batch) is set where a sequence has a step; ``count``, its number of set entries, is known
    from graph building, so the positions come without reading the lengths back from the device.
    """
    steps, seqs = xp.unravel_index(mask_positions(xp, filled, count), filled.shape)
    return (seqs, steps) if batch_first else (steps, seqs)


def _data_of(v):
    return v.data if isinstance(v, _NdArray) else v.d


@register
class PackPaddedSequence(Function):
    """(packed_sequence, batch_sizes): the steps of length-sorted (longest first) padded sequences, packed."""

    double_backward = False  # as in NNabla

    inputs_spec = ("padded_sequence", "lengths")
    args_spec = {"batch_first": False}
    keep_dtype = (1,)
    grad_uses = ""

    total = None  # sum(lengths), read when the graph is built

    def output_shapes(self, ps, ls):
        if len(ps) < 2 or len(ls) != 1:
            raise FunctionError(
                f"PackPaddedSequence: padded_sequence of shape {ps} must be at least 2-D and lengths of shape {ls} 1-D"
            )
        steps, batch = (ps[1], ps[0]) if self.args["batch_first"] else (ps[0], ps[1])
        if ls[0] != batch:
            raise FunctionError(f"PackPaddedSequence: lengths of shape {ls} must have one entry per sequence ({batch})")
        if self.total is None:
            raise FunctionError(
                "PackPaddedSequence: the output size depends on the lengths' values; build it with "
                "F.pack_padded_sequence"
            )
        self._batch_sizes = None
        return [(self.total,) + tuple(ps[2:]), (steps,)]

    def compute(self, xp, padded, lengths):
        if xp is np and int(lengths.sum()) != self.total:  # checked on the host only (see indexing._mask_rows)
            raise FunctionError(
                f"PackPaddedSequence: the lengths now sum to {int(lengths.sum())}, the graph was built for {self.total}"
            )
        steps = padded.shape[1] if self.args["batch_first"] else padded.shape[0]
        filled = xp.arange(steps)[:, None] < lengths.reshape(1, -1)  # (steps, batch)
        self._places = _places(xp, filled, self.total, self.args["batch_first"])
        sizes = filled.sum(axis=1)
        return padded[self._places], sizes.astype(lengths.dtype if lengths.dtype.kind == "i" else np.int32)

    def grad(self, xp, xs, ys, gys, need):
        padded = xs[0]
        g = xp.zeros(padded.shape, gys[0].dtype)
        g[self._places] = gys[0]
        return g, None


@register
class PadPackedSequence(Function):
    """(padded_sequence, lengths): packed steps unpacked into a padded array, the inverse of PackPaddedSequence."""

    double_backward = False  # as in NNabla

    inputs_spec = ("packed_sequence", "batch_sizes")
    args_spec = {"batch_first": False, "padding_value": None, "total_length": None}
    keep_dtype = (1,)
    grad_uses = ""

    batch = None  # max(batch_sizes), read when the graph is built

    def init(self):
        if self.args["padding_value"] is None:
            self.args["padding_value"] = 0.0
        if self.args["total_length"] is None:
            self.args["total_length"] = -1

    def output_shapes(self, ps, bs):
        if len(ps) < 1 or len(bs) != 1:
            raise FunctionError(
                f"PadPackedSequence: packed_sequence of shape {ps} must be at least 1-D, batch_sizes of shape {bs} 1-D"
            )
        if self.batch is None:
            raise FunctionError(
                "PadPackedSequence: the output size depends on the batch sizes' values; build it with "
                "F.pad_packed_sequence"
            )
        steps = max(int(self.args["total_length"]), bs[0])
        lead = (self.batch, steps) if self.args["batch_first"] else (steps, self.batch)
        return [lead + tuple(ps[1:]), (self.batch,)]

    def compute(self, xp, packed, batch_sizes):
        sizes = batch_sizes.reshape(-1)
        if xp is np and (int(sizes.sum()) != packed.shape[0] or (sizes.size and int(sizes.max()) != self.batch)):
            raise FunctionError(  # checked on the host only (see indexing._mask_rows)
                f"PadPackedSequence: batch_sizes {sizes.tolist()} do not fit packed_sequence of shape {packed.shape} "
                f"and the graph's batch of {self.batch}"
            )
        filled = xp.arange(self.batch)[None, :] < sizes[:, None]  # (steps, batch)
        self._places = _places(xp, filled, packed.shape[0], self.args["batch_first"])
        shape = self.output_shapes(packed.shape, sizes.shape)[0]
        padded = xp.full(shape, self.args["padding_value"], packed.dtype)
        padded[self._places] = packed
        lengths = filled.sum(axis=0)
        return padded, lengths.astype(sizes.dtype if sizes.dtype.kind == "i" else np.int32)

    def grad(self, xp, xs, ys, gys, need):
        return gys[0][self._places], None


def pack_padded_sequence(padded_sequence, lengths, batch_first=False, n_outputs=-1, outputs=None):
    """(packed_sequence, batch_sizes) of length-sorted padded sequences (the lengths' values fix the size now)."""
    func = PackPaddedSequence(None, batch_first=batch_first)
    func.total = int(np.asarray(_data_of(lengths)).sum())
    return apply(func, (padded_sequence, lengths), outputs=outputs)


def pad_packed_sequence(
    packed_sequence, batch_sizes, batch_first=False, padding_value=None, total_length=None, n_outputs=-1, outputs=None
):
    """(padded_sequence, lengths) from packed steps (the batch sizes' values fix the size now)."""
    func = PadPackedSequence(None, batch_first=batch_first, padding_value=padding_value, total_length=total_length)
    sizes = np.asarray(_data_of(batch_sizes)).reshape(-1)
    func.batch = int(sizes.max()) if sizes.size else 0
    return apply(func, (packed_sequence, batch_sizes), outputs=outputs)


PUBLIC = {"pack_padded_sequence": pack_padded_sequence, "pad_packed_sequence": pad_packed_sequence}
