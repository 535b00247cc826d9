"""Argument checks that fail early with a message naming the argument.

Every public function of the package validates its inputs with these helpers so a
wrong shape, dtype or range surfaces as a one-line ``ValueError``/``TypeError``
instead of a deep PyTorch traceback.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["check_tensor", "check_positive", "check_in_range", "check_choice"]


def check_tensor(
    name: str,
    value: object,
    *,
    ndim: int | Sequence[int] | None = None,
    floating: bool = False,
    shape: Sequence[int | None] | None = None,
) -> torch.Tensor:
    """Return ``value`` if it is a tensor of the expected rank/shape, else raise.

    Args:
        name: argument name quoted in the error message.
        value: the object to check.
        ndim: allowed rank(s).
        floating: require a floating-point dtype.
        shape: expected shape; ``None`` entries match any size.
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if value.dim() not in allowed:
            want = " or ".join(str(n) for n in allowed)
            raise ValueError(
                f"{name} must be {want}-D, got shape {tuple(value.shape)} ({value.dim()}-D)"
            )
    if floating and not value.is_floating_point():
        raise TypeError(f"{name} must have a floating-point dtype, got {value.dtype}")
    if shape is not None:
        expected = tuple(shape)
        ok = value.dim() == len(expected) and all(
            e is None or e == s for e, s in zip(expected, value.shape)
        )
        if not ok:
            pretty = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
            raise ValueError(f"{name} must have shape {pretty}, got {tuple(value.shape)}")
    return value


def check_positive(name: str, value: float | int, *, allow_zero: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is a positive (or non-negative) number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if value < 0 or (value == 0 and not allow_zero) or value != value:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value}")


def check_in_range(name: str, value: float, low: float, high: float) -> None:
    """Raise ``ValueError`` unless ``low <= value <= high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")


def check_choice(name: str, value: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value
