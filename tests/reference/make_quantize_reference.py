"""Write tests/engine/fixtures/quantize_reference.npz by running tests/engine/quantize_reference_cases.py under
real NNabla 1.36 (run by hand; CI only reads the file):

    env -u PYTHONPATH "$(/work/shared/tools/nnabla-reference)" tests/reference/make_quantize_reference.py
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "engine"))

from quantize_reference_cases import CASES, run  # noqa: E402

import nnabla  # noqa: E402

if __name__ == "__main__":
    assert nnabla.__version__ == "1.36.0", f"needs real NNabla 1.36.0, found {nnabla.__version__}"
    arrays = {f"{name}/{key}": value for name in CASES for key, value in run(name).items()}
    path = os.path.join(HERE, "..", "engine", "fixtures", "quantize_reference.npz")
    np.savez_compressed(path, **arrays)
    print(f"{len(CASES)} cases, {len(arrays)} arrays -> {os.path.normpath(path)}")
