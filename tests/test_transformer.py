"""Tests for attn_helpers.transformer: the small Transformer encoder of chapter 3."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import attn_helpers as ah


def small(**kwargs):
    torch.manual_seed(0)
    args = dict(num_hiddens=16, num_heads=2, num_layers=2, ffn_hiddens=32, dropout=0.0, max_len=20)
    args.update(kwargs)
    return ah.TransformerEncoder(10, 7, **args)


@pytest.mark.parametrize("norm_first", [False, True])
def test_shapes_and_attention_maps(norm_first):
    model = small(norm_first=norm_first)
    tokens = torch.randint(10, (3, 6))
    assert model(tokens).shape == (3, 6, 7)
    maps = model.attention_maps(tokens, valid_lens=torch.tensor([6, 2, 4]))
    assert maps.shape == (2, 3, 2, 6, 6)  # (layers, B, H, L, L)
    torch.testing.assert_close(maps.sum(-1), torch.ones(2, 3, 2, 6))
    assert (maps[:, 1, :, :, 2:] == 0).all()
    assert model.training


def test_block_matches_an_independent_post_norm_computation():
    torch.manual_seed(0)
    block = ah.TransformerEncoderBlock(8, 2, 16, dropout=0.0).double()
    x = torch.randn(2, 5, 8, dtype=torch.float64)
    attn = block.attention.to_torch()
    a, _ = attn(x, x, x, need_weights=False)
    h = nn.functional.layer_norm(x + a, (8,), block.norm1.weight, block.norm1.bias)
    expected = nn.functional.layer_norm(h + block.ffn(h), (8,), block.norm2.weight, block.norm2.bias)
    torch.testing.assert_close(block(x)[0], expected)


@pytest.mark.parametrize("norm_first", [False, True])
def test_block_matches_torch_encoder_layer_with_padding_and_gradients(norm_first):
    torch.manual_seed(0)
    block = ah.TransformerEncoderBlock(8, 2, 16, dropout=0.0, norm_first=norm_first).double()
    layer = block.to_torch()
    assert isinstance(layer, nn.TransformerEncoderLayer) and layer.norm_first == norm_first
    x = torch.randn(3, 5, 8, dtype=torch.float64, requires_grad=True)
    valid_lens = torch.tensor([5, 2, 4])
    keep = ah.padding_mask(valid_lens, 5)  # (B, L), True = real token
    mine = block(x, valid_lens)[0]
    theirs = layer(x, src_key_padding_mask=~keep)  # training mode: torch's slow path, as written
    real = keep[:, :, None]  # padded queries are not compared: neither side promises anything there
    torch.testing.assert_close(mine * real, theirs * real)
    (grad_mine,) = torch.autograd.grad((mine * real).square().sum(), x)
    (grad_theirs,) = torch.autograd.grad((theirs * real).square().sum(), x)
    torch.testing.assert_close(grad_mine, grad_theirs)


def test_without_positions_the_encoder_is_permutation_equivariant():
    tokens = torch.randint(10, (2, 8))
    perm = torch.randperm(8)
    plain = small(positional=False).eval()
    torch.testing.assert_close(plain(tokens[:, perm]), plain(tokens)[:, perm], atol=1e-5, rtol=1e-5)
    positional = small().eval()
    assert not torch.allclose(positional(tokens[:, perm]), positional(tokens)[:, perm], atol=1e-3)


def test_learns_to_copy_quickly():
    data = ah.make_reversal_task(64, seq_len=5, vocab_size=7, seed=0)
    model = small()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = nn.functional.cross_entropy(model(data.tokens).flatten(0, 1), data.tokens.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_bad_input():
    model = small()
    with pytest.raises(TypeError, match="tokens must have an integer dtype"):
        model(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="tokens must be 2-D"):
        model(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"tokens must lie in \[0, 9\]"):
        model(torch.full((1, 3), 10))
    with pytest.raises(ValueError, match="num_heads must divide"):
        small(num_heads=3)
    with pytest.raises(ValueError, match="ffn_hiddens"):
        ah.TransformerEncoderBlock(8, 2, 0)


def test_block_names_a_float64_input_and_float_sizes():
    block = ah.TransformerEncoderBlock(8, 2, 16, dropout=0.0, norm_first=True)  # LayerNorm runs first here
    with pytest.raises(TypeError, match=r"x must have dtype torch.float32 \(the dtype of TransformerEncoderBlock's"):
        block(torch.randn(2, 3, 8, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"x must have shape \(\*, \*, 8\)"):
        block(torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match="ffn_hiddens must be a positive int, got 16.0"):
        ah.TransformerEncoderBlock(8, 2, 16.0)
    with pytest.raises(ValueError, match="num_layers must be a positive int, got 2.0"):
        ah.TransformerEncoder(10, 3, num_hiddens=8, num_heads=2, num_layers=2.0, ffn_hiddens=16)


def test_token_range_is_checked_on_the_cpu_only():
    model = ah.TransformerEncoder(10, 3, num_hiddens=8, num_heads=2, num_layers=1, ffn_hiddens=16)
    with pytest.raises(ValueError, match=r"tokens must lie in \[0, 9\]"):
        model(torch.tensor([[3, 10]]))
    # meta stands in for a GPU: the values are not read there (torch's embedding index check is the guard)
    assert model.to("meta")(torch.tensor([[3, 10]], device="meta")).shape == (1, 2, 3)
