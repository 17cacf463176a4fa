"""Quantization-aware training scenarios run both on real NNabla 1.36 (``tests/reference/make_qnn_fixtures.py``
writes ``fixtures/qnn_reference.npz``) and on the engine (``test_qnn.py``). Only NNabla's public API is used.

Each scenario returns a flat dict of numpy arrays: losses, learning rates and states step by step, every
parameter (recorded ranges, scales, zero points) after each step, the evaluation network's quantized output,
the converted graph's function types and the printed state changes.
"""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout

import numpy as np

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla.solvers as S
from nnabla.utils import qnn

SHAPE = (2, 2, 6, 6)


def _conv_net(x, rng, test=False, residual=False):
    h = PF.convolution(x, 4, (3, 3), pad=(1, 1), name="conv1", rng=rng)
    h = PF.batch_normalization(h, batch_stat=not test, name="bn1")
    h = F.relu(h)
    g = PF.convolution(h, 4, (3, 3), pad=(1, 1), name="conv2", rng=rng)
    g = PF.batch_normalization(g, batch_stat=not test, name="bn2")
    h = F.relu(g + h) if residual else F.relu(g)
    h = F.average_pooling(h, (2, 2))
    h = PF.affine(h, 6, name="fc1", rng=rng)
    h = F.relu(h)
    return PF.affine(h, 3, name="fc2", rng=rng)


def _types(y):
    names = []
    y.visit(lambda f: names.append(f.info.type_name))
    return np.array(names)


def _qat(config, residual=False, steps=6):
    """Train a small conv net through NON_QNN -> RECORDING -> TRAINING, recording everything at each step."""
    nn.clear_parameters()
    rng = np.random.RandomState(0)
    x, t = nn.Variable(SHAPE), nn.Variable((SHAPE[0], 1))
    pred = _conv_net(x, rng, residual=residual)
    loss = F.mean(F.softmax_cross_entropy(pred, t))
    vx = nn.Variable(SHAPE)
    vpred = _conv_net(vx, rng, test=True, residual=residual)
    solver = S.Momentum(0.1, 0.9)
    solver.set_parameters(nn.get_parameters())
    scheduler = qnn.QATScheduler(config=config, solver=solver)
    scheduler(pred)
    scheduler(vpred, training=False)
    out, printed = {}, io.StringIO()
    data = np.random.RandomState(1)
    for i in range(steps):
        with redirect_stdout(printed):
            scheduler.step()
        x.d = data.randn(*SHAPE)
        t.d = data.randint(0, 3, size=t.shape)
        loss.forward()
        solver.zero_grad()
        loss.backward()
        solver.update()
        vx.d = x.d
        vpred.forward()
        out[f"{i}/loss"] = np.array(loss.d)
        out[f"{i}/vpred"] = vpred.d.copy()
        out[f"{i}/lr"] = np.array(solver.learning_rate())
        out[f"{i}/state"] = np.array(scheduler.state.name)
        if i not in (config.niter_to_recording, config.niter_to_training - 1, steps - 1):
            continue  # parameters kept when recording starts, before training starts, and at the end
        for name, p in nn.get_parameters(grad_only=False).items():
            out[f"{i}/param/{name}"] = p.d.astype(np.float32)
            out[f"{i}/need_grad/{name}"] = np.array(p.need_grad)
    out["types/train"] = _types(loss)
    out["types/eval"] = _types(vpred)
    out["printed"] = np.array(re.sub(r" at 0x[0-9a-f]+", "", printed.getvalue()))
    out["solver_params"] = np.array(sorted(solver.get_parameters()))
    return out


def default_config():
    config = qnn.QATConfig()
    config.ext_name = "cpu"
    config.niter_to_recording = 1
    config.niter_to_training = 4
    return _qat(config, steps=7)


def tensorrt_folding():
    """Batch normalizations folded, a residual Add2 sharing its recorder, recorders before and after."""
    config = qnn.QATTensorRTConfig()
    config.ext_name = "cpu"
    config.niter_to_recording = 0
    config.niter_to_training = 3
    config.record_layers = []
    config.recorder_position = qnn.QATConfig.RecorderPosition.BOTH
    config.recorder_activation = qnn.MinMaxMinMaxRecorderCallback
    config.recorder_weight = qnn.MinMaxMvaRecorderCallback
    config.pow2 = qnn.QATConfig.RoundingMethod.CEIL
    config.narrow_range = True
    config.skip_inputs_layers = []
    config.skip_outputs_layers = []
    return _qat(config, residual=True)


def max_recorders():
    config = qnn.QATConfig()
    config.ext_name = "cpu"
    config.niter_to_recording = 1
    config.niter_to_training = 2
    config.recorder_activation = qnn.AbsMaxRecorderCallback
    config.recorder_weight = qnn.MaxMaxRecorderCallback
    config.pow2 = qnn.QATConfig.RoundingMethod.NOTROUND
    config.skip_bias = True
    config.learning_rate_scale = 0.5
    return _qat(config, residual=True, steps=4)


def recorders():
    """Each recorder function run twice on a batch, and the scales made from what the callbacks recorded."""
    out = {}
    x = nn.Variable.from_numpy_array(np.arange(12, dtype=np.float32).reshape(2, 2, 3) - 7.5)
    cases = {
        "minmax_minmax": lambda m, M: qnn.minmax_minmax_recorder(x, m, M),
        "minmax_mva": lambda m, M: qnn.minmax_mva_recorder(x, m, M, decay=0.9),
        "abs_max": lambda m, M: qnn.abs_max_recorder(x, M),
        "max_max": lambda m, M: qnn.max_max_recorder(x, M),
        "max_mva": lambda m, M: qnn.max_mva_recorder(x, M),
        "not_training": lambda m, M: qnn.minmax_minmax_recorder(x, m, M, training=False),
    }
    for name, make in cases.items():
        m = nn.Variable.from_numpy_array(np.full((1, 1, 1), 0.25, np.float32))
        M = nn.Variable.from_numpy_array(np.full((1, 1, 1), 0.5, np.float32))
        y = make(m, M)
        y.forward()
        y.forward()
        out[f"{name}/y"], out[f"{name}/m"], out[f"{name}/M"] = y.d.copy(), m.d.copy(), M.d.copy()
        out[f"{name}/type"] = np.array(y.parent.info.type_name)
    nn.clear_parameters()
    callbacks = ["MinMaxMinMax", "MinMaxMva", "AbsMax", "MaxMax", "MaxMva"]
    for cb in callbacks:
        callback = getattr(qnn, cb + "RecorderCallback")
        with nn.parameter_scope(cb):
            out[f"{cb}/name"] = np.array(callback().name())
            out[f"{cb}/missing"] = np.array(callback.get_scale_zeropoint(x, name="x9") == (None, None))
            callback()(x, name="x0").forward()
            for method in ["CEIL", "ROUND", "FLOOR", "NOTROUND"]:
                for narrow in (False, True):
                    with nn.parameter_scope(f"{method}-{narrow}"):
                        callback()(x, name="x0").forward()
                        scale, zp = callback.get_scale_zeropoint(x, narrow_range=narrow, round_method=method, name="x0")
                        out[f"{cb}/{method}/{narrow}/scale"] = scale.d.copy()
                        out[f"{cb}/{method}/{narrow}/zeropoint"] = zp.d.copy()
                        out[f"{cb}/{method}/{narrow}/zeropoint_dtype"] = np.array(str(zp.d.dtype))
    for name, p in nn.get_parameters(grad_only=False).items():
        out[f"shape/{name}"] = np.array(p.shape)
        out[f"need_grad/{name}"] = np.array(p.need_grad)
    return out


ALL = {
    "default_config": default_config,
    "tensorrt_folding": tensorrt_folding,
    "max_recorders": max_recorders,
    "recorders": recorders,
}


def pack(arrays: dict) -> dict:
    """Many small arrays as few: the numbers of all numeric ones in one float64 array (exact for float32) with
    their keys and shapes; text arrays stay as they are. Keeps the fixture small (an npz entry costs ~200 bytes)."""
    numeric = {k: v for k, v in arrays.items() if v.dtype.kind not in "US"}
    out = {k: v for k, v in arrays.items() if k not in numeric}
    out["numeric/keys"] = np.array(list(numeric))
    out["numeric/ndims"] = np.array([v.ndim for v in numeric.values()])
    out["numeric/shapes"] = np.array([d for v in numeric.values() for d in v.shape], dtype=np.int64)
    out["numeric/values"] = np.concatenate([np.ravel(v).astype(np.float64) for v in numeric.values()])
    return out


def unpack(packed) -> dict:
    """The arrays ``pack`` packed (numeric ones as float64)."""
    out = {k: packed[k] for k in packed if not k.startswith("numeric/")}
    dims, values = iter(packed["numeric/shapes"].tolist()), packed["numeric/values"]
    start = 0
    for key, ndim in zip(packed["numeric/keys"].tolist(), packed["numeric/ndims"].tolist()):
        shape = tuple(next(dims) for _ in range(ndim))
        size = int(np.prod(shape, dtype=np.int64))
        out[key] = values[start : start + size].reshape(shape)
        start += size
    return out
