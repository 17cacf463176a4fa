"""The CIFAR-10 stand-in (``nnabla_nb.datasets.cifar10``): the file layout NNabla's CIFAR-10 examples read, read back
the way their ``Cifar10DataSource`` reads it (``tarfile`` members named ``*data_batch*`` / ``*test_batch*``, each
``np.load(..., encoding="bytes", allow_pickle=True)`` with bytes keys, data reshaped to (N, 3, 32, 32)).

Most tests write a small tarball (100 images a batch) with the same code that writes the full one.
"""

import os
import tarfile

import numpy as np
import pytest

from nnabla_nb.datasets import cifar10

SMALL = 100


def _write_small(folder) -> str:
    path = os.path.join(str(folder), cifar10.TARBALL)
    cifar10._write_tarball(path, cifar10._members(SMALL))
    return path


def _read_as_nnabla_does(path: str, train: bool):
    """What NNabla's examples' Cifar10DataSource does with the tarball (facts of its reader)."""
    images, labels = [], []
    with tarfile.open(path, mode="r:gz") as tar:
        for member in tar.getmembers():
            if ("data_batch" if train else "test_batch") not in member.name:
                continue
            data = np.load(tar.extractfile(member), encoding="bytes", allow_pickle=True)
            images.append(data[b"data"])
            labels.append(data[b"labels"])
    return np.concatenate(images).reshape(-1, 3, 32, 32), np.concatenate(labels).reshape(-1, 1)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return _write_small(tmp_path_factory.mktemp("cifar10"))


def test_tarball_holds_the_cifar10_python_members_in_order(small):
    with tarfile.open(small, "r:gz") as tar:
        names = tar.getnames()
    batches = [f"data_batch_{i}" for i in range(1, 6)]
    assert names == [f"cifar-10-batches-py/{n}" for n in batches + ["test_batch", "batches.meta", "readme.html"]]
    assert cifar10.TARBALL == cifar10.URL.rsplit("/", 1)[-1]  # the name download() looks for in the data home
    assert 5 * cifar10.BATCH_SIZE == 50000  # the training size NNabla's reader reshapes to


@pytest.mark.parametrize("train, count", [(True, 5 * SMALL), (False, SMALL)])
def test_read_back_as_nnabla_reads_it(small, train, count):
    images, labels = _read_as_nnabla_does(small, train)
    assert images.shape == (count, 3, 32, 32) and images.dtype == np.uint8
    assert labels.shape == (count, 1)
    assert np.bincount(labels.ravel(), minlength=10).tolist() == [count // 10] * 10
    assert images.std() > 20  # pictures, not a constant


def test_batch_record_has_cifar10_keys_and_types(small):
    with tarfile.open(small, "r:gz") as tar:
        record = np.load(tar.extractfile("cifar-10-batches-py/data_batch_1"), encoding="bytes", allow_pickle=True)
        meta = np.load(tar.extractfile("cifar-10-batches-py/batches.meta"), encoding="bytes", allow_pickle=True)
    assert sorted(record) == [b"batch_label", b"data", b"filenames", b"labels"]
    assert record[b"data"].shape == (SMALL, 3072)
    assert isinstance(record[b"labels"], list) and all(isinstance(v, int) for v in record[b"labels"])
    assert all(isinstance(v, bytes) for v in record[b"filenames"])
    assert meta[b"label_names"] == [name.encode() for name in cifar10.CLASSES]
    assert meta[b"num_vis"] == 3072 and meta[b"num_cases_per_batch"] == SMALL


def test_images_are_red_green_blue_planes(small):
    # row 0 of data is the first image's red plane, then green, then blue (1024 values each)
    with tarfile.open(small, "r:gz") as tar:
        record = np.load(tar.extractfile("cifar-10-batches-py/data_batch_1"), encoding="bytes", allow_pickle=True)
    expected = cifar10.render(record[b"labels"], 1)  # data_batch_1 is drawn with seed 1
    np.testing.assert_array_equal(record[b"data"].reshape(-1, 3, 32, 32), expected)


def test_arrays_are_pickled_under_numpy1_names():
    payload = cifar10._batch("data_batch_1", 1, 10)
    assert b"numpy.core.multiarray" in payload and b"numpy._core" not in payload


def test_same_bytes_every_time(tmp_path):
    contents = []
    for folder in (tmp_path / "a", tmp_path / "b"):
        folder.mkdir()
        with open(_write_small(folder), "rb") as f:
            contents.append(f.read())
    assert contents[0] == contents[1]


def test_render_is_deterministic_and_classes_differ():
    kinds = np.repeat(np.arange(len(cifar10.CLASSES) + len(cifar10.EXTRA_CLASSES)), 4)
    images = cifar10.render(kinds, 3)
    np.testing.assert_array_equal(images, cifar10.render(kinds, 3))
    assert images.shape == (len(kinds), 3, 32, 32) and images.dtype == np.uint8
    assert not np.array_equal(images, cifar10.render(kinds, 4))
    with pytest.raises(ValueError, match="cifar10.render: kinds must lie in"):
        cifar10.render([15], 0)


def test_write_keeps_an_existing_tarball(tmp_path):
    path = tmp_path / cifar10.TARBALL
    path.write_bytes(b"a real download")
    assert cifar10.write(str(tmp_path)) == str(path)
    assert path.read_bytes() == b"a real download"


def test_failed_write_leaves_nothing(tmp_path):
    def members():
        yield "data_batch_1", b"x"
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        cifar10._write_tarball(str(tmp_path / cifar10.TARBALL), members())
    assert os.listdir(tmp_path) == []


def test_default_folder_is_nnabla_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    members = cifar10._members
    monkeypatch.setattr(cifar10, "_members", lambda: members(10))
    path = cifar10.write()
    assert path == os.path.join(str(tmp_path), "nnabla_data", cifar10.TARBALL)
    assert cifar10.is_stand_in(path)
    images, labels = cifar10.load(train=False)
    assert images.shape == (10, 3, 32, 32) and sorted(labels.ravel().tolist()) == list(range(10))
    assert cifar10.lesson_model_path().startswith(os.path.join(str(tmp_path), "nnabla_data"))


TUTORIALS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tutorials")


def _notebook(name):
    import nbformat

    return nbformat.read(os.path.join(TUTORIALS, name), as_version=4)


def _printed(nb, prefix):
    lines = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            lines += [line for line in out.get("text", "").splitlines() if line.startswith(prefix)]
    return lines


def test_cifar10_lesson_shows_the_code_lesson_model_repeats():
    """lesson_model() rebuilds the lesson's model when the lesson has not run: the same definitions and numbers."""
    import inspect

    sources = "\n".join(c.source for c in _notebook("cifar10.ipynb").cells if c.cell_type == "code")
    for definition in (cifar10.Cifar10DataSource, cifar10.resnet_prediction, cifar10.train):
        assert inspect.getsource(definition).strip() in sources, definition.__name__
    assert f"batch_size = {cifar10.LESSON_BATCH_SIZE}\n" in sources
    assert f"Cifar10DataSource(train=True, shuffle=True, size={cifar10.LESSON_TRAIN_SIZE})" in sources
    assert f"tdata, {cifar10.LESSON_STEPS}, on_step)" in sources
    assert "nn.seed(0)\nnp.random.seed(0)" in sources and "S.Adam(alpha=0.003)" in sources


def test_finetuning_starts_from_the_model_the_cifar10_lesson_saved():
    saved = _printed(_notebook("cifar10.ipynb"), "parameters' checksum:")
    loaded = _printed(_notebook("finetuning.ipynb"), "parameters' checksum:")
    assert len(saved) == 1 and saved == loaded
