"""``nnabla_nb.datasets``: the MNIST stand-in's files, read back the way NNabla's MNIST examples read them."""

import gzip
import json
import os
import struct
import zlib

import numpy as np
import pytest

from nnabla_nb.datasets import MNIST_FILES, read_mnist, write_digits_as_mnist
from nnabla_nb.datasets import mnist as mnist_module

pytest.importorskip("sklearn")

SIZES = {"train_size": 200, "test_size": 50}


def parse_like_nnabla(path):
    """What NNabla's ``load_mnist`` does with a downloaded file: inflate (gzip header auto-detected), unpack."""
    with open(path, "rb") as f:
        data = zlib.decompress(f.read(), zlib.MAX_WBITS | 32)
    magic = struct.unpack(">I", data[:4])[0]
    if magic == 2049:
        _, size = struct.unpack(">II", data[:8])
        return magic, np.frombuffer(data[8:], np.uint8).reshape(-1, 1), size
    _, size, height, width = struct.unpack(">IIII", data[:16])
    return magic, np.frombuffer(data[16:], np.uint8).reshape(size, 1, height, width), size


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    home = str(tmp_path_factory.mktemp("nnabla_data"))
    return home, write_digits_as_mnist(home, **SIZES)


def test_the_four_files_have_mnist_names_magic_numbers_and_shapes(written):
    home, result = written
    assert result["written"] and result["standin"]
    assert sorted(os.listdir(home)) == sorted(
        [n for pair in MNIST_FILES.values() for n in pair] + [mnist_module.MARKER]
    )
    for split, count in (("train", SIZES["train_size"]), ("test", SIZES["test_size"])):
        images_path, labels_path = result[split]
        magic, images, size = parse_like_nnabla(images_path)
        assert (magic, size, images.shape, images.dtype) == (2051, count, (count, 1, 28, 28), np.uint8)
        magic, labels, size = parse_like_nnabla(labels_path)
        assert (magic, size, labels.shape) == (2049, count, (count, 1))
        assert np.bincount(labels.ravel(), minlength=10).tolist() == [count // 10] * 10  # balanced classes
        # digits drawn in the 20x20 box: ink inside, the 4-pixel frame nearly empty, strokes reach full white
        assert images.max() == 255 and images[:, :, 4:24, 4:24].mean() > 10 * images[:, :, :2].mean()
        assert len({im.tobytes() for im in images}) == count  # every image differs


def test_read_mnist_gives_what_nnabla_reader_gives(written):
    home, result = written
    images, labels = read_mnist(train=False, data_home=home)
    assert np.array_equal(images, parse_like_nnabla(result["test"][0])[1])
    assert np.array_equal(labels, parse_like_nnabla(result["test"][1])[1])


def test_same_settings_give_the_same_bytes_and_a_second_call_writes_nothing(written, tmp_path):
    home, result = written
    again = write_digits_as_mnist(str(tmp_path), **SIZES)
    for split in ("train", "test"):
        for ours, theirs in zip(result[split], again[split]):
            assert open(ours, "rb").read() == open(theirs, "rb").read()
    stamp = os.stat(again["train"][0]).st_mtime_ns
    assert write_digits_as_mnist(str(tmp_path), **SIZES)["written"] is False
    assert os.stat(again["train"][0]).st_mtime_ns == stamp
    changed = write_digits_as_mnist(str(tmp_path), train_size=100, test_size=20)
    assert changed["written"] and parse_like_nnabla(changed["train"][1])[2] == 100
    assert json.load(open(tmp_path / mnist_module.MARKER))["train_size"] == 100
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_files_it_did_not_write_are_kept(tmp_path):
    for pair in MNIST_FILES.values():
        for name in pair:
            with gzip.open(tmp_path / name, "wb") as f:
                f.write(b"real MNIST stands here")
    result = write_digits_as_mnist(str(tmp_path), **SIZES)
    assert (result["written"], result["standin"]) == (False, False)
    assert gzip.open(tmp_path / MNIST_FILES["train"][0]).read() == b"real MNIST stands here"
    assert write_digits_as_mnist(str(tmp_path), overwrite=True, **SIZES)["standin"]


def test_the_test_images_come_from_other_source_digits_than_the_training_images():
    labels = np.repeat(np.arange(10), 50)
    train, test = mnist_module._split(labels, np.random.RandomState(0))
    for c in range(10):
        assert len(test[c]) == mnist_module.TEST_SOURCES_PER_CLASS and set(train[c]).isdisjoint(test[c])
        assert set(train[c]) | set(test[c]) == set(np.flatnonzero(labels == c))


def test_nnabla_download_finds_the_files_in_the_data_home_without_network(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    from nnabla.utils.data_source_loader import download, get_data_home

    write_digits_as_mnist(**SIZES)  # default: NNabla's data home
    assert get_data_home() == str(tmp_path / "nnabla_data")

    def no_network(*args, **kwargs):
        raise AssertionError("download went to the network")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    with download("http://yann.lecun.com/exdb/mnist/train-labels-idx1-ubyte.gz") as f:
        data = zlib.decompress(f.read(), zlib.MAX_WBITS | 32)
    assert struct.unpack(">II", data[:8]) == (2049, SIZES["train_size"])


def test_bad_sizes_and_missing_files_are_named(tmp_path):
    with pytest.raises(ValueError, match="train_size"):
        write_digits_as_mnist(str(tmp_path), train_size=5)
    with pytest.raises(FileNotFoundError, match="write_digits_as_mnist"):
        read_mnist(data_home=str(tmp_path))
