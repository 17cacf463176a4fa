"""A stand-in for MNIST: scikit-learn's 8x8 digits, resized to 28x28 and written as MNIST's four idx files.

MNIST's files (``train-images-idx3-ubyte.gz`` and the others) are gzip-compressed idx files: big-endian uint32
header words, then raw uint8 values. Images: magic 2051, count, rows, columns, then count*rows*columns bytes.
Labels: magic 2049, count, then count bytes. NNabla's MNIST examples fetch them with
``nnabla.utils.data_source_loader.download(url)``, which reads a file already in the data home instead of the
network, so with these files in place those examples run offline, unchanged, on the stand-in.

The stand-in is not MNIST. scikit-learn's digits are 1,797 images of 8x8 pixels with 17 grey levels (one writer
group, UCI's "optical recognition of handwritten digits"). They are split once into training and test sources
(no source digit is in both), and each written image is one source digit drawn into MNIST's 20x20 box at the
centre of 28x28, with a small random stretch and shift per image, so the default counts match MNIST's (60,000
training images, 10,000 test images) and every image differs from the others. Classes are balanced.
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import zlib

import numpy as np

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
MARKER = "nnabla_nb-mnist-standin.json"  # written last: says the four files are this stand-in, and with what settings
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
SIDE, BOX = 28, 20  # MNIST: 28x28 images, each digit fitted into a 20x20 box at the centre
TEST_SOURCES_PER_CLASS = 30  # source digits held out (per class) to draw the test images from
FORMAT_VERSION = 1


def _data_home() -> str:
    from nnabla.utils.download import get_data_home

    return get_data_home()


def _digits():
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise ImportError(
            "write_digits_as_mnist needs scikit-learn (its bundled 8x8 digits): pip install scikit-learn"
        ) from error
    digits = load_digits()
    return digits.images.astype(np.float64) / 16.0, digits.target.astype(np.uint8)


def _split(labels: np.ndarray, rng: np.random.RandomState):
    """Indices of the training and test source digits: TEST_SOURCES_PER_CLASS of each class go to the test side."""
    train, test = [], []
    for c in range(10):
        members = rng.permutation(np.flatnonzero(labels == c))
        test.append(members[:TEST_SOURCES_PER_CLASS])
        train.append(members[TEST_SOURCES_PER_CLASS:])
    return train, test


def _resampling(scale: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """(n, 28, 8) bilinear weights: output row i of image k reads source rows with these weights."""
    pixel = 8 * scale[:, None] / BOX  # source pixels per output pixel's width, inverted below
    centre = (SIDE - 1) / 2 + shift[:, None]
    source = (np.arange(SIDE)[None, :] - centre) * pixel + 3.5  # output pixel centre, in source coordinates
    return np.maximum(0.0, 1.0 - np.abs(source[:, :, None] - np.arange(8)[None, None, :]))


def _draw(sources: list, images: np.ndarray, count: int, rng: np.random.RandomState):
    """``count`` images (uint8, (count, 28, 28)) and labels, classes in turn, each from one source digit."""
    labels = np.arange(count) % 10
    picks = np.empty(count, np.int64)
    for c in range(10):
        slots = np.flatnonzero(labels == c)
        cycle = np.resize(sources[c], len(slots))  # every source used as evenly as the count allows
        picks[slots] = cycle[rng.permutation(len(slots))]
    order = rng.permutation(count)
    labels, picks = labels[order], picks[order]
    out = np.empty((count, SIDE, SIDE), np.uint8)
    for start in range(0, count, 5000):
        k = slice(start, min(start + 5000, count))
        n = k.stop - k.start
        rows = _resampling(1.0 / rng.uniform(0.8, 1.05, n), rng.uniform(-1.5, 1.5, n))
        cols = _resampling(1.0 / rng.uniform(0.75, 1.05, n), rng.uniform(-1.5, 1.5, n))
        drawn = rows @ images[picks[k]] @ cols.transpose(0, 2, 1)
        # MNIST's strokes are saturated: stretch the contrast so a stroke's middle reaches 255
        out[k] = np.round(255 * np.clip(1.6 * drawn - 0.1, 0.0, 1.0)).astype(np.uint8)
    return out, labels.astype(np.uint8)


def _idx_bytes(array: np.ndarray) -> bytes:
    if array.ndim == 3:
        header = struct.pack(">IIII", IMAGE_MAGIC, *array.shape)
    else:
        header = struct.pack(">II", LABEL_MAGIC, len(array))
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def _write_atomic(path: str, payload: bytes, compress: bool = True) -> None:
    tmp = "{}.{}.part".format(path, os.getpid())
    try:
        with open(tmp, "wb") as raw:
            if compress:
                # mtime=0 and no file name in the header: the same settings give the same bytes on every run
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as f:
                    f.write(payload)
            else:
                raw.write(payload)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _settings(train_size: int, test_size: int, seed: int) -> dict:
    return {
        "dataset": "MNIST stand-in from scikit-learn's 8x8 digits (not MNIST)",
        "format_version": FORMAT_VERSION,
        "train_size": train_size,
        "test_size": test_size,
        "seed": seed,
    }


def write_digits_as_mnist(
    data_home: str | None = None,
    train_size: int = 60000,
    test_size: int = 10000,
    seed: int = 0,
    overwrite: bool = False,
) -> dict:
    """Write the MNIST stand-in (scikit-learn's digits at 28x28, not MNIST) as MNIST's four files.

    Args:
        data_home: the folder to write to; default NNabla's data home (``~/nnabla_data``), where
            ``nnabla.utils.data_source_loader.download`` looks before the network.
        train_size, test_size: images per split; the defaults are MNIST's counts (60,000 and 10,000).
        seed: the random state of the split and of every image's stretch and shift.
        overwrite: replace the four files even when they are not this stand-in (real MNIST, say).

    Returns:
        ``{"train": (images_path, labels_path), "test": (...), "written": bool, "standin": bool}``.
        ``written`` is False when the files were already there: this stand-in with the same settings (nothing to
        do; the same settings always give the same bytes), or files this function did not write, which are kept
        (``standin`` False then) unless ``overwrite``.
    """
    if min(train_size, test_size) < 10:
        raise ValueError(
            "write_digits_as_mnist: train_size and test_size must be at least 10 (one image per class); "
            "got train_size={}, test_size={}".format(train_size, test_size)
        )
    home = _data_home() if data_home is None else data_home
    os.makedirs(home, exist_ok=True)
    paths = {split: tuple(os.path.join(home, name) for name in names) for split, names in MNIST_FILES.items()}
    every = [p for pair in paths.values() for p in pair]
    marker = os.path.join(home, MARKER)
    settings = _settings(train_size, test_size, seed)
    recorded = None
    if os.path.exists(marker):
        with open(marker) as f:
            recorded = json.load(f)
    present = all(os.path.exists(p) for p in every)
    if present and recorded == settings and not overwrite:
        return dict(paths, written=False, standin=True)
    if present and recorded is None and not overwrite:
        return dict(paths, written=False, standin=False)

    images, labels = _digits()
    rng = np.random.RandomState(seed)
    train_sources, test_sources = _split(labels, rng)
    try:
        os.unlink(marker)  # the files change from here on: no marker until all four are written
    except FileNotFoundError:
        pass
    for split, count, sources in (("train", train_size, train_sources), ("test", test_size, test_sources)):
        drawn, drawn_labels = _draw(sources, images, count, rng)
        _write_atomic(paths[split][0], _idx_bytes(drawn))
        _write_atomic(paths[split][1], _idx_bytes(drawn_labels))
    _write_atomic(marker, (json.dumps(settings, indent=1) + "\n").encode(), compress=False)
    return dict(paths, written=True, standin=True)


def read_mnist(train: bool = True, data_home: str | None = None):
    """MNIST's images ``(N, 1, 28, 28)`` and labels ``(N, 1)``, uint8, read from the data home's idx files.

    Reads whatever is there (real MNIST or the stand-in) as NNabla's MNIST examples do; raises
    FileNotFoundError naming the file and ``write_digits_as_mnist`` when a file is missing.
    """
    home = _data_home() if data_home is None else data_home
    image_name, label_name = MNIST_FILES["train" if train else "test"]
    arrays = []
    for name, magic in ((label_name, LABEL_MAGIC), (image_name, IMAGE_MAGIC)):
        path = os.path.join(home, name)
        if not os.path.exists(path):
            raise FileNotFoundError(
                "read_mnist: {} is missing; nnabla_nb.datasets.write_digits_as_mnist() writes a stand-in".format(path)
            )
        with open(path, "rb") as f:
            data = zlib.decompress(f.read(), zlib.MAX_WBITS | 32)
        words = 2 if magic == LABEL_MAGIC else 4
        header = struct.unpack(">" + "I" * words, data[: 4 * words])
        if header[0] != magic:
            raise ValueError("read_mnist: {} has magic {}, expected {}".format(path, header[0], magic))
        values = np.frombuffer(data[4 * words :], np.uint8)
        arrays.append(values.reshape(-1, 1) if magic == LABEL_MAGIC else values.reshape(header[1], 1, *header[2:]))
    labels, images = arrays
    return images, labels
