"""The kit's displays and graph statistics on GPU data (the device double of tests/device_double.py).

Each display copies every array it shows to the host once (its data, and its gradient where shown), never one
value at a time, and the data stays on the device: the next training step copies nothing.
"""

import numpy as np
import pytest

import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import nnabla.solvers as S
from nnabla_nb import display
from nnabla_nb.graph import build, read_data
from nnabla_nb.widgets.grads import grad_rows, rows_html
from nnabla_nb.widgets.params import detail_html


@pytest.fixture
def net(device):
    """A trained-for-one-step affine + tanh under 'cudnn', everything on the device; yields (x, y, solver)."""
    nn.clear_parameters()
    with nn.context_scope(nn.Context(["cudnn:float"])):
        x = nn.Variable.from_numpy_array(np.arange(6.0, dtype=np.float32).reshape(2, 3))
        y = F.tanh(PF.affine(x, 2, name="fc"))
        solver = S.Sgd(0.1)
        solver.set_parameters(nn.get_parameters())
        for _ in range(2):
            y.forward()
            solver.zero_grad()
            y.backward()
            solver.update()
    yield x, y, solver
    nn.clear_parameters()


def _copies(device, show):
    before = (device.transfers.to_host, device.transfers.to_device)
    out = show()
    return out, (device.transfers.to_host - before[0], device.transfers.to_device - before[1])


def _step_copies(device, net):
    x, y, solver = net
    with nn.context_scope(nn.Context(["cudnn:float"])):
        _, copies = _copies(device, lambda: (y.forward(), solver.zero_grad(), y.backward(), solver.update()))
    return copies


def test_the_net_is_on_the_device(device, net):
    x, y, _ = net
    params = nn.get_parameters()
    assert all(isinstance(v.data._array, device.ndarray) for v in [y, *params.values()])
    assert _step_copies(device, net) == (0, 0)


@pytest.mark.parametrize(
    "show, arrays",
    [
        (lambda y, params: display.variable_html(y), 1),
        (lambda y, params: display.variable_text(y), 1),
        (lambda y, params: display.ndarray_html(y.data), 1),
        (lambda y, params: display.params_html(params), 2),
        (lambda y, params: display.params_text(params), 2),
        (lambda y, params: rows_html(grad_rows(params)), 4),  # data and gradient of each parameter
        (lambda y, params: detail_html("fc/affine/W", params["fc/affine/W"]), 2),
        (lambda y, params: build(y, values=True, grads=True), 8),  # x, W, b, the affine's output, y; 3 grads
    ],
    ids=["variable_html", "variable_text", "ndarray_html", "params_html", "params_text", "grads", "detail", "graph"],
)
def test_a_display_copies_each_array_it_shows_once_and_leaves_it_on_the_device(device, net, show, arrays):
    x, y, _ = net
    params = nn.get_parameters()
    _, copies = _copies(device, lambda: show(y, params))
    assert copies == (arrays, 0)
    assert _step_copies(device, net) == (0, 0)


def test_displayed_statistics_are_the_device_values(device, net):
    _, y, _ = net
    W = nn.get_parameters()["fc/affine/W"]
    expected = device.asnumpy(W.data._array)
    model = build(y, values=True)
    (node,) = [n for n in model.nodes if n.kind == "parameter" and n.label == "W"]
    assert node.data_stats.mean == pytest.approx(float(expected.mean()))
    assert node.data_stats.max == pytest.approx(float(expected.max()))


def test_read_data_gives_a_read_only_host_copy_and_counts_no_write(device, net):
    _, y, _ = net
    written = y.data.modification_count
    values = read_data(y)
    assert isinstance(values, np.ndarray) and not values.flags.writeable
    assert isinstance(y.data._array, device.ndarray) and y.data.modification_count == written
    with pytest.raises(ValueError):
        values[...] = 0
