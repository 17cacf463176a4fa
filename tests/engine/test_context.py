"""Contexts: nn.Context, the current/default context, context_scope, and extension contexts."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.ext_utils import get_extension_context, import_extension_module, list_extensions


def test_default_context_repr():
    assert repr(nn.get_current_context()) == "Context(backend=['cpu:float'], array_class='', device_id='0')"
    assert str(nn.Context()) == repr(nn.Context())
    ctx = nn.Context(["cpu:half", "cpu:float"], "CpuCachedArray", "1")
    assert repr(ctx) == "Context(backend=['cpu:half', 'cpu:float'], array_class='CpuCachedArray', device_id='1')"
    assert ctx["array_class"] == "CpuCachedArray"


# (extension, keyword arguments, backend, array_class, device_id), as NNabla's extension modules make them
EXTENSION_CONTEXTS = [
    ("cpu", {}, ["cpu:float"], "CpuCachedArray", ""),
    ("cpu", {"type_config": "half"}, ["cpu:half", "cpu:float"], "CpuCachedArray", ""),
    ("cpu", {"device_id": "3"}, ["cpu:float"], "CpuCachedArray", ""),
    ("cuda", {}, ["cuda:float", "cpu:float"], "CudaCachedArray", "0"),
    ("cuda", {"device_id": 1}, ["cuda:float", "cpu:float"], "CudaCachedArray", "1"),
    ("cuda", {"type_config": "half"}, ["cuda:half", "cuda:float", "cpu:float"], "CudaCachedArray", "0"),
    ("cudnn", {}, ["cudnn:float", "cuda:float", "cpu:float"], "CudaCachedArray", "0"),
    (
        "cudnn",
        {"device_id": "2", "type_config": "half"},
        ["cudnn:half", "cudnn:float", "cuda:half", "cuda:float", "cpu:float"],
        "CudaCachedArray",
        "2",
    ),
    ("cuda.cudnn", {}, ["cudnn:float", "cuda:float", "cpu:float"], "CudaCachedArray", "0"),
]


@pytest.mark.parametrize("ext, kw, backend, array_class, device_id", EXTENSION_CONTEXTS)
def test_extension_contexts(ext, kw, backend, array_class, device_id):
    ctx = get_extension_context(ext, **kw)
    assert (ctx.backend, ctx.array_class, ctx.device_id) == (backend, array_class, device_id)


def test_extension_errors_and_modules():
    assert list_extensions() == ["cpu", "cuda", "cudnn"]
    with pytest.raises(ValueError, match="Unknown data type config is given double"):
        get_extension_context("cpu", type_config="double")
    with pytest.raises(ImportError, match="'tpu' does not exist"):
        get_extension_context("tpu")
    cpu = import_extension_module("cpu")
    assert cpu.array_classes()[0] == "CpuCachedArray" and cpu.get_devices() == ["0"]
    for name in ("context", "array_classes", "clear_memory_cache", "device_synchronize", "get_device_count"):
        for ext in list_extensions():
            assert callable(getattr(import_extension_module(ext), name))


def test_context_scope_nests_and_restores():
    outer = nn.get_current_context()
    half = get_extension_context("cpu", type_config="half")
    double = nn.Context(["cpu:double"])
    with nn.context_scope(half):
        assert nn.get_current_context() is half
        with nn.context_scope(double):
            assert nn.get_current_context() is double
        assert nn.get_current_context() is half
    assert nn.get_current_context() is outer


def test_set_default_context():
    original = nn.get_current_context()
    try:
        ctx = get_extension_context("cpu")
        nn.set_default_context(ctx)
        assert nn.get_current_context() is ctx
        with nn.context_scope(nn.Context()):
            with pytest.raises(AssertionError, match="context_scope"):
                nn.set_default_context(original)
    finally:
        nn.set_default_context(original)
    assert nn.get_current_context() is original


@pytest.mark.parametrize(
    "ctx, dtype",
    [
        (nn.Context(), np.float32),
        (get_extension_context("cpu", type_config="half"), np.float16),
        (nn.Context(["cpu:double"]), np.float64),
    ],
    ids=["float", "half", "double"],
)
def test_type_config_sets_the_compute_dtype(ctx, dtype):
    x = nn.Variable.from_numpy_array(np.array([-1.0, 0.5, 2.0], np.float32))
    with nn.context_scope(ctx):
        y = F.relu(x * 2.0)
    assert y.parent.context is ctx
    y.forward()
    assert y.d.dtype == dtype
    np.testing.assert_allclose(y.d, [0.0, 1.0, 4.0])


def test_editing_a_context_in_place_takes_effect():
    ctx = nn.Context()
    assert ctx.resolve()[1] is np.float32
    ctx.backend = ["cpu:half"]
    assert ctx.resolve()[1] is np.float16


def test_unknown_backends_and_type_configs_are_named():
    x = nn.Variable((2,))
    with nn.context_scope(nn.Context(["tpu:float"])):
        with pytest.raises(ValueError, match="unknown backend 'tpu:float'"):
            F.relu(x)
    with nn.context_scope(nn.Context(["cpu:quarter"])):
        with pytest.raises(ValueError, match="unknown type config 'quarter'"):
            F.relu(x)


def test_cuda_without_cupy_fails_clearly_when_used(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # as if cupy were not installed
    ctx = get_extension_context("cudnn")  # making the context needs no GPU
    x = nn.Variable((2,))
    with nn.context_scope(ctx):
        with pytest.raises(RuntimeError, match="needs cupy and an NVIDIA GPU"):
            F.relu(x)
    with pytest.raises(RuntimeError, match="needs cupy"):
        get_extension_context("cuda").resolve()
    assert import_extension_module("cuda").get_device_count() == 0


def test_available_contexts_and_the_submodules_nnabla_brings_in_are_attributes():
    """NNabla 1.36: ``nn.available_contexts`` is the list add_available_context extends, and ``import nnabla``
    makes nn.utils, nn.callback, nn.variable ... reachable without importing them."""
    assert nn.available_contexts[0] == "cpu"
    assert nn.available_contexts is nn.context.available_contexts
    for name in ("backward_functions", "callback", "communicator", "dtypes", "normalization_functions", "solver"):
        assert getattr(nn, name).__name__ == "nnabla." + name and name in dir(nn)
    assert nn.utils.__name__ == "nnabla.utils" and nn.variable.Variable is nn.Variable
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        nn.nothing  # noqa: B018
