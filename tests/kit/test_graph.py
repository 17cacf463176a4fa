"""The plain graph model: counts, ids, scopes, statistics and flags, deep chains."""

import numpy as np

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
from nnabla_nb.graph import array_stats, build, grad_flags, output_grad
from nnabla_nb.render import to_json, to_text


def test_mlp_counts(mlp):
    _, _, loss = mlp
    m = build(loss)
    assert (m.count("function"), m.count("parameter"), m.count("variable")) == (11, 10, 13)
    assert len(m.nodes) == 34 and len(m.edges) == 33  # 22 input edges + 11 output edges
    assert [n.type for n in m.nodes if n.kind == "function"] == ["Affine", "Tanh"] * 4 + [
        "Affine",
        "SquaredError",
        "ReduceMean",
    ]
    assert list(m.scopes) == ["fc0/affine", "fc1/affine", "fc2/affine", "fc3/affine", "fc/affine"]
    assert m.root == m.nodes[-1].id and m.nodes[-1].shape == ()


def test_ids_follow_traversal_order(mlp):
    _, _, loss = mlp
    m = build(loss)
    assert [n.id for n in m.nodes] == [f"n{k}" for k in range(len(m.nodes))]
    assert build(loss) == m  # same graph, same model


def test_parameters_recognized_by_identity(mlp):
    _, _, loss = mlp
    m = build(loss)
    params = [n for n in m.nodes if n.kind == "parameter"]
    assert [p.name for p in params] == list(nn.get_parameters(grad_only=False))
    affine = next(n for n in m.nodes if n.type == "Affine")
    assert affine.scope == "fc0/affine" and affine.args == {"base_axis": 1}


def test_collapse_and_max_nodes(mlp):
    _, _, loss = mlp
    m = build(loss)
    collapsed = m.view(collapse_scopes=True)
    assert collapsed.count("group") == 5 and collapsed.count("parameter") == 0
    assert len(collapsed.nodes) == 34 - 5 * 3 + 5
    assert m.view(collapse_scopes=3).count("group") == 0  # scopes of 3 nodes stay open
    capped = m.view(max_nodes=10)
    assert len(capped.nodes) <= 10 and capped.count("truncated") == 1 and capped.hidden > 0


def test_values_grads_and_flags(mlp):
    x, label, loss = mlp
    x.d = np.linspace(-1, 1, 200).reshape(100, 2)
    label.d = 0.5
    loss.forward()
    loss.backward()
    m = build(loss, values=True, grads=True)
    w = next(n for n in m.nodes if n.name == "fc0/affine/W")
    assert w.data_stats.size == 8 and w.grad_stats is not None and w.heatmap.startswith("data:image/png;base64,")
    assert next(n for n in m.nodes if n.id == "n0").grad_stats is None  # x has need_grad=False
    assert grad_flags(array_stats(np.zeros(3))) == ("zero",)
    assert grad_flags(array_stats(np.array([1.0, np.nan, np.inf]))) == ("nan", "inf")
    assert grad_flags(array_stats(np.array([1e6]))) == ("exploding",)


def test_output_gradient_is_not_a_computed_gradient(mlp):
    """backward() never writes the root's gradient: after loss.backward() the loss shows none and no 'zero' flag."""
    x, label, loss = mlp
    x.d = np.linspace(-1, 1, 200).reshape(100, 2)
    label.d = 0.5
    loss.forward()
    loss.backward()
    m = build(loss, grads=True)
    root = m.node(m.root)
    assert np.all(loss.g == 0)  # what NNabla leaves there
    assert root.grad_stats is None and root.grad_flags == () and not root.grad_given
    assert "zero" not in to_text(m).splitlines()[-1]
    assert all("zero" not in n["grad_flags"] for n in to_json(m)["nodes"])  # the MLP's gradients are all live


def test_output_gradient_set_by_the_user_is_shown_as_given(mlp):
    x, label, loss = mlp
    loss.forward()
    loss.g = 2.0  # the seed of backward(grad=None)
    loss.backward(grad=None)
    m = build(loss, grads=True)
    root = m.node(m.root)
    assert root.grad_given and root.grad_stats.mean == 2.0 and root.grad_flags == ()
    assert to_json(m)["nodes"][-1]["grad_given"] is True
    assert "grad (given) min 2" in to_text(m).splitlines()[-1]
    assert "grad_given" not in to_json(m)["nodes"][0]  # only outputs carry it
    # a broken seed is still flagged, but only for what it is: nan/inf, never zero/vanishing/exploding
    assert output_grad(np.array([np.nan, 1e6]))[1] == ("nan",)
    assert output_grad(np.array([1e6]))[1] == ()
    assert output_grad(np.zeros(3)) == (None, ())


def test_unused_output_of_a_function_is_an_output_too():
    x = nn.Variable.from_numpy_array(np.ones((2, 4), np.float32)).apply(need_grad=True)
    used, unused = F.split(x, axis=0)
    y = F.sum(used)
    y.forward()
    y.backward()
    m = build(y, grads=True)
    by_kind = {n.id: n for n in m.nodes}
    split = next(n for n in m.nodes if n.type == "Split")
    outs = [e.target for e in m.edges if e.source == split.id]
    assert len(outs) == 2
    # the engine wrote zeros on the unused output ("counts as zero"): not a gradient, not flagged
    consumers = {e.source for e in m.edges}
    (dangling,) = [o for o in outs if o not in consumers]
    assert by_kind[dangling].grad_stats is None and by_kind[dangling].grad_flags == ()
    assert by_kind["n0"].grad_flags == ()  # x: rows 1 and 0, computed


def test_ten_thousand_chain():
    x = nn.Variable((1,))
    y = x
    for _ in range(10000):
        y = F.add_scalar(y, 1.0)
    m = build(y)
    assert m.count("function") == 10000 and len(m.edges) == 20000


def test_build_leaf_variable():
    v = nn.Variable((2, 2))
    m = build(v)
    assert len(m.nodes) == 1 and m.edges == [] and m.root == "n0"


def test_build_does_not_touch_parameters():
    nn.clear_parameters()
    x = nn.Variable((2, 3))
    y = PF.affine(x, 4, name="a")
    before = {k: v.d.copy() for k, v in nn.get_parameters(grad_only=False).items()}
    build(y, values=True)
    after = nn.get_parameters(grad_only=False)
    assert list(after) == list(before) and all(np.array_equal(before[k], after[k].d) for k in before)
    nn.clear_parameters()
