"""Started by ``test_progress_ranks.py`` under ``mpiexec -n N``: every rank counts 30 steps, logging
``loss = 100 * rank + step``; rank 0's progress (a terminal's one rewritten line, then the final text) prints
every rank's, and rank 0 prints the values it received. Redraws (and so messages) at most 200 a second; an
all_reduce each step, as a training step has, runs beside the progress messages."""

import time

import numpy as np

import nnabla as nn
import nnabla.communicators as C
import nnabla_nb
from nnabla.ext_utils import get_extension_context

comm = C.MultiProcessDataParalellCommunicator(get_extension_context("cpu"))
comm.init()
grad = nn.NdArray.from_numpy_array(np.ones(4, np.float32))
p = nnabla_nb.progress(range(30), comm=comm, max_fps=200)
for i in p:
    time.sleep(0.002)
    comm.all_reduce(grad, division=True)
    p.log(loss=100.0 * comm.rank + i)
if comm.rank == 0:
    print("history", [p.rank_history[r]["loss"].tolist() for r in range(comm.size)])
