"""``%nnabla context cuda`` says what runs on the GPU, or why the context stays as it was."""

import sys
from types import SimpleNamespace

import nnabla as nn
from nnabla_nb.magics import _context


def test_context_cuda_says_what_runs_where(device):
    out = _context(SimpleNamespace(name="cudnn:0"), {}).text
    assert "context: Context(backend=['cudnn:float'" in out
    assert "functions compute on GPU 0 with device_double" in out and ".d/.g copy to the host" in out
    assert nn.get_current_context().backend[0] == "cudnn:float"


def test_context_cuda_without_cupy_keeps_the_context(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)
    out = _context(SimpleNamespace(name="cuda"), {}).text
    assert out.startswith("context unchanged (Context(backend=['cpu:float']") and "needs cupy" in out
    assert "nnabla-nb[cuda12]" in out and "nnabla-nb[cuda13]" in out
