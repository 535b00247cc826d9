"""Tests for attn_helpers.data.sequences: the lookup and reversal tasks."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader

import attn_helpers as ah


def test_lookup_task_answer_is_where_the_query_key_sits():
    data = ah.make_lookup_task(500, max_pairs=6, min_pairs=2, num_keys=9, num_values=5, seed=3)
    assert len(data) == 500 and data.keys.shape == (500, 6)
    rows = torch.arange(500)
    assert (data.keys[rows, data.positions] == data.queries).all()
    assert (data.values[rows, data.positions] == data.targets).all()
    assert (data.positions < data.valid_lens).all()
    assert data.valid_lens.min() >= 2 and data.valid_lens.max() <= 6
    pad = ~ah.padding_mask(data.valid_lens, 6)
    assert (data.keys[pad] == 9).all() and (data.values[pad] == 5).all()
    real = data.keys.masked_fill(pad, -1)
    for row in real[:50]:
        kept = row[row >= 0]
        assert len(kept.unique()) == len(kept)  # distinct keys: the answer is unique
    # the query's key occurs exactly once among the real keys
    assert ((real == data.queries[:, None]).sum(1) == 1).all()


def test_lookup_is_seeded_and_batches_for_fit():
    a, b = ah.make_lookup_task(20, seed=1), ah.make_lookup_task(20, seed=1)
    assert torch.equal(a.keys, b.keys) and torch.equal(a.targets, b.targets)
    (queries, keys, values, lens), targets = next(iter(DataLoader(a.dataset(), batch_size=4)))
    assert queries.shape == (4,) and keys.shape == (4, 10) and lens.shape == (4,) and targets.shape == (4,)


def test_reversal_task():
    data = ah.make_reversal_task(10, seq_len=7, vocab_size=4, seed=0)
    assert torch.equal(data.targets, data.tokens.flip(1))
    assert data.tokens.max() < 4
    tokens, targets = next(iter(DataLoader(data.dataset(), batch_size=3)))
    assert tokens.shape == targets.shape == (3, 7)


def test_bad_input():
    with pytest.raises(ValueError, match="min_pairs"):
        ah.make_lookup_task(10, max_pairs=3, min_pairs=4)
    with pytest.raises(ValueError, match="num_keys"):
        ah.make_lookup_task(10, max_pairs=8, num_keys=5)
    with pytest.raises(ValueError, match="num_samples"):
        ah.make_lookup_task(0)
    with pytest.raises(ValueError, match="seq_len"):
        ah.make_reversal_task(10, seq_len=0)
    with pytest.raises(ValueError, match="vocab_size"):
        ah.make_reversal_task(10, vocab_size=1)


def test_sorting_task_targets_are_the_sorted_sources_and_alignment_points_at_them():
    data = ah.make_sorting_task(300, min_len=2, max_len=7, num_symbols=12, seed=4)
    assert data.sources.shape == (300, 7) and data.targets.shape == data.decoder_inputs.shape == (300, 8)
    assert data.source_lens.min() == 2 and data.source_lens.max() == 7 and data.vocab_size == 15
    assert torch.equal(data.target_lens, data.source_lens + 1)
    for i in range(300):
        n = data.source_lens[i].item()
        source = data.sources[i, :n]
        assert len(source.unique()) == n and source.min() >= 3  # distinct symbols: one alignment
        assert (data.sources[i, n:] == data.pad_id).all()
        assert data.targets[i, :n].tolist() == sorted(source.tolist())
        assert data.targets[i, n] == data.eos_id and (data.targets[i, n + 1:] == data.pad_id).all()
        # teacher forcing: the decoder reads <bos> then the targets shifted right by one
        assert data.decoder_inputs[i, 0] == data.bos_id
        assert torch.equal(data.decoder_inputs[i, 1:n + 1], data.targets[i, :n])
        assert torch.equal(data.sources[i, data.alignment[i, :n]], data.targets[i, :n])
        assert (data.alignment[i, n:] == -1).all()


def test_sorting_task_is_seeded_and_batches_for_fit():
    a, b = ah.make_sorting_task(20, seed=1), ah.make_sorting_task(20, seed=1)
    assert torch.equal(a.sources, b.sources) and torch.equal(a.alignment, b.alignment)
    assert not torch.equal(a.sources, ah.make_sorting_task(20, seed=2).sources)
    (sources, lens, decoder_inputs), targets = next(iter(DataLoader(a.dataset(), batch_size=4)))
    assert sources.shape == (4, 10) and lens.shape == (4,) and decoder_inputs.shape == targets.shape == (4, 11)


def test_sorting_task_bad_input():
    with pytest.raises(ValueError, match="min_len"):
        ah.make_sorting_task(10, min_len=5, max_len=4)
    with pytest.raises(ValueError, match="num_symbols"):
        ah.make_sorting_task(10, max_len=8, num_symbols=7)
    with pytest.raises(ValueError, match="max_len"):
        ah.make_sorting_task(10, max_len=0)
