"""``nnabla.utils.load.load`` makes data iterators for the datasets a file declares, as NNabla 1.36 does: each
dataset's ``data_iterator`` is a function making a DataIterator over its CSV (through ``cache_dir`` when named),
or over a cache written at load time when ``create_cache_explicitly``; optimizers and monitors hold those
functions. The batches below are real NNabla's for the same file (run by hand with the reference)."""

import os

import pytest

from nnabla.utils.load import load

CSV = "x__0,x__1,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,10,0\n"
CACHE_FILES = ["cache_00000000_00000004.npy", "cache_index.csv", "cache_info.csv", "order.csv", "original.csv"]

NNTXT = """
global_config {{ default_context {{ array_class: "CpuCachedArray" backends: "cpu:float" }} }}
training_config {{ max_epoch: {max_epoch} iter_per_epoch: 3 }}
network {{
  name: "net" batch_size: 2
  variable {{ name: "x" type: "Buffer" shape {{ dim: -1 dim: 2 }} }}
  variable {{ name: "a" type: "Buffer" shape {{ dim: -1 dim: 2 }} }}
  function {{ name: "Identity" type: "Identity" input: "x" output: "a" }}
}}
dataset {{ name: "train" uri: "{csv}" batch_size: 2 shuffle: false variable: "x" variable: "y" }}
dataset {{ name: "cached" uri: "{csv}" batch_size: 2 shuffle: true cache_dir: "{dir}/cache" variable: "x"
          variable: "y" no_image_normalization: true }}
dataset {{ name: "explicit" uri: "{csv}" batch_size: 3 shuffle: false cache_dir: "{dir}/cache2"
          create_cache_explicitly: true variable: "x" variable: "y" }}
dataset {{ name: "explicit_shuffled" uri: "{csv}" batch_size: 3 shuffle: true cache_dir: "{dir}/cache3"
          create_cache_explicitly: true variable: "x" variable: "y" }}
optimizer {{ name: "opt" network_name: "net" dataset_name: "train" solver {{ type: "Sgd" sgd_param {{ lr: 0.1 }} }}
            data_variable {{ variable_name: "x" data_name: "x" }} loss_variable {{ variable_name: "a" }} }}
monitor {{ name: "mon" network_name: "net" dataset_name: "cached" data_variable {{ variable_name: "x" data_name: "x" }}
          monitor_variable {{ type: "Error" variable_name: "a" }} }}
"""

# dataset: (size, batch_size, variables, shuffle, normalize, first three batches of (x, y)) from NNabla 1.36
NNABLA = {
    "train": (
        5, 2, ("x", "y"), False, True,
        [([[1, 2], [3, 4]], [[0], [1]]), ([[5, 6], [7, 8]], [[0], [1]]), ([[9, 10], [1, 2]], [[0], [0]])],
    ),
    "cached": (
        5, 2, ("x", "y"), True, False,
        [([[5, 6], [3, 4]], [[0], [1]]), ([[9, 10], [1, 2]], [[0], [0]]), ([[7, 8], [5, 6]], [[1], [0]])],
    ),
    "explicit": (
        5, 3, ("x", "y"), False, True,
        [
            ([[1, 2], [3, 4], [5, 6]], [[0], [1], [0]]),
            ([[7, 8], [9, 10], [1, 2]], [[1], [0], [0]]),
            ([[3, 4], [5, 6], [7, 8]], [[1], [0], [1]]),
        ],
    ),
    "explicit_shuffled": (
        5, 3, ("x", "y"), True, True,
        [
            ([[1, 2], [5, 6], [9, 10]], [[0], [0], [0]]),
            ([[7, 8], [3, 4], [1, 2]], [[1], [1], [0]]),
            ([[5, 6], [9, 10], [7, 8]], [[0], [0], [1]]),
        ],
    ),
}  # fmt: skip


def _write(folder, max_epoch=2):
    csv = os.path.join(folder, "data.csv")
    with open(csv, "w") as f:
        f.write(CSV)
    path = os.path.join(folder, "net.nntxt")
    with open(path, "w") as f:
        f.write(NNTXT.format(csv=csv, dir=folder, max_epoch=max_epoch))
    return path


@pytest.fixture
def loaded(tmp_path):
    return load([_write(str(tmp_path))]), tmp_path


def test_loading_writes_the_explicit_cache_and_makes_the_named_folder(loaded):
    _, folder = loaded
    assert sorted(os.listdir(folder / "cache2")) == sorted(os.listdir(folder / "cache3")) == CACHE_FILES
    assert os.listdir(folder / "cache") == []  # filled by the first iterator, as NNabla's


@pytest.mark.parametrize("name", list(NNABLA))
def test_data_iterators_give_nnablas_batches(loaded, name):
    info, folder = loaded
    size, batch_size, variables, shuffle, normalize, batches = NNABLA[name]
    dataset = info.datasets[name]
    assert dataset.normalize == normalize and dataset.uri == str(folder / "data.csv")
    with dataset.data_iterator() as di:
        assert (di.size, di.batch_size, tuple(di.variables)) == (size, batch_size, variables)
        for x, y in batches:
            got = di.next()
            assert [a.tolist() for a in got] == [x, y] and all(a.dtype == "float32" for a in got)
    if name == "cached":
        assert sorted(os.listdir(folder / "cache")) == CACHE_FILES


def test_optimizers_and_monitors_hold_the_iterator_makers(loaded):
    info, _ = loaded
    assert info.optimizers["opt"].data_iterators == {"train": info.datasets["train"].data_iterator}
    assert info.monitors["mon"].data_iterators == {"cached": info.datasets["cached"].data_iterator}


def test_without_prepare_data_iterator_nothing_is_made(tmp_path):
    info = load([_write(str(tmp_path))], prepare_data_iterator=False)
    assert all(d.data_iterator is None for d in info.datasets.values())
    assert not os.path.exists(tmp_path / "cache2")


@pytest.mark.parametrize("max_epoch, made", [(0, False), (2, True)])
def test_prepare_none_follows_the_training_config(tmp_path, max_epoch, made):
    info = load([_write(str(tmp_path), max_epoch)], prepare_data_iterator=None)
    assert (info.datasets["train"].data_iterator is not None) == made
