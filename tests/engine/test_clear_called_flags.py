"""nnabla.testing.clear_called_flag_recorder: which buffers forward and backward release, per function run.

Expected flags were read off NNabla 1.36 running the same lines.
"""

import pytest

import nnabla as nn
import nnabla.functions as F
from nnabla.testing import clear_called_flag_recorder as recorder

NO, DATA, BOTH = (False, False), (True, False), (True, True)


@pytest.fixture(autouse=True)
def recording():
    recorder.activate_clear_called_flag_recorder()
    yield
    recorder.deactivate_clear_called_flag_recorder()


def two_branches():
    x = nn.Variable([1, 5], need_grad=True)
    y = F.add_scalar(F.tanh(F.identity(x)))  # tanh's backward reads its output, not its input
    return F.mul2(y, F.sin(x))


def test_forward_clear_no_need_grad_releases_inputs_no_backward_reads():
    z = two_branches()
    z.forward(clear_no_need_grad=True)
    assert recorder.get_input_clear_called_flags() == [[NO], [DATA], [NO], [NO], [NO, NO]]
    assert recorder.get_output_clear_called_flags() == [[NO]] * 5


def test_backward_clear_buffer_appends_one_entry_per_function_run():
    z = two_branches()
    z.forward(clear_no_need_grad=True)
    z.backward(clear_buffer=True)
    inputs = recorder.get_input_clear_called_flags()
    outputs = recorder.get_output_clear_called_flags()
    # Mul2, Sin, AddScalar, Tanh, Identity. NNabla's Mul2 entry is [NO, NO]: it releases an output's data after its
    # producer's backward only; here, after the last backward reading it (Mul2's: AddScalar and Sin read none)
    assert inputs[5:] == [[DATA, DATA], [NO], [NO], [DATA], [NO]]
    assert outputs[5:] == [[NO], [BOTH], [BOTH], [BOTH], [BOTH]]  # the root keeps its data and gradient


def test_forward_clear_buffer_releases_every_intermediate_after_its_last_use():
    z = two_branches()
    z.forward(clear_buffer=True)
    assert recorder.get_input_clear_called_flags() == [[NO], [DATA], [DATA], [NO], [DATA, DATA]]


def test_a_chain_and_deactivation():
    x = nn.Variable([1, 5], need_grad=True)
    y = F.exp(F.add_scalar(F.add_scalar(F.identity(x))))
    y.forward(clear_no_need_grad=True)
    assert recorder.get_input_clear_called_flags() == [[NO], [DATA], [DATA], [DATA]]
    recorder.deactivate_clear_called_flag_recorder()
    assert recorder.get_input_clear_called_flags() == recorder.get_output_clear_called_flags() == []
    y.forward(clear_no_need_grad=True)  # not recording: nothing kept
    recorder.activate_clear_called_flag_recorder()
    assert recorder.get_input_clear_called_flags() == []
