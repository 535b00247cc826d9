"""Tests for attn_helpers.scoring: additive and scaled dot-product attention."""

from __future__ import annotations

import math

import pytest
import torch

import attn_helpers as ah


def qkv(B=2, Q=3, K=5, dq=4, dk=4, dv=6, dtype=torch.float64, heads=None):
    g = torch.Generator().manual_seed(0)
    lead = (B,) if heads is None else (B, heads)
    return (
        torch.randn(*lead, Q, dq, generator=g, dtype=dtype),
        torch.randn(*lead, K, dk, generator=g, dtype=dtype),
        torch.randn(*lead, K, dv, generator=g, dtype=dtype),
    )


def test_additive_matches_formula_with_different_query_and_key_sizes():
    q, k, v = qkv(dq=3, dk=7)
    attention = ah.AdditiveAttention(query_size=3, key_size=7, num_hiddens=8).double()
    out, weights = attention(q, k, v, torch.tensor([2, 5]), need_weights=True)
    assert out.shape == (2, 3, 6) and weights.shape == (2, 3, 5)
    Wq, Wk, wv = attention.W_q.weight, attention.W_k.weight, attention.w_v.weight[0]
    for b, n in enumerate([2, 5]):
        for i in range(3):
            scores = torch.stack([wv @ torch.tanh(Wq @ q[b, i] + Wk @ k[b, j]) for j in range(n)])
            alpha = torch.softmax(scores, 0)
            torch.testing.assert_close(weights[b, i, :n], alpha)
            torch.testing.assert_close(out[b, i], alpha @ v[b, :n])
    assert (weights[0, :, 2:] == 0).all()
    assert attention(q, k, v)[1] is None


def test_dot_product_explicit_matches_formula():
    q, k, v = qkv()
    out, weights = ah.DotProductAttention()(q, k, v, need_weights=True)
    expected = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(4), -1)
    torch.testing.assert_close(weights, expected)
    torch.testing.assert_close(out, expected @ v)


MASKS = {
    "none": lambda: {},
    "valid_lens": lambda: {"valid_lens": torch.tensor([3, 5])},
    "per_query_lens_with_empty_row": lambda: {"valid_lens": torch.tensor([[0, 1, 5], [2, 0, 3]])},
    "causal": lambda: {"mask": torch.ones(3, 5, dtype=torch.bool).tril()},
    "empty_example": lambda: {"valid_lens": torch.tensor([0, 4])},
}


@pytest.mark.parametrize("heads", [None, 2])
@pytest.mark.parametrize("masking", MASKS)
def test_fast_path_agrees_with_explicit_path(masking, heads):
    q, k, v = (t.requires_grad_() for t in qkv(heads=heads))
    attention = ah.DotProductAttention(dropout=0.0)
    kwargs = MASKS[masking]()
    explicit, weights = attention(q, k, v, need_weights=True, **kwargs)
    fast, none = attention(q, k, v, **kwargs)
    assert none is None and weights is not None
    torch.testing.assert_close(fast, explicit)
    grads_explicit = torch.autograd.grad(explicit.sum(), (q, k, v))
    grads_fast = torch.autograd.grad(fast.sum(), (q, k, v))
    for a, b in zip(grads_fast, grads_explicit):
        assert torch.isfinite(a).all()
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_empty_rows_are_zero_not_nan_in_low_precision(dtype):
    q, k, v = (t.requires_grad_() for t in qkv(dtype=dtype))
    lens = torch.tensor([0, 3])
    for need_weights in (True, False):
        out, _ = ah.DotProductAttention()(q, k, v, lens, need_weights=need_weights)
        out.float().sum().backward()
        assert torch.isfinite(out).all() and (out[0] == 0).all()
        assert all(torch.isfinite(t.grad).all() for t in (q, k, v))
        q.grad = k.grad = v.grad = None


def test_custom_scale_and_dropout_in_eval_mode():
    q, k, v = qkv()
    attention = ah.DotProductAttention(dropout=0.5, scale=1.0).eval()
    _, weights = attention(q, k, v, need_weights=True)
    torch.testing.assert_close(weights, torch.softmax(q @ k.transpose(1, 2), -1))
    torch.testing.assert_close(attention(q, k, v)[0], weights @ v)


def test_bad_input():
    q, k, v = qkv()
    dot = ah.DotProductAttention()
    with pytest.raises(ValueError, match=r"keys must have the queries' feature size d = 4"):
        dot(q, k[..., :3], v)
    with pytest.raises(ValueError, match=r"values must have one row per key"):
        dot(q, k, v[:, :4])
    with pytest.raises(ValueError, match="keys must have the queries' batch"):
        dot(q, k[:1], v[:1])
    with pytest.raises(TypeError, match="mask"):
        dot(q, k, v, mask=torch.ones(3, 5))
    with pytest.raises(ValueError, match=r"mask must be broadcastable .*\(2, 3, 5\)"):
        dot(q, k, v, mask=torch.ones(3, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="valid_lens"):
        dot(q, k, v, valid_lens=torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="queries must be 3 or 4-D"):
        dot(q[0], k[0], v[0])
    additive = ah.AdditiveAttention(4, 4, 8).double()
    with pytest.raises(ValueError, match=r"queries must have shape \(B, Q, 4\) \(query_size\)"):
        additive(q[..., :2], k, v)
    with pytest.raises(ValueError, match=r"keys must have shape \(B, K, 4\) \(key_size\)"):
        additive(q, k[..., :2], v)
    with pytest.raises(ValueError, match="values must have one row per key"):
        additive(q, k, v[:, :2])
    with pytest.raises(ValueError, match="dropout"):
        ah.DotProductAttention(dropout=1.5)
    with pytest.raises(ValueError, match="num_hiddens"):
        ah.AdditiveAttention(4, 4, 0)


def test_dtype_mismatches_are_named_before_torch_sees_them():
    q, k, v = torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.randn(2, 5, 6)
    dot = ah.DotProductAttention()
    for need_weights in (False, True):  # the fused (SDPA) path and the explicit one
        with pytest.raises(TypeError, match=r"keys must have dtype torch.float64 \(the dtype of queries\), got torch.float32"):
            dot(q.double(), k, v, need_weights=need_weights)
        with pytest.raises(TypeError, match="values must have dtype torch.float32"):
            dot(q, k, v.double(), need_weights=need_weights)
    additive = ah.AdditiveAttention(4, 4, 8)
    with pytest.raises(TypeError, match=r"queries must have dtype torch.float32 \(the dtype of AdditiveAttention's "
                                        r"parameters\), got torch.float64"):
        additive(q.double(), k.double(), v.double())
    out, _ = additive.double()(q.double(), k.double(), v.double())
    assert out.dtype == torch.float64


def test_mixed_dtypes_are_left_to_autocast_inside_autocast():
    q, k, v = torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.randn(2, 5, 6)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = ah.DotProductAttention()(q, k.bfloat16(), v)
    assert out.shape == (2, 3, 6)


@pytest.mark.parametrize("argument", ["query_size", "key_size", "num_hiddens"])
def test_additive_sizes_must_be_ints(argument: str):
    sizes = {"query_size": 4, "key_size": 4, "num_hiddens": 8, argument: 2.5}
    with pytest.raises(ValueError, match=f"{argument} must be a positive int, got 2.5"):
        ah.AdditiveAttention(**sizes)
