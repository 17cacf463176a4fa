"""The rules users trip on: threads, errors raised in the right place, hooks and the profiler's bookkeeping."""

import io

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
from nnabla.utils.data_iterator import data_iterator_simple
from nnabla.utils.image_utils import imresize, imsave


def _load(i):
    return np.array([i], dtype=np.float32), np.array([i % 3], dtype=np.int32)


def test_reading_ahead_in_a_thread_gives_the_same_batches():
    batches = []
    for use_thread in (True, False):
        with data_iterator_simple(_load, 11, 4, shuffle=True, use_thread=use_thread) as di:
            batches.append([di.next()[0].ravel().tolist() for _ in range(7)])
    assert batches[0] == batches[1]


def test_an_error_in_load_func_reaches_the_caller_of_next():
    def load(i):
        if i == 5:
            raise KeyError("example 5 is missing")
        return (np.zeros(2),)

    di = data_iterator_simple(load, 8, 4)
    di.next()
    with pytest.raises(KeyError, match="example 5"):
        di.next()


def test_iterating_with_for_and_stop_exhausted():
    di = data_iterator_simple(_load, 9, 4, stop_exhausted=True)
    assert [x.ravel().tolist() for x, _ in di] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_slice_needs_a_position_or_a_range():
    di = data_iterator_simple(_load, 10, 2)
    with pytest.raises(ValueError, match="num_of_slices and slice_pos, or slice_start and slice_end"):
        di.slice(None, num_of_slices=2)


def test_image_functions_refuse_what_pillow_cannot_do(tmp_path):
    with pytest.raises(ValueError, match="range of \\[0, 1\\]"):
        imsave(str(tmp_path / "a.png"), np.full((2, 2), 2.0))
    with pytest.raises(ValueError, match="16-bit"):
        imsave(str(tmp_path / "a.png"), np.zeros((2, 2), np.uint16))
    with pytest.raises(ValueError, match="unknown interpolation"):
        imresize(np.zeros((4, 4), np.uint8), (2, 2), interpolate="sinc")


def test_time_profiler_reports_each_function_in_each_scope(capsys):
    from nnabla.utils.inspection import TimeProfiler

    nn.clear_parameters()
    x = nn.Variable.from_numpy_array(np.ones((2, 3), np.float32))
    y = F.relu(PF.affine(x, 2))
    tp = TimeProfiler(ext_name="cpu", device_id="0")
    for _ in range(3):
        with tp.scope("forward"):
            y.forward(function_pre_hook=tp.pre_hook, function_post_hook=tp.post_hook)
        with tp.scope("backward"):
            y.backward(function_pre_hook=tp.pre_hook, function_post_hook=tp.post_hook)
        tp.calc_elapsed_time(["forward", "backward", "summary"])
    averages = tp.average(start_index=1)
    assert [f.info.type_name for f in averages["forward"]] == ["Affine", "ReLU"]
    assert sorted(averages["summary"]) == ["backward", "forward"]
    assert all(r["num"] == 2 and r["scale"] == "ms" for r in averages["forward"].values())
    tp()
    printed = capsys.readouterr().out
    assert "### forward ###" in printed and "### summary ###" in printed


def test_graph_profiler_refuses_zero_runs_and_unknown_scales():
    from nnabla.utils.profiler import GraphProfiler

    y = F.relu(nn.Variable((2,)))
    with pytest.raises(AssertionError, match="n_run"):
        GraphProfiler(y, device_id=0, ext_name="cpu", n_run=0)
    with pytest.raises(NotImplementedError, match="format"):
        GraphProfiler(y, device_id=0, ext_name="cpu", time_scale="s")


def test_nan_inf_tracer_finds_inf_in_a_gradient_only():
    from nnabla.utils.inspection import NanInfTracer

    a = nn.Variable.from_numpy_array(np.array([0.0, 4.0], np.float32), need_grad=True)
    y = F.sum(a**0.5)
    nit = NanInfTracer()
    with np.errstate(all="ignore"):
        y.forward(function_post_hook=nit.forward_post_hook)
        y.backward(function_post_hook=nit.backward_post_hook)
    found = nit.findings()
    assert found["forward"] is None
    assert found["backward"][0].info.type_name == "PowScalar"
    with pytest.raises(ValueError, match="PowScalar"):
        with io.StringIO() as out, __import__("contextlib").redirect_stdout(out):
            nit.check()


def test_module_parameters_live_in_the_module_not_the_global_scope():
    class Linear(nn.Module):
        def __init__(self, n):
            self.n = n

        def call(self, x):
            return PF.affine(x, self.n)

    nn.clear_parameters()
    first, second = Linear(3), Linear(3)
    first(nn.Variable((1, 2)))
    second(nn.Variable((1, 2)))
    assert list(first.get_parameters()) == ["affine/W", "affine/b"]
    assert first.get_parameters()["affine/W"] is not second.get_parameters()["affine/W"]
    assert len(nn.get_parameters()) == 0
    with pytest.raises(ValueError, match="must be followed by `/`"):
        first.set_parameter("@child", nn.Variable((1,)))
