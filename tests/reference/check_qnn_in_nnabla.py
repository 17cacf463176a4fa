"""Check by hand that real NNabla 1.36 reads the quantization-aware network our engine saves.

    PYTHONPATH=engine python tests/reference/check_qnn_in_nnabla.py write FOLDER      # our engine writes
    "$(/work/shared/tools/nnabla-reference)" tests/reference/check_qnn_in_nnabla.py read FOLDER   # NNabla reads

``write`` runs tests/utils/qnn_scenarios.py's ``saved_network`` (recording, then simulated int8 training) and
``QATScheduler.save``s the evaluation network with its input and output; ``read`` loads it with NNabla, runs it on
that input and prints the largest difference from our output and from NNabla's own run of the same scenario.
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "utils"))

import qnn_scenarios  # noqa: E402


def write(folder):
    os.makedirs(folder, exist_ok=True)
    numbers = qnn_scenarios.saved_network(os.path.join(folder, "ours_qat.nnp"))
    np.savez(os.path.join(folder, "ours_qat.npz"), **numbers)


def read(folder):
    from nnabla.utils.nnp_graph import NnpLoader

    ours = np.load(os.path.join(folder, "ours_qat.npz"))
    net = NnpLoader(os.path.join(folder, "ours_qat.nnp")).get_network("net", batch_size=ours["x"].shape[0])
    net.inputs["x0"].d = ours["x"]
    y = net.outputs["y0"]
    y.forward()
    nnabla_run = qnn_scenarios.saved_network(os.path.join(folder, "nnabla_qat.nnp"))
    print("ours_qat.nnp in NNabla vs our output: max |diff| =", float(np.abs(y.d - ours["y"]).max()))
    print("our output vs NNabla's own run: max |diff| =", float(np.abs(ours["y"] - nnabla_run["y"]).max()))


if __name__ == "__main__":
    {"write": write, "read": read}[sys.argv[1]](sys.argv[2])
