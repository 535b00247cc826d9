"""Attention scoring functions: additive (Bahdanau et al., 2015) and scaled dot-product
(Vaswani et al., 2017).

Both modules compute ``softmax(score(q, k)) @ v`` over keys and differ in the score:

* additive: ``w_v^T tanh(W_q q + W_k k)``; queries and keys may have different sizes;
* scaled dot-product: ``q . k / sqrt(d)``; queries and keys share the size ``d``.

Shapes: queries ``(B, Q, d_q)``, keys ``(B, K, d_k)``, values ``(B, K, d_v)``, output
``(B, Q, d_v)``, weights ``(B, Q, K)``. :class:`DotProductAttention` also accepts extra
batch-like dimensions (e.g. heads): ``(B, H, Q, d)``. Masks follow :mod:`.masking`
(True = attend; ``valid_lens`` ``(B,)`` or ``(B, Q)``).

Every ``forward`` returns ``(output, weights)``; ``weights`` is ``None`` unless
``need_weights=True``, like ``torch.nn.MultiheadAttention``.

Arguments are checked for shape and dtype only. NaN or infinite *values* in queries,
keys or values are not checked: they propagate to the output, as in torch (see
:mod:`attn_helpers.validation`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .masking import combine_masks, masked_softmax
from .validation import check_dtype, check_in_range, check_int, check_positive, check_tensor

__all__ = ["AdditiveAttention", "DotProductAttention", "check_qkv"]


def check_qkv(
    queries: object,
    keys: object,
    values: object,
    *,
    query_size: int | None = None,
    key_size: int | None = None,
    same_qk_size: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Check the shapes of an attention call's queries, keys and values; raise naming the argument.

    Queries ``(B, ..., Q, d_q)``, keys ``(B, ..., K, d_k)``, values ``(B, ..., K, d_v)``
    with equal leading dimensions; ``same_qk_size`` requires ``d_q == d_k``. Keys and
    values must have the queries' dtype (outside ``torch.autocast``, which casts them).
    """
    q = check_tensor("queries", queries, ndim=(3, 4), floating=True)
    k = check_tensor("keys", keys, ndim=q.dim(), floating=True)
    v = check_tensor("values", values, ndim=q.dim(), floating=True)
    check_dtype("keys", k, q.dtype, source="queries")
    check_dtype("values", v, q.dtype, source="queries")
    lead = tuple(q.shape[:-2])
    if query_size is not None and q.shape[-1] != query_size:
        raise ValueError(f"queries must have shape (B, Q, {query_size}) (query_size), got {tuple(q.shape)}")
    if key_size is not None and k.shape[-1] != key_size:
        raise ValueError(f"keys must have shape (B, K, {key_size}) (key_size), got {tuple(k.shape)}")
    if same_qk_size and k.shape[-1] != q.shape[-1]:
        raise ValueError(
            f"keys must have the queries' feature size d = {q.shape[-1]} for a dot product: "
            f"expected (..., K, {q.shape[-1]}), got {tuple(k.shape)}"
        )
    if tuple(k.shape[:-2]) != lead:
        raise ValueError(f"keys must have the queries' batch dimensions {lead}, got {tuple(k.shape)}")
    if tuple(v.shape[:-1]) != tuple(k.shape[:-1]):
        raise ValueError(
            f"values must have one row per key: expected shape {tuple(k.shape[:-1])} + (d_v,), "
            f"got {tuple(v.shape)}"
        )
    return q, k, v


class AdditiveAttention(nn.Module):
    """Additive attention (Bahdanau et al., 2015): ``score(q, k) = w_v^T tanh(W_q q + W_k k)``.

    Args:
        query_size: ``d_q``, the feature size of a query.
        key_size: ``d_k``, the feature size of a key (may differ from ``d_q``).
        num_hiddens: ``d_a``, the size of the hidden layer the two are projected into.
        dropout: dropout on the attention weights.
    """

    def __init__(self, query_size: int, key_size: int, num_hiddens: int, dropout: float = 0.0) -> None:
        super().__init__()
        for name, value in (("query_size", query_size), ("key_size", key_size), ("num_hiddens", num_hiddens)):
            check_int(name, value, 1)
        check_in_range("dropout", dropout, 0.0, 1.0)
        self.query_size, self.key_size = query_size, key_size
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        queries: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
        valid_lens: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return ``(output (B, Q, d_v), weights (B, Q, K) or None)``."""
        check_qkv(queries, keys, values, query_size=self.query_size, key_size=self.key_size)
        if queries.dim() != 3:
            raise ValueError(f"queries must be 3-D (B, Q, {self.query_size}), got {tuple(queries.shape)}")
        check_dtype("queries", queries, self.W_q.weight.dtype, source="AdditiveAttention's parameters")
        q, k = self.W_q(queries), self.W_k(keys)  # (B, Q, d_a), (B, K, d_a)
        features = torch.tanh(q.unsqueeze(2) + k.unsqueeze(1))  # (B, Q, K, d_a): every query-key pair
        scores = self.w_v(features).squeeze(-1)  # (B, Q, K)
        weights = masked_softmax(scores, valid_lens, mask)
        output = torch.bmm(self.dropout(weights), values)  # (B, Q, d_v)
        return output, (weights if need_weights else None)


class DotProductAttention(nn.Module):
    """Scaled dot-product attention (Vaswani et al., 2017): ``softmax(Q K^T / sqrt(d)) V``.

    Two paths give the same numbers:

    * ``need_weights=True``: the explicit computation, which materialises the
      ``(B, ..., Q, K)`` weight matrix so it can be returned and plotted;
    * ``need_weights=False`` (default): ``torch.nn.functional.scaled_dot_product_attention``,
      a fused kernel that never returns the weights and is faster and lighter (on GPUs
      it never stores the whole matrix at all).

    Rows with no key to attend to return zeros on both paths.

    Args:
        dropout: dropout on the attention weights (training only).
        scale: the factor applied to ``q . k``; ``None`` means ``1 / sqrt(d)``.
    """

    def __init__(self, dropout: float = 0.0, scale: float | None = None) -> None:
        super().__init__()
        check_in_range("dropout", dropout, 0.0, 1.0)
        if scale is not None:
            check_positive("scale", scale)
        self.scale = scale
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        queries: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
        valid_lens: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return ``(output (B, ..., Q, d_v), weights (B, ..., Q, K) or None)``."""
        check_qkv(queries, keys, values, same_qk_size=True)
        d = queries.shape[-1]
        scale = self.scale if self.scale is not None else 1.0 / math.sqrt(d)
        scores_shape = (*queries.shape[:-1], keys.shape[-2])  # (B, ..., Q, K)
        keep = combine_masks(scores_shape, valid_lens, mask)
        if need_weights:
            scores = queries @ keys.transpose(-2, -1) * scale  # (B, ..., Q, K)
            weights = masked_softmax(scores, mask=keep)
            return self.dropout(weights) @ values, weights
        if keep is None:
            output = F.scaled_dot_product_attention(
                queries, keys, values, dropout_p=self.dropout.p if self.training else 0.0, scale=scale
            )
            return output, None
        # A row with no True makes the fused softmax 0/0. Let such rows attend to every key
        # (finite values and gradients), then zero their output, as the explicit path does.
        has_key = keep.any(dim=-1, keepdim=True)  # (B, ..., Q|1, 1)
        safe_mask = keep | ~has_key
        output = F.scaled_dot_product_attention(
            queries, keys, values, attn_mask=safe_mask,
            dropout_p=self.dropout.p if self.training else 0.0, scale=scale,
        )
        return output.masked_fill(~has_key, 0.0), None
