"""Tests for attn_helpers.positional and the permutation equivariance it breaks."""

from __future__ import annotations

import math

import pytest
import torch

import attn_helpers as ah


def test_table_matches_formula():
    P = ah.sinusoidal_encoding(50, 6)
    for i in (0, 7, 49):
        for j in range(3):
            angle = i / 10000 ** (2 * j / 6)
            assert P[i, 2 * j].item() == pytest.approx(math.sin(angle), abs=1e-5)
            assert P[i, 2 * j + 1].item() == pytest.approx(math.cos(angle), abs=1e-5)


def test_offset_is_a_fixed_linear_map():
    P = ah.sinusoidal_encoding(40, 8).double()
    M = torch.linalg.lstsq(P[:30], P[5:35]).solution  # P[i + 5] = P[i] M for every i
    torch.testing.assert_close(P[30:35] @ M, P[35:40], atol=1e-6, rtol=0)


def test_module_adds_table():
    pe = ah.PositionalEncoding(8, dropout=0.0, max_len=20)
    x = torch.zeros(2, 5, 8)
    torch.testing.assert_close(pe(x), ah.sinusoidal_encoding(20, 8)[:5].expand(2, 5, 8))


def test_self_attention_is_permutation_equivariant_without_positions_only():
    torch.manual_seed(0)
    mha = ah.MultiHeadAttention(8, num_heads=2).double()
    pe = ah.PositionalEncoding(8, dropout=0.0).double()
    x = torch.randn(2, 7, 8, dtype=torch.float64)
    perm = torch.randperm(7)

    def self_attention(z):
        return mha(z, z, z)[0]

    torch.testing.assert_close(self_attention(x[:, perm]), self_attention(x)[:, perm])
    with_pe, permuted_with_pe = self_attention(pe(x)), self_attention(pe(x[:, perm]))
    assert not torch.allclose(permuted_with_pe, with_pe[:, perm], atol=1e-3)


def test_bad_input():
    with pytest.raises(ValueError, match="num_hiddens must be even"):
        ah.sinusoidal_encoding(10, 5)
    with pytest.raises(ValueError, match="max_len"):
        ah.sinusoidal_encoding(0, 4)
    pe = ah.PositionalEncoding(8, max_len=4)
    with pytest.raises(ValueError, match=r"x must have shape \(\*, \*, 8\)"):
        pe(torch.zeros(1, 3, 6))
    with pytest.raises(ValueError, match="max_len=4"):
        pe(torch.zeros(1, 5, 8))


@pytest.mark.parametrize("argument", ["max_len", "num_hiddens"])
@pytest.mark.parametrize("value", [2.5, 4.0, True, "4"])
def test_a_float_where_an_int_is_needed_is_named(argument: str, value: object):
    # max_len=2.5 used to end in torch.empty's "takes 1 positional argument"
    sizes = {"max_len": 4, "num_hiddens": 4, argument: value}
    with pytest.raises(ValueError, match=f"{argument} must be a positive int, got {value!r}"):
        ah.sinusoidal_encoding(**sizes)
    with pytest.raises(ValueError, match=f"{argument} must be a positive int"):
        ah.PositionalEncoding(sizes["num_hiddens"], max_len=sizes["max_len"])
