"""Choosing where tensors live: CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

import torch

from .validation import check_device

__all__ = ["autocast_dtype", "choose_device"]


def choose_device(preferred: str | torch.device | None = None) -> torch.device:
    """Return the best available device (cuda > mps > cpu), or ``preferred``.

    Args:
        preferred: a device to use instead of the automatic choice, e.g. ``"cpu"``
            to compare against a GPU run: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"mps"``,
            available on this machine (else ``ValueError`` naming ``preferred``).
    """
    if preferred is not None:
        return check_device("preferred", preferred)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def autocast_dtype(device: str | torch.device) -> torch.dtype | None:
    """The mixed-precision dtype this book trains and times with on ``device``, or ``None``.

    * CUDA with compute capability 8.0 or newer (A100, L4, RTX 30xx, H100): ``bfloat16``,
      native there and with fp32's range, so no loss scaling is needed;
    * older CUDA cards (T4 = 7.5, V100 = 7.0): ``float16`` with a ``GradScaler``.
      ``torch.cuda.is_bf16_supported()`` says True on a T4 too, because bf16 can be
      *emulated* there, but emulated bf16 convolutions are slow or unsupported, so the
      capability is checked instead;
    * CPU and MPS: ``None`` (fp32; CPU autocast gains nothing for these small networks).
    """
    device = torch.device(device)
    if device.type != "cuda":
        return None
    major, _ = torch.cuda.get_device_capability(device)
    return torch.bfloat16 if major >= 8 else torch.float16
