"""Synthetic sequence tasks whose right answer for *where to look* is known.

* :func:`make_lookup_task` (chapter 2): a padded list of (key, value) symbol pairs and a
  query symbol; the target is the value stored under the query. The correct attention
  puts all weight on the one position whose key equals the query.
* :func:`make_reversal_task` (chapter 3): a sequence of tokens; the target at position
  ``i`` is the token at ``L - 1 - i``. The correct attention is the anti-diagonal, and it
  cannot be found without knowing positions.
* :func:`make_sorting_task` (chapter 3b): a variable-length sequence of distinct symbols and
  the same symbols sorted, framed for an encoder-decoder (``<bos>``/``<eos>``, padding). Output
  step ``t`` copies the source token at ``alignment[t]``, so the correct cross-attention is a
  permutation that changes from example to example and must be found by content.

Everything is generated on the spot from a seed (no download, the same on every machine).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.data import Dataset

from ..validation import check_int

__all__ = [
    "LookupData",
    "make_lookup_task",
    "ReversalData",
    "make_reversal_task",
    "SortingData",
    "make_sorting_task",
]


class _PairDataset(Dataset):
    """``(inputs, target)`` items; ``inputs`` is a tensor or a tuple of tensors."""

    def __init__(self, inputs: torch.Tensor | tuple[torch.Tensor, ...], targets: torch.Tensor) -> None:
        self.inputs, self.targets = inputs, targets

    def __len__(self) -> int:
        return self.targets.shape[0]

    def __getitem__(self, i: int) -> tuple[object, torch.Tensor]:
        if isinstance(self.inputs, tuple):
            return tuple(x[i] for x in self.inputs), self.targets[i]
        return self.inputs[i], self.targets[i]


@dataclass(frozen=True)
class LookupData:
    """A key-value lookup data set of ``N`` examples with at most ``P`` pairs each.

    Shapes: ``queries`` (N,), ``keys`` (N, P), ``values`` (N, P), ``valid_lens`` (N,),
    ``targets`` (N,), ``positions`` (N,) (where the query's key sits). Padding positions
    (``>= valid_lens``) hold the token ``pad_id = num_keys`` in ``keys`` and ``num_values``
    in ``values``.
    """

    queries: torch.Tensor
    keys: torch.Tensor
    values: torch.Tensor
    valid_lens: torch.Tensor
    targets: torch.Tensor
    positions: torch.Tensor
    num_keys: int
    num_values: int

    def __len__(self) -> int:
        return self.queries.shape[0]

    def dataset(self) -> Dataset:
        """A data set of ``((query, keys, values, valid_len), target)`` items, the batch
        layout ``ah.fit`` passes to a model as ``model(queries, keys, values, valid_lens)``."""
        return _PairDataset((self.queries, self.keys, self.values, self.valid_lens), self.targets)


def make_lookup_task(
    num_samples: int,
    *,
    max_pairs: int = 10,
    min_pairs: int = 2,
    num_keys: int = 20,
    num_values: int = 20,
    seed: int = 0,
) -> LookupData:
    """Generate a key-value lookup task.

    Each example has ``n`` pairs, ``n`` uniform in ``[min_pairs, max_pairs]``, with distinct
    keys drawn from ``num_keys`` symbols and values drawn uniformly from ``num_values``
    symbols; the query is one of its keys, chosen uniformly.
    """
    check_int("num_samples", num_samples, 1)
    check_int("max_pairs", max_pairs, 1)
    check_int("min_pairs", min_pairs, 1)
    if min_pairs > max_pairs:
        raise ValueError(f"min_pairs must be <= max_pairs, got {min_pairs} > {max_pairs}")
    check_int("num_keys", num_keys, max_pairs)
    check_int("num_values", num_values, 1)
    g = torch.Generator().manual_seed(seed)
    keys = torch.rand(num_samples, num_keys, generator=g).argsort(dim=1)[:, :max_pairs]  # distinct keys
    values = torch.randint(num_values, (num_samples, max_pairs), generator=g)
    valid_lens = torch.randint(min_pairs, max_pairs + 1, (num_samples,), generator=g)
    positions = (torch.rand(num_samples, generator=g) * valid_lens).long()  # uniform in [0, n)
    rows = torch.arange(num_samples)
    queries = keys[rows, positions]
    targets = values[rows, positions]
    padding = torch.arange(max_pairs) >= valid_lens[:, None]
    keys = keys.masked_fill(padding, num_keys)
    values = values.masked_fill(padding, num_values)
    return LookupData(queries, keys, values, valid_lens, targets, positions, num_keys, num_values)


@dataclass(frozen=True)
class ReversalData:
    """Sequences ``tokens`` (N, L) and their reversals ``targets`` (N, L)."""

    tokens: torch.Tensor
    targets: torch.Tensor
    vocab_size: int

    def __len__(self) -> int:
        return self.tokens.shape[0]

    def dataset(self) -> Dataset:
        """A data set of ``(tokens, targets)`` items of shape ``(L,)``."""
        return _PairDataset(self.tokens, self.targets)


def make_reversal_task(num_samples: int, *, seq_len: int = 12, vocab_size: int = 16, seed: int = 0) -> ReversalData:
    """Generate uniformly random token sequences and their reversals."""
    check_int("num_samples", num_samples, 1)
    check_int("seq_len", seq_len, 1)
    check_int("vocab_size", vocab_size, 2)
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(vocab_size, (num_samples, seq_len), generator=g)
    return ReversalData(tokens, tokens.flip(1), vocab_size)


@dataclass(frozen=True)
class SortingData:
    """A sorting task for an encoder-decoder: ``N`` examples of ``n`` distinct symbols each,
    ``n`` varying between examples.

    Token ids: ``pad_id = 0``, ``bos_id = 1``, ``eos_id = 2``, symbols ``3 .. vocab_size - 1``
    (shared by source and target). With ``S = max_len`` and ``T = S + 1``:

    * ``sources`` (N, S): the symbols, then ``pad_id``; ``source_lens`` (N,) = ``n``.
    * ``decoder_inputs`` (N, T): ``<bos>`` and the sorted symbols (teacher forcing), then padding.
    * ``targets`` (N, T): the sorted symbols and ``<eos>``, then ``pad_id``;
      ``target_lens`` (N,) = ``n + 1``.
    * ``alignment`` (N, T): the source position whose token ``targets[:, t]`` copies, ``-1``
      for ``<eos>`` and padding (no source token is copied there).
    """

    sources: torch.Tensor
    source_lens: torch.Tensor
    decoder_inputs: torch.Tensor
    targets: torch.Tensor
    target_lens: torch.Tensor
    alignment: torch.Tensor
    vocab_size: int
    pad_id: int = 0
    bos_id: int = 1
    eos_id: int = 2

    def __len__(self) -> int:
        return self.sources.shape[0]

    def dataset(self) -> Dataset:
        """A data set of ``((source, source_len, decoder_input), target)`` items, the batch layout
        ``ah.fit`` passes to a model as ``model(sources, source_lens, decoder_inputs)``."""
        return _PairDataset((self.sources, self.source_lens, self.decoder_inputs), self.targets)


def make_sorting_task(
    num_samples: int,
    *,
    min_len: int = 3,
    max_len: int = 10,
    num_symbols: int = 20,
    seed: int = 0,
) -> SortingData:
    """Generate the sorting task of :class:`SortingData`.

    Each example has ``n`` symbols, ``n`` uniform in ``[min_len, max_len]``, drawn without
    replacement from ``num_symbols`` symbols (distinct symbols make the alignment unique).
    """
    check_int("num_samples", num_samples, 1)
    check_int("min_len", min_len, 1)
    check_int("max_len", max_len, 1)
    if min_len > max_len:
        raise ValueError(f"min_len must be <= max_len, got {min_len} > {max_len}")
    check_int("num_symbols", num_symbols, max_len)
    pad_id, bos_id, eos_id, first = 0, 1, 2, 3
    g = torch.Generator().manual_seed(seed)
    symbols = torch.rand(num_samples, num_symbols, generator=g).argsort(dim=1)[:, :max_len] + first  # distinct
    source_lens = torch.randint(min_len, max_len + 1, (num_samples,), generator=g)
    real = torch.arange(max_len) < source_lens[:, None]  # (N, S)
    sources = symbols.masked_fill(~real, pad_id)
    # padding sorts last when it is replaced by a value above every symbol
    order = sources.masked_fill(~real, first + num_symbols).argsort(dim=1)  # (N, S): source position of rank t
    ranked = sources.gather(1, order)  # sorted symbols, padding last
    rows = torch.arange(num_samples)
    targets = torch.cat([ranked, torch.full((num_samples, 1), pad_id)], dim=1)  # (N, T)
    targets[rows, source_lens] = eos_id
    decoder_inputs = torch.cat([torch.full((num_samples, 1), bos_id), ranked], dim=1)  # (N, T)
    alignment = torch.cat([order, torch.full((num_samples, 1), -1)], dim=1)
    alignment = alignment.masked_fill(torch.arange(max_len + 1) >= source_lens[:, None], -1)
    return SortingData(sources, source_lens, decoder_inputs, targets, source_lens + 1, alignment,
                       first + num_symbols, pad_id, bos_id, eos_id)
