"""Tests for attn_helpers.masking: masks from lengths and the NaN-free masked softmax."""

from __future__ import annotations

import pytest
import torch

import attn_helpers as ah

DTYPES = [torch.float32, torch.float16, torch.bfloat16, torch.float64]


def reference_softmax(scores: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Loop over rows in float64: softmax over the kept entries, zeros elsewhere."""
    flat_s = scores.double().reshape(-1, scores.shape[-1])
    flat_k = keep.expand(scores.shape).reshape(-1, scores.shape[-1])
    out = torch.zeros_like(flat_s)
    for i in range(flat_s.shape[0]):
        if flat_k[i].any():
            e = flat_s[i][flat_k[i]].exp()
            out[i][flat_k[i]] = e / e.sum()
    return out.reshape(scores.shape)


def test_padding_mask():
    mask = ah.padding_mask(torch.tensor([0, 2, 3]), 3)
    assert mask.tolist() == [[False, False, False], [True, True, False], [True, True, True]]


def test_lengths_to_mask_shapes():
    per_batch = ah.lengths_to_mask(torch.tensor([1, 3]), num_queries=4, num_keys=3)
    assert per_batch.shape == (2, 1, 3)
    per_query = ah.lengths_to_mask(torch.tensor([[1, 2], [0, 3]]), num_queries=2, num_keys=3)
    assert per_query.shape == (2, 2, 3)
    assert per_query[1, 0].tolist() == [False, False, False]
    assert per_query[0, 1].tolist() == [True, True, False]


def test_no_mask_is_softmax():
    scores = torch.randn(2, 3, 5)
    torch.testing.assert_close(ah.masked_softmax(scores), torch.softmax(scores, -1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_valid_lens_match_reference_and_zero_rows(dtype):
    torch.manual_seed(0)
    scores = (torch.randn(3, 4, 6) * 5).to(dtype)
    valid_lens = torch.tensor([0, 2, 6])
    weights = ah.masked_softmax(scores, valid_lens)
    assert weights.dtype == dtype
    assert not weights.isnan().any()
    keep = ah.lengths_to_mask(valid_lens, 4, 6)
    tol = {torch.float16: 2e-3, torch.bfloat16: 2e-2}.get(dtype, 1e-6)
    torch.testing.assert_close(weights.double(), reference_softmax(scores, keep), atol=tol, rtol=0)
    assert (weights[0] == 0).all()  # an example with no valid key: all-zero weights
    assert (weights[1, :, 2:] == 0).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_fully_masked_rows_have_finite_gradients(dtype):
    scores = (torch.randn(2, 3, 4) * 100).to(dtype).requires_grad_()
    mask = torch.ones(2, 3, 4, dtype=torch.bool)
    mask[0] = False  # whole example masked
    mask[1, 1] = False  # one query masked
    mask[1, 2, :3] = False  # one key left
    weights = ah.masked_softmax(scores, mask=mask)
    (weights * torch.randn(2, 3, 4).to(dtype)).sum().backward()
    assert torch.isfinite(weights).all() and torch.isfinite(scores.grad).all()
    assert (weights[0] == 0).all() and (weights[1, 1] == 0).all()
    assert (scores.grad[0] == 0).all() and (scores.grad[1, 1] == 0).all()
    assert weights[1, 2, 3].item() == 1.0


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_large_scores_do_not_overflow_low_precision(dtype):
    # d2l's -1e6 fill is -inf in float16; a row whose real scores are large is still fine here
    scores = torch.tensor([[[60000.0, -60000.0, 3.0]]], dtype=dtype)
    weights = ah.masked_softmax(scores, torch.tensor([2]))
    assert torch.isfinite(weights).all()
    assert weights[0, 0].tolist() == [1.0, 0.0, 0.0]


def test_per_query_lengths_and_mask_combined_float64_gradcheck():
    scores = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    valid_lens = torch.tensor([[1, 4, 0], [2, 3, 4]])
    causal = torch.ones(3, 4, dtype=torch.bool).tril()
    weights = ah.masked_softmax(scores, valid_lens, mask=causal)
    keep = ah.lengths_to_mask(valid_lens, 3, 4) & causal
    torch.testing.assert_close(weights, reference_softmax(scores.detach(), keep))
    assert torch.autograd.gradcheck(lambda s: ah.masked_softmax(s, valid_lens, mask=causal), (scores,))


def test_valid_lens_with_head_dimension():
    scores = torch.randn(2, 4, 3, 5)  # (B, H, Q, K)
    weights = ah.masked_softmax(scores, torch.tensor([2, 5]))
    assert (weights[0, :, :, 2:] == 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 3))


def test_bad_input():
    scores = torch.randn(2, 3, 4)
    with pytest.raises(TypeError, match="mask"):
        ah.masked_softmax(scores, mask=torch.ones(2, 3, 4))  # float mask
    with pytest.raises(ValueError, match=r"mask must be broadcastable .*\(2, 3, 4\)"):
        ah.masked_softmax(scores, mask=torch.ones(2, 3, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="valid_lens"):
        ah.masked_softmax(scores, torch.tensor([1, 2, 3]))  # wrong batch size
    with pytest.raises(ValueError, match="valid_lens"):
        ah.masked_softmax(scores, torch.tensor([[1, 2], [1, 2]]))  # (B, 2) but Q = 3
    with pytest.raises(ValueError, match="valid_lens"):
        ah.masked_softmax(scores, torch.tensor([1, 5]))  # more than K keys
    with pytest.raises(TypeError, match="valid_lens"):
        ah.masked_softmax(scores, torch.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="scores"):
        ah.masked_softmax(torch.ones(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="lengths"):
        ah.padding_mask(torch.tensor([4]), 3)
    with pytest.raises(TypeError, match="mask"):
        ah.check_mask("mask", [True], (1,))


def test_lengths_are_range_checked_on_the_cpu_only():
    # On a GPU reading min()/max() would stall every forward pass (meta stands in for it here).
    with pytest.raises(ValueError, match=r"valid_lens must lie in \[0, 3\]"):
        ah.lengths_to_mask(torch.tensor([4]), 1, 3)
    assert ah.lengths_to_mask(torch.tensor([4], device="meta"), 1, 3).shape == (1, 1, 3)
