"""Attention pooling as kernel regression (Nadaraya 1964; Watson 1964).

A prediction at a query ``q`` is a weighted average of the values ``v_i`` whose
weights come from how close ``q`` is to each key ``k_i``:

    f(q) = sum_i  K((q - k_i) / b) / sum_j K((q - k_j) / b) * v_i

``K`` is a kernel and ``b`` its bandwidth (the book keeps ``h`` for attention heads):
a standard deviation for the Gaussian kernel, a half-width for the boxcar and Epanechnikov
kernels, whose weights have standard deviation ``b / sqrt(3)`` and ``b / sqrt(5)``. With
the Gaussian kernel the weights are a softmax of ``-||q - k_i||^2 / (2 b^2)``, which is
how this module computes them: the softmax is the same number, but never divides zero by
zero when every ``exp(...)`` underflows (tiny bandwidths, far-away queries).

Shapes: queries ``(n_q,)`` or ``(n_q, d)``; keys ``(n_k,)`` or ``(n_k, d)``; values
``(n_k,)`` or ``(n_k, d_v)``; weights ``(n_q, n_k)``; predictions ``(n_q,)`` or
``(n_q, d_v)``. There must be at least one key (an average over no values is undefined);
NaN in queries, keys or values is not checked and propagates, as in torch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .validation import check_choice, check_positive, check_tensor, values_are_cheap

__all__ = [
    "gaussian_kernel",
    "boxcar_kernel",
    "epanechnikov_kernel",
    "KERNELS",
    "attention_weights",
    "nadaraya_watson",
    "average_pooling",
    "NadarayaWatsonRegression",
]


def gaussian_kernel(u: torch.Tensor) -> torch.Tensor:
    """``exp(-u^2 / 2)``; the normalising constant cancels in the weights."""
    return torch.exp(-0.5 * u**2)


def boxcar_kernel(u: torch.Tensor) -> torch.Tensor:
    """1 inside ``|u| <= 1``, 0 outside: a plain average over a window of keys."""
    return (u.abs() <= 1).to(u.dtype)


def epanechnikov_kernel(u: torch.Tensor) -> torch.Tensor:
    """``max(0, 1 - u^2)``: a smooth window that gives nearer keys more weight."""
    return (1 - u**2).clamp(min=0)


KERNELS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "gaussian": gaussian_kernel,
    "boxcar": boxcar_kernel,
    "epanechnikov": epanechnikov_kernel,
}


def _as_points(name: str, x: torch.Tensor, *, nonempty: bool = False) -> torch.Tensor:
    check_tensor(name, x, ndim=(1, 2), floating=True)
    if nonempty and x.shape[0] == 0:
        # With no keys every weight row is empty and each prediction would be a silent 0.
        raise ValueError(f"{name} must hold at least one point (n_k >= 1), got shape {tuple(x.shape)}")
    return x[:, None] if x.dim() == 1 else x


def _check_bandwidth(bandwidth: float | torch.Tensor) -> None:
    if isinstance(bandwidth, torch.Tensor):
        if bandwidth.numel() != 1:
            raise ValueError(f"bandwidth must be a scalar, got shape {tuple(bandwidth.shape)}")
        # Not read on a GPU (a stall every call): there b <= 0 gives NaN/inf weights that
        # propagate, the package's NaN policy.
        if values_are_cheap(bandwidth) and not bool(bandwidth.detach() > 0):
            raise ValueError(f"bandwidth must be > 0, got {bandwidth.item()}")
    else:
        check_positive("bandwidth", bandwidth)


def _check_exclude(exclude_index: torch.Tensor | None, n_q: int, n_k: int) -> None:
    if exclude_index is None:
        return
    check_tensor("exclude_index", exclude_index, shape=(n_q,))
    if exclude_index.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"exclude_index must be an integer tensor, got {exclude_index.dtype}")
    if n_k < 2:
        raise ValueError("exclude_index needs at least 2 keys, so each query keeps one")
    if values_are_cheap(exclude_index) and n_q and (exclude_index.min() < 0 or exclude_index.max() >= n_k):
        raise ValueError(f"exclude_index entries must be in [0, {n_k - 1}]")


def _weights(
    queries: torch.Tensor,
    keys: torch.Tensor,
    kernel: str,
    bandwidth: float | torch.Tensor,
    exclude_index: torch.Tensor | None,
) -> torch.Tensor:
    # Exact differences, not torch.cdist: cdist's matmul shortcut loses digits and its
    # square root has an infinite gradient at distance 0.
    distance_sq = (queries[:, None, :] - keys[None, :, :]).square().sum(-1)  # (n_q, n_k)
    excluded = None
    if exclude_index is not None:
        excluded = torch.zeros_like(distance_sq, dtype=torch.bool)
        excluded[torch.arange(len(exclude_index), device=excluded.device), exclude_index] = True
    if kernel == "gaussian":
        if distance_sq.shape[-1] > 0:
            # Shifting each row by its smallest (allowed) squared distance leaves the
            # softmax unchanged but keeps the nearest key's score at exactly 0: with a
            # tiny bandwidth d^2 / b^2 overflows, and a row of -inf scores is NaN.
            allowed = distance_sq if excluded is None else distance_sq.masked_fill(excluded, float("inf"))
            distance_sq = (distance_sq - allowed.amin(dim=-1, keepdim=True)).clamp(min=0)
        scores = -0.5 * (distance_sq / bandwidth / bandwidth)
        if excluded is not None:
            # Masking the scores (not the distances) keeps inf out of the backward pass.
            scores = scores.masked_fill(excluded, float("-inf"))
        return torch.softmax(scores, dim=-1)
    squared = distance_sq / bandwidth / bandwidth  # b**2 alone can underflow to 0
    # |u| for the compact kernels; sqrt is kept away from 0, where its gradient is infinite.
    distance = torch.where(squared > 0, squared, 1.0).sqrt() * (squared > 0)
    weights = KERNELS[kernel](distance)
    if excluded is not None:
        weights = weights.masked_fill(excluded, 0.0)
    total = weights.sum(dim=-1, keepdim=True)
    # A query with no key inside a compact kernel's window gets all-zero weights
    # (prediction 0) rather than 0/0 = NaN.
    return torch.where(total > 0, weights / total.clamp(min=torch.finfo(weights.dtype).tiny), 0.0)


def attention_weights(
    queries: torch.Tensor,
    keys: torch.Tensor,
    *,
    kernel: str = "gaussian",
    bandwidth: float | torch.Tensor = 1.0,
    exclude_index: torch.Tensor | None = None,
) -> torch.Tensor:
    """Nadaraya-Watson attention weights, shape ``(n_q, n_k)``; each row sums to 1.

    Args:
        queries: ``(n_q,)`` or ``(n_q, d)``.
        keys: ``(n_k,)`` or ``(n_k, d)``.
        kernel: ``"gaussian"``, ``"boxcar"`` or ``"epanechnikov"``.
        bandwidth: ``b > 0``; larger means smoother (more keys share the weight).
        exclude_index: ``(n_q,)`` integer index of one key each query may not use
            (leave-one-out training, where the queries are the keys themselves).

    A row whose query has no key inside a compact kernel's window (boxcar,
    Epanechnikov with a small bandwidth) is all zeros instead of NaN.
    """
    check_choice("kernel", kernel, tuple(KERNELS))
    _check_bandwidth(bandwidth)
    q, k = _as_points("queries", queries), _as_points("keys", keys, nonempty=True)
    if q.shape[1] != k.shape[1]:
        raise ValueError(
            f"queries and keys must have the same feature size, got {q.shape[1]} and {k.shape[1]}"
        )
    if q.dtype != k.dtype:
        raise TypeError(f"queries must have the dtype of keys ({k.dtype}), got {q.dtype}")
    _check_exclude(exclude_index, q.shape[0], k.shape[0])
    return _weights(q, k, kernel, bandwidth, exclude_index)


def _check_values(values: torch.Tensor, n_keys: int) -> None:
    check_tensor("values", values, ndim=(1, 2), floating=True)
    if values.shape[0] != n_keys:
        raise ValueError(f"values must have one row per key ({n_keys}), got {values.shape[0]}")


def nadaraya_watson(
    queries: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor,
    *,
    kernel: str = "gaussian",
    bandwidth: float | torch.Tensor = 1.0,
    exclude_index: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Kernel-regression predictions and the weights behind them.

    Returns ``(predictions, weights)`` with shapes ``(n_q,)``/``(n_q, d_v)`` and
    ``(n_q, n_k)``. Arguments as in :func:`attention_weights`; ``values`` is
    ``(n_k,)`` or ``(n_k, d_v)``.
    """
    _check_values(values, _as_points("keys", keys, nonempty=True).shape[0])
    if values.dtype != keys.dtype:
        raise TypeError(f"values must have the dtype of keys ({keys.dtype}), got {values.dtype}")
    weights = attention_weights(
        queries, keys, kernel=kernel, bandwidth=bandwidth, exclude_index=exclude_index
    )
    return weights @ values, weights


def average_pooling(
    queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The baseline that ignores the query: every prediction is the mean value.

    Returns ``(predictions, weights)`` like :func:`nadaraya_watson`, with uniform weights.
    """
    q, k = _as_points("queries", queries), _as_points("keys", keys, nonempty=True)
    _check_values(values, k.shape[0])
    weights = torch.full(
        (q.shape[0], k.shape[0]), 1.0 / k.shape[0], dtype=values.dtype, device=values.device
    )
    return weights @ values, weights


class NadarayaWatsonRegression(nn.Module):
    """Gaussian attention pooling with a learned bandwidth (parametric attention pooling).

    The bandwidth is stored as its logarithm so gradient steps can never make it
    negative. The training pairs are the keys and values; train with
    ``exclude_index`` set to each query's own index (leave-one-out), otherwise the
    best fit is a bandwidth near 0 that copies each training value.

    Args:
        keys: ``(n_k,)`` or ``(n_k, d)`` training inputs.
        values: ``(n_k,)`` or ``(n_k, d_v)`` training targets.
        init_bandwidth: starting ``b > 0``.

    Shapes: ``forward(queries (n_q,)|(n_q, d), exclude_index (n_q,)|None)`` returns
    predictions ``(n_q,)``/``(n_q, d_v)``; the weights of the last call are kept in
    ``attention_weights`` ``(n_q, n_k)`` for plotting.
    """

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, init_bandwidth: float = 1.0) -> None:
        super().__init__()
        _as_points("keys", keys, nonempty=True)
        _check_values(values, keys.shape[0])
        check_positive("init_bandwidth", init_bandwidth)
        self.register_buffer("keys", keys.detach().clone())
        self.register_buffer("values", values.detach().clone())
        if values.dtype != keys.dtype:
            raise TypeError(f"values must have the dtype of keys ({keys.dtype}), got {values.dtype}")
        self.log_bandwidth = nn.Parameter(torch.tensor(float(init_bandwidth), dtype=keys.dtype).log())
        self.attention_weights: torch.Tensor | None = None

    @property
    def bandwidth(self) -> torch.Tensor:
        """The current bandwidth ``b = exp(log_bandwidth)`` (0-D tensor)."""
        return self.log_bandwidth.exp()

    def forward(self, queries: torch.Tensor, exclude_index: torch.Tensor | None = None) -> torch.Tensor:
        """Predictions at ``queries``; ``exclude_index`` (n_q,) drops one key per query."""
        predictions, weights = nadaraya_watson(
            queries, self.keys, self.values, bandwidth=self.bandwidth, exclude_index=exclude_index
        )
        self.attention_weights = weights.detach()
        return predictions
