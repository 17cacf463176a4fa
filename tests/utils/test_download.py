"""The data home and the download cache: a file already there is used with no network access."""

import os

import pytest

from nnabla.utils import download as dl
from nnabla.utils.data_source_loader import FileReader, load


def test_data_home_is_nnabla_data_under_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert dl.get_data_home() == os.path.join(str(tmp_path), "nnabla_data")
    assert os.path.isdir(tmp_path / "nnabla_data")


def test_data_home_falls_back_to_the_working_folder_when_home_is_root(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", "/")
    monkeypatch.chdir(tmp_path)
    assert dl.get_data_home() == "./nnabla_data"
    assert os.path.isdir(tmp_path / "nnabla_data")


def test_a_cached_file_is_opened_without_network(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "nnabla_data").mkdir()
    (tmp_path / "nnabla_data" / "train-images.gz").write_bytes(b"cached bytes")

    def no_network(*args, **kwargs):
        raise AssertionError("the network was used")

    monkeypatch.setattr(dl.urllib.request, "urlopen", no_network)
    with dl.download("http://example.invalid/data/train-images.gz") as f:
        assert f.read() == b"cached bytes"
    assert dl.download("http://example.invalid/data/train-images.gz", open_file=False) is None


def test_a_missing_file_without_network_names_the_url_and_the_cache_path(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))

    def offline(url, *args, **kwargs):
        raise dl.urllib.error.URLError("no route to host")

    monkeypatch.setattr(dl.urllib.request, "urlopen", offline)
    with pytest.raises(OSError) as info:
        dl.download("http://example.invalid/data/missing.gz")
    message = str(info.value)
    assert "http://example.invalid/data/missing.gz" in message
    assert os.path.join(str(tmp_path), "nnabla_data", "missing.gz") in message
    assert not os.path.exists(tmp_path / "nnabla_data" / "missing.gz")


def test_a_fetched_file_is_written_to_the_data_home(tmp_path, monkeypatch):
    import io

    monkeypatch.setenv("HOME", str(tmp_path))

    class Response(io.BytesIO):
        headers = {"Content-Length": "5"}

    monkeypatch.setattr(dl.urllib.request, "urlopen", lambda url: Response(b"hello"))
    with dl.download("http://example.invalid/x/file.bin") as f:
        assert f.read() == b"hello"
    assert (tmp_path / "nnabla_data" / "file.bin").read_bytes() == b"hello"


def test_file_reader_opens_names_relative_to_the_base_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.csv").write_text("1,2\n3,4\n")
    reader = FileReader(str(tmp_path / "sub" / "index.csv"))
    with reader.open("a.csv") as f:
        assert f.ext == ".csv"
        assert load(".csv")(f).tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_unknown_extensions_are_refused():
    with pytest.raises(ValueError, match='".xyz" is not supported'):
        load(".xyz")
