"""Writes tests/utils/fixtures/qnn_reference.npz from real NNabla 1.36 (run by hand; tests only read the file):

    env -u PYTHONPATH "$(/work/shared/tools/nnabla-reference)" tests/reference/make_qnn_fixtures.py

The scenarios live in tests/utils/qnn_scenarios.py; test_qnn.py replays them on the engine.
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "utils"))

import qnn_scenarios  # noqa: E402

import nnabla  # noqa: E402

if __name__ == "__main__":
    assert nnabla.__version__ == "1.36.0", f"needs real NNabla 1.36.0, found {nnabla.__version__}"
    arrays = {}
    for name, run in qnn_scenarios.ALL.items():
        for key, value in run().items():
            arrays[f"{name}/{key}"] = value
    path = os.path.join(HERE, "..", "utils", "fixtures", "qnn_reference.npz")
    np.savez_compressed(path, **qnn_scenarios.pack(arrays))
    print(f"{len(qnn_scenarios.ALL)} scenarios, {len(arrays)} arrays -> {os.path.normpath(path)}")
