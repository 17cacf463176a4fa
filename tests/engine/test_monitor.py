"""nnabla.monitor: series and timer logs (screen and file), image snapshots as PNG."""

from __future__ import annotations

import logging
import struct
import zlib

import numpy as np
import pytest

import nnabla as nn
from nnabla.monitor import (
    Monitor,
    MonitorImage,
    MonitorImageTile,
    MonitorSeries,
    MonitorTimeElapsed,
    imsave,
    tile_images,
)


@pytest.fixture
def log_lines():
    """Messages the nnabla logger emits during the test."""
    lines = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    handler = Collect()
    nn.logger.addHandler(handler)
    yield lines
    nn.logger.removeHandler(handler)


def read_png(path):
    """(pixels, color type) of an 8-bit PNG whose rows all use filter 0."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(kind + body)
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    width, height, depth, color_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    channels = 1 if color_type == 0 else 3
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, 1 + width * channels)
    assert (raw[:, 0] == 0).all() and depth == 8
    pixels = raw[:, 1:].reshape(height, width, channels)
    return (pixels[..., 0] if channels == 1 else pixels), color_type


def test_monitor_creates_its_folder(tmp_path):
    m = Monitor(str(tmp_path / "a" / "b"))
    assert m.save_path == str(tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b").is_dir()
    Monitor(str(tmp_path / "a" / "b"))  # an existing folder is fine


def test_series_averages_over_the_interval(tmp_path, log_lines):
    m = Monitor(str(tmp_path))
    series = MonitorSeries("Training loss", m, interval=2)
    for i in range(5):
        series.add(i, float(i))
    assert log_lines == ["iter=1 {Training loss}=0.5", "iter=3 {Training loss}=2.5"]
    assert (tmp_path / "Training-loss.series.txt").read_text() == "1 0.5\n3 2.5\n"


def test_series_interval_one_quiet_and_without_monitor(tmp_path, log_lines):
    m = Monitor(str(tmp_path))
    quiet = MonitorSeries("err", m, verbose=False)
    for i in range(3):
        quiet.add(i, 1.0 / 3 * i)
    assert log_lines == []
    assert (tmp_path / "err.series.txt").read_text() == "0 0\n1 0.333333\n2 0.666667\n"
    MonitorSeries("screen only").add(0, np.float32(2.0))
    assert log_lines == ["iter=0 {screen only}=2.0"]
    MonitorSeries("err", m)  # a new series of the same name starts its file afresh
    assert (tmp_path / "err.series.txt").read_text() == ""


def test_time_elapsed(tmp_path, log_lines):
    m = Monitor(str(tmp_path))
    timer = MonitorTimeElapsed("time", m, interval=2)
    for i in range(4):
        timer.add(i)
    rows = [line.split() for line in (tmp_path / "time.timer.txt").read_text().splitlines()]
    assert [(r[0], r[2]) for r in rows] == [("1", "2"), ("3", "2")]
    assert all(float(r[1]) >= 0 and float(r[3]) >= float(r[1]) for r in rows)
    assert len(log_lines) == 2 and log_lines[0].startswith("iter=1 {time}=") and "[sec/2iter]" in log_lines[0]


def test_imsave_writes_png(tmp_path):
    gray = np.array([[0.0, 1.0], [0.5, 0.25]], np.float32)
    imsave(tmp_path / "g.png", gray)
    pixels, color_type = read_png(tmp_path / "g.png")
    assert color_type == 0
    np.testing.assert_array_equal(pixels, [[0, 255], [127, 63]])
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[0, 1] = (10, 20, 30)
    imsave(tmp_path / "c.png", rgb)
    pixels, color_type = read_png(tmp_path / "c.png")
    assert color_type == 2 and pixels.shape == (2, 3, 3)
    np.testing.assert_array_equal(pixels[0, 1], [10, 20, 30])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        imsave(tmp_path / "bad.png", gray * 2)


def test_monitor_image_saves_normalized_images_at_its_interval(tmp_path, log_lines):
    m = Monitor(str(tmp_path))
    images = MonitorImage("fake images", m, interval=2, num_images=2)
    x = np.arange(3 * 1 * 2 * 2, dtype=np.float32).reshape(3, 1, 2, 2)
    for i in range(4):
        images.add(i, nn.Variable.from_numpy_array(x))
    folder = tmp_path / "fake-images"
    assert sorted(p.name for p in folder.iterdir()) == [
        "000000-000.png",
        "000000-001.png",
        "000001-000.png",
        "000001-001.png",
        "000003-000.png",
        "000003-001.png",
    ]
    first, _ = read_png(folder / "000000-000.png")
    np.testing.assert_array_equal(first, (x[0, 0] / 7 * 255).astype(np.uint8))  # min-max over the saved images
    assert log_lines[0].startswith("iter=0 {fake images} are written to")


def test_monitor_image_channels(tmp_path):
    m = Monitor(str(tmp_path))
    images = MonitorImage("c", m, num_images=1, verbose=False)
    images.add(0, np.random.RandomState(0).rand(1, 5, 2, 2))  # more than 3 channels: the first 3
    assert read_png(tmp_path / "c" / "000000-000.png")[1] == 2
    two = np.zeros((1, 2, 2, 2))
    two[0, 0] = 1
    images.add(0, nn.NdArray.from_numpy_array(two))  # 2 channels: blue of ones added
    pixels, _ = read_png(tmp_path / "c" / "000000-000.png")
    np.testing.assert_array_equal(pixels[0, 0], [255, 0, 255])
    with pytest.raises(ValueError, match=r"\(N, \.\.\., C, H, W\)"):
        images.add(0, np.zeros((2, 2)))


def test_tile_images_and_monitor_image_tile(tmp_path):
    data = np.ones((3, 1, 2, 2))
    tile = tile_images(data)
    assert tile.shape == (6, 6)  # 2 x 2 grid of (2 + 1 padding)-pixel tiles
    assert tile[:2, :2].all() and not tile[2].any() and not tile[3:, 3:].any()
    assert tile_images(np.ones((4, 3, 2, 2))).shape == (6, 6, 3)
    m = Monitor(str(tmp_path))
    mon = MonitorImageTile("tiles", m, interval=5, num_images=4, verbose=False)
    for i in range(10):
        mon.add(i, np.random.RandomState(i).rand(6, 3, 4, 4))
    assert sorted(p.name for p in (tmp_path / "tiles").iterdir()) == ["000000.png", "000004.png", "000009.png"]
    pixels, color_type = read_png(tmp_path / "tiles" / "000004.png")
    assert pixels.shape == (10, 10, 3) and color_type == 2
