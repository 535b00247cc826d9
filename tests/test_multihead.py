"""Tests for attn_helpers.multihead: our multi-head attention against torch.nn.MultiheadAttention."""

from __future__ import annotations

import pytest
import torch

import attn_helpers as ah


def inputs(B=3, Q=4, K=6, E=8, kdim=None, vdim=None):
    g = torch.Generator().manual_seed(0)
    return (
        torch.randn(B, Q, E, generator=g, dtype=torch.float64),
        torch.randn(B, K, kdim or E, generator=g, dtype=torch.float64),
        torch.randn(B, K, vdim or E, generator=g, dtype=torch.float64),
    )


@pytest.mark.parametrize("kdim,vdim", [(None, None), (5, 7)])
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch_with_key_padding_and_different_lengths(kdim, vdim, bias):
    torch.manual_seed(0)
    ours = ah.MultiHeadAttention(8, num_heads=2, bias=bias, kdim=kdim, vdim=vdim).double()
    theirs = ours.to_torch()
    assert theirs.batch_first
    query, key, value = inputs(kdim=kdim, vdim=vdim)  # Q = 4 queries, K = 6 keys
    keep = ah.padding_mask(torch.tensor([6, 3, 1]), 6)  # (B, K), True = real key
    out, weights = ours(query, key, value, mask=keep[:, None, :], need_weights=True)
    ref_out, ref_weights = theirs(
        query, key, value, key_padding_mask=~keep, need_weights=True, average_attn_weights=False
    )
    assert out.shape == (3, 4, 8) and weights.shape == (3, 2, 4, 6)  # (B, Q, E), (B, H, Q, K)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(weights, ref_weights)
    # the same mask as valid lengths, and the fast (SDPA) path
    torch.testing.assert_close(ours(query, key, value, torch.tensor([6, 3, 1]))[0], ref_out)
    torch.testing.assert_close(ours(query, key, value, mask=keep[:, None, :])[0], ref_out)


def test_matches_torch_with_attention_mask_and_gradients():
    torch.manual_seed(0)
    ours = ah.MultiHeadAttention(8, num_heads=4).double()
    theirs = ours.to_torch()
    x = inputs(Q=5, K=5)[0].requires_grad_()
    causal = torch.ones(5, 5, dtype=torch.bool).tril()
    out, _ = ours(x, x, x, mask=causal)
    ref, _ = theirs(x, x, x, attn_mask=~causal, need_weights=False)
    torch.testing.assert_close(out, ref)
    g_ours = torch.autograd.grad(out.square().sum(), (x, ours.W_q.weight))
    g_ref = torch.autograd.grad(ref.square().sum(), (x, theirs.in_proj_weight))
    torch.testing.assert_close(g_ours[0], g_ref[0])
    torch.testing.assert_close(g_ours[1], g_ref[1][:8])


def test_per_head_mask_and_per_query_lengths():
    ours = ah.MultiHeadAttention(8, num_heads=2).double()
    query, key, value = inputs()
    lens = torch.tensor([[1, 2, 3, 0], [6, 6, 6, 6], [2, 2, 2, 2]])
    out, weights = ours(query, key, value, lens, need_weights=True)
    assert (weights[0, :, 3] == 0).all() and (out[0, 3] == ours.W_o.bias).all()
    fast, _ = ours(query, key, value, lens)
    torch.testing.assert_close(fast, out)
    head_mask = torch.ones(3, 2, 4, 6, dtype=torch.bool)
    head_mask[:, 1, :, 0] = False
    _, w = ours(query, key, value, mask=head_mask, need_weights=True)
    assert (w[:, 1, :, 0] == 0).all() and (w[:, 0, :, 0] > 0).all()


def test_bad_input():
    with pytest.raises(ValueError, match="num_heads must divide embed_dim"):
        ah.MultiHeadAttention(10, num_heads=3)
    mha = ah.MultiHeadAttention(8, num_heads=2).double()
    query, key, value = inputs()
    with pytest.raises(ValueError, match=r"query must have shape \(\*, \*, 8\)"):
        mha(query[..., :6], key, value)
    with pytest.raises(ValueError, match=r"key must have shape \(3, \*, 8\)"):
        mha(query, key[..., :5], value)
    with pytest.raises(ValueError, match=r"value must have shape \(3, 6, 8\)"):
        mha(query, key, value[:, :5])
    with pytest.raises(ValueError, match=r"mask must be broadcastable .*\(3, 4, 6\)"):
        mha(query, key, value, mask=torch.ones(3, 4, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"mask must be broadcastable .*\(3, 2, 4, 6\)"):
        mha(query, key, value, mask=torch.ones(3, 6, dtype=torch.bool))  # key padding needs (B, 1, K)
    with pytest.raises(TypeError, match="mask must have dtype torch.bool"):
        mha(query, key, value, mask=torch.ones(3, 1, 6))
    with pytest.raises(ValueError, match="valid_lens"):
        mha(query, key, value, torch.tensor([1, 2]))


@pytest.mark.parametrize("argument", ["query", "key", "value"])
def test_a_float64_input_to_a_float32_module_is_named(argument: str):
    mha = ah.MultiHeadAttention(8, 2)
    inputs = {"query": torch.randn(2, 3, 8), "key": torch.randn(2, 5, 8), "value": torch.randn(2, 5, 8)}
    inputs[argument] = inputs[argument].double()
    with pytest.raises(TypeError, match=rf"{argument} must have dtype torch.float32 \(the dtype of MultiHeadAttention's "
                                        rf"parameters\), got torch.float64"):
        mha(**inputs)


@pytest.mark.parametrize("argument", ["embed_dim", "num_heads", "kdim", "vdim"])
def test_sizes_must_be_ints(argument: str):
    sizes = {"embed_dim": 8, "num_heads": 2, argument: 2.0}
    with pytest.raises(ValueError, match=f"{argument} must be a positive int, got 2.0"):
        ah.MultiHeadAttention(**sizes)


def test_attend_from_projected_keys_and_values_equals_forward():
    # a decoder's key/value cache relies on this split of forward
    ours = ah.MultiHeadAttention(8, num_heads=2).double()
    query, key, value = inputs()
    lens = torch.tensor([2, 6, 4])
    k, v = ours.project_key_value(key, value)
    assert k.shape == v.shape == (3, 2, 6, 4)
    out, weights = ours.attend(query, k, v, lens, need_weights=True)
    expected, expected_weights = ours(query, key, value, lens, need_weights=True)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(weights, expected_weights)
