"""Image data for the vision chapters, on two routes that give the same kind of loaders.

* ``offline``: generated digits (:mod:`.digits`), with the true box of every digit:
  ``task="cluttered"`` (one digit among fragments: the easy contrast) or ``task="cued"``
  (several coloured digits and a frame whose colour says which one to read).
* ``real``: torchvision CIFAR-10 (32x32, a 170 MB download, the default) or STL-10
  (96x96, a 2.64 GB download: only when asked for with ``dataset="stl10"``), downloaded on
  first use into ``root`` (default ``ATTN_DATA_ROOT``, else ``data``), with the standard
  augmentation (random crop with padding, horizontal flip) and per-channel normalisation.
  On CUDA the images are held on the GPU and augmented there in batches
  (:class:`~attn_helpers.data.device_loader.DeviceLoader`); elsewhere a torchvision
  ``DataLoader`` does it image by image. A failed download raises
  :class:`~attn_helpers.DatasetUnavailableError`.

Notebooks call ``ah.vision_data(route, profile)`` and never branch on the route again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler, Subset

from ..profile import RunProfile
from ..validation import check_choice, check_int
from .device_loader import DeviceLoader, dataset_tensors
from .digits import ClutteredDigits, CuedDigits, make_cluttered_digits, make_cued_digits
from .routes import DATA_ROUTES, data_root, fetch_torchvision_dataset

__all__ = ["OFFLINE_TASKS", "REAL_DATASETS", "VisionData", "batch_loader", "vision_data"]

OFFLINE_TASKS = ("cluttered", "cued")
REAL_DATASETS = ("cifar10", "stl10")
_REAL_STATS = {  # per-channel mean and std of the training images
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "stl10": ((0.4467, 0.4398, 0.4066), (0.2603, 0.2566, 0.2713)),
}
_REAL_SIZES = {"cifar10": 32, "stl10": 96}  # image side; the random crop pads by side // 8


@dataclass
class VisionData:
    """What a vision chapter trains on: loaders plus what the notebook needs to know about them.

    ``test_boxes`` / ``test_scales`` are the true (target) digit boxes (N, 4) and scales
    (N,) of the test images on the offline route, ``None`` on the real route;
    ``test_distractor_boxes`` (N, D, 4) the distractors' boxes on the cued task.
    ``dataset`` names the torchvision dataset on the real route (``None`` offline).
    """

    train_loader: DataLoader | DeviceLoader
    test_loader: DataLoader | DeviceLoader
    num_classes: int
    image_size: int
    channels: int
    class_names: list[str]
    route: str
    train_set: Dataset
    test_set: Dataset
    test_boxes: torch.Tensor | None = None
    test_scales: torch.Tensor | None = None
    test_distractor_boxes: torch.Tensor | None = None
    dataset: str | None = None

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
    size = _REAL_SIZES[dataset]
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
    task: str = "cluttered",
    root: str | os.PathLike[str] | None = None,
    batch_size: int = 128,
    n_train: int | None = None,
    n_test: int | None = None,
    canvas_size: int = 40,
    digit_size: int | None = None,
    scale_range: tuple[float, float] = (1.0, 1.0),
    test_scale_range: tuple[float, float] | None = None,
    clutter: int = 4,
    distractors: int = 1,
    cue_width: int = 2,
    seed: int = 0,
    num_workers: int | None = None,
    device_loader: bool | None = None,
) -> VisionData:
    """Build the train/test loaders of a vision chapter.

    Args:
        route: ``"offline"`` (cluttered digits) or ``"real"`` (``dataset`` from torchvision);
            usually ``ah.choose_data_route(profile=profile)``.
        profile: sets the default number of images (``n_train`` / ``n_test``): smoke
            512 / 256, reduced 8,000 / 2,000, full 50,000 / 10,000 (the real route's full
            profile uses the whole dataset).
        dataset: ``"cifar10"`` (170 MB download) or ``"stl10"`` (2.64 GB) for the real route.
        task: the offline images, ``"cluttered"`` (:func:`make_cluttered_digits`) or
            ``"cued"`` (:func:`make_cued_digits`, with ``distractors`` and ``cue_width``).
        root: folder the real datasets are downloaded to (default: ``ATTN_DATA_ROOT``, else ``data``).
        batch_size: images per batch (training drops the last incomplete batch).
        canvas_size, digit_size, scale_range, clutter: the offline images
            (see :func:`make_cluttered_digits`); ``test_scale_range`` defaults to ``scale_range``.
        distractors, cue_width: the cued task's knobs (see :func:`make_cued_digits`).
        seed: seed of the generated images, the subsets and the shuffling.
        num_workers: loader processes of the torchvision path (default 2 on CUDA, else 0).
        device_loader: on the real route, serve batches with a :class:`DeviceLoader` (images
            held as uint8 where the model trains, augmented there in batches, no worker
            processes) instead of a torchvision ``DataLoader``. Default: on when CUDA is
            available. Its training images live on the GPU (on the CPU without one); its test
            batches are made on the CPU, as the torchvision path gives them, because notebooks
            read them next to CPU tensors (plots, CPU-side accuracies).
    """
    route = check_choice("route", route, DATA_ROUTES)
    if not isinstance(profile, RunProfile):
        raise TypeError(f"profile must be a RunProfile (ah.get_profile()), got {type(profile).__name__}")
    dataset = check_choice("dataset", dataset, REAL_DATASETS)
    check_int("batch_size", batch_size, 1)
    n_train = n_train if n_train is not None else profile.pick(smoke=512, reduced=8000, full=50000)
    n_test = n_test if n_test is not None else profile.pick(smoke=256, reduced=2000, full=10000)
    if route == "offline":
        task = check_choice("task", task, OFFLINE_TASKS)

        def generate(n: int, source: str, scales: tuple[float, float]) -> ClutteredDigits:
            if task == "cued":
                return make_cued_digits(n, canvas_size=canvas_size, digit_size=digit_size or canvas_size // 3,
                                        distractors=distractors, cue_width=cue_width, scale_range=scales,
                                        source=source, seed=seed)
            return make_cluttered_digits(n, canvas_size=canvas_size, digit_size=digit_size, scale_range=scales,
                                         clutter=clutter, source=source, seed=seed)

        train_set = generate(n_train, "train", scale_range)
        test_set = generate(n_test, "test", test_scale_range or scale_range)
        return VisionData(
            train_loader=batch_loader(train_set, batch_size, shuffle=True, seed=seed, drop_last=len(train_set) > batch_size),
            test_loader=batch_loader(test_set, batch_size, shuffle=False),
            num_classes=10, image_size=canvas_size, channels=3, class_names=train_set.class_names,
            route=route, train_set=train_set, test_set=test_set,
            test_boxes=test_set.boxes, test_scales=test_set.scales,
            test_distractor_boxes=test_set.distractor_boxes if isinstance(test_set, CuedDigits) else None,
        )
    train_full, test_full, size = _real_sets(dataset, data_root() if root is None else root)
    full = profile.name == "full"
    train_set = _first(train_full, None if full and n_train >= 50000 else n_train, seed)
    test_set = _first(test_full, None if full and n_test >= 10000 else n_test, seed + 1)
    class_names = list(getattr(train_full, "classes", [str(c) for c in range(10)]))
    cuda = torch.cuda.is_available()
    common: dict[str, Any] = {"num_classes": len(class_names), "image_size": size, "channels": 3,
                              "class_names": class_names, "route": route, "train_set": train_set,
                              "test_set": test_set, "dataset": dataset}
    if (cuda if device_loader is None else device_loader):
        mean, std = _REAL_STATS[dataset]
        images, labels = dataset_tensors(train_set)
        train_loader = DeviceLoader(images, labels, batch_size=batch_size, mean=mean, std=std, shuffle=True,
                                    padding=size // 8, flip=True, drop_last=len(train_set) > batch_size,
                                    seed=seed, device="cuda" if cuda else "cpu")
        images, labels = dataset_tensors(test_set)
        test_loader = DeviceLoader(images, labels, batch_size=batch_size, mean=mean, std=std, device="cpu")
        return VisionData(train_loader=train_loader, test_loader=test_loader, **common)
    workers = (2 if cuda else 0) if num_workers is None else num_workers
    loader_kw: dict[str, Any] = {"num_workers": workers, "pin_memory": cuda, "persistent_workers": workers > 0}
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, generator=generator,
                              drop_last=len(train_set) > batch_size, **loader_kw)
    test_loader = DataLoader(test_set, batch_size=batch_size, shuffle=False, **loader_kw)
    return VisionData(train_loader=train_loader, test_loader=test_loader, **common)
