"""Multi-head attention (Vaswani et al., 2017), written out step by step.

    head_i = Attention(Q W_q^i, K W_k^i, V W_v^i),   output = concat(head_1..head_h) W_o

The ``h`` per-head projections of size ``d_model / h`` are computed as one
``d_model -> d_model`` linear layer each for queries, keys and values, whose output is
then split into heads. The layer names (``W_q``, ``W_k``, ``W_v``, ``W_o``) follow the
paper; the weights map one-to-one onto ``torch.nn.MultiheadAttention``
(``in_proj_weight = cat(W_q, W_k, W_v)``, ``out_proj = W_o``), see :meth:`MultiHeadAttention.to_torch`.

Shapes (``batch_first``): query ``(B, Q, E)``, key ``(B, K, E_k)``, value ``(B, K, E_v)``,
output ``(B, Q, E)``, per-head weights ``(B, H, Q, K)``. Masks: ``valid_lens`` ``(B,)`` or
``(B, Q)``, or a boolean ``mask`` (True = attend) of shape ``(Q, K)``, ``(B, 1, K)`` (key
padding), ``(B, Q, K)`` or ``(B, H, Q, K)``.
"""

from __future__ import annotations

import torch
from torch import nn

from .masking import check_mask
from .scoring import DotProductAttention
from .validation import check_dtype, check_in_range, check_int, check_tensor

__all__ = ["MultiHeadAttention"]


class MultiHeadAttention(nn.Module):
    """Multi-head scaled dot-product attention.

    Args:
        embed_dim: ``d_model``, the size of queries and of the output.
        num_heads: ``h``; must divide ``embed_dim`` (each head has ``embed_dim // h`` features).
        dropout: dropout on the attention weights.
        bias: add biases to the four projections.
        kdim, vdim: feature sizes of keys and values (default ``embed_dim``).
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        kdim: int | None = None,
        vdim: int | None = None,
    ) -> None:
        super().__init__()
        check_int("embed_dim", embed_dim, 1)
        check_int("num_heads", num_heads, 1)
        for name, size in (("kdim", kdim), ("vdim", vdim)):
            if size is not None:
                check_int(name, size, 1)
        if embed_dim % num_heads:
            raise ValueError(
                f"num_heads must divide embed_dim: got embed_dim={embed_dim}, num_heads={num_heads}"
            )
        check_in_range("dropout", dropout, 0.0, 1.0)
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.kdim, self.vdim = kdim or embed_dim, vdim or embed_dim
        self.head_dim = embed_dim // num_heads
        self.W_q = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.W_k = nn.Linear(self.kdim, embed_dim, bias=bias)
        self.W_v = nn.Linear(self.vdim, embed_dim, bias=bias)
        self.W_o = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.attention = DotProductAttention(dropout)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # the same initialisation as torch.nn.MultiheadAttention
        for linear in (self.W_q, self.W_k, self.W_v):
            nn.init.xavier_uniform_(linear.weight)
            if linear.bias is not None:
                nn.init.zeros_(linear.bias)
        if self.W_o.bias is not None:
            nn.init.zeros_(self.W_o.bias)

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        B, L, _ = x.shape
        return x.view(B, L, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, L, E/H)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        valid_lens: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return ``(output (B, Q, E), per-head weights (B, H, Q, K) or None)``."""
        E = self.embed_dim
        check_tensor("query", query, ndim=3, floating=True, shape=(None, None, E))
        B, Q, _ = query.shape
        check_tensor("key", key, ndim=3, floating=True, shape=(B, None, self.kdim))
        K = key.shape[1]
        check_tensor("value", value, ndim=3, floating=True, shape=(B, K, self.vdim))
        for name, tensor in (("query", query), ("key", key), ("value", value)):
            check_dtype(name, tensor, self.W_q.weight.dtype, source="MultiHeadAttention's parameters")
        if mask is not None:
            if isinstance(mask, torch.Tensor) and mask.dim() == 3:
                check_mask("mask", mask, (B, Q, K))
                mask = mask.unsqueeze(1)  # (B, 1, Q|1, K): the same mask for every head
            else:
                check_mask("mask", mask, (B, self.num_heads, Q, K))
        k, v = self.project_key_value(key, value)
        return self.attend(query, k, v, valid_lens, mask, need_weights)

    def project_key_value(self, key: torch.Tensor, value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values projected and split into heads: two ``(B, H, K, E/H)`` tensors.

        A decoder's key/value cache stores these, so each new step projects only its own token.
        """
        return self._split_heads(self.W_k(key)), self._split_heads(self.W_v(value))

    def attend(
        self,
        query: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        valid_lens: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """:meth:`forward` from already projected keys and values (see :meth:`project_key_value`).

        Shapes: ``query`` ``(B, Q, E)``, ``k``/``v`` ``(B, H, K, E/H)``, ``mask`` ``(B, H|1, Q, K)``
        or None; returns ``(output (B, Q, E), weights (B, H, Q, K) or None)``. Unchecked: the
        caller (``forward`` or a decoding loop) has checked the inputs.
        """
        B, Q, E = query.shape
        q = self._split_heads(self.W_q(query))  # (B, H, Q, E/H)
        heads, weights = self.attention(q, k, v, valid_lens, mask, need_weights)  # (B, H, Q, E/H)
        concat = heads.transpose(1, 2).reshape(B, Q, E)  # (B, Q, H * E/H)
        return self.W_o(concat), weights

    @torch.no_grad()
    def to_torch(self) -> nn.MultiheadAttention:
        """A ``torch.nn.MultiheadAttention`` (``batch_first=True``) holding this module's weights."""
        bias = self.W_q.bias is not None
        torch_mha = nn.MultiheadAttention(
            self.embed_dim, self.num_heads, dropout=self.attention.dropout.p, bias=bias,
            kdim=self.kdim, vdim=self.vdim, batch_first=True,
        ).to(device=self.W_q.weight.device, dtype=self.W_q.weight.dtype)
        if torch_mha._qkv_same_embed_dim:
            torch_mha.in_proj_weight.copy_(torch.cat([self.W_q.weight, self.W_k.weight, self.W_v.weight]))
        else:
            torch_mha.q_proj_weight.copy_(self.W_q.weight)
            torch_mha.k_proj_weight.copy_(self.W_k.weight)
            torch_mha.v_proj_weight.copy_(self.W_v.weight)
        if bias:
            torch_mha.in_proj_bias.copy_(torch.cat([self.W_q.bias, self.W_k.bias, self.W_v.bias]))
            torch_mha.out_proj.bias.copy_(self.W_o.bias)
        torch_mha.out_proj.weight.copy_(self.W_o.weight)
        return torch_mha
