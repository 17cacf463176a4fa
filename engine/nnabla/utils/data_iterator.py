"""``nnabla.utils.data_iterator``: mini-batches from a data source, epoch after epoch (NNabla's ``DataIterator``).

``next()`` returns one tuple of numpy arrays, one per variable, each with the batch as its first axis. A batch
that reaches the end of the data wraps around to the start (the epoch counter advances and the epoch-end then
epoch-begin callbacks run), unless ``stop_exhausted`` is set, which raises ``StopIteration`` instead. With
``use_thread=True`` (the default) the next batch is read ahead in a thread right after one is returned, as in
NNabla, so ``position`` is then one batch ahead of what the caller has seen.
"""

from __future__ import annotations

import threading

import numpy

from nnabla.logger import logger

from .data_source import DataSource, DataSourceWithFileCache, DataSourceWithMemoryCache, SlicedDataSource
from .data_source_implements import CacheDataSource, ConcatDataSource, CsvDataSource, SimpleDataSource


class DataIterator:
    """Collects ``batch_size`` examples from ``data_source`` per ``next()``."""

    def __init__(self, data_source: DataSource, batch_size: int, rng=None, use_thread: bool = True,
                 epoch_begin_callbacks=[], epoch_end_callbacks=[], stop_exhausted: bool = False):  # fmt: skip
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, numpy.integer)) or batch_size < 1:
            raise ValueError(f"DataIterator: batch_size must be a positive int, got {batch_size!r}")
        logger.info("Using DataIterator")
        self._rng = numpy.random.RandomState(313) if rng is None else rng
        self._stop_exhausted = stop_exhausted
        self._data_source = data_source
        self._shuffle = data_source.shuffle
        self._variables = data_source.variables
        self._batch_size = batch_size
        self._epoch_end_callbacks = list(epoch_end_callbacks)
        self._epoch_begin_callbacks = list(epoch_begin_callbacks)
        self._size = data_source.size
        self._current_epoch = 0
        self._use_thread = use_thread
        self._pending = None
        self._thread = None
        self._closed = False
        self._data_source.reset()
        if use_thread:
            self._read_ahead()

    # -- reading ----------------------------------------------------------------------------------------------
    def _read_batch(self):
        """One batch and how many times the data wrapped while reading it (None when exhausted)."""
        source = self._data_source
        if self._stop_exhausted and source.position + self._batch_size > self._size:
            return None, 0
        columns = [[] for _ in self._variables]
        n_reset = 0
        for _ in range(self._batch_size):
            example = source.next()
            if example is None:
                return None, 0
            if source.position >= self._size and not self._stop_exhausted:
                n_reset += 1
                source.reset()
            for column, value in zip(columns, example):
                column.append(value)
        if n_reset:
            source.apply_order()
        return tuple(numpy.array(c) for c in columns), n_reset

    def _read_into_pending(self):
        try:
            self._pending = self._read_batch()
        except BaseException as error:  # surfaced by next(), in the caller's thread
            self._pending = error

    def _read_ahead(self):
        self._thread = threading.Thread(target=self._read_into_pending, daemon=True)
        self._thread.start()

    def _take_pending(self):
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        pending, self._pending = self._pending, None
        if isinstance(pending, BaseException):
            raise pending
        return pending

    def next(self):
        """The next mini-batch: a tuple of arrays, one per name in ``variables``."""
        if not self._use_thread:
            self._read_into_pending()
        data, n_reset = self._take_pending()
        if data is None:
            if self._stop_exhausted:
                raise StopIteration
            raise RuntimeError("DataIterator.next: the data source returned no data")
        if self._use_thread:
            self._read_ahead()
        for _ in range(n_reset):
            self._callback_epoch_end()
            self._current_epoch += 1
            self._callback_epoch_begin()
        return data

    def __iter__(self):
        return self

    def __next__(self):
        return self.next()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if not self._closed:
            if self._thread is not None:
                self._thread.join()
                self._thread = None
            self._data_source.close()
            self._closed = True

    # -- properties -----------------------------------------------------------------------------------------
    @property
    def epoch(self) -> int:
        """How many times the data has wrapped around."""
        return self._current_epoch

    @property
    def position(self) -> int:
        """The data source's position in the current epoch."""
        return self._data_source.position

    @property
    def size(self) -> int:
        """The number of examples in the data source."""
        return self._size

    @property
    def variables(self):
        """The names of the arrays ``next()`` returns."""
        return self._variables

    @property
    def batch_size(self) -> int:
        return self._batch_size

    # -- callbacks ------------------------------------------------------------------------------------------
    def _callback_epoch_end(self):
        for callback in self._epoch_end_callbacks:
            callback(self.epoch)

    def _callback_epoch_begin(self):
        for callback in self._epoch_begin_callbacks:
            callback(self.epoch)

    def register_epoch_end_callback(self, callback) -> None:
        """Call ``callback(epoch)`` at the end of each epoch."""
        self._epoch_end_callbacks.append(callback)

    def register_epoch_begin_callback(self, callback) -> None:
        """Call ``callback(epoch)`` at the beginning of each epoch (after the first)."""
        self._epoch_begin_callbacks.append(callback)

    # -- slicing --------------------------------------------------------------------------------------------
    def slice(self, rng, num_of_slices=None, slice_pos=None, slice_start=None, slice_end=None,
              cache_dir=None, use_cache: bool = False, drop_last: bool = False):  # fmt: skip
        """A new DataIterator over a part of this one's data: slice ``slice_pos`` of ``num_of_slices`` equal
        parts, or the examples ``slice_start`` to ``slice_end``. Without ``drop_last`` every slice has
        ``ceil(size / num_of_slices)`` examples (the last one shifted back to fit); with it, ``size // n``.
        """
        if num_of_slices is not None and slice_pos is not None and slice_start is None and slice_end is None:
            if drop_last:
                per_slice = self._size // num_of_slices
                slice_start = per_slice * slice_pos
            else:
                per_slice = (self._size + num_of_slices - 1) // num_of_slices
                slice_start = (per_slice * slice_pos) % self._size
                slice_start -= max(0, slice_start + per_slice - self._size)
            slice_end = slice_start + per_slice
        elif not (num_of_slices is None and slice_pos is None and slice_start is not None and slice_end is not None):
            raise ValueError(
                "DataIterator.slice: give either num_of_slices and slice_pos, or slice_start and slice_end "
                "(got num_of_slices={}, slice_pos={}, slice_start={}, slice_end={})".format(
                    num_of_slices, slice_pos, slice_start, slice_end)
            )  # fmt: skip
        if cache_dir is None:
            source = self._data_source
            while hasattr(source, "_data_source"):
                cache_dir = getattr(source, "_cache_dir", cache_dir)
                source = source._data_source
        sliced = SlicedDataSource(self._data_source, self._data_source.shuffle, slice_start=slice_start,
                                  slice_end=slice_end)  # fmt: skip
        if use_cache:
            if cache_dir is not None:
                sliced = DataSourceWithFileCache(
                    sliced, cache_dir=cache_dir,
                    cache_file_name_prefix="cache_sliced_{:08d}_{:08d}".format(slice_start, slice_end),
                    shuffle=self._shuffle, rng=rng,
                )  # fmt: skip
            sliced = DataSourceWithMemoryCache(sliced, shuffle=self._shuffle, rng=rng)
        return DataIterator(sliced, self._batch_size)


def data_iterator(data_source: DataSource, batch_size: int, rng=None, use_thread: bool = True,
                  with_memory_cache: bool = True, with_file_cache: bool = False, cache_dir=None,
                  epoch_begin_callbacks=[], epoch_end_callbacks=[],
                  stop_exhausted: bool = False) -> DataIterator:  # fmt: skip
    """A DataIterator over ``data_source``, wrapped in a file cache and/or a memory cache as asked."""
    source = data_source
    if with_file_cache:
        source = DataSourceWithFileCache(data_source=source, cache_dir=cache_dir, shuffle=source.shuffle, rng=rng)
    if with_memory_cache:
        source = DataSourceWithMemoryCache(source, shuffle=source.shuffle, rng=rng)
    return DataIterator(source, batch_size, use_thread=use_thread, epoch_begin_callbacks=epoch_begin_callbacks,
                        epoch_end_callbacks=epoch_end_callbacks, stop_exhausted=stop_exhausted)  # fmt: skip


def data_iterator_simple(load_func, num_examples: int, batch_size: int, shuffle: bool = False, rng=None,
                         use_thread: bool = True, with_memory_cache: bool = False, with_file_cache: bool = False,
                         cache_dir=None, epoch_begin_callbacks=[], epoch_end_callbacks=[],
                         stop_exhausted: bool = False) -> DataIterator:  # fmt: skip
    """Mini-batches of ``load_func(i)`` (a tuple of arrays of fixed shapes) over ``i in range(num_examples)``."""
    return data_iterator(SimpleDataSource(load_func, num_examples, shuffle=shuffle, rng=rng), batch_size=batch_size,
                         use_thread=use_thread, with_memory_cache=with_memory_cache, with_file_cache=with_file_cache,
                         cache_dir=cache_dir, epoch_begin_callbacks=epoch_begin_callbacks,
                         epoch_end_callbacks=epoch_end_callbacks, stop_exhausted=stop_exhausted)  # fmt: skip


def data_iterator_csv_dataset(uri: str, batch_size: int, shuffle: bool = False, rng=None, use_thread: bool = True,
                              normalize: bool = True, with_memory_cache: bool = True, with_file_cache: bool = True,
                              cache_dir=None, epoch_begin_callbacks=[], epoch_end_callbacks=[],
                              stop_exhausted: bool = False) -> DataIterator:  # fmt: skip
    """Mini-batches from an NNabla dataset CSV file (see ``CsvDataSource``)."""
    source = CsvDataSource(uri, shuffle=shuffle, rng=rng, normalize=normalize)
    return data_iterator(source, batch_size=batch_size, use_thread=use_thread, with_memory_cache=with_memory_cache,
                         with_file_cache=with_file_cache, cache_dir=cache_dir,
                         epoch_begin_callbacks=epoch_begin_callbacks, epoch_end_callbacks=epoch_end_callbacks,
                         stop_exhausted=stop_exhausted)  # fmt: skip


def data_iterator_cache(uri: str, batch_size: int, shuffle: bool = False, rng=None, use_thread: bool = True,
                        normalize: bool = True, with_memory_cache: bool = True, epoch_begin_callbacks=[],
                        epoch_end_callbacks=[], stop_exhausted: bool = False) -> DataIterator:  # fmt: skip
    """Mini-batches from a folder of cache files (see ``CacheDataSource``)."""
    source = CacheDataSource(uri, shuffle=shuffle, rng=rng, normalize=normalize)
    return data_iterator(source, batch_size=batch_size, use_thread=use_thread, with_memory_cache=with_memory_cache,
                         epoch_begin_callbacks=epoch_begin_callbacks, epoch_end_callbacks=epoch_end_callbacks,
                         stop_exhausted=stop_exhausted)  # fmt: skip


def data_iterator_concat_datasets(data_source_list, batch_size: int, shuffle: bool = False, rng=None,
                                  use_thread: bool = True, with_memory_cache: bool = True,
                                  with_file_cache: bool = False, cache_dir=None, epoch_begin_callbacks=[],
                                  epoch_end_callbacks=[], stop_exhausted: bool = False) -> DataIterator:  # fmt: skip
    """Mini-batches from several data sources joined end to end (see ``ConcatDataSource``)."""
    source = ConcatDataSource(data_source_list, shuffle=shuffle, rng=rng)
    return data_iterator(source, batch_size=batch_size, use_thread=use_thread, with_memory_cache=with_memory_cache,
                         with_file_cache=with_file_cache, cache_dir=cache_dir,
                         epoch_begin_callbacks=epoch_begin_callbacks, epoch_end_callbacks=epoch_end_callbacks,
                         stop_exhausted=stop_exhausted)  # fmt: skip
