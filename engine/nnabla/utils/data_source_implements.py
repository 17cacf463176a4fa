"""``nnabla.utils.data_source_implements``: the data sources NNabla ships.

- ``SimpleDataSource``: examples from a user function ``load_func(index)``.
- ``CsvDataSource``: NNabla's dataset CSV (header ``NAME[__INDEX][:LABEL]``; a cell is a number or a file path,
  loaded by extension, relative to the CSV's folder).
- ``CacheDataSource``: a folder of cache files as ``DataSourceWithFileCache`` writes them (``.npy`` or ``.h5``).
- ``ConcatDataSource``: several sources one after another.
"""

from __future__ import annotations

import csv
import os
from collections import OrderedDict, deque

import numpy

from .data_source import DataSource
from .data_source_loader import FileReader, load


class SimpleDataSource(DataSource):
    """Examples from ``load_func(index)`` for ``index`` in ``range(num_examples)``; variables ``x0``, ``x1``, ...

    Each epoch (generation) has its own order, kept for a few generations so that slices reading the same
    source stay in step.
    """

    def __init__(self, load_func, num_examples: int, shuffle: bool = False, rng=None):
        if not callable(load_func):
            raise TypeError(
                f"SimpleDataSource: load_func must be a function of an index, got {type(load_func).__name__}"
            )
        if isinstance(num_examples, bool) or not isinstance(num_examples, (int, numpy.integer)) or num_examples < 1:
            raise ValueError(f"SimpleDataSource: num_examples must be a positive int, got {num_examples!r}")
        super().__init__(shuffle=shuffle, rng=rng)
        self._load_func = load_func
        self._size = num_examples
        self._generation = 0
        first = self._load(0)
        if not isinstance(first, (tuple, list)):
            raise TypeError(
                f"SimpleDataSource: load_func(0) must return a tuple of arrays (one per variable), "
                f"got {type(first).__name__}"
            )
        self._variables = ["x" + str(i) for i in range(len(first))]
        self._orders = deque(maxlen=15)
        self.reset()
        self._generate_order(0)

    def _order_of(self, generation):
        for snapshot_generation, order in self._orders:
            if snapshot_generation == generation:
                return order
        return None

    def _get_data(self, position):
        return self._get_data_of_generation(position, self._generation)

    def _get_data_of_generation(self, position, generation):
        order = self._order_of(generation)
        if order is None:
            raise ValueError("SimpleDataSource: no order for generation {}: its readers are not in step".format(
                generation))  # fmt: skip
        return self._load(order[position])

    def _load(self, index):
        """``load_func(index)``; an error it raises is told which example was asked for."""
        try:
            return self._load_func(index)
        except Exception as e:
            if hasattr(e, "add_note"):
                e.add_note(f"raised by the data iterator's load_func({index})")
            raise

    def apply_order(self) -> None:
        self._generation += 1
        self._generate_order(self._generation)

    def _generate_order(self, generation):
        if self._order_of(generation) is not None:
            return
        order = self._rng.permutation(self._size) if self._shuffle else numpy.arange(self._size)
        self._orders.append((generation, order))


class CsvDataSource(DataSource):
    """The rows of a dataset CSV file; each column header is ``NAME``, ``NAME__INDEX`` or either with ``:LABEL``.

    Columns whose header starts with ``#`` are comments. Columns sharing a ``NAME`` with different ``__INDEX``
    form one vector variable. ``normalize`` divides 8-bit images by 255.
    """

    def __init__(self, filename: str, shuffle: bool = False, rng=None, normalize: bool = False):
        super().__init__(shuffle=shuffle, rng=rng)
        self._filename = filename
        self._normalize = normalize
        self._generation = -1
        self._filereader = FileReader(filename)
        with self._filereader.open(textmode=True, encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader)
            self._rows = list(reader)
        self._size = len(self._rows)
        self._remove_comment_cols(header, self._rows)
        self._process_header(header)
        self._original_source_uri = filename
        self._original_order = list(range(self._size))
        self._order = list(range(self._size))
        self._variables = tuple(self._variables_dict.keys())
        self.reset()

    @staticmethod
    def _remove_comment_cols(header, rows) -> None:
        for col in reversed(range(len(header))):
            if header[col][:1] == "#":
                del header[col]
                for row in rows:
                    del row[col]

    def _process_header(self, header) -> None:
        self._variables_dict = OrderedDict()
        self._columns = []
        for name in header:
            name_with_index, _, label = name.partition(":")
            variable, sep, index = name_with_index.partition("__")
            label = label if ":" in name else None
            index = index if sep else None
            self._columns.append((variable, index, label))
            if index is None:
                self._variables_dict[variable] = {"label": label, "value": None}
            else:
                self._variables_dict.setdefault(variable, []).append({"label": label, "value": None})

    def _get_value(self, text: str, is_vector: bool = False):
        try:
            return [float(text)] if is_vector else float(text)
        except ValueError:
            pass
        ext = os.path.splitext(text)[1].lower()
        with self._filereader.open(text) as f:
            return load(ext)(f, normalize=self._normalize)

    def _process_row(self, row):
        values = OrderedDict()
        if len(row) == len(self._columns):
            for text, (variable, index, _) in zip(row, self._columns):
                if index is None:
                    values[variable] = self._get_value(text, is_vector=True)
                else:
                    values.setdefault(variable, []).append(self._get_value(text))
        return values.values()

    def _get_data(self, position):
        return tuple(self._process_row(self._rows[self._order[position]]))

    def reset(self) -> None:
        if self._shuffle:
            self._order = list(self._rng.permutation(list(range(self._size))))
        self._generation += 1
        super().reset()


class CacheDataSource(DataSource):
    """Examples read from a cache folder: ``cache_index.csv`` (file, count) and ``cache_info.csv`` (variables)
    with ``.npy`` files, or ``.h5`` files with one dataset per variable. ``normalize`` scales uint8 by 1/255
    and uint16 by 1/65535. Shuffling permutes the files, then the examples within each file.
    """

    def __init__(self, cachedir: str, shuffle: bool = False, rng=None, normalize: bool = False):
        super().__init__(shuffle=shuffle, rng=rng)
        self._cachedir = cachedir
        self._normalize = normalize
        self._variables = None
        self._generation = -1
        self._cache_files = []
        self._current_data = {}
        self._current_filename = None
        info = os.path.join(cachedir, "cache_info.csv")
        if os.path.exists(info):
            with open(info, newline="") as f:
                self._variables = [row[0] for row in csv.reader(f)]
            self._cache_type = ".npy"
        else:
            self._cache_type = ".h5"
        index = os.path.join(cachedir, "cache_index.csv")
        if os.path.exists(index):
            with open(index, newline="") as f:
                for row in csv.reader(f):
                    self._cache_files.append((os.path.join(cachedir, row[0]), int(row[1])))
        else:
            if not os.path.isdir(cachedir):
                raise FileNotFoundError("data_iterator_cache: no cache folder at {}".format(cachedir))
            for name in sorted(os.listdir(cachedir)):
                if os.path.splitext(name)[1].lower() == ".h5":
                    data = self._read_file(os.path.join(cachedir, name))
                    self._cache_files.append((os.path.join(cachedir, name), len(next(iter(data.values())))))
        if self._variables is None and self._cache_files:
            self._variables = list(self._read_file(self._cache_files[0][0]).keys())
        self._original_order = [(name, j) for name, length in self._cache_files for j in range(length)]
        self.reset()

    def _read_file(self, filename):
        if self._cache_type == ".npy":
            with open(filename, "rb") as f:
                return {v: numpy.load(f, allow_pickle=True) for v in self._variables}
        import h5py

        with h5py.File(filename, "r") as h5:
            return {k: v[()] for k, v in h5.items()}

    def _get_data(self, position):
        self._position = position
        filename, row = self._order[position]
        if filename != self._current_filename:
            self._current_data = self._read_file(filename)
            self._current_filename = filename
        data = [self._current_data[v][row] for v in self._variables]
        if self._normalize:
            scale = {numpy.dtype(numpy.uint8): 1.0 / 255.0, numpy.dtype(numpy.uint16): 1.0 / 65535.0}
            data = [d.astype(numpy.float32) * scale[d.dtype] if d.dtype in scale else d for d in data]
        return data

    def reset(self) -> None:
        super().reset()
        self._order = []
        if self._shuffle:
            for i in list(self._rng.permutation(list(range(len(self._cache_files))))):
                filename, length = self._cache_files[i]
                self._order += [(filename, j) for j in list(self._rng.permutation(list(range(length))))]
        else:
            self._order = list(self._original_order)
        self._current_data = {}
        self._current_filename = None
        self._size = len(self._order)
        self._generation += 1


class ConcatDataSource(DataSource):
    """Several data sources with the same variables, one after another (shuffled together when asked)."""

    def __init__(self, data_source_list, shuffle: bool = True, rng=None):
        super().__init__(shuffle=shuffle, rng=rng)
        self._data_sources = data_source_list
        self._sw_points = list(numpy.cumsum([s.size for s in data_source_list]))
        self._size = int(self._sw_points[-1])
        self._variables = data_source_list[0].variables
        self.reset()

    def _get_data(self, position):
        idx = self._indexes[position]
        for i, bound in enumerate(self._sw_points):
            if idx < bound:
                return self._data_sources[i]._get_data(idx - (self._sw_points[i - 1] if i > 0 else 0))
        return None

    def reset(self) -> None:
        self._indexes = self._rng.permutation(self._size) if self._shuffle else numpy.arange(self._size)
        super().reset()
