"""``nnabla.communicators``: the communicators for data-parallel training (the names of ``nnabla.communicator``)."""

from .communicator import (  # noqa: F401
    Comm,
    Communicator,
    Context,
    DataParallelCommunicator,
    Dist,
    MultiProcessCommunicator,
    MultiProcessDataParalellCommunicator,
    MultiProcessDataParallelCommunicator,
)
