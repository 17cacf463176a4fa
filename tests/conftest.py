"""Fixtures for the whole suite: ``device``, the strict device double behind 'cuda'/'cudnn' contexts; and the
widgets the tests made, closed at the end."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture
def device(monkeypatch):
    """'cuda'/'cudnn' contexts compute on the device double (tests/device_double.py); yields that module.

    ``device.transfers`` counts host/device copies from the start of the test.
    """
    import device_double

    from nnabla import _array, context

    for name, module in device_double.CUPYX_MODULES.items():
        monkeypatch.setitem(sys.modules, name, module)
    contexts = list(context._current)  # a test may set the default context: restored after it
    previous = _array.use_device_module(device_double)
    device_double.transfers.reset()
    try:
        yield device_double
    finally:
        _array._device[0] = previous
        context._current[:] = contexts


def pytest_sessionfinish(session, exitstatus):
    """Close the widgets the kit's tests made while the interpreter is still whole: left to its exit, each one's
    ``__del__`` finds ipywidgets' registry gone and prints an ignored error."""
    widgets = sys.modules.get("ipywidgets")
    if widgets is not None:
        widgets.Widget.close_all()
