"""A small Transformer encoder (Vaswani et al., 2017) built from this package's parts.

    tokens -> embedding * sqrt(d) + positional encoding -> N x [self-attention, add & norm,
    position-wise feed-forward, add & norm] -> linear head (one prediction per position)

It is the model of chapter 3 (a per-token classifier, e.g. for reversing a sequence), kept
small enough to read in one sitting. ``positional=False`` drops the positional encoding,
which makes the whole encoder permutation-equivariant.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .multihead import MultiHeadAttention
from .positional import PositionalEncoding
from .validation import check_dtype, check_in_range, check_int, check_tensor, check_tokens

__all__ = ["TransformerEncoderBlock", "TransformerEncoder"]


class TransformerEncoderBlock(nn.Module):
    """Self-attention and a feed-forward network, each wrapped in a residual connection
    with layer normalisation (post-norm, as in the paper; ``norm_first=True`` gives the
    pre-norm variant that trains more easily when deep).

    Args:
        num_hiddens: ``d_model``.
        num_heads: ``h``.
        ffn_hiddens: ``d_ff``, the hidden size of the feed-forward network (4 d_model in the paper).
        dropout: dropout on attention weights and on each sub-layer's output.
        norm_first: pre-norm instead of post-norm.

    Shapes: ``x`` ``(B, L, d)``, output ``(B, L, d)``, weights ``(B, H, L, L)``.
    """

    def __init__(
        self, num_hiddens: int, num_heads: int, ffn_hiddens: int, dropout: float = 0.1, norm_first: bool = False
    ) -> None:
        super().__init__()
        check_int("ffn_hiddens", ffn_hiddens, 1)
        self.attention = MultiHeadAttention(num_hiddens, num_heads, dropout)
        self.ffn = nn.Sequential(
            nn.Linear(num_hiddens, ffn_hiddens), nn.ReLU(), nn.Linear(ffn_hiddens, num_hiddens)
        )
        self.norm1, self.norm2 = nn.LayerNorm(num_hiddens), nn.LayerNorm(num_hiddens)
        self.dropout = nn.Dropout(dropout)
        self.norm_first = norm_first

    def forward(
        self, x: torch.Tensor, valid_lens: torch.Tensor | None = None, need_weights: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        check_tensor("x", x, ndim=3, floating=True, shape=(None, None, self.attention.embed_dim))
        check_dtype("x", x, self.ffn[0].weight.dtype, source="TransformerEncoderBlock's parameters")
        if self.norm_first:
            h = self.norm1(x)
            attended, weights = self.attention(h, h, h, valid_lens, need_weights=need_weights)
            x = x + self.dropout(attended)
            return x + self.dropout(self.ffn(self.norm2(x))), weights
        attended, weights = self.attention(x, x, x, valid_lens, need_weights=need_weights)
        x = self.norm1(x + self.dropout(attended))
        return self.norm2(x + self.dropout(self.ffn(x))), weights

    @torch.no_grad()
    def to_torch(self) -> nn.TransformerEncoderLayer:
        """A ``torch.nn.TransformerEncoderLayer`` (``batch_first=True``, ReLU) holding this block's weights.

        Its ``src_key_padding_mask`` marks keys to *ignore* (``~padding_mask(valid_lens, L)``).
        """
        linear1, linear2 = self.ffn[0], self.ffn[2]
        layer = nn.TransformerEncoderLayer(
            self.attention.embed_dim, self.attention.num_heads, dim_feedforward=linear1.out_features,
            dropout=self.dropout.p, activation="relu", layer_norm_eps=self.norm1.eps, batch_first=True,
            norm_first=self.norm_first, bias=self.attention.W_q.bias is not None,
        ).to(device=linear1.weight.device, dtype=linear1.weight.dtype)
        layer.self_attn = self.attention.to_torch()
        for mine, theirs in ((linear1, layer.linear1), (linear2, layer.linear2),
                             (self.norm1, layer.norm1), (self.norm2, layer.norm2)):
            theirs.load_state_dict(mine.state_dict())
        return layer


class TransformerEncoder(nn.Module):
    """Token classifier: a Transformer encoder with a linear head on every position.

    Args:
        vocab_size: number of input tokens.
        num_classes: number of output classes per position.
        num_hiddens, num_heads, num_layers, ffn_hiddens: ``d_model``, ``h``, ``N``, ``d_ff``
            (paper base model: 512, 8, 6, 2048).
        dropout: dropout everywhere (0.1 in the paper).
        max_len: longest sequence.
        positional: add the sinusoidal positional encoding.
        norm_first: pre-norm blocks.

    Shapes: ``tokens`` ``(B, L)`` (int), logits ``(B, L, num_classes)``.
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        num_hiddens: int = 512,
        num_heads: int = 8,
        num_layers: int = 6,
        ffn_hiddens: int = 2048,
        dropout: float = 0.1,
        max_len: int = 1000,
        positional: bool = True,
        norm_first: bool = False,
    ) -> None:
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("num_classes", num_classes), ("num_layers", num_layers)):
            check_int(name, value, 1)
        check_in_range("dropout", dropout, 0.0, 1.0)
        self.num_hiddens, self.vocab_size = num_hiddens, vocab_size
        self.embedding = nn.Embedding(vocab_size, num_hiddens)
        # entries of size d^-1/2, so embedding * sqrt(d) is on the positional encoding's scale
        nn.init.normal_(self.embedding.weight, std=num_hiddens**-0.5)
        self.positional = PositionalEncoding(num_hiddens, dropout, max_len) if positional else nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            TransformerEncoderBlock(num_hiddens, num_heads, ffn_hiddens, dropout, norm_first)
            for _ in range(num_layers)
        )
        self.final_norm = nn.LayerNorm(num_hiddens) if norm_first else nn.Identity()
        self.head = nn.Linear(num_hiddens, num_classes)

    def _run(
        self, tokens: torch.Tensor, valid_lens: torch.Tensor | None, need_weights: bool
    ) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
        check_tokens("tokens", tokens, self.vocab_size)
        x = self.positional(self.embedding(tokens) * math.sqrt(self.num_hiddens))  # (B, L, d)
        maps = []
        for block in self.blocks:
            x, weights = block(x, valid_lens, need_weights)
            maps.append(weights)
        return self.head(self.final_norm(x)), maps  # (B, L, num_classes)

    def forward(self, tokens: torch.Tensor, valid_lens: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(B, L, num_classes)`` for ``tokens`` ``(B, L)``."""
        return self._run(tokens, valid_lens, need_weights=False)[0]

    @torch.no_grad()
    def attention_maps(self, tokens: torch.Tensor, valid_lens: torch.Tensor | None = None) -> torch.Tensor:
        """Per-layer, per-head attention weights ``(num_layers, B, H, L, L)`` (computed in eval mode)."""
        was_training = self.training
        self.eval()
        _, maps = self._run(tokens, valid_lens, need_weights=True)
        self.train(was_training)
        return torch.stack(maps)
