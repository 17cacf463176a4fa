"""``nnabla.utils.rnn``: variable-length sequences for recurrent networks, padded (T, B, *) or packed
(the steps of all sequences, longest first, one after another, with the batch size of each step).

As in NNabla, these read lengths and batch sizes when the graph is built: use them in dynamic mode
(``nn.auto_forward()``) when those come from other functions.
"""

from __future__ import annotations

import numpy as np

import nnabla as nn
import nnabla.functions as F

__all__ = ["PackedSequence", "pad_sequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence"]


class PackedSequence:
    """A packed sequence: ``data`` (N, *), ``batch_sizes`` (T,), and the ``sorted_indices`` /
    ``unsorted_indices`` that reorder the batch when the sequences were not sorted by length (else None)."""

    def __init__(self):
        self.data = None
        self.batch_sizes = None
        self.sorted_indices = None
        self.unsorted_indices = None

    def __str__(self):
        return (
            f"data={self.data}, batch_sizes={self.batch_sizes}, "
            f"sorted_indices={self.sorted_indices}, unsorted_indices={self.unsorted_indices}"
        )


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0):
    """The Variables of shapes (T_i, *) stacked into (T, B, *) (or (B, T, *)), padded with ``padding_value``."""
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        if s.shape[0] < longest:
            s = F.pad(s, (0, longest - s.shape[0]) + (0, 0) * (s.ndim - 1), constant_value=padding_value)
        padded.append(s)
    return F.stack(*padded, axis=0 if batch_first else 1)


def pack_padded_sequence(padded_sequence, lengths, batch_first: bool = False, enforce_sorted: bool = True):
    """A ``PackedSequence`` of the padded sequences with the given ``lengths``; with ``enforce_sorted=False`` the
    batch is first sorted by decreasing length (and the order kept to undo it)."""
    sorted_indices = unsorted_indices = None
    if not enforce_sorted:
        with nn.context_scope(nn.Context()):
            lengths, sorted_indices = F.sort(lengths, axis=0, reverse=True, with_index=True)
        batch = sorted_indices.shape[0]
        unsorted_indices = F.scatter_nd(F.arange(0, batch), F.reshape(sorted_indices, (1, batch)), shape=(batch,))
        padded_sequence = F.gather(padded_sequence, sorted_indices, 0 if batch_first else 1)
    packed = PackedSequence()
    packed.data, packed.batch_sizes = F.pack_padded_sequence(padded_sequence, lengths, batch_first)
    packed.sorted_indices, packed.unsorted_indices = sorted_indices, unsorted_indices
    return packed


def pack_sequence(sequences, batch_first: bool = False, enforce_sorted: bool = True):
    """A ``PackedSequence`` of the Variables of shapes (T_i, *)."""
    lengths = nn.Variable.from_numpy_array(np.array([s.shape[0] for s in sequences]))
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def pad_packed_sequence(sequence, batch_first: bool = False, padding_value: float = 0.0, total_length=None):
    """(padded sequences, lengths) from a ``PackedSequence``, in the batch order before packing; ``total_length``
    pads the steps up to that length."""
    steps = sequence.batch_sizes.shape[0]
    if total_length is not None and total_length < steps:
        raise ValueError(
            f"`total length ({total_length})` must be greater than or equal to the maximum length ({steps})."
        )
    padded, lengths = F.pad_packed_sequence(
        sequence.data, sequence.batch_sizes, batch_first, padding_value, total_length
    )
    if sequence.unsorted_indices is not None:
        padded = F.gather(padded, sequence.unsorted_indices, 0 if batch_first else 1)
        lengths = F.gather(lengths, sequence.unsorted_indices, 0)
    return padded, lengths
