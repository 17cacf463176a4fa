"""Every registered function is exercised by the op tables: a forward case against a numpy reference, and a float64
gradient case when it is differentiable. A function new to the registry without cases fails here.

The few functions checked elsewhere are listed with the test that covers them.
"""

import glob
import importlib
import os

import pytest

import nnabla as nn
from nnabla.function import registry
from opcheck import Case

# functions without inputs, random functions and graph plumbing: named tests check them
FORWARD_ELSEWHERE = {
    "Arange": "test_ops_array.py::test_constant_arange_linspace",
    "Constant": "test_ops_array.py::test_constant_arange_linspace",
    "Linspace": "test_ops_array.py::test_constant_arange_linspace",
    "Assign": "test_ops_array.py::test_assign*",
    "Sink": "test_ops_array.py::test_sink*",
    "Grad": "test_graph.py (nn.grad)",
    "Rand": "test_ops_random.py",
    "Randn": "test_ops_random.py",
    "Randint": "test_ops_random.py",
    "RandBeta": "test_ops_random.py",
    "RandBinomial": "test_ops_random.py",
    "RandGamma": "test_ops_random.py",
    "RandomChoice": "test_ops_random.py",
}
# gradients that are not derivatives (straight-through estimators, gradient clipping): named backward tests
GRAD_ELSEWHERE = {
    "BinarySigmoid": "test_ops_activation.py (straight-through)",
    "BinaryTanh": "test_ops_activation.py (straight-through)",
    "Round": "test_ops_math.py (straight-through)",
    "Ceil": "test_ops_math.py (straight-through)",
    "Floor": "test_ops_math.py (straight-through)",
    "Sign": "test_ops_math.py (straight-through)",
    "ClipGradByNorm": "test_ops_math.py",
    "ClipGradByValue": "test_ops_math.py",
    "FixedPointQuantize": "test_ops_quantize.py (straight-through)",
    "Pow2Quantize": "test_ops_quantize.py (straight-through)",
    "MinMaxQuantize": "test_ops_quantize.py (straight-through)",
    "QuantizeLinear": "test_ops_quantize.py (straight-through)",
    "Prune": "test_ops_quantize.py (straight-through)",
    "SpectralNorm": "test_ops_reparam.py (u and v held constant)",
    "ONNXResize": "test_ops_detection.py::test_onnx_resize_has_no_backward (none in NNabla)",
    "ImageAugmentation": "test_ops_augmentation.py::test_image_augmentation_has_no_backward (none in NNabla)",
    "Unlink": "test_ops_gradient.py::test_unlink_stops_the_gradient",
    "TopKGrad": "test_ops_gradient.py::test_top_k_grad_keeps_the_largest_gradients",
    "VATNoise": "test_ops_gradient.py::test_vat_noise_backward_writes_the_noise_buffer",
    **FORWARD_ELSEWHERE,
}


def _table_coverage():
    here = os.path.dirname(__file__)
    forward, grad = set(), set()
    for path in sorted(glob.glob(os.path.join(here, "test_ops_*.py"))):
        module = importlib.import_module(os.path.basename(path)[:-3])
        for table in vars(module).values():
            if not (isinstance(table, (list, tuple)) and table and all(isinstance(c, Case) for c in table)):
                continue
            for case in table:
                outputs = case.fn(*[nn.Variable.from_numpy_array(a) for a in case.inputs])
                names = set()
                for y in outputs if isinstance(outputs, (list, tuple)) else [outputs]:
                    y.visit(lambda f: names.add(f.info.type_name))
                forward |= names
                if case.grad:
                    grad |= names
    return forward, grad


@pytest.fixture(scope="module")
def coverage():
    return _table_coverage()


def test_every_function_has_a_forward_case(coverage):
    forward, _ = coverage
    missing = sorted(set(registry()) - forward - set(FORWARD_ELSEWHERE))
    assert not missing, f"functions without a forward case in a test_ops_* table: {missing}"


def test_every_differentiable_function_has_a_gradient_case(coverage):
    _, grad = coverage
    missing = sorted(
        name
        for name, cls in registry().items()
        if cls.differentiable and name not in grad and name not in GRAD_ELSEWHERE
    )
    assert not missing, f"differentiable functions without a gradient case: {missing}"


def test_the_exemptions_are_real_functions():
    assert set(GRAD_ELSEWHERE) <= set(registry())
