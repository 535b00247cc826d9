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
