"""Synthetic 1-D regression data for attention pooling (chapter 1)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..validation import check_int, check_positive

__all__ = ["RegressionData", "target_function", "make_regression_data"]


def target_function(x: torch.Tensor) -> torch.Tensor:
    """The smooth curve the chapter's data is sampled from: ``2 sin(x) + 0.6 x``."""
    return 2.0 * torch.sin(x) + 0.6 * x


@dataclass(frozen=True)
class RegressionData:
    """Noisy training pairs (keys, values) and a clean evaluation grid (queries).

    Shapes: ``x_train``/``y_train`` (n_train,), ``x_test``/``y_test`` (n_test,).
    ``y_test`` is the noise-free target at ``x_test``.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def make_regression_data(
    n_train: int = 60,
    n_test: int = 50,
    *,
    noise: float = 0.5,
    low: float = 0.0,
    high: float = 5.0,
    seed: int = 0,
) -> RegressionData:
    """Sample ``n_train`` sorted points uniformly on ``[low, high)`` with Gaussian noise.

    The test queries form an even grid on the same interval, so prediction curves
    can be drawn as lines. The draw depends only on ``seed``.
    """
    check_int("n_train", n_train, 1)
    check_int("n_test", n_test, 1)
    check_positive("noise", noise, allow_zero=True)
    if not high > low:
        raise ValueError(f"high must be greater than low, got low={low}, high={high}")
    generator = torch.Generator().manual_seed(seed)
    x_train, _ = torch.sort(low + (high - low) * torch.rand(n_train, generator=generator))
    y_train = target_function(x_train) + noise * torch.randn(n_train, generator=generator)
    x_test = torch.linspace(low, high, n_test + 1)[:-1] + (high - low) / (2 * n_test)
    return RegressionData(x_train, y_train, x_test, target_function(x_test))
