"""Batches served from images held on the device, augmented there, with no worker processes.

The approach of airbench (Keller Jordan, "94% on CIFAR-10 in 3.29 seconds on a single GPU",
2024, github.com/KellerJordan/airbench): keep the whole training set on the GPU as uint8
(CIFAR-10's 50,000 images are 150 MB), and do the standard augmentation, a random crop with
reflect padding and a horizontal flip, on whole batches there. A torchvision ``DataLoader``
instead decodes, crops, flips and normalises every image in Python on the CPU, in worker
processes, and copies every batch to the GPU: on a small network the GPU waits for it.

Here a crop with padding and a flip are both a choice of source pixel, so a batch is
augmented with one gather on the uint8 images: row ``r`` of a crop starting at ``top`` reads
source row ``reflect(top + r - padding)``, and a flipped column reads ``W - 1 - c``. The result
equals torchvision's ``RandomCrop(size, padding, padding_mode="reflect")`` then
``RandomHorizontalFlip()`` then ``ToTensor()`` then ``Normalize(mean, std)`` for the same
crop offsets and flips (checked in the tests).

All randomness of an epoch (the order, every image's crop offset and flip) is drawn at the
start of the epoch from one CPU generator, ``loader.generator``, the one
:func:`attn_helpers.fit` checkpoints and :func:`attn_helpers.train_and_evaluate` re-seeds:
two runs with the same seed see the same batches, augmented the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Subset, TensorDataset

from ..validation import check_device, check_int, check_tensor

__all__ = ["DeviceLoader", "crop_flip", "dataset_tensors"]


def _reflect(index: torch.Tensor, size: int) -> torch.Tensor:
    """Map indices in [-size + 1, 2 * size - 2] into [0, size) like ``F.pad(mode="reflect")``."""
    index = index.abs()
    return torch.where(index >= size, 2 * (size - 1) - index, index)


def crop_flip(
    images: torch.Tensor,
    tops: torch.Tensor,
    lefts: torch.Tensor,
    flips: torch.Tensor,
    padding: int,
) -> torch.Tensor:
    """Crop each image with reflect padding at ``(top, left)`` and flip it where ``flips`` is set.

    Shapes: ``images`` (B, C, H, W) of any dtype; ``tops``, ``lefts`` (B,) integers in
    [0, 2 * padding] (offsets in the padded image, as torchvision's ``RandomCrop`` draws
    them); ``flips`` (B,) bool. Returns (B, C, H, W), same dtype and device as ``images``.
    """
    check_tensor("images", images, ndim=4)
    batch, channels, height, width = images.shape
    for name, value in (("tops", tops), ("lefts", lefts), ("flips", flips)):
        check_tensor(name, value, shape=(batch,))
    check_int("padding", padding, 0, min(height, width) - 1)
    device = images.device
    rows = _reflect(tops.to(device)[:, None] + torch.arange(height, device=device) - padding, height)  # (B, H)
    # torchvision flips the crop: flipped[c] = crop[W - 1 - c] = padded[left + W - 1 - c].
    cols = torch.arange(width, device=device)
    cols = torch.where(flips.to(device)[:, None], width - 1 - cols, cols)  # (B, W)
    cols = _reflect(lefts.to(device)[:, None] + cols - padding, width)
    batch_index = torch.arange(batch, device=device)[:, None, None, None]
    channel_index = torch.arange(channels, device=device)[None, :, None, None]
    return images[batch_index, channel_index, rows[:, None, :, None], cols[:, None, None, :]]  # (B, C, H, W)


def dataset_tensors(dataset: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """The raw images (N, C, H, W) uint8 and labels (N,) int64 of a torchvision image dataset.

    Reads the arrays torchvision keeps in memory (``data`` with ``targets`` or ``labels``:
    CIFAR-10 stores (N, H, W, C), STL-10 (N, C, H, W)); a :class:`~torch.utils.data.Subset`
    of one gives its members, in the subset's order. No transform is applied.
    """
    indices = None
    while isinstance(dataset, Subset):
        chosen = torch.as_tensor(list(dataset.indices), dtype=torch.long)
        indices = chosen if indices is None else chosen[indices]
        dataset = dataset.dataset
    data = getattr(dataset, "data", None)
    labels = getattr(dataset, "targets", None)
    if labels is None:
        labels = getattr(dataset, "labels", None)
    if data is None or labels is None:
        raise TypeError(f"dataset must keep its images in .data and labels in .targets or .labels "
                        f"(torchvision's CIFAR10, STL10), got {type(dataset).__name__}")
    images = torch.as_tensor(np.asarray(data))
    if images.dim() != 4 or images.dtype != torch.uint8:
        raise ValueError(f"dataset.data must be 4-D uint8 images, got {tuple(images.shape)} {images.dtype}")
    if images.shape[-1] in (1, 3) and images.shape[1] not in (1, 3):
        images = images.permute(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    if indices is not None:
        images, labels = images[indices], labels[indices]
    return images.contiguous(), labels


class DeviceLoader:
    """Iterate ``(x, y)`` batches like a ``DataLoader``, from uint8 images kept on ``device``.

    Args:
        images: (N, C, H, W) uint8 images; copied to ``device`` once.
        labels: (N,) integer labels.
        batch_size: images per batch.
        mean, std: per-channel normalisation applied after scaling to [0, 1]
            (as ``ToTensor()`` then ``Normalize(mean, std)``).
        shuffle: a new random order every epoch (else the stored order).
        padding: random crop with this much reflect padding on each side (0: no crop).
        flip: random horizontal flip with probability 1/2.
        drop_last: drop the last incomplete batch.
        seed: seed of ``generator``, the source of the order, crops and flips.
        device: where the images live and the batches are made (default: ``images``' device).

    Yields ``x`` (B, C, H, W) float32 and ``y`` (B,) int64, both on ``device``.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        *,
        batch_size: int,
        mean: Sequence[float],
        std: Sequence[float],
        shuffle: bool = False,
        padding: int = 0,
        flip: bool = False,
        drop_last: bool = False,
        seed: int = 0,
        device: torch.device | str | None = None,
    ) -> None:
        check_tensor("images", images, ndim=4)
        if images.dtype != torch.uint8:
            raise TypeError(f"images must be uint8, got {images.dtype}")
        check_tensor("labels", labels, shape=(images.shape[0],))
        check_int("batch_size", batch_size, 1)
        channels, height, width = images.shape[1:]
        if len(mean) != channels or len(std) != channels or any(s <= 0 for s in std):
            raise ValueError(f"mean and std must hold {channels} values (std > 0), got {mean!r} and {std!r}")
        check_int("padding", padding, 0, min(height, width) - 1)
        self.device = check_device("device", device) if device is not None else images.device
        self.images = images.to(self.device)
        self.labels = labels.to(self.device, torch.long)
        self.batch_size, self.shuffle, self.padding, self.flip, self.drop_last = (
            batch_size, shuffle, padding, flip, drop_last)
        mean_t = torch.tensor(mean, dtype=torch.float64)[:, None, None]  # (C, 1, 1)
        std_t = torch.tensor(std, dtype=torch.float64)[:, None, None]
        # (x / 255 - mean) / std as one multiply-add, x * scale + shift: within 1e-6 of
        # torchvision's ToTensor + Normalize, in one pass over the batch instead of three.
        self.scale = (1 / (255 * std_t)).float().to(self.device)
        self.shift = (-mean_t / std_t).float().to(self.device)
        # A CPU generator: its state can be saved and restored on any machine, and drawing one
        # epoch's numbers on the CPU costs microseconds.
        self.generator = torch.Generator().manual_seed(seed)
        self.dataset = TensorDataset(self.images, self.labels)

    def __len__(self) -> int:
        n = self.images.shape[0]
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) uint8 -> float32, scaled to [0, 1] then normalised per channel."""
        return torch.addcmul(self.shift, images.float(), self.scale)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = self.images.shape[0]
        # Everything random in this epoch is drawn now, before the first batch, so the
        # generator's state at the end of an epoch (what a checkpoint saves) does not
        # depend on how far a consumer iterated.
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        augment = self.padding > 0 or self.flip
        if augment:
            offsets = torch.randint(0, 2 * self.padding + 1, (n, 2), generator=self.generator)
            flips = torch.rand(n, generator=self.generator) < 0.5 if self.flip else torch.zeros(n, dtype=torch.bool)
            offsets, flips = offsets[order].to(self.device), flips[order].to(self.device)
        order = order.to(self.device)
        stop = len(self) * self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            index = order[start:start + self.batch_size]
            images = self.images[index]  # (B, C, H, W) uint8
            if augment:
                chunk = slice(start, start + self.batch_size)
                images = crop_flip(images, offsets[chunk, 0], offsets[chunk, 1], flips[chunk], self.padding)
            yield self.normalize(images), self.labels[index]
