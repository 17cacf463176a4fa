"""``nnabla.utils.communicator_util``: the communicator of a script started by mpiexec, as NNabla's examples use it.

``create_communicator()`` makes and initializes a ``MultiProcessCommunicator`` when the process was started by
``mpiexec`` (Open MPI's or MPICH's) with more than one process, else returns None; ``current_communicator()``
gives it back later, and ``single_or_rankzero()`` says whether this process is the one that writes monitors,
files and logs (rank 0, or the only process)::

    comm = create_communicator(ignore_error=True)
    ...
    if single_or_rankzero():
        monitor_loss.add(i, loss.d.copy())
"""

from __future__ import annotations

import os

import nnabla.communicators as C
from nnabla.logger import logger

_current_communicator = None

# the size of the job, as the launchers tell each process: Open MPI's mpiexec, MPICH's (Hydra), and Slurm's PMI
_SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE")


def current_communicator():
    """The communicator ``create_communicator`` made, or None."""
    return _current_communicator


def create_communicator(ignore_error=False, extension_module="cudnn", type_config="float"):
    """A ``MultiProcessCommunicator`` on ``extension_module``'s context when mpiexec started this process with
    others, initialized; None for a single process. ``ignore_error``: a failure logs a warning and gives None.

    On a machine without a GPU, a 'cuda'/'cudnn' extension gives the CPU context (the collectives are the same).
    """
    global _current_communicator

    if any(os.environ.get(v) is not None for v in _SIZE_VARIABLES):
        from nnabla.ext_utils import get_extension_context

        try:
            context = get_extension_context(extension_module, type_config=type_config)
            if extension_module in ("cuda", "cudnn") and not _gpu_available():
                logger.info(f"create_communicator: no GPU here, so the '{extension_module}' context is the CPU's")
                context = get_extension_context("cpu", type_config=type_config)
            logger.log(99, "Create communicator with contexts {}".format(context))
            _current_communicator = C.MultiProcessCommunicator(context)
            _current_communicator.init()
            context.device_id = str(_current_communicator.rank % _current_communicator.size)
            if _current_communicator.size == 1:
                _current_communicator = None
        except Exception:
            if not ignore_error:
                raise
            logger.warning("Failed to initialize nnabla.communicators.")
            _current_communicator = None
    else:
        _current_communicator = None

    return _current_communicator


def single_or_rankzero():
    """True in a single process, or in the process of rank 0: the one that writes monitors and files."""
    return not _current_communicator or _current_communicator.rank == 0


def _gpu_available() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False
