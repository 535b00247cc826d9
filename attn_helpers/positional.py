"""Sinusoidal positional encoding (Vaswani et al., 2017, section 3.5).

Self-attention treats its input as a set: permuting the tokens permutes the output the
same way. To let a model use order, each position ``i`` gets a fixed vector added to its
token embedding,

    P[i, 2j]   = sin(i / 10000^(2j/d)),    P[i, 2j+1] = cos(i / 10000^(2j/d)),

whose frequencies fall geometrically along the features. ``P[i + k]`` is a fixed linear
function (a rotation per frequency pair) of ``P[i]``, so relative offsets are easy to use.
"""

from __future__ import annotations

import torch
from torch import nn

from .validation import check_in_range, check_int, check_positive, check_tensor

__all__ = ["sinusoidal_encoding", "PositionalEncoding"]


def sinusoidal_encoding(max_len: int, num_hiddens: int, base: float = 10000.0) -> torch.Tensor:
    """The ``(max_len, num_hiddens)`` table ``P`` of sinusoidal position vectors.

    Args:
        max_len: number of positions.
        num_hiddens: ``d``, the embedding size; must be even (sine/cosine pairs).
        base: the wavelength scale, 10000 in the paper.
    """
    check_int("max_len", max_len, 1)
    check_int("num_hiddens", num_hiddens, 1)
    check_positive("base", base)
    if num_hiddens % 2:
        raise ValueError(f"num_hiddens must be even (sine/cosine pairs), got {num_hiddens}")
    position = torch.arange(max_len, dtype=torch.float32)[:, None]  # (L, 1)
    frequency = base ** (-torch.arange(0, num_hiddens, 2, dtype=torch.float32) / num_hiddens)  # (d/2,)
    angle = position * frequency  # (L, d/2)
    table = torch.empty(max_len, num_hiddens)
    table[:, 0::2] = torch.sin(angle)
    table[:, 1::2] = torch.cos(angle)
    return table


class PositionalEncoding(nn.Module):
    """Add sinusoidal position vectors to a batch of embeddings, then apply dropout.

    Args:
        num_hiddens: ``d``, the embedding size (even).
        dropout: dropout after the addition (0.1 in the paper's base model).
        max_len: the longest sequence supported.

    Shapes: input and output ``(B, L, d)`` with ``L <= max_len``.
    """

    def __init__(self, num_hiddens: int, dropout: float = 0.1, max_len: int = 1000) -> None:
        super().__init__()
        check_in_range("dropout", dropout, 0.0, 1.0)
        self.num_hiddens, self.max_len = num_hiddens, max_len
        self.register_buffer("P", sinusoidal_encoding(max_len, num_hiddens)[None], persistent=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=3, floating=True, shape=(None, None, self.num_hiddens))
        if x.shape[1] > self.max_len:
            raise ValueError(f"x has {x.shape[1]} positions, more than max_len={self.max_len}")
        return self.dropout(x + self.P[:, : x.shape[1]].to(x.dtype))  # (B, L, d)
