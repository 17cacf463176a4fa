"""``nnabla.monitor``: training logs on screen and in text files, and image snapshots as PNG files.

Files and log lines are NNabla's: ``<name>.series.txt`` lines ``index value``, ``<name>.timer.txt`` lines
``index seconds iterations total_seconds``, images under ``<name>/``. PNGs are written with the standard
library (zlib), so no imaging package is needed.
"""

from __future__ import annotations

import os
import struct
import time
import zlib

import numpy as np

from .logger import logger


class Monitor:
    """The folder the monitors below write into (created if missing)."""

    def __init__(self, save_path):
        self._save_path = save_path
        os.makedirs(save_path, exist_ok=True)

    @property
    def save_path(self):
        return self._save_path


def _log_file(monitor, name, suffix):
    """The monitor's file for ``name`` (spaces become '-'), emptied; None without a monitor."""
    if monitor is None:
        return None
    path = os.path.join(monitor.save_path, name.replace(" ", "-")) + suffix
    with open(path, "w"):
        pass
    return path


class MonitorSeries:
    """A series of values (e.g. the loss), averaged over ``interval`` calls of ``add`` and then logged."""

    def __init__(self, name, monitor=None, interval=1, verbose=True):
        self.name = name
        self.interval = interval
        self.verbose = verbose
        self.sp = _log_file(monitor, name, ".series.txt")
        self.flush_at = -1
        self.buf = []

    def add(self, index, value):
        """Record ``value`` at ``index``; once ``index`` is ``interval`` past the last output, log the mean."""
        self.buf.append(value)
        if index - self.flush_at < self.interval:
            return
        value = np.mean(self.buf)
        if self.verbose:
            logger.info(f"iter={index} {{{self.name}}}={value}")
        if self.sp is not None:
            with open(self.sp, "a") as fd:
                print(f"{index} {value:g}", file=fd)
        self.flush_at = index
        self.buf = []


class MonitorTimeElapsed:
    """Wall-clock time per ``interval`` iterations and in total."""

    def __init__(self, name, monitor=None, interval=100, verbose=True):
        self.name = name
        self.interval = interval
        self.verbose = verbose
        self.sp = _log_file(monitor, name, ".timer.txt")
        self.flush_at = -1
        self.start = time.time()
        self.lap = self.start

    def add(self, index):
        """Once ``index`` is ``interval`` past the last output, log the time since then and since the start."""
        if index - self.flush_at < self.interval:
            return
        now = time.time()
        elapsed, elapsed_total = now - self.lap, now - self.start
        iterations = index - self.flush_at
        self.lap = now
        if self.verbose:
            logger.info(f"iter={index} {{{self.name}}}={elapsed}[sec/{iterations}iter] {elapsed_total}[sec]")
        if self.sp is not None:
            with open(self.sp, "a") as fd:
                print(f"{index} {elapsed} {iterations} {elapsed_total}", file=fd)
        self.flush_at = index


def _png_bytes(img) -> bytes:
    """An 8-bit grayscale (H, W) or RGB (H, W, 3) uint8 image as PNG file contents."""
    height, width = img.shape[:2]
    color_type = 0 if img.ndim == 2 else 2
    rows = np.ascontiguousarray(img, np.uint8).reshape(height, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)  # filter type 0 on every row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def imsave(path, img) -> None:
    """Save an (H, W) or (H, W, 1|3) image, uint8 or float in [0, 1] (scaled to 0..255), as a PNG file."""
    img = np.asarray(img)
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[-1] not in (1, 3)):
        raise ValueError(f"imsave: expected an (H, W) or (H, W, 1|3) image, got shape {img.shape}")
    if img.dtype != np.uint8:
        if np.any(img < 0) or np.any(img > 1):
            raise ValueError("imsave: pixel values of a non-uint8 image must lie in [0, 1]")
        img = (np.asarray(img, np.float32) * 255).astype(np.uint8)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    with open(path, "wb") as f:
        f.write(_png_bytes(img))


def _images_of(var, num_images, normalize):
    """Up to ``num_images`` (N, C, H, W) images in [0, 1] with 1 or 3 channels, from an (N, ..., C, H, W) batch."""
    from ._array import NdArray
    from ._variable import Variable

    if isinstance(var, Variable):
        data = var.d.copy()
    elif isinstance(var, NdArray):
        data = var.data.copy()
    elif isinstance(var, np.ndarray):
        data = var.copy()
    else:
        raise TypeError(f"MonitorImage.add: expected a Variable, NdArray or numpy array, got {type(var).__name__}")
    if data.ndim < 3:
        raise ValueError(f"MonitorImage.add: expected an (N, ..., C, H, W) batch, got shape {data.shape}")
    channels = data.shape[-3]
    data = data.reshape(-1, *data.shape[-3:])[:num_images]
    data = normalize(data)
    if channels > 3:
        data = data[:, :3]
    elif channels == 2:  # a third (blue) channel of ones makes it RGB
        data = np.concatenate([data, np.ones((data.shape[0], 1) + data.shape[-2:])], axis=1)
    return data


class MonitorImage:
    """Saves up to ``num_images`` images of a batch as ``<name>/<index:06d>-<j:03d>.png`` every ``interval``."""

    def __init__(self, name, monitor, interval=1000, verbose=True, num_images=16, normalize_method=None):
        self.name = name
        self.interval = interval
        self.verbose = verbose
        self.normalize_method = normalize_method if normalize_method is not None else self.default_normalize_method
        self.num_images = num_images
        self.save_dir = os.path.join(monitor.save_path, name.replace(" ", "-"))
        os.makedirs(self.save_dir, exist_ok=True)

    def default_normalize_method(self, x):
        """Min-max normalization of the whole batch to [0, 1]."""
        hi, lo = x.max(), x.min()
        return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)

    def _due(self, index) -> bool:
        return index == 0 or (index + 1) % self.interval == 0

    def add(self, index, var):
        """Save the images of ``var`` (an (N, ..., C, H, W) batch) at index 0 and every ``interval``-th index."""
        if not self._due(index):
            return
        data = _images_of(var, self.num_images, self.normalize_method)
        template = os.path.join(self.save_dir, f"{index:06d}-{{}}")
        for j in range(data.shape[0]):
            imsave(template.format(f"{j:03d}.png"), data[j].transpose(1, 2, 0))
        if self.verbose:
            logger.info(f"iter={index} {{{self.name}}} are written to {template.format('*.png')}.")


class MonitorImageTile(MonitorImage):
    """Saves up to ``num_images`` images of a batch tiled into one ``<name>/<index:06d>.png`` every ``interval``."""

    def add(self, index, var):
        """Save the images of ``var`` tiled in a square grid at index 0 and every ``interval``-th index."""
        if not self._due(index):
            return
        tile = tile_images(_images_of(var, self.num_images, self.normalize_method))
        path = os.path.join(self.save_dir, f"{index:06d}.png")
        imsave(path, tile)
        if self.verbose:
            logger.info(f"iter={index} {{{self.name}}} is written to {path}.")


def tile_images(data, padsize=1, padval=0):
    """(B, C, H, W) images as one grid image of ceil(sqrt(B)) x ceil(sqrt(B)) tiles, each padded right and below."""
    if data.ndim != 4:
        raise ValueError(f"tile_images: expected (B, C, H, W), got shape {data.shape}")
    data = data.transpose(0, 2, 3, 1)
    n = int(np.ceil(np.sqrt(data.shape[0])))
    padding = ((0, n**2 - data.shape[0]), (0, padsize), (0, padsize), (0, 0))
    data = np.pad(data, padding, mode="constant", constant_values=(padval, padval))
    data = data.reshape((n, n) + data.shape[1:]).transpose(0, 2, 1, 3, 4)
    data = data.reshape((n * data.shape[1], n * data.shape[3]) + data.shape[4:])
    return data[..., 0] if data.shape[2] == 1 else data


def plot_series(filename, plot_kwargs=None):
    """Plot a ``.series.txt`` file with matplotlib."""
    import matplotlib.pyplot as plt

    data = np.genfromtxt(filename, dtype="i8,f4", names=["k", "v"], ndmin=1)
    plt.plot(data["k"], data["v"], **(plot_kwargs or {}))


def plot_time_elapsed(filename, elapsed=False, unit="s", plot_kwargs=None):
    """Plot a ``.timer.txt`` file with matplotlib: seconds per interval, or the total with ``elapsed=True``."""
    import matplotlib.pyplot as plt

    scale = {"s": 1, "m": 60, "h": 3600, "d": 3600 * 24}
    if unit not in scale:
        raise ValueError("The argument `unit` must be chosen from {s|m|h|d}.")
    data = np.genfromtxt(filename, dtype="i8,f4", usecols=(0, 3 if elapsed else 1), names=["k", "v"], ndmin=1)
    plt.plot(data["k"], data["v"] / scale[unit], **(plot_kwargs or {}))
