"""Parameters: scopes, get/clear, and .h5 files in NNabla's layout."""

from __future__ import annotations

import io
from collections import OrderedDict

import h5py
import numpy as np
import pytest

import nnabla as nn
import nnabla.parametric_functions as PF
from nnabla.initializer import ConstantInitializer
from nnabla.parameter import get_parameter, get_parameter_or_create, pop_parameter, set_parameter


@pytest.fixture(autouse=True)
def clean():
    nn.clear_parameters()
    yield
    nn.clear_parameters()


def make_net():
    """fc1/affine/{W,b} and fc2/affine/{W,b}, plus a need_grad=False parameter bn/mean."""
    x = nn.Variable((2, 3))
    h = PF.affine(x, 4, name="fc1")
    PF.affine(h, 2, name="fc2")
    with nn.parameter_scope("bn"):
        get_parameter_or_create("mean", (2,), ConstantInitializer(0.5), need_grad=False)


def test_scopes_nest_and_name_parameters():
    with nn.parameter_scope("a"):
        with nn.parameter_scope("b"):
            get_parameter_or_create("w", (1,))
        with nn.parameter_scope("c/d"):  # several levels at once
            get_parameter_or_create("w", (1,))
    PF.affine(nn.Variable((1, 2)), 3, name="fc")
    assert list(nn.get_parameters()) == ["a/b/w", "a/c/d/w", "fc/affine/W", "fc/affine/b"]


def test_get_parameters_names_are_relative_to_the_current_scope():
    make_net()
    with nn.parameter_scope("fc2"):
        assert list(nn.get_parameters()) == ["affine/W", "affine/b"]
    with nn.parameter_scope("fc2/affine"):
        assert list(nn.get_parameters()) == ["W", "b"]


def test_get_parameters_grad_only_keeps_order():
    make_net()
    assert list(nn.get_parameters()) == ["fc1/affine/W", "fc1/affine/b", "fc2/affine/W", "fc2/affine/b"]
    assert list(nn.get_parameters(grad_only=False)) == [
        "fc1/affine/W",
        "fc1/affine/b",
        "fc2/affine/W",
        "fc2/affine/b",
        "bn/mean",
    ]


def test_clear_parameters_under_a_scope_clears_only_that_scope():
    make_net()
    with nn.parameter_scope("fc1"):
        nn.clear_parameters()
        assert nn.get_parameters() == OrderedDict()
    assert list(nn.get_parameters(grad_only=False)) == ["fc2/affine/W", "fc2/affine/b", "bn/mean"]


def test_get_current_parameter_scope_is_the_scope_dict():
    root = nn.get_current_parameter_scope()
    with nn.parameter_scope("net") as scope:
        assert nn.get_current_parameter_scope() is scope
        w = get_parameter_or_create("w", (2,))
    assert root["net"]["w"] is w
    assert nn.get_current_parameter_scope() is root


def test_parameter_scope_with_a_given_dict_and_an_empty_name():
    mine = OrderedDict()
    with nn.parameter_scope("", mine):
        get_parameter_or_create("w", (2,))
        with nn.parameter_scope("sub"):
            get_parameter_or_create("v", (1,))
        assert list(nn.get_parameters()) == ["w", "sub/v"]
    assert list(mine) == ["w", "sub"]
    assert nn.get_parameters() == OrderedDict()
    with pytest.raises(ValueError, match="dictionary"):
        with nn.parameter_scope("x", scope=[1]):
            pass


def test_get_parameter_or_create_reuses_and_checks_shape():
    with nn.parameter_scope("s"):
        w = get_parameter_or_create("w", (2, 3), ConstantInitializer(1.0))
        assert get_parameter_or_create("w", (2, 3)) is w
        assert w.name == "w"
        np.testing.assert_array_equal(w.d, np.ones((2, 3)))
        with pytest.raises(ValueError, match=r"s/w exists with shape \(2, 3\).*\(3, 2\)"):
            get_parameter_or_create("w", (3, 2))


def test_get_parameter_or_create_need_grad_rules():
    w = get_parameter_or_create("w", (2,), need_grad=True)
    frozen = get_parameter_or_create("w", (2,), need_grad=True, as_need_grad=False)
    assert not frozen.need_grad and w.need_grad  # a view: the stored parameter keeps need_grad
    frozen.d[...] = 7
    np.testing.assert_array_equal(w.d, [7, 7])
    get_parameter_or_create("w", (2,), need_grad=False)  # a different need_grad overwrites the stored one
    assert not nn.get_parameters(grad_only=False)["w"].need_grad
    with nn.no_grad():
        v = get_parameter_or_create("v", (2,))
    assert not v.need_grad and nn.get_parameters()["v"].need_grad


def test_initial_values_from_arrays_and_initializers():
    a = get_parameter_or_create("a", initializer=np.arange(3, dtype=np.float32))
    np.testing.assert_array_equal(a.d, [0, 1, 2])
    b = get_parameter_or_create("b", (2,), lambda shape: np.full(shape, 3.0, np.float32))
    np.testing.assert_array_equal(b.d, [3, 3])
    c = get_parameter_or_create("c", (2,))
    np.testing.assert_array_equal(c.d, [0, 0])
    with pytest.raises(ValueError, match=r"initial value of shape \(3,\)"):
        get_parameter_or_create("d", (4,), np.zeros(3, np.float32))


def test_set_get_pop_parameter():
    v = nn.Variable((2,), need_grad=True)
    set_parameter("x/y", v)
    assert get_parameter("x/y") is v
    assert list(nn.get_parameters()) == ["x/y"]
    assert pop_parameter("x/y") is v
    assert get_parameter("x/y") is None
    assert pop_parameter("nothing") is None


def test_a_parameter_cannot_be_a_scope():
    get_parameter_or_create("w", (1,))
    with pytest.raises(ValueError, match="'w' is a parameter, not a scope"):
        with nn.parameter_scope("w"):
            pass
    with pytest.raises(ValueError, match="'w' is a parameter, not a scope"):
        get_parameter_or_create("w/x", (1,))


# -- files -------------------------------------------------------------------------------------------------
def test_save_writes_nnablas_h5_layout(tmp_path):
    make_net()
    params = nn.get_parameters(grad_only=False)
    path = tmp_path / "p.h5"
    nn.save_parameters(str(path))
    with h5py.File(path, "r") as hd:
        assert list(hd) == ["bn", "fc1", "fc2"]  # one group per scope level
        for index, (name, v) in enumerate(params.items()):
            ds = hd[name]
            assert isinstance(ds, h5py.Dataset)
            np.testing.assert_array_equal(ds[...], v.d)
            assert ds.dtype == np.float32
            assert bool(ds.attrs["need_grad"]) == v.need_grad
            assert int(ds.attrs["index"]) == index


def test_load_restores_values_order_and_need_grad(tmp_path):
    make_net()
    saved = {k: v.d.copy() for k, v in nn.get_parameters(grad_only=False).items()}
    nn.save_parameters(tmp_path / "p.h5")
    nn.clear_parameters()
    nn.load_parameters(tmp_path / "p.h5")
    loaded = nn.get_parameters(grad_only=False)
    assert list(loaded) == list(saved)
    for k in saved:
        np.testing.assert_array_equal(loaded[k].d, saved[k])
    assert not loaded["bn/mean"].need_grad and loaded["fc1/affine/W"].need_grad


def test_load_into_existing_parameters_writes_in_place(tmp_path):
    make_net()
    nn.save_parameters(tmp_path / "p.h5")
    w = nn.get_parameters()["fc1/affine/W"]
    expected = w.d.copy()
    w.d = np.zeros(w.shape, np.float32)
    nn.load_parameters(tmp_path / "p.h5")
    assert nn.get_parameters()["fc1/affine/W"] is w
    np.testing.assert_array_equal(w.d, expected)


def test_load_under_a_scope_prefixes_names(tmp_path):
    make_net()
    nn.save_parameters(tmp_path / "p.h5")
    nn.clear_parameters()
    with nn.parameter_scope("copy"):
        nn.load_parameters(tmp_path / "p.h5")
    assert list(nn.get_parameters())[:2] == ["copy/fc1/affine/W", "copy/fc1/affine/b"]


def test_save_under_a_scope_uses_relative_names(tmp_path):
    make_net()
    with nn.parameter_scope("fc2"):
        nn.save_parameters(tmp_path / "p.h5")
    with h5py.File(tmp_path / "p.h5", "r") as hd:
        assert list(hd["affine"]) == ["W", "b"]


def test_save_given_params_and_file_objects():
    make_net()
    buffer = io.BytesIO()
    nn.save_parameters(buffer, {"w": nn.get_parameters()["fc2/affine/b"]}, extension=".h5")
    nn.clear_parameters()
    nn.load_parameters(buffer, extension=".h5")
    assert list(nn.get_parameters()) == ["w"]


def test_load_sorts_by_index_and_adopts_the_files_dtype(tmp_path):
    with h5py.File(tmp_path / "p.h5", "w") as hd:
        hd["z"] = np.array([1.0, 2.0])  # float64
        hd["z"].attrs["need_grad"] = True
        hd["z"].attrs["index"] = 0
        hd["a"] = np.array([3], np.int32)
        hd["a"].attrs["need_grad"] = False
        hd["a"].attrs["index"] = 1
    nn.load_parameters(tmp_path / "p.h5")
    params = nn.get_parameters(grad_only=False)
    assert list(params) == ["z", "a"]
    assert params["z"].d.dtype == np.float64 and params["a"].d.dtype == np.int32


def test_save_is_atomic(tmp_path, monkeypatch):
    make_net()
    path = tmp_path / "p.h5"
    nn.save_parameters(path)
    original = path.read_bytes()

    class Broken:
        shape = (2,)
        need_grad = True

        @property
        def d(self):
            raise RuntimeError("cannot read")

    with pytest.raises(RuntimeError, match="cannot read"):
        nn.save_parameters(path, {"ok": nn.get_parameters()["fc1/affine/b"], "bad": Broken()})
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["p.h5"]
    with pytest.raises(RuntimeError, match="cannot read"):
        nn.save_parameters(tmp_path / "new.h5", {"bad": Broken()})
    assert [p.name for p in tmp_path.iterdir()] == ["p.h5"]


def snapshot():
    return {k: (v.d.copy(), v.need_grad) for k, v in nn.get_parameters(grad_only=False).items()}


def assert_unchanged(before):
    after = snapshot()
    assert list(after) == list(before)
    for k, (d, need_grad) in before.items():
        np.testing.assert_array_equal(after[k][0], d)
        assert after[k][1] == need_grad


def write_h5(path, entries):
    with h5py.File(path, "w") as hd:
        for i, (name, value) in enumerate(entries):
            hd[name] = value
            hd[name].attrs["need_grad"] = True
            hd[name].attrs["index"] = i


def test_load_errors_are_clear_and_change_nothing(tmp_path):
    make_net()
    before = snapshot()
    with pytest.raises(FileNotFoundError, match="no such parameter file"):
        nn.load_parameters(tmp_path / "missing.h5")
    (tmp_path / "corrupt.h5").write_bytes(b"\x89HDF\r\n garbage")
    with pytest.raises(ValueError, match="not a readable .h5 parameter file"):
        nn.load_parameters(tmp_path / "corrupt.h5")
    # the first entry is fine, the second has the wrong shape: neither may be applied
    write_h5(tmp_path / "shape.h5", [("fc1/affine/b", np.ones(4, np.float32)), ("fc2/affine/W", np.ones((3, 3)))])
    with pytest.raises(ValueError, match=r"'fc2/affine/W'.*shape \(3, 3\).*existing parameter has shape \(4, 2\)"):
        nn.load_parameters(tmp_path / "shape.h5")
    write_h5(tmp_path / "dtype.h5", [("fc1/affine/b", np.ones(4, np.float32)), ("s", np.array([b"ab", b"cd"]))])
    with pytest.raises(ValueError, match="'s'.*unsupported dtype"):
        nn.load_parameters(tmp_path / "dtype.h5")
    write_h5(tmp_path / "clash.h5", [("fc1/affine/b", np.ones(4, np.float32)), ("bn/mean/x", np.ones(1))])
    with pytest.raises(ValueError, match="'bn/mean' is a parameter, not a scope"):
        nn.load_parameters(tmp_path / "clash.h5")
    with pytest.raises(ValueError, match="unsupported file extension '.txt'"):
        nn.load_parameters(tmp_path / "p.txt")
    with pytest.raises(ValueError, match="unsupported file extension '.npz'"):
        nn.save_parameters(tmp_path / "p.npz")
    assert_unchanged(before)
