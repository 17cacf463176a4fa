"""``nnabla.utils.data_source``: where a DataIterator reads its examples, and the memory and file caches around it.

A data source hands out one example (a tuple of arrays, one per variable) at a position and keeps an order over
its examples. Wrappers (``DataSourceWithMemoryCache``, ``DataSourceWithFileCache``, ``SlicedDataSource``) hold
another source and keep their own order. Which random calls happen when (a fresh ``RandomState(313)`` per source
when ``rng`` is None; a new permutation at each reset) follows NNabla 1.36, so shuffled batches come out the same.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
import threading

import numpy

from nnabla.logger import logger

# NNabla reads these from its nnabla.conf ([DATA_ITERATOR]); these are its shipped values.
CACHE_FILE_FORMAT = ".npy"
FILE_CACHE_SIZE = 100
BUFFER_MAX_SIZE = 2 * 1024 * 1024 * 1024


class DataSource:
    """The protocol every data source follows (NNabla's ``DataSource``).

    Subclasses set ``_size`` and ``_variables`` and implement ``_get_data(position)`` and ``reset()``.
    """

    def __init__(self, shuffle: bool = False, rng=None):
        logger.info("DataSource with shuffle({})".format(shuffle))
        self._rng = numpy.random.RandomState(313) if rng is None else rng
        self._variables = None
        self._generation = -1
        self._shuffle = shuffle
        self._position = 0
        self._size = 0
        self._closed = False
        self._order = None
        self._original_order = None
        self._original_source_uri = None

    def _get_data(self, position):
        raise NotImplementedError

    def _get_data_of_generation(self, position, generation):
        return self._get_data(position)

    def _generate_order(self, generation):
        """Make the order of one generation (an epoch) available; sources without orders ignore it."""

    def __next__(self):
        return self.next()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self._closed = True

    @property
    def order(self):
        return self._order

    @property
    def variables(self):
        """The names of the variables of one example."""
        return self._variables

    def next(self):
        data = self._get_data(self._position)
        self._position += 1
        return data

    @property
    def position(self) -> int:
        """The position of the next example in the current epoch."""
        return self._position

    @property
    def size(self) -> int:
        return self._size

    @property
    def shuffle(self) -> bool:
        return self._shuffle

    @shuffle.setter
    def shuffle(self, value: bool) -> None:
        self._shuffle = value

    def reset(self) -> None:
        self._position = 0

    def apply_order(self) -> None:
        """Called when a batch that crossed an epoch's end is complete: time for the next epoch's order."""


class DataSourceWithMemoryCache(DataSource):
    """Keeps every example in memory after its first read when the whole set fits in ``BUFFER_MAX_SIZE`` bytes."""

    def __init__(self, data_source: DataSource, shuffle: bool = False, rng=None):
        logger.info("Using DataSourceWithMemoryCache")
        super().__init__(shuffle=shuffle, rng=rng)
        self._size = data_source._size
        self._variables = data_source.variables
        self._data_source = data_source
        self._order = list(range(self._size))
        self._cache = []
        first = self._data_source._get_data(0)
        example_bytes = 0
        for d in first:
            d = numpy.asarray(d, dtype=numpy.float32) if isinstance(d, list) else d
            example_bytes += d.size * d.itemsize
        self._on_memory = example_bytes * self._size < BUFFER_MAX_SIZE
        if self._on_memory:
            logger.info("On-memory")
        self._generation = -1

    def _get_data(self, position):
        if self._on_memory:
            # The first epoch fills the cache in the wrapped source's order; later epochs read it in our order.
            if self._order[position] < len(self._cache):
                data = self._cache[self._order[position]]
            else:
                data = self._data_source._get_data(position)
                self._cache.append(data)
        else:
            data = self._data_source._get_data(position)
        self._position = position
        return data

    def close(self) -> None:
        if not self._closed:
            self._data_source.close()
            self._closed = True

    def reset(self) -> None:
        if self._on_memory:
            self._generation += 1
            if self._shuffle and self._generation > 0:
                self._order = list(self._rng.permutation(self._size))
            else:
                self._order = list(range(self._size))
            if self._position == 0:
                self._generation = -1
            else:
                self._data_source._position = self._position
                self._data_source.reset()
        else:
            self._data_source.reset()
            self._generation = self._data_source._generation
            self._position = self._data_source._position
        super().reset()


class SlicedDataSource(DataSource):
    """The examples ``slice_start`` to ``slice_end`` of another source (what ``DataIterator.slice`` builds)."""

    def __init__(self, data_source: DataSource, shuffle: bool = False, rng=None, slice_start=None, slice_end=None):
        logger.info("Using SlicedDataSource")
        super().__init__(shuffle=shuffle, rng=rng)
        self._data_source = data_source
        self._variables = data_source._variables[:]
        self._slice_start = slice_start
        self._slice_end = slice_end
        self._size = slice_end - slice_start
        self._generation = 0

    def apply_order(self) -> None:
        self._generation += 1
        self._data_source._generate_order(self._generation)

    def reset(self) -> None:
        self._data_source.reset()
        self._data_source._position = self._slice_start
        self._position = 0

    def _get_data(self, position):
        self._position = position
        return self._data_source._get_data_of_generation(self._slice_start + position, self._generation)


class DataSourceWithFileCacheError(Exception):
    pass


class DataSourceWithFileCache(DataSource):
    """Reads every example of another source once into cache files, then serves them from those files.

    Files hold ``FILE_CACHE_SIZE`` examples each and are named ``{prefix}_{first:08d}_{last:08d}.npy`` (one
    ``numpy.save`` per variable, in order); ``cache_index.csv`` lists each file and its count, ``cache_info.csv``
    the variable names, ``order.csv`` and ``original.csv`` the source's order and CSV when it has them. The
    folder is the layout ``data_iterator_cache`` reads. With ``cache_dir=None`` a temporary folder is used and
    removed on ``close()``. Shuffling permutes the order of the files, then the order within each file.
    """

    def __init__(self, data_source: DataSource, cache_dir=None, cache_file_name_prefix: str = "cache",
                 shuffle: bool = False, rng=None):  # fmt: skip
        logger.info("Using DataSourceWithFileCache")
        super().__init__(shuffle=shuffle, rng=rng)
        self._tempdir_created = cache_dir is None
        self._cache_dir = tempfile.mkdtemp() if cache_dir is None else cache_dir
        logger.info("Cache Directory is {}".format(self._cache_dir))
        self._cache_file_name_prefix = cache_file_name_prefix
        self._cache_size = FILE_CACHE_SIZE
        self._cache_file_format = CACHE_FILE_FORMAT
        self._thread_lock = threading.Lock()
        self._data_source = data_source
        self._size = data_source._size
        self._variables = data_source.variables
        self._generation = -1
        self._cache_file_names = []
        self._cache_file_order = []
        self._cache_file_data_orders = []
        self._current_cache_file_index = -1
        self._current_cache_data = None
        self._original_order = list(range(self._size))
        self._order = list(range(self._size))
        os.makedirs(self._cache_dir, exist_ok=True)
        self._create_cache()
        self._create_cache_file_position_table()

    def _write_cache_file(self, first: int, examples) -> None:
        path = os.path.join(
            self._cache_dir,
            "{}_{:08d}_{:08d}{}".format(self._cache_file_name_prefix, first, first + len(examples) - 1,
                                        self._cache_file_format),
        )  # fmt: skip
        logger.info("Creating cache file {}".format(path))
        columns = []
        for i, name in enumerate(self._variables):
            values = [e[i] if isinstance(e[i], numpy.ndarray) else numpy.array(e[i]).astype(numpy.float32)
                      for e in examples]  # fmt: skip
            shapes = {v.shape for v in values}
            if len(shapes) > 1:
                raise DataSourceWithFileCacheError(
                    'The sizes of data "{}" are not the same: {}'.format(name, sorted(shapes, key=str))
                )
            columns.append(numpy.array(values))
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            for column in columns:
                numpy.save(f, column)
        os.replace(tmp, path)
        self._cache_file_names.append(path)
        self._cache_file_order.append(len(self._cache_file_order))
        self._cache_file_data_orders.append(list(range(len(examples))))

    def _create_cache(self) -> None:
        examples = []
        for position in range(self._size):
            data = self._data_source._get_data(position)
            if data is None:
                raise DataSourceWithFileCacheError("the data source returned no data at position {}".format(position))
            examples.append(data)
            if len(examples) == self._cache_size:
                self._write_cache_file(position - len(examples) + 1, examples)
                examples = []
        if examples:
            self._write_cache_file(self._size - len(examples), examples)
        with open(os.path.join(self._cache_dir, "cache_index.csv"), "w") as f:
            writer = csv.writer(f, lineterminator="\n")
            for name, orders in zip(self._cache_file_names, self._cache_file_data_orders):
                writer.writerow((os.path.basename(name), len(orders)))
        with open(os.path.join(self._cache_dir, "cache_info.csv"), "w") as f:
            writer = csv.writer(f, lineterminator="\n")
            for name in self._variables:
                writer.writerow((name,))
        source = self._data_source
        if source._original_source_uri is not None:
            from .data_source_loader import FileReader

            with FileReader(source._original_source_uri).open() as f:
                lines = [line.decode("utf-8") for line in f.readlines()]
            with open(os.path.join(self._cache_dir, "original.csv"), "w") as o:
                o.writelines(lines)
        if source._order is not None and source._original_order is not None:
            with open(os.path.join(self._cache_dir, "order.csv"), "w") as o:
                writer = csv.writer(o, lineterminator="\n")
                for row in zip(source._original_order, source._order):
                    writer.writerow(list(row))

    def _create_cache_file_position_table(self) -> None:
        self._cache_file_start_positions = list(range(len(self._cache_file_order)))
        self._order = []
        self._cache_file_positions = []
        position = 0
        for file_index in self._cache_file_order:
            self._cache_file_start_positions[file_index] = position
            rows = self._cache_file_data_orders[file_index]
            position += len(rows)
            self._order += [row + file_index * self._cache_size for row in rows]
            self._cache_file_positions += [file_index] * len(rows)

    def _get_data(self, position):
        with self._thread_lock:
            self._position = position
            file_index = self._cache_file_positions[position]
            row = self._cache_file_data_orders[file_index][position - self._cache_file_start_positions[file_index]]
            if self._current_cache_file_index != file_index:
                self._current_cache_file_index = file_index
                with open(self._cache_file_names[file_index], "rb") as f:
                    self._current_cache_data = {v: numpy.load(f, allow_pickle=True) for v in self._variables}
            return [self._current_cache_data[v][row] for v in self._variables]

    def close(self) -> None:
        if not self._closed:
            if self._tempdir_created:
                shutil.rmtree(self._cache_dir, ignore_errors=True)
            self._data_source.close()
            self._closed = True

    def reset(self) -> None:
        with self._thread_lock:
            if self._shuffle:
                self._cache_file_order = list(self._rng.permutation(self._cache_file_order))
                for i in range(len(self._cache_file_data_orders)):
                    self._cache_file_data_orders[i] = list(self._rng.permutation(self._cache_file_data_orders[i]))
            self._create_cache_file_position_table()
            self._data_source.reset()
            self._position = 0
            self._generation += 1
