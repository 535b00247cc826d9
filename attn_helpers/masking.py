"""Masks and the masked softmax behind every attention layer of the book.

Mask convention (the whole package): a boolean tensor where **True means "attend to this
key"** and False means "ignore it". (``torch.nn.MultiheadAttention``'s ``key_padding_mask``
uses the opposite convention; :func:`padding_mask` returns ours.)

A mask is given either as

* ``valid_lens``: how many leading keys are real, per example ``(B,)`` or per query
  ``(B, Q)`` (d2l's convention, handy for padded batches), or
* ``mask``: a boolean tensor broadcastable to the scores ``(B, ..., Q, K)``, e.g. ``(Q, K)``
  for a causal mask, ``(B, 1, K)`` for key padding, ``(B, Q, K)`` in general.

Rows whose keys are all masked out (an empty sequence, a query with ``valid_len = 0``)
get **all-zero weights**, never ``NaN``. The masked scores are filled with the most
negative finite number of their dtype instead of a hand-picked constant: d2l's ``-1e6``
and ``-9e15`` overflow to ``-inf`` in float16, and a row of ``-inf`` makes softmax return
``NaN`` (PyTorch's fused kernels have had the same bug). The fully-masked rows are then
zeroed explicitly with ``torch.where``, so their gradients are zero, not ``NaN``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .validation import check_int, check_tensor, values_are_cheap

__all__ = ["padding_mask", "lengths_to_mask", "check_mask", "combine_masks", "masked_softmax"]


def padding_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """Boolean ``(B, max_len)`` mask, True at the first ``lengths[b]`` positions of row ``b``.

    Args:
        lengths: integer tensor of shape ``(B,)`` with values in ``[0, max_len]``.
        max_len: the padded sequence length.
    """
    check_tensor("lengths", lengths, ndim=1)
    _check_lengths("lengths", lengths, max_len)
    positions = torch.arange(max_len, device=lengths.device)
    return positions < lengths[:, None]


def _check_lengths(name: str, lengths: torch.Tensor, max_len: int) -> None:
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise TypeError(f"{name} must have an integer dtype, got {lengths.dtype}")
    check_int("max_len", max_len, 0)
    if values_are_cheap(lengths) and lengths.numel() and (lengths.min() < 0 or lengths.max() > max_len):
        raise ValueError(
            f"{name} must lie in [0, {max_len}] (the number of keys), "
            f"got values in [{lengths.min().item()}, {lengths.max().item()}]"
        )


def lengths_to_mask(valid_lens: torch.Tensor, num_queries: int, num_keys: int) -> torch.Tensor:
    """Turn per-example or per-query valid lengths into a boolean attention mask.

    Args:
        valid_lens: integer tensor ``(B,)`` (same length for every query of an example) or
            ``(B, Q)`` (one length per query).
        num_queries: ``Q``; checked against ``valid_lens`` when it is 2-D.
        num_keys: ``K``, the padded number of keys.

    Returns:
        ``(B, 1, K)`` for 1-D ``valid_lens``, ``(B, Q, K)`` for 2-D, True = attend.
    """
    check_tensor("valid_lens", valid_lens, ndim=(1, 2))
    if valid_lens.dim() == 2 and valid_lens.shape[1] != num_queries:
        raise ValueError(
            f"valid_lens must have shape (B,) or (B, Q) = (B, {num_queries}), "
            f"got {tuple(valid_lens.shape)}"
        )
    _check_lengths("valid_lens", valid_lens, num_keys)
    positions = torch.arange(num_keys, device=valid_lens.device)
    if valid_lens.dim() == 1:
        return positions < valid_lens[:, None, None]  # (B, 1, K)
    return positions < valid_lens[:, :, None]  # (B, Q, K)


def check_mask(name: str, mask: object, scores_shape: Sequence[int]) -> torch.Tensor:
    """Return ``mask`` if it is a boolean tensor broadcastable to ``scores_shape``, else raise."""
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"{name} must be a boolean torch.Tensor, got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise TypeError(
            f"{name} must have dtype torch.bool (True = attend), got {mask.dtype}; "
            f"for lengths use valid_lens"
        )
    shape = tuple(scores_shape)
    try:
        ok = torch.broadcast_shapes(tuple(mask.shape), shape) == shape
    except RuntimeError:
        ok = False
    if not ok:
        raise ValueError(
            f"{name} must be broadcastable to the attention scores' shape (B, ..., Q, K) = "
            f"{shape}, e.g. (Q, K), (B, 1, K) or (B, Q, K); got {tuple(mask.shape)}"
        )
    return mask


def combine_masks(
    scores_shape: Sequence[int],
    valid_lens: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
) -> torch.Tensor | None:
    """One boolean mask broadcastable to ``scores_shape`` ``(B, ..., Q, K)``, or ``None``.

    ``valid_lens`` (``(B,)`` or ``(B, Q)``) and ``mask`` are checked and, when both are
    given, combined with a logical AND. Extra middle dimensions (e.g. heads) are broadcast.
    """
    shape = tuple(scores_shape)
    if len(shape) < 2:
        raise ValueError(f"scores must be at least 2-D (Q, K), got shape {shape}")
    result = None
    if valid_lens is not None:
        if len(shape) < 3:
            raise ValueError(f"valid_lens needs batched scores (B, ..., Q, K), got shape {shape}")
        length_mask = lengths_to_mask(valid_lens, shape[-2], shape[-1])  # (B, 1|Q, K)
        if length_mask.shape[0] != shape[0]:
            raise ValueError(
                f"valid_lens must have shape (B,) or (B, Q) with B = {shape[0]}, "
                f"got {tuple(valid_lens.shape)}"
            )
        # insert the middle dimensions (heads): (B, 1, ..., 1|Q, K)
        result = length_mask.view(shape[0], *([1] * (len(shape) - 3)), *length_mask.shape[1:])
    if mask is not None:
        check_mask("mask", mask, shape)
        result = mask if result is None else result & mask
    return result


def masked_softmax(
    scores: torch.Tensor,
    valid_lens: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Softmax over the last dimension (keys) that ignores masked-out keys.

    Args:
        scores: attention scores ``(B, ..., Q, K)`` (or ``(Q, K)`` with ``mask`` only), any
            floating dtype (float32, float16, bfloat16, float64).
        valid_lens: optional integer tensor ``(B,)`` or ``(B, Q)``: the first
            ``valid_lens`` keys are attended to, the rest are padding.
        mask: optional boolean tensor broadcastable to ``scores``, True = attend.

    Returns:
        Weights with the shape and dtype of ``scores``: each row sums to 1 over its
        unmasked keys, masked keys get exactly 0, and a row with no unmasked key is all
        zeros (its gradient is zero too).
    """
    check_tensor("scores", scores, floating=True)
    keep = combine_masks(scores.shape, valid_lens, mask)
    if keep is None:
        return torch.softmax(scores, dim=-1)
    lowest = torch.finfo(scores.dtype).min  # finite: no overflow to -inf, no NaN in softmax
    weights = torch.softmax(scores.masked_fill(~keep, lowest), dim=-1)
    # Fully masked rows came out uniform (all scores equal); masked entries of other rows
    # are already 0. Zeroing explicitly handles both without producing NaN.
    return torch.where(keep, weights, torch.zeros((), dtype=weights.dtype, device=weights.device))
