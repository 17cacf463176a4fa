"""A small local stand-in of CIFAR-10's format and shapes (not real CIFAR-10), written where NNabla looks for it.

The images are synthetic: 32 x 32 RGB pictures of ten kinds of coloured shapes and textures (``CLASSES``), drawn
deterministically from fixed seeds, each with its own colours, position, size and spacing. They come in
CIFAR-10's python-pickle layout, so NNabla's CIFAR-10 examples and tutorial read them unchanged and offline:

* the tarball ``cifar-10-python.tar.gz`` in NNabla's data home (``nnabla.utils.download.get_data_home()``), which
  is where ``download("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz")`` finds it without fetching;
* inside it the folder ``cifar-10-batches-py/`` with ``data_batch_1`` ... ``data_batch_5`` (10,000 training
  images each), ``test_batch`` (10,000 test images), ``batches.meta`` and ``readme.html``;
* each batch a pickled dict with the keys ``b"batch_label"``, ``b"labels"`` (a list of ints 0-9), ``b"data"``
  (uint8, shape (10000, 3072): per image the red, then green, then blue 32 x 32 plane, rows in order) and
  ``b"filenames"``: keys are bytes, as Python 3 sees the original file loaded with ``encoding="bytes"``.

``write()`` is idempotent: an existing tarball (ours or a real CIFAR-10 download) is left as it is. The finetuning
lesson's starting model comes from here too: ``lesson_model()`` trains and saves the cifar10 lesson's network when
that lesson has not saved it yet, in the same steps and with the same seeds, so both give the same file.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
import tempfile

import numpy as np

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1
    from numpy.core.multiarray import _reconstruct

__all__ = [
    "CLASSES",
    "Cifar10DataSource",
    "EXTRA_CLASSES",
    "LESSON_BATCH_SIZE",
    "LESSON_STEPS",
    "LESSON_TRAIN_SIZE",
    "URL",
    "is_stand_in",
    "lesson_model",
    "lesson_model_path",
    "load",
    "parameter_checksum",
    "render",
    "resnet_prediction",
    "train",
    "write",
]

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
TARBALL = "cifar-10-python.tar.gz"
FOLDER = "cifar-10-batches-py"
CLASSES = (
    "disc",
    "square",
    "ring",
    "cross",
    "triangle",
    "horizontal stripes",
    "vertical stripes",
    "diagonal stripes",
    "checkerboard",
    "dots",
)
# five more kinds, never in the tarball: a new task for the finetuning lesson
EXTRA_CLASSES = ("diamond", "x", "target", "grid", "half disc")
BATCH_SIZE = 10000
_STAND_IN_NOTE = b"nnabla-nb synthetic stand-in of CIFAR-10's format (not real CIFAR-10)"
_SEEDS = {"data_batch_1": 1, "data_batch_2": 2, "data_batch_3": 3, "data_batch_4": 4, "data_batch_5": 5}
_TEST_SEED = 6
_SIZE = 32


def _stripes(u, wave, phase, threshold=0.0):
    return np.sin(u * wave + phase) > threshold


# each kind's pixels, from the pixel grid (yy, xx), offsets from the centre (dy, dx) and per-image size, wave
# number and phase; the shapes are centred, the textures fill the picture
_MASKS = {
    "disc": lambda yy, xx, dy, dx, r, w, ph: np.hypot(dx, dy) < r,
    "square": lambda yy, xx, dy, dx, r, w, ph: np.maximum(abs(dx), abs(dy)) < 0.8 * r,
    "ring": lambda yy, xx, dy, dx, r, w, ph: (np.hypot(dx, dy) < r) & (np.hypot(dx, dy) > 0.55 * r),
    "cross": lambda yy, xx, dy, dx, r, w, ph: ((abs(dx) < r / 3) & (abs(dy) < r)) | ((abs(dy) < r / 3) & (abs(dx) < r)),
    "triangle": lambda yy, xx, dy, dx, r, w, ph: (dy < 0.7 * r) & (2 * abs(dx) < dy + r),
    "horizontal stripes": lambda yy, xx, dy, dx, r, w, ph: _stripes(yy, w, ph),
    "vertical stripes": lambda yy, xx, dy, dx, r, w, ph: _stripes(xx, w, ph),
    "diagonal stripes": lambda yy, xx, dy, dx, r, w, ph: _stripes((xx + yy) / np.sqrt(2), w, ph),
    "checkerboard": lambda yy, xx, dy, dx, r, w, ph: (np.floor(xx * w / 5 + ph) + np.floor(yy * w / 5)) % 2 == 1,
    "dots": lambda yy, xx, dy, dx, r, w, ph: _stripes(xx, w, ph, 0.4) & _stripes(yy, w, ph, 0.4),
    "diamond": lambda yy, xx, dy, dx, r, w, ph: abs(dx) + abs(dy) < r,
    "x": lambda yy, xx, dy, dx, r, w, ph: (
        ((abs(dx - dy) < r / 3) & (abs(dx + dy) < 1.6 * r)) | ((abs(dx + dy) < r / 3) & (abs(dx - dy) < 1.6 * r))
    ),
    "target": lambda yy, xx, dy, dx, r, w, ph: (
        (np.hypot(dx, dy) < r) & (np.sin(np.hypot(dx, dy) * 2.5 * np.pi / r) > 0)
    ),
    "grid": lambda yy, xx, dy, dx, r, w, ph: _stripes(xx, w, ph, 0.8) | _stripes(yy, w, ph, 0.8),
    "half disc": lambda yy, xx, dy, dx, r, w, ph: (np.hypot(dx, dy) < r) & (dy > 0),
}


def render(kinds, seed: int) -> np.ndarray:
    """Draw one image per entry of ``kinds`` (indices into ``CLASSES + EXTRA_CLASSES``): uint8 (N, 3, 32, 32).

    The same ``kinds`` and ``seed`` always give the same images.
    """
    kinds = np.asarray(kinds, dtype=np.int64).reshape(-1)
    count = len(CLASSES) + len(EXTRA_CLASSES)
    if kinds.size and (kinds.min() < 0 or kinds.max() >= count):
        raise ValueError(f"cifar10.render: kinds must lie in [0, {count}), got {kinds.min()}..{kinds.max()}")
    rng = np.random.RandomState(seed)
    n = kinds.size
    col = lambda *shape: rng.uniform(*shape).astype(np.float32)[:, None, None]  # noqa: E731 (one per image)
    cy, cx = col(11, 21, n), col(11, 21, n)
    radius = col(6, 10.5, n)
    period = col(4, 8, n)
    phase = col(0, 2 * np.pi, n)
    yy, xx = np.mgrid[0:_SIZE, 0:_SIZE].astype(np.float32)
    names = CLASSES + EXTRA_CLASSES
    mask = np.zeros((n, _SIZE, _SIZE), dtype=bool)
    for kind in np.unique(kinds):
        where = kinds == kind
        mask[where] = _MASKS[names[kind]](
            yy, xx, yy - cy[where], xx - cx[where], radius[where], 2 * np.pi / period[where], phase[where]
        )
    # colours: a background and a foreground far enough apart in brightness to be seen
    background = rng.uniform(0, 110, (n, 3, 1, 1)).astype(np.float32)
    foreground = rng.uniform(120, 255, (n, 3, 1, 1)).astype(np.float32)
    swap = rng.rand(n) < 0.5  # half of them dark shapes on light ground
    background[swap], foreground[swap] = foreground[swap], background[swap].copy()
    return np.where(mask[:, None], foreground, background).astype(np.uint8)


class _Pickler(pickle._Pickler):
    """Names numpy's array constructor as numpy 1 did (``numpy.core.multiarray``), as the original files do:
    numpy 1 and numpy 2 both load that name, while numpy 2's own (``numpy._core``) is unknown to numpy 1."""

    def save_global(self, obj, name=None):
        if obj is _reconstruct:
            self.save("numpy.core.multiarray")
            self.save("_reconstruct")
            self.write(pickle.STACK_GLOBAL)
            self.memoize(obj)
            return
        super().save_global(obj, name)


def _dumps(record: dict) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=4).dump(record)
    return buffer.getvalue()


def _batch(name: str, seed: int, size: int = BATCH_SIZE) -> bytes:
    """One pickled batch: ``size / 10`` images of each class in a seeded random order."""
    order = np.random.RandomState(seed).permutation(np.arange(size) % len(CLASSES))
    images = render(order, seed)
    record = {
        b"batch_label": f"{name} of 1 (nnabla-nb stand-in)".encode(),
        b"labels": [int(k) for k in order],
        b"data": images.reshape(len(order), -1),
        b"filenames": [f"{CLASSES[k].replace(' ', '_')}_{seed}_{i:05d}.png".encode() for i, k in enumerate(order)],
    }
    return _dumps(record)


def _meta(batch_size: int = BATCH_SIZE) -> bytes:
    record = {
        b"num_cases_per_batch": batch_size,
        b"label_names": [name.encode() for name in CLASSES],
        b"num_vis": 3 * _SIZE * _SIZE,
        b"stand_in": _STAND_IN_NOTE,
    }
    return _dumps(record)


_README = (
    "<html><body><p>A synthetic stand-in of CIFAR-10's python format written by nnabla-nb "
    "(nnabla_nb.datasets.cifar10): 32x32 RGB images of ten kinds of coloured shapes and textures. "
    "It is not the CIFAR-10 dataset.</p></body></html>\n"
)


def _members(batch_size: int = BATCH_SIZE):
    for name, seed in _SEEDS.items():
        yield name, _batch(name, seed, batch_size)
    yield "test_batch", _batch("test_batch", _TEST_SEED, batch_size)
    yield "batches.meta", _meta(batch_size)
    yield "readme.html", _README.encode()


def _write_tarball(path: str, members) -> None:
    """Write the members into a gzipped tarball at ``path`` atomically, with fixed times and owners."""
    import gzip

    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".cifar10-", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=6) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
                for name, payload in members:
                    info = tarfile.TarInfo(f"{FOLDER}/{name}")
                    info.size, info.mtime, info.mode = len(payload), 0, 0o644
                    info.uname = info.gname = ""
                    tar.addfile(info, io.BytesIO(payload))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _data_home(data_home) -> str:
    if data_home is None:
        from nnabla.utils.download import get_data_home

        return get_data_home()
    os.makedirs(data_home, exist_ok=True)
    return data_home


def write(data_home: str | None = None) -> str:
    """Write the stand-in's ``cifar-10-python.tar.gz`` into ``data_home`` (NNabla's data home by default).

    Returns the tarball's path. A tarball already there is kept (so is a real CIFAR-10 download); the file
    appears whole or not at all. The first call takes some seconds (60,000 images); later ones none.
    """
    path = os.path.join(_data_home(data_home), TARBALL)
    if not os.path.exists(path):
        _write_tarball(path, _members())
    return path


def is_stand_in(path: str) -> bool:
    """Whether the CIFAR-10 tarball at ``path`` is this stand-in (rather than the real dataset)."""
    with tarfile.open(path, "r:gz") as tar:
        meta = pickle.load(tar.extractfile(f"{FOLDER}/batches.meta"), encoding="bytes")
    return meta.get(b"stand_in") == _STAND_IN_NOTE


def load(train: bool = True, data_home: str | None = None) -> tuple:
    """(images uint8 (N, 3, 32, 32), labels int (N, 1)) from the tarball, read as NNabla's examples read it."""
    path = write(data_home)
    images, labels = [], []
    with tarfile.open(path, "r:gz") as tar:
        for member in tar.getmembers():
            if ("data_batch" if train else "test_batch") not in member.name:
                continue
            record = np.load(tar.extractfile(member), encoding="bytes", allow_pickle=True)
            images.append(record[b"data"])
            labels.append(record[b"labels"])
    return np.concatenate(images).reshape(-1, 3, _SIZE, _SIZE), np.concatenate(labels).reshape(-1, 1)


def lesson_model_path() -> str:
    """Where the cifar10 lesson saves its trained network (``.nnp``): a cache folder in NNabla's data home."""
    from nnabla.utils.download import get_data_home

    return os.path.join(get_data_home(), "nnabla_nb", "cifar10_lesson_resnet.nnp")


# -- the cifar10 lesson's data source, network and training, so the finetuning lesson can rebuild its model ------
# The cifar10 lesson (tutorials/cifar10.ipynb) shows these same definitions in its cells (a test checks they
# match), and saves the trained network to ``lesson_model_path()``; ``lesson_model()`` repeats those steps when
# the file is missing, with the same seeds, so the finetuning lesson starts from the same numbers either way.

import nnabla as nn  # noqa: E402
import nnabla.functions as F  # noqa: E402
import nnabla.parametric_functions as PF  # noqa: E402
from nnabla.utils.data_source import DataSource  # noqa: E402


class Cifar10DataSource(DataSource):
    """CIFAR-10's python tarball (from NNabla's data home) as a DataSource of (image, label), the first ``size``."""

    def __init__(self, train=True, shuffle=False, rng=None, size=None):
        super().__init__(shuffle=shuffle, rng=rng)
        from nnabla.utils.data_source_loader import download

        images, labels = [], []
        with download(URL) as raw, tarfile.open(fileobj=raw, mode="r:gz") as tar:
            for member in tar.getmembers():
                if ("data_batch" if train else "test_batch") in member.name:
                    record = np.load(tar.extractfile(member), encoding="bytes", allow_pickle=True)
                    images.append(record[b"data"])
                    labels.append(record[b"labels"])
        self._images = np.concatenate(images).reshape(-1, 3, 32, 32)[:size]
        self._labels = np.concatenate(labels).reshape(-1, 1)[:size]
        self._size = len(self._labels)
        self._variables = ("x", "y")
        self.rng = np.random.RandomState(313) if rng is None else rng
        self.reset()

    def _get_data(self, position):
        i = self._indexes[position]
        return self._images[i], self._labels[i]

    def reset(self):
        self._indexes = self.rng.permutation(self._size) if self._shuffle else np.arange(self._size)
        super().reset()


def resnet_prediction(image, test=False, ncls=10, nmaps=16, act=F.relu):
    """A small ResNet for 32 x 32 images: a convolution, then two residual units, each halving the size."""

    def res_unit(x, scope_name, dn=False):
        C = x.shape[1]
        with nn.parameter_scope(scope_name):
            # 1x1 narrows to C/2, 3x3 looks around, 1x1 widens back to C; the input is added back
            with nn.parameter_scope("conv1"):
                h = PF.convolution(x, C // 2, kernel=(1, 1), with_bias=False)
                h = act(PF.batch_normalization(h, batch_stat=not test))
            with nn.parameter_scope("conv2"):
                h = PF.convolution(h, C // 2, kernel=(3, 3), pad=(1, 1), with_bias=False)
                h = act(PF.batch_normalization(h, batch_stat=not test))
            with nn.parameter_scope("conv3"):
                h = PF.convolution(h, C, kernel=(1, 1), with_bias=False)
                h = PF.batch_normalization(h, batch_stat=not test)
            h = act(F.add2(h, x))
            if dn:
                h = F.max_pooling(h, kernel=(2, 2), stride=(2, 2))
            return h

    with nn.parameter_scope("conv1"):
        if not test:
            # a random small rotation and left-right flip of every training image, new at each forward
            image = F.image_augmentation(image, angle=0.25, flip_lr=True, seed=313)
            image.need_grad = False
        h = PF.convolution(image / 255.0, nmaps, kernel=(3, 3), pad=(1, 1), with_bias=False)
        h = act(PF.batch_normalization(h, batch_stat=not test))
        h = F.max_pooling(h, kernel=(2, 2), stride=(2, 2))  # -> 16x16
    h = res_unit(h, "conv2", True)  # -> 8x8
    h = res_unit(h, "conv3", True)  # -> 4x4
    h = F.average_pooling(h, kernel=(4, 4))  # -> 1x1
    return PF.affine(h, ncls)


def train(loss, solver, image, label, data, steps, on_step=None):
    """``steps`` training steps of ``loss`` on batches from ``data``; ``on_step(i)`` is called after each."""
    for i in range(steps):
        image.d, label.d = data.next()
        loss.forward(clear_no_need_grad=True)
        solver.zero_grad()
        loss.backward(clear_buffer=True)
        solver.weight_decay(1e-4)
        solver.update()
        if on_step is not None:
            on_step(i)


def parameter_checksum(params) -> str:
    """A short digest of parameter values (name order): equal digests, equal parameters."""
    import hashlib

    digest = hashlib.sha256()
    for name, value in params.items():
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(value.d, dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]


# what the cifar10 lesson uses: its cells say the same numbers
LESSON_BATCH_SIZE = 32
LESSON_TRAIN_SIZE = 10000
LESSON_STEPS = 400


def lesson_model(path: str | None = None) -> str:
    """The cifar10 lesson's trained network as an ``.nnp`` file: its path, trained and saved first if missing.

    Training repeats the lesson's steps (seeds 0, the lesson's data, network, solver and steps; about two
    CPU minutes). The current parameters are put back afterwards; ``nn.seed`` and ``np.random.seed`` are left
    reseeded.
    """
    import nnabla.solvers as S
    from nnabla.utils.data_iterator import data_iterator
    from nnabla.utils.save import save

    path = lesson_model_path() if path is None else path
    if os.path.exists(path):
        return path
    write()
    kept = nn.get_parameters(grad_only=False)
    nn.clear_parameters()
    try:
        nn.seed(0)
        np.random.seed(0)
        batch_size = LESSON_BATCH_SIZE
        source = Cifar10DataSource(train=True, shuffle=True, size=LESSON_TRAIN_SIZE)
        tdata = data_iterator(source, batch_size, with_memory_cache=False)
        image_train = nn.Variable((batch_size, 3, 32, 32))
        label_train = nn.Variable((batch_size, 1))
        pred_train = resnet_prediction(image_train, test=False)
        loss_train = F.mean(F.softmax_cross_entropy(pred_train, label_train))
        image_valid = nn.Variable((100, 3, 32, 32))
        pred_valid = resnet_prediction(image_valid, test=True)
        solver = S.Adam(alpha=0.003)
        solver.set_parameters(nn.get_parameters())
        train(loss_train, solver, image_train, label_train, tdata, LESSON_STEPS)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        save(path, _nnp_contents(image_valid, pred_valid))
    finally:
        nn.clear_parameters()
        for name, param in kept.items():
            nn.parameter.set_parameter(name, param)
    return path


def _nnp_contents(image, pred) -> dict:
    return {
        "networks": [{"name": "runtime", "batch_size": image.shape[0], "outputs": {"y": pred}, "names": {"x": image}}],
        "executors": [{"name": "runtime", "network": "runtime", "data": ["x"], "output": ["y"]}],
    }
