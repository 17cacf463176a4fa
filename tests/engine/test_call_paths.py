"""The fast paths keep the rules: gradients accumulate into leaves and overwrite intermediates on every pass
(walked step by step on a graph's first use, compiled from its third), flags flipped between passes are honoured,
building other graphs leaves a graph's plans alone, and dynamic and imperative calls give the graph's values."""

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.function import FunctionError

PASSES = 4  # the first pass walks the steps, the second compiles the plans, the later ones run them


def _graph():
    rng = np.random.RandomState(0)
    x = nn.Variable.from_numpy_array(rng.randn(2, 3).astype(np.float32), need_grad=True)
    w = nn.Variable.from_numpy_array(rng.randn(2, 3).astype(np.float32), need_grad=True)
    h = F.tanh(F.mul2(x, w))
    y = F.sum(F.add2(h, F.mul_scalar(h, 2.0)))  # h feeds two functions: its gradient is overwritten, then added
    return x, w, h, y


def _expected_grads(x, w):
    t = np.tanh(x.d * w.d)
    dh = 3 * (1 - t * t)
    return dh * w.d, dh * x.d, np.full_like(t, 3.0)


def test_leaves_accumulate_and_intermediates_are_overwritten_on_every_pass():
    x, w, h, y = _graph()
    gx, gw, gh = _expected_grads(x, w)
    x.grad.zero()
    w.grad.zero()
    for n in range(1, PASSES + 1):
        y.forward()
        y.backward()
        np.testing.assert_allclose(x.g, n * gx, rtol=1e-5, err_msg=f"pass {n}")
        np.testing.assert_allclose(w.g, n * gw, rtol=1e-5, err_msg=f"pass {n}")
        np.testing.assert_allclose(h.g, gh, rtol=1e-6, err_msg=f"pass {n}")  # not accumulated across passes
        assert float(y.g) == 0.0  # backward's seed is for that pass only: the root's own grad is left as it was


def test_zeroed_gradients_restart_accumulation_on_every_pass():
    x, w, _, y = _graph()
    gx, _, _ = _expected_grads(x, w)
    for n in range(PASSES):
        x.grad.zero()
        y.forward()
        y.backward()
        np.testing.assert_allclose(x.g, gx, rtol=1e-5, err_msg=f"pass {n + 1}")


def test_need_grad_flipped_between_passes_is_honoured():
    x, w, _, y = _graph()
    gx, gw, _ = _expected_grads(x, w)
    for n in range(PASSES):
        x.grad.zero()
        w.grad.zero()
        w.need_grad = n % 2 == 0
        y.forward()
        y.backward()
        np.testing.assert_allclose(x.g, gx, rtol=1e-5)
        np.testing.assert_allclose(w.g, gw if w.need_grad else 0 * gw, rtol=1e-5, err_msg=f"pass {n + 1}")


def test_clear_buffer_frees_intermediates_but_keeps_persistent_ones():
    x, w, h, y = _graph()
    kept = F.mul_scalar(x, 1.0)
    kept.persistent = True
    y2 = F.sum(F.add2(F.tanh(kept), F.mul2(x, w)))
    for n in range(PASSES):
        y2.forward(clear_no_need_grad=True)
        y2.backward(clear_buffer=True)
        assert kept.data._array is not None, f"pass {n + 1}"
        np.testing.assert_allclose(kept.d, x.d)
        for func in [y2.parent] + [i.parent for i in y2.parent.inputs]:
            for v in func.inputs:
                if v.parent is not None and not v.persistent:
                    assert v.data._array is None, f"{v.parent.name} output kept on pass {n + 1}"


def test_building_other_graphs_keeps_a_graphs_plans():
    x, w, _, y = _graph()
    for _ in range(3):
        y.forward()
        y.backward()
    planned = y._order
    other = F.tanh(F.add_scalar(x, 1.0))  # a new graph hanging off the same leaf
    with nn.auto_forward():
        F.sin(x)
    y.forward()
    assert y._order is planned, "a new function making new variables made the plans be redone"
    other.forward()
    np.testing.assert_allclose(other.d, np.tanh(x.d + 1), rtol=1e-6)


def test_linking_existing_variables_again_redoes_the_plans():
    x, w, h, y = _graph()
    for _ in range(3):
        y.forward()
    planned = y._order
    F.mul_scalar(x, 5.0, outputs=[h])  # h now comes from x * 5 instead of tanh(x * w)
    y.forward()
    assert y._order is not planned
    t = 5 * x.d
    np.testing.assert_allclose(y.d, np.sum(3 * t), rtol=1e-5)


def test_a_function_object_called_again_redoes_the_plans():
    x = nn.Variable.from_numpy_array(np.arange(3, dtype=np.float32), need_grad=True)
    func = F.tanh(x).parent
    y = F.sum(func(x))
    for _ in range(3):
        y.forward()
    planned = y._order
    func(nn.Variable.from_numpy_array(np.ones(3, np.float32)))  # the same node, linked to other inputs
    y.forward()
    assert y._order is not planned


@pytest.mark.parametrize("mode", ["graph", "dynamic", "imperative"])
def test_the_three_modes_compute_the_same_values(mode):
    rng = np.random.RandomState(1)
    a, b = rng.randn(3, 4).astype(np.float32), rng.randn(1, 4).astype(np.float32)

    def net(p, q):
        s = F.add2(p, q)  # broadcasting
        return F.mul_scalar(F.tanh(F.add2(s, s)), 0.5), F.max(s, axis=1, only_index=False)

    if mode == "imperative":
        outs = net(nn.NdArray.from_numpy_array(a), nn.NdArray.from_numpy_array(b))
        assert all(type(o) is nn.NdArray for o in outs)
        values = [o.data for o in outs]
    elif mode == "dynamic":
        with nn.auto_forward():
            outs = net(nn.Variable.from_numpy_array(a), nn.Variable.from_numpy_array(b))
        values = [o.d for o in outs]
    else:
        outs = net(nn.Variable.from_numpy_array(a), nn.Variable.from_numpy_array(b))
        F.sink(*outs).forward()
        values = [o.d for o in outs]
    np.testing.assert_allclose(values[0], 0.5 * np.tanh(2 * (a + b)), rtol=1e-6)
    np.testing.assert_allclose(values[1], np.max(a + b, axis=1), rtol=1e-6)


def test_imperative_calls_refuse_bad_shapes_by_name():
    p, q = nn.NdArray((2, 3)), nn.NdArray((4,))
    with pytest.raises(FunctionError, match=r"Add2: input shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        F.add2(p, q)


def test_dynamic_mode_records_a_graph_that_backward_follows():
    x = nn.Variable.from_numpy_array(np.array([0.5, -1.0], np.float32), need_grad=True)
    with nn.auto_forward():
        y = F.sum(F.tanh(F.mul_scalar(x, 2.0)))
        np.testing.assert_allclose(y.d, np.sum(np.tanh(2 * x.d)), rtol=1e-6)  # computed as created
    x.grad.zero()
    y.backward()
    np.testing.assert_allclose(x.g, 2 * (1 - np.tanh(2 * x.d) ** 2), rtol=1e-5)
    assert y.parent.creation_site[0] == __file__


def test_a_leaf_used_by_graphs_rebuilt_in_a_loop_forgets_the_functions_gone():
    w = nn.Variable.from_numpy_array(np.ones(2, np.float32), need_grad=True)
    kept = F.tanh(w)
    with nn.auto_forward():
        for _ in range(1000):
            F.mul_scalar(w, 2.0)
    assert len(w._consumers) < 130
    assert w.function_references == [kept.parent]


def test_a_function_taking_a_variable_twice_is_one_of_its_function_references():
    """NNabla 1.36 lists x * x once among x's function references (its readers, whatever their order)."""
    x = nn.Variable((2, 3))
    readers = [F.relu(x), x * x, F.tanh(x)]
    refs = x.function_references
    assert len(refs) == 3
    assert {f.info.type_name for f in refs} == {"ReLU", "Mul2", "Tanh"}
    assert all(any(f is r.parent for f in refs) for r in readers)


@pytest.mark.parametrize(
    "x_needs, z_needs", [(True, False), (False, True), (True, True)], ids=["x only", "z only", "both"]
)
def test_rewire_on_takes_over_need_grad_and_the_graph_after_follows(x_needs, z_needs):
    """NNabla 1.36: after ``z.rewire_on(y)``, z needs a gradient exactly where y did, and so do the functions
    after z: backward from w reaches x whenever x needs it, whatever z's own flag was."""
    x = nn.Variable.from_numpy_array(np.arange(6.0).reshape(2, 3) - 2, need_grad=x_needs)
    y = F.relu(x)
    z = nn.Variable((2, 3), need_grad=z_needs)
    w = F.sum(F.tanh(z))
    z.rewire_on(y)
    assert z.need_grad == x_needs and w.need_grad == x_needs
    x.grad.zero()
    w.forward()
    w.backward()
    expected = (1 - np.tanh(np.maximum(x.d, 0)) ** 2) * (x.d > 0) if x_needs else np.zeros((2, 3))
    np.testing.assert_allclose(x.g, expected, rtol=1e-5, atol=1e-7)  # (float32 tanh)
