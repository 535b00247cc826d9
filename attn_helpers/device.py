"""Choosing where tensors live: CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

import torch

__all__ = ["choose_device"]


def choose_device(preferred: str | torch.device | None = None) -> torch.device:
    """Return the best available device (cuda > mps > cpu), or ``preferred``.

    Args:
        preferred: a device to use instead of the automatic choice, e.g. ``"cpu"``
            to compare against a GPU run. It must be available on this machine.
    """
    if preferred is not None:
        try:
            device = torch.device(preferred)
        except (RuntimeError, TypeError) as error:
            raise ValueError(f"preferred={preferred!r} is not a device: {error}") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"preferred={str(preferred)!r} but CUDA is not available here")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError(f"preferred={str(preferred)!r} but MPS is not available here")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
