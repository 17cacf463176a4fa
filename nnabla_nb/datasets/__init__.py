"""``nnabla_nb.datasets``: small offline stand-ins for the datasets NNabla's lessons download, written in the
datasets' own file formats into NNabla's data home (``nnabla.utils.download.get_data_home()``, ``~/nnabla_data``),
where NNabla's ``download`` finds them and reads them without network access.

Each stand-in is built from data bundled with scikit-learn or drawn deterministically, and says so: it
has the shapes, types and file layout of the real dataset, not its images. A file already in the data home that
this package did not write (the real dataset, say) is never replaced.
"""

from __future__ import annotations

from . import cifar10
from .mnist import MNIST_FILES, read_mnist, write_digits_as_mnist

__all__ = [
    "MNIST_FILES",
    "cifar10",
    "read_mnist",
    "write_digits_as_mnist",
]
