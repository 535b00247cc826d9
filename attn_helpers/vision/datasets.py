"""Image data for the vision chapters, on two routes that give the same kind of loaders.

* ``offline``: *cluttered digits*. scikit-learn ships 1,797 real handwritten 8x8 digits
  (``sklearn.datasets.load_digits``, no download). Each image here is one digit,
  upsampled and pasted at a random position and scale on a larger canvas strewn with
  fragments of other digits. Because we place the digit, its true box and scale are
  known (``boxes``, ``scales``): the SK chapter enlarges objects exactly, and the
  spatial-attention chapters can score their maps against the box. Train and test
  images use disjoint source digits, so test accuracy measures generalisation to new
  handwriting.
* ``real``: torchvision CIFAR-10 (32x32) or STL-10 (96x96), downloaded on first use,
  with the standard augmentation (random crop with padding, horizontal flip) and
  per-channel normalisation. A failed download raises
  :class:`~attn_helpers.DatasetUnavailableError`.

Notebooks call ``ah.vision_data(route, profile)`` and never branch on the route again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler, Subset

from ..data.routes import DATA_ROUTES, fetch_torchvision_dataset
from ..profile import RunProfile
from ..validation import check_choice

__all__ = [
    "DIGIT_SOURCES",
    "batch_loader",
    "REAL_DATASETS",
    "ClutteredDigits",
    "VisionData",
    "make_cluttered_digits",
    "vision_data",
]

DIGIT_SOURCES = ("train", "test")
REAL_DATASETS = ("cifar10", "stl10")
_TEST_FRACTION = 0.25  # share of scikit-learn's digits kept for test images
_SPLIT_SEED = 1234
_REAL_STATS = {  # per-channel mean and std of the training images
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "stl10": ((0.4467, 0.4398, 0.4066), (0.2603, 0.2566, 0.2713)),
}


class ClutteredDigits(Dataset):
    """Generated cluttered-digit images; build with :func:`make_cluttered_digits`.

    Attributes:
        images: (N, 1, H, W) uint8 canvases (the dataset repeats them to 3 channels).
        labels: (N,) int64 digit classes 0-9.
        boxes: (N, 4) float32 ``(x0, y0, x1, y1)`` pixel box of the digit (x1, y1 exclusive).
        scales: (N,) float32 size of the digit relative to ``digit_size``.
        class_names: ``["0", ..., "9"]``.

    ``dataset[i]`` gives ``(image (3, H, W) float32, label int)``; indexing with a list or
    tensor of indices gives a whole batch ``(images (B, 3, H, W), labels (B,))`` in one
    tensor operation (the offline loaders use this: no per-image Python work).
    Pixel values are mapped from [0, 1] to [-1, 1].
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, boxes: torch.Tensor, scales: torch.Tensor) -> None:
        self.images, self.labels, self.boxes, self.scales = images, labels, boxes, scales
        self.class_names = [str(d) for d in range(10)]

    def __len__(self) -> int:
        return self.labels.shape[0]

    def __getitem__(self, index: Any) -> tuple[torch.Tensor, Any]:
        if isinstance(index, (int, np.integer)):
            image = self.images[int(index)].float().div_(127.5).sub_(1.0)  # (1, H, W) in [-1, 1]
            return image.expand(3, -1, -1).contiguous(), int(self.labels[int(index)])
        index = torch.as_tensor(index, dtype=torch.long)
        images = self.images[index].float().div_(127.5).sub_(1.0)  # (B, 1, H, W)
        return images.expand(-1, 3, -1, -1).contiguous(), self.labels[index]


def _load_digit_pool(source: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)  # (1797, 8, 8) in [0, 1]
    order = np.random.default_rng(_SPLIT_SEED).permutation(len(images))
    n_test = int(round(_TEST_FRACTION * len(images)))
    chosen = order[:n_test] if source == "test" else order[n_test:]
    return images[chosen], bunch.target[chosen].astype(np.int64)


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of (N, h, w) images to (N, size, size), clipped to [0, 1]."""
    tensor = torch.from_numpy(images)[:, None]
    out = F.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=False)
    return out[:, 0].clamp_(0.0, 1.0).numpy()


def make_cluttered_digits(
    n: int,
    *,
    canvas_size: int = 48,
    digit_size: int | None = None,
    scale_range: tuple[float, float] = (1.0, 1.0),
    clutter: int = 4,
    source: str = "train",
    seed: int = 0,
) -> ClutteredDigits:
    """Generate ``n`` cluttered-digit images.

    Args:
        n: number of images.
        canvas_size: side of the square canvas in pixels.
        digit_size: side of a digit at scale 1.0 (default ``canvas_size // 3``).
        scale_range: each digit's scale is drawn uniformly from this range
            (``(1.5, 1.5)`` makes every digit exactly 1.5x as large).
        clutter: number of fragments (random quarter-to-half crops of other digits) per image.
        source: ``"train"`` or ``"test"``: which disjoint set of scikit-learn digits to use.
        seed: seed of the positions, scales, digits and clutter.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if isinstance(canvas_size, bool) or not isinstance(canvas_size, int) or canvas_size < 8:
        raise ValueError(f"canvas_size must be an int >= 8, got {canvas_size!r}")
    digit_size = canvas_size // 3 if digit_size is None else digit_size
    if isinstance(digit_size, bool) or not isinstance(digit_size, int) or not 4 <= digit_size <= canvas_size:
        raise ValueError(f"digit_size must be an int in [4, canvas_size={canvas_size}], got {digit_size!r}")
    if len(scale_range) != 2 or not 0 < scale_range[0] <= scale_range[1]:
        raise ValueError(f"scale_range must be (low, high) with 0 < low <= high, got {scale_range!r}")
    if round(digit_size * scale_range[1]) > canvas_size or round(digit_size * scale_range[0]) < 2:
        raise ValueError(
            f"scale_range={scale_range!r} with digit_size={digit_size} gives digits outside "
            f"[2, canvas_size={canvas_size}] pixels"
        )
    if isinstance(clutter, bool) or not isinstance(clutter, int) or clutter < 0:
        raise ValueError(f"clutter must be a non-negative int, got {clutter!r}")
    check_choice("source", source, DIGIT_SOURCES)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")

    pool, pool_labels = _load_digit_pool(source)
    rng = np.random.default_rng([seed, DIGIT_SOURCES.index(source)])
    which = rng.integers(len(pool), size=n)
    scales = rng.uniform(scale_range[0], scale_range[1], size=n).astype(np.float32)
    sizes = np.rint(digit_size * scales).astype(int)
    x0 = (rng.random(n) * (canvas_size - sizes + 1)).astype(int)
    y0 = (rng.random(n) * (canvas_size - sizes + 1)).astype(int)

    canvases = np.zeros((n, canvas_size, canvas_size), dtype=np.float32)
    if clutter:
        base = _resize(pool, digit_size)  # (P, s, s): fragments come from base-size digits
        frag_which = rng.integers(len(pool), size=(n, clutter))
        frag_size = rng.integers(max(2, digit_size // 4), max(3, digit_size // 2 + 1), size=(n, clutter))
        frag_u = rng.random((n, clutter, 4))  # crop offset (2) and canvas position (2)
        for i in range(n):
            for k in range(clutter):
                f = frag_size[i, k]
                cy, cx = (frag_u[i, k, :2] * (digit_size - f + 1)).astype(int)
                py, px = (frag_u[i, k, 2:] * (canvas_size - f + 1)).astype(int)
                patch = base[frag_which[i, k], cy:cy + f, cx:cx + f]
                region = canvases[i, py:py + f, px:px + f]
                np.maximum(region, patch, out=region)
    for size in np.unique(sizes):
        members = np.nonzero(sizes == size)[0]
        resized = _resize(pool[which[members]], int(size))  # (m, size, size)
        for j, i in enumerate(members):
            region = canvases[i, y0[i]:y0[i] + size, x0[i]:x0[i] + size]
            np.maximum(region, resized[j], out=region)

    images = torch.from_numpy(np.rint(canvases * 255).astype(np.uint8))[:, None]  # (n, 1, H, W)
    boxes = torch.from_numpy(np.stack([x0, y0, x0 + sizes, y0 + sizes], axis=1).astype(np.float32))
    return ClutteredDigits(images, torch.from_numpy(pool_labels[which]), boxes, torch.from_numpy(scales))


@dataclass
class VisionData:
    """What a vision chapter trains on: loaders plus what the notebook needs to know about them.

    ``test_boxes`` / ``test_scales`` are the true digit boxes (N, 4) and scales (N,) of
    the test images on the offline route, ``None`` on the real route.
    """

    train_loader: DataLoader
    test_loader: DataLoader
    num_classes: int
    image_size: int
    channels: int
    class_names: list[str]
    route: str
    train_set: Dataset
    test_set: Dataset
    test_boxes: torch.Tensor | None = None
    test_scales: torch.Tensor | None = None

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of one image, e.g. for ``count_flops``."""
        return (self.channels, self.image_size, self.image_size)

    def describe(self) -> str:
        """One line: route, sizes and image shape."""
        return (f"{self.route} route: {len(self.train_set)} train / {len(self.test_set)} test images of "
                f"shape {self.input_shape}, {self.num_classes} classes")


def batch_loader(dataset: ClutteredDigits, batch_size: int, *, shuffle: bool, seed: int = 0,
                 drop_last: bool = False) -> DataLoader:
    """A loader that fetches whole batches from a tensor-backed dataset with one indexing op.

    Its shuffling generator is exposed (``loader.generator``) so :func:`attn_helpers.fit`
    can checkpoint it and ``train_and_evaluate`` can reset it for identical batch orders.
    """
    generator = torch.Generator().manual_seed(seed)
    sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    batches = BatchSampler(sampler, batch_size, drop_last)
    return DataLoader(dataset, batch_size=None, sampler=batches, generator=generator)


def _real_sets(dataset: str, root: str | os.PathLike[str]) -> tuple[Dataset, Dataset, int]:
    from torchvision import transforms as T

    mean, std = _REAL_STATS[dataset]
    size = 32 if dataset == "cifar10" else 96
    train_tf = T.Compose([T.RandomCrop(size, padding=size // 8, padding_mode="reflect"),
                          T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(mean, std)])
    test_tf = T.Compose([T.ToTensor(), T.Normalize(mean, std)])
    if dataset == "cifar10":
        train = fetch_torchvision_dataset("CIFAR10", root, train=True, transform=train_tf)
        test = fetch_torchvision_dataset("CIFAR10", root, train=False, transform=test_tf)
    else:
        train = fetch_torchvision_dataset("STL10", root, split="train", transform=train_tf)
        test = fetch_torchvision_dataset("STL10", root, split="test", transform=test_tf)
    return train, test, size


def _first(dataset: Dataset, n: int | None, seed: int) -> Dataset:
    if n is None or n >= len(dataset):
        return dataset
    keep = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:n]
    return Subset(dataset, keep.tolist())


def vision_data(
    route: str,
    profile: RunProfile,
    *,
    dataset: str = "cifar10",
    root: str | os.PathLike[str] = "data",
    batch_size: int = 128,
    n_train: int | None = None,
    n_test: int | None = None,
    canvas_size: int = 40,
    digit_size: int | None = None,
    scale_range: tuple[float, float] = (1.0, 1.0),
    test_scale_range: tuple[float, float] | None = None,
    clutter: int = 4,
    seed: int = 0,
    num_workers: int | None = None,
) -> VisionData:
    """Build the train/test loaders of a vision chapter.

    Args:
        route: ``"offline"`` (cluttered digits) or ``"real"`` (``dataset`` from torchvision);
            usually ``ah.choose_data_route(profile=profile)``.
        profile: sets the default number of images (``n_train`` / ``n_test``): smoke
            512 / 256, reduced 8,000 / 2,000, full 50,000 / 10,000 (the real route's full
            profile uses the whole dataset).
        dataset: ``"cifar10"`` or ``"stl10"`` for the real route.
        root: folder the real datasets are downloaded to.
        batch_size: images per batch (training drops the last incomplete batch).
        canvas_size, digit_size, scale_range, clutter: the offline images
            (see :func:`make_cluttered_digits`); ``test_scale_range`` defaults to ``scale_range``.
        seed: seed of the generated images, the subsets and the shuffling.
        num_workers: loader processes on the real route (default 2 on CUDA, else 0).
    """
    route = check_choice("route", route, DATA_ROUTES)
    if not isinstance(profile, RunProfile):
        raise TypeError(f"profile must be a RunProfile (ah.get_profile()), got {type(profile).__name__}")
    dataset = check_choice("dataset", dataset, REAL_DATASETS)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    n_train = n_train if n_train is not None else profile.pick(smoke=512, reduced=8000, full=50000)
    n_test = n_test if n_test is not None else profile.pick(smoke=256, reduced=2000, full=10000)
    if route == "offline":
        train_set = make_cluttered_digits(n_train, canvas_size=canvas_size, digit_size=digit_size,
                                          scale_range=scale_range, clutter=clutter, source="train", seed=seed)
        test_set = make_cluttered_digits(n_test, canvas_size=canvas_size, digit_size=digit_size,
                                         scale_range=test_scale_range or scale_range, clutter=clutter,
                                         source="test", seed=seed)
        return VisionData(
            train_loader=batch_loader(train_set, batch_size, shuffle=True, seed=seed, drop_last=len(train_set) > batch_size),
            test_loader=batch_loader(test_set, batch_size, shuffle=False),
            num_classes=10, image_size=canvas_size, channels=3, class_names=train_set.class_names,
            route=route, train_set=train_set, test_set=test_set,
            test_boxes=test_set.boxes, test_scales=test_set.scales,
        )
    train_full, test_full, size = _real_sets(dataset, root)
    full = profile.name == "full"
    train_set = _first(train_full, None if full and n_train >= 50000 else n_train, seed)
    test_set = _first(test_full, None if full and n_test >= 10000 else n_test, seed + 1)
    cuda = torch.cuda.is_available()
    workers = (2 if cuda else 0) if num_workers is None else num_workers
    loader_kw: dict[str, Any] = {"num_workers": workers, "pin_memory": cuda, "persistent_workers": workers > 0}
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, generator=generator,
                              drop_last=len(train_set) > batch_size, **loader_kw)
    test_loader = DataLoader(test_set, batch_size=batch_size, shuffle=False, **loader_kw)
    class_names = list(getattr(train_full, "classes", [str(c) for c in range(10)]))
    return VisionData(train_loader=train_loader, test_loader=test_loader, num_classes=len(class_names),
                      image_size=size, channels=3, class_names=class_names, route=route,
                      train_set=train_set, test_set=test_set)
