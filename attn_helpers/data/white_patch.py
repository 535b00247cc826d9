"""The "white patch" task of the case study: does an image contain a white square?

Half of the images get a ``patch_size`` x ``patch_size`` square of pure white pasted at a
random position; the label says whether it is there, and ``boxes`` says where. Pixel values
are mapped to [-1, 1] with ``(x - 128) / 128`` and the patch is set to 1.0, as in the
experiment the case study rebuilds.

* offline: backgrounds are random crops (random size, random horizontal flip) of the two
  real photographs scikit-learn ships (``sklearn.datasets.load_sample_images``: china.jpg
  and flower.jpg), resized to ``image_size``. Train crops come from the left 70 % of each
  photo, test crops from the right 30 %, so no test pixel was seen in training.
* real: STL-10 (96 x 96) through torchvision, the experiment's original data: its first
  4,000 ``train``-split images for training and the next 1,000 for testing, plus
  validation images from STL-10's ``test`` split (the experiment had none).

Every image's label and patch position come from one generator seeded per split, so
labels and positions are independent of an image's place in a batch. ``article_batch_size``
reproduces the original experiment's rule instead (Fernandez's white-patch article): the
generator is re-seeded with ``10 +`` the image's index *within its batch* before the label
and the position are drawn, so every batch repeats the same labels and at most
``article_batch_size`` patch positions, in training and testing alike.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..validation import check_choice, check_int
from .routes import fetch_torchvision_dataset

__all__ = ["WhitePatchImages", "make_white_patch_images", "white_patch_stl10"]

_SPLIT_COLUMN = 0.7  # share of each photo's width used for training crops


class WhitePatchImages(Dataset):
    """Images with or without a white square.

    Attributes:
        images: (N, 3, H, W) uint8 images, patch included.
        labels: (N,) int64 class indices, 1 where the patch is present (``class_names``).
        boxes: (N, 4) float32 ``(x0, y0, x1, y1)`` of the patch (x1, y1 exclusive);
            all -1 for images without a patch.

    ``dataset[i]`` gives ``(image (3, H, W) float32 in [-1, 1], label int)``; indexing
    with a list or tensor of indices gives a whole batch, so :func:`attn_helpers.batch_loader`
    serves it without per-image Python work.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, boxes: torch.Tensor) -> None:
        self.images, self.labels, self.boxes = images, labels, boxes
        self.class_names = ["no patch", "patch"]

    def __len__(self) -> int:
        return self.labels.shape[0]

    def __getitem__(self, index: Any) -> tuple[torch.Tensor, Any]:
        if isinstance(index, (int, np.integer)):
            return (self.images[int(index)].float() - 128.0) / 128.0, int(self.labels[int(index)])
        index = torch.as_tensor(index, dtype=torch.long)
        return (self.images[index].float() - 128.0) / 128.0, self.labels[index]

    @property
    def has_patch(self) -> torch.Tensor:
        """(N,) bool: which images contain the patch."""
        return self.labels == 1


def _check_sizes(n: int, image_size: int, patch_size: int) -> None:
    check_int("n", n, 1)
    check_int("image_size", image_size, 8)
    check_int("patch_size", patch_size, 1, image_size - 1)  # a patch smaller than the image


def _check_article_batch_size(article_batch_size: int | None) -> None:
    if article_batch_size is not None:
        check_int("article_batch_size", article_batch_size, 1)


def _article_rule(n: int, height: int, width: int, patch_size: int,
                  batch_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # The original batch function: NumPy's global generator re-seeded with 10 + (index in the
    # batch), then one draw in {0, 1} for the label and two in [0, side - patch) for the
    # corner, row first. The last valid corner (side - patch) is never drawn, as there.
    labels, x0, y0 = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    for j in range(n):
        draws = np.random.RandomState(j % batch_size + 10)
        labels[j] = draws.randint(2)
        if labels[j]:
            y0[j], x0[j] = draws.randint(height - patch_size), draws.randint(width - patch_size)
    return labels, x0, y0


def _add_patches(images: torch.Tensor, patch_size: int, rng: np.random.Generator,
                 article_batch_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    n, _, height, width = images.shape
    if article_batch_size is None:
        labels = rng.integers(2, size=n)
        x0 = rng.integers(width - patch_size + 1, size=n)
        y0 = rng.integers(height - patch_size + 1, size=n)
    else:
        labels, x0, y0 = _article_rule(n, height, width, patch_size, article_batch_size)
    boxes = torch.full((n, 4), -1.0)
    for i in np.nonzero(labels)[0]:
        images[i, :, y0[i]:y0[i] + patch_size, x0[i]:x0[i] + patch_size] = 255
        boxes[i] = torch.tensor([x0[i], y0[i], x0[i] + patch_size, y0[i] + patch_size], dtype=torch.float32)
    return torch.from_numpy(labels.astype(np.int64)), boxes


def make_white_patch_images(
    n: int,
    *,
    image_size: int = 48,
    patch_size: int = 8,
    source: str = "train",
    seed: int = 0,
    article_batch_size: int | None = None,
) -> WhitePatchImages:
    """Generate ``n`` offline white-patch images from scikit-learn's two sample photos.

    Args:
        n: number of images (about half get a patch).
        image_size: side of the square images.
        patch_size: side of the white square (the original: 16 px on 96 px images, 1/6).
        source: ``"train"`` (left 70 % of each photo) or ``"test"`` (right 30 %).
        seed: seed of crops, flips, labels and patch positions.
        article_batch_size: draw labels and positions with the original experiment's rule
            for batches of this size (see the module docstring); the crops are the same as
            with the default rule.
    """
    _check_sizes(n, image_size, patch_size)
    check_choice("source", source, ("train", "test"))
    _check_article_batch_size(article_batch_size)
    from sklearn.datasets import load_sample_images

    # Halve the photos once (427 x 640 -> 213 x 320): crops then span 1-4x the image size
    # of the original photo while the per-crop resizing stays cheap.
    photos = [
        F.interpolate(torch.tensor(np.asarray(p)).permute(2, 0, 1).float()[None], scale_factor=0.5,
                      mode="bilinear", antialias=True, align_corners=False)[0]
        for p in load_sample_images().images
    ]
    rng = np.random.default_rng([seed, 0 if source == "train" else 1])
    which = rng.integers(len(photos), size=n)
    height, width = photos[0].shape[1:]
    split = int(_SPLIT_COLUMN * width)
    lo, hi = (0, split) if source == "train" else (split, width)
    sides = rng.integers(image_size // 2, min(height, hi - lo, 2 * image_size) + 1, size=n)
    tops = (rng.random(n) * (height - sides + 1)).astype(int)
    lefts = lo + (rng.random(n) * (hi - lo - sides + 1)).astype(int)
    flips = rng.random(n) < 0.5
    out = torch.empty((n, 3, image_size, image_size), dtype=torch.uint8)
    for side in np.unique(sides):
        members = np.nonzero(sides == side)[0]
        crops = torch.stack([photos[which[i]][:, tops[i]:tops[i] + side, lefts[i]:lefts[i] + side] for i in members])
        crops = F.interpolate(crops, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False)
        crops[torch.from_numpy(flips[members])] = crops[torch.from_numpy(flips[members])].flip(-1)
        out[torch.from_numpy(members)] = crops.round().clamp(0, 255).to(torch.uint8)
    labels, boxes = _add_patches(out, patch_size, rng, article_batch_size)
    return WhitePatchImages(out, labels, boxes)


def white_patch_stl10(
    root: str | os.PathLike[str] = "data",
    *,
    n_train: int = 4000,
    n_val: int = 1000,
    n_test: int = 1000,
    patch_size: int = 16,
    seed: int = 0,
    article_batch_size: int | None = None,
) -> tuple[WhitePatchImages, WhitePatchImages, WhitePatchImages]:
    """The original experiment's data -> ``(train, val, test)``.

    Train and test are as in the experiment: STL-10 ``train`` images 0..n_train-1 and the
    next ``n_test``. The experiment had no validation set; ``val`` is the first ``n_val``
    images of STL-10's ``test`` split, so it shares no image with the other two.
    ``article_batch_size`` applies the experiment's labelling rule (module docstring).

    Downloads STL-10 (about 2.6 GB) on first use; raises
    :class:`~attn_helpers.DatasetUnavailableError` when it cannot.
    """
    for name, value in (("n_train", n_train), ("n_val", n_val), ("n_test", n_test)):
        check_int(name, value, 1)
    _check_sizes(n_train, 96, patch_size)
    _check_article_batch_size(article_batch_size)
    stl = fetch_torchvision_dataset("STL10", root, split="train")
    if n_train + n_test > len(stl):
        raise ValueError(f"n_train + n_test must be <= {len(stl)}, got {n_train + n_test}")
    stl_test = fetch_torchvision_dataset("STL10", root, split="test")
    if n_val > len(stl_test):
        raise ValueError(f"n_val must be <= {len(stl_test)}, got {n_val}")
    raw = torch.from_numpy(np.asarray(stl.data[: n_train + n_test]).copy())  # (N, 3, 96, 96) uint8
    parts = {"train": raw[:n_train], "val": torch.from_numpy(np.asarray(stl_test.data[:n_val]).copy()),
             "test": raw[n_train:]}
    sets = []
    for split, images in enumerate(parts.values()):
        images = images.clone()
        labels, boxes = _add_patches(images, patch_size, np.random.default_rng([seed, split]), article_batch_size)
        sets.append(WhitePatchImages(images, labels, boxes))
    return sets[0], sets[1], sets[2]
