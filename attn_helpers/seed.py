"""Seeding every random number generator a chapter touches."""

from __future__ import annotations

import random

import numpy as np
import torch

from .validation import check_int

__all__ = ["seed_everything"]


def seed_everything(seed: int = 0) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (CPU and all GPUs) with ``seed``.

    Returns a fresh ``torch.Generator`` seeded the same way, handy for a
    ``DataLoader(generator=...)`` whose shuffling should not depend on how many
    random numbers the model initialisation consumed.
    """
    seed = check_int("seed", seed, 0)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)
