"""``nnabla.utils.data_source_loader``: reading dataset files (local or http(s)) and loading their contents.

``FileReader(base_uri).open(name)`` opens ``name`` relative to the folder of ``base_uri``; ``load(ext)`` gives
the loader for a file extension (images, ``.csv``, ``.npy``); each loader takes ``(file, shape=None,
normalize=False)``.
"""

from __future__ import annotations

import contextlib
import csv
import os
import urllib.parse
import urllib.request

import numpy

from nnabla.logger import logger

from .download import download, get_data_home  # noqa: F401  (NNabla exposes them here too)


class FileReader:
    """Opens a local file or an http(s) URL, and names relative to it."""

    def __init__(self, base_uri: str):
        self._base_uri = base_uri
        self.base_ext = os.path.splitext(base_uri)[1].lower()
        lowered = base_uri.lower()
        if lowered.startswith("s3://"):
            raise ValueError("FileReader: s3:// sources are not supported here (got {})".format(base_uri))
        self._file_type = "http" if lowered.startswith(("http://", "https://")) else "file"

    def _resolve(self, filename):
        if filename is None:
            return self._base_uri
        if self._file_type == "http":
            return urllib.parse.urljoin(self._base_uri, filename.replace("\\", "/"))
        folder = os.path.dirname(self._base_uri.replace("\\", "/"))
        return os.path.abspath(os.path.join(folder, filename.replace("\\", "/")))

    @contextlib.contextmanager
    def open(self, filename=None, textmode: bool = False, encoding: str = "utf-8-sig"):
        path = self._resolve(filename)
        if self._file_type == "http":
            f = urllib.request.urlopen(path)
            if textmode:
                import io

                f = io.StringIO(f.read().decode(encoding))
        else:
            f = open(path, "rt", encoding=encoding) if textmode else open(path, "rb")
        try:
            f.ext = os.path.splitext(path)[1].lower()
        except AttributeError:
            pass
        try:
            yield f
        finally:
            f.close()

    @contextlib.contextmanager
    def open_cache(self, cache_name: str):
        import h5py

        path = os.path.abspath(os.path.join(self._base_uri, cache_name))
        with h5py.File(path, "r") as h5:
            yield h5

    def listdir(self):
        if self._file_type == "http":
            return None
        return [f for f in sorted(os.listdir(self._base_uri)) if os.path.splitext(f)[1].lower() == ".h5"]


def load_image(file, shape=None, normalize: bool = False):
    """An image as (channels, height, width) (gray: (1, h, w)), resized to ``shape`` if given; /255 if ``normalize``."""
    from .image_utils import imread, imresize

    img = imread(file)
    if img.ndim == 2:
        img = img[:, :, None]
    height, width, channels = img.shape
    out_channels, out_height, out_width = (channels, height, width) if shape is None else shape
    if out_channels != channels:
        raise ValueError("load_image: the image has {} channels, the shape asks {}".format(channels, out_channels))
    if (out_height, out_width) != (height, width):
        img = imresize(img if channels > 1 else img[:, :, 0], (out_width, out_height))
        img = img.reshape(out_height, out_width, channels)
    img = img.transpose(2, 0, 1)
    if not normalize:
        return img
    return img * (1.0 / (65535.0 if img.dtype == numpy.uint16 else 255.0))


def load_csv(file, shape=None, normalize: bool = False):
    """A CSV file of numbers as an array (reshaped to ``shape`` if given)."""
    rows = [list(map(float, row)) for row in csv.reader([line.decode("utf-8") for line in file.readlines()]) if row]
    try:
        array = numpy.array(rows)
        return array if shape is None else array.reshape(shape)
    except ValueError:
        logger.log(99, 'Failed to load array from "{}".'.format(getattr(file, "name", file)))
        raise


def load_npy(path, shape=None, normalize: bool = False):
    array = numpy.load(path, allow_pickle=True)
    return array if shape is None else array.reshape(shape)


_load_functions = {
    ".bmp": load_image,
    ".jpg": load_image,
    ".jpeg": load_image,
    ".png": load_image,
    ".gif": load_image,
    ".tif": load_image,
    ".tiff": load_image,
    ".csv": load_csv,
    ".npy": load_npy,
}


def load(ext: str):
    """The loader for files with extension ``ext`` (``'.png'``, ``'.csv'``, ...)."""
    from . import callback

    func = callback.get_load_image_func(ext)
    if func is not None:
        return func
    if ext in _load_functions:
        return _load_functions[ext]
    raise ValueError('File format with extension "{}" is not supported.'.format(ext))
