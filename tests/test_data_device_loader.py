"""Tests of attn_helpers.data.device_loader: batches augmented where the images live."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import Subset
from torchvision.transforms import functional as TF

from attn_helpers.data.device_loader import DeviceLoader, crop_flip, dataset_tensors
from attn_helpers.training import _loader_generators

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _images(n: int = 6, size: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def _torchvision(image: torch.Tensor, top: int, left: int, flip: bool, padding: int) -> torch.Tensor:
    """torchvision's RandomCrop(reflect) -> RandomHorizontalFlip -> ToTensor -> Normalize, offsets given."""
    pil = Image.fromarray(image.permute(1, 2, 0).numpy())
    size = image.shape[-1]
    pil = TF.crop(TF.pad(pil, padding, padding_mode="reflect"), top, left, size, size)
    if flip:
        pil = TF.hflip(pil)
    return TF.normalize(TF.to_tensor(pil), MEAN, STD)


@pytest.mark.parametrize("device", DEVICES)
def test_crop_flip_and_normalise_match_torchvision_on_the_same_crop(device: str) -> None:
    images, padding = _images(), 4
    # Corners, centre and in-between offsets, with and without a flip.
    tops = torch.tensor([0, 8, 4, 1, 7, 3])
    lefts = torch.tensor([0, 8, 4, 6, 2, 8])
    flips = torch.tensor([False, True, False, True, True, False])
    loader = DeviceLoader(images, torch.zeros(6, dtype=torch.long), batch_size=6, mean=MEAN, std=STD, device=device)
    ours = loader.normalize(crop_flip(images.to(device), tops, lefts, flips, padding)).cpu()
    for i in range(6):
        expected = _torchvision(images[i], int(tops[i]), int(lefts[i]), bool(flips[i]), padding)
        torch.testing.assert_close(ours[i], expected, rtol=0, atol=1e-6)


def test_crop_flip_without_padding_or_flip_is_the_identity() -> None:
    images = _images(3, 8)
    zeros = torch.zeros(3, dtype=torch.long)
    assert torch.equal(crop_flip(images, zeros, zeros, zeros.bool(), 0), images)
    assert torch.equal(crop_flip(images, zeros, zeros, torch.ones(3, dtype=torch.bool), 0), images.flip(-1))


@pytest.mark.parametrize("device", DEVICES)
def test_batches_have_dataloader_shapes_dtypes_and_count(device: str) -> None:
    images, labels = _images(10, 16), torch.arange(10)
    loader = DeviceLoader(images, labels, batch_size=4, mean=MEAN, std=STD, shuffle=True, padding=2, flip=True,
                          device=device)
    batches = list(loader)
    assert len(loader) == len(batches) == 3 and [y.shape[0] for _, y in batches] == [4, 4, 2]
    x, y = batches[0]
    assert x.shape == (4, 3, 16, 16) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.device.type == y.device.type == device
    assert sorted(torch.cat([y for _, y in batches]).tolist()) == list(range(10))  # each image once
    dropping = DeviceLoader(images, labels, batch_size=4, mean=MEAN, std=STD, drop_last=True, device=device)
    assert len(dropping) == 2 and [y.shape[0] for _, y in dropping] == [4, 4]
    assert len(dropping.dataset) == 10


def test_unshuffled_unaugmented_batches_keep_the_stored_order() -> None:
    images, labels = _images(5, 8), torch.tensor([3, 1, 4, 1, 5])
    loader = DeviceLoader(images, labels, batch_size=2, mean=MEAN, std=STD)
    x = torch.cat([x for x, _ in loader])
    assert torch.cat([y for _, y in loader]).tolist() == [3, 1, 4, 1, 5]
    torch.testing.assert_close(x, loader.normalize(images))


def _epochs(loader: DeviceLoader, n: int) -> list[torch.Tensor]:
    return [torch.cat([x for x, _ in loader]) for _ in range(n)]


def test_same_seed_same_batches_and_reseeding_replays_them() -> None:
    images, labels = _images(12, 16), torch.arange(12)
    kwargs = {"batch_size": 5, "mean": MEAN, "std": STD, "shuffle": True, "padding": 2, "flip": True}
    a, b = DeviceLoader(images, labels, seed=3, **kwargs), DeviceLoader(images, labels, seed=3, **kwargs)
    first, second = _epochs(a, 2), _epochs(b, 2)
    assert all(torch.equal(p, q) for p, q in zip(first, second))
    assert not torch.equal(first[0], first[1])  # a new order and new crops each epoch
    assert not torch.equal(first[0], _epochs(DeviceLoader(images, labels, seed=4, **kwargs), 1)[0])
    # train_and_evaluate re-seeds the generators fit finds, so every paired run sees epoch 1 again.
    assert _loader_generators(a) == [a.generator]
    a.generator.manual_seed(3)
    assert torch.equal(_epochs(a, 1)[0], first[0])


def test_a_partly_consumed_epoch_leaves_the_generator_where_a_full_one_does() -> None:
    images, labels = _images(12, 16), torch.arange(12)
    kwargs = {"batch_size": 4, "mean": MEAN, "std": STD, "shuffle": True, "padding": 2, "flip": True}
    full, partial = DeviceLoader(images, labels, **kwargs), DeviceLoader(images, labels, **kwargs)
    list(full)
    next(iter(partial))
    assert torch.equal(full.generator.get_state(), partial.generator.get_state())


def test_crop_offsets_and_flips_are_uniform() -> None:
    # Channel 0 holds 7 * row, channel 1 holds 7 * column: every output pixel names its source.
    n, size, padding = 2000, 32, 4
    grid = 7 * torch.arange(size, dtype=torch.uint8)
    images = torch.stack([grid[:, None].expand(size, size), grid[None, :].expand(size, size),
                          torch.zeros(size, size, dtype=torch.uint8)])[None].expand(n, 3, size, size).contiguous()
    loader = DeviceLoader(images, torch.zeros(n, dtype=torch.long), batch_size=500, mean=(0, 0, 0), std=(1, 1, 1),
                          shuffle=True, padding=padding, flip=True, seed=0)
    x = torch.cat([x for x, _ in loader]).mul(255).round().long() // 7  # (n, 3, H, W) source indices
    flipped = x[:, 1, padding, padding + 1] < x[:, 1, padding, padding]  # columns run backwards
    # Output row `padding` reads source row `top`; the column at `padding` (or its mirror) reads `left`.
    tops = x[:, 0, padding, 0]
    lefts = torch.where(flipped, x[:, 1, 0, size - 1 - padding], x[:, 1, 0, padding])
    assert abs(flipped.float().mean().item() - 0.5) < 4 * math.sqrt(0.25 / n)  # within 4 binomial sd
    for offsets in (tops, lefts):
        counts = torch.bincount(offsets, minlength=2 * padding + 1)
        assert counts.shape[0] == 2 * padding + 1 and (counts > 0).all()
        expected = n / (2 * padding + 1)
        chi2 = ((counts - expected) ** 2 / expected).sum().item()
        assert chi2 < 26.1, counts.tolist()  # the 0.999 quantile of chi-square with 8 dof
    assert abs(np.corrcoef(tops.numpy(), lefts.numpy())[0, 1]) < 0.1  # drawn independently


def test_dataset_tensors_reads_both_layouts_and_subsets() -> None:
    class HWC:  # CIFAR10 keeps (N, H, W, C) and a list of targets
        data = np.arange(4 * 2 * 2 * 3, dtype=np.uint8).reshape(4, 2, 2, 3)
        targets = [0, 1, 2, 3]

    class CHW:  # STL10 keeps (N, C, H, W) and an array of labels
        data = np.arange(4 * 3 * 2 * 2, dtype=np.uint8).reshape(4, 3, 2, 2)
        labels = np.array([5, 6, 7, 8])

    images, labels = dataset_tensors(Subset(HWC(), [2, 0]))
    assert images.shape == (2, 3, 2, 2) and labels.tolist() == [2, 0]
    assert torch.equal(images[0], torch.from_numpy(HWC.data[2]).permute(2, 0, 1))
    images, labels = dataset_tensors(Subset(Subset(CHW(), [3, 1, 2]), [2, 0]))
    assert labels.tolist() == [7, 8] and torch.equal(images[1], torch.from_numpy(CHW.data[3]))
    with pytest.raises(TypeError, match="dataset must keep its images"):
        dataset_tensors(torch.utils.data.TensorDataset(torch.zeros(2, 3)))


def test_bad_input_names_the_argument() -> None:
    images, labels = _images(4, 8), torch.arange(4)
    with pytest.raises(TypeError, match="images must be uint8"):
        DeviceLoader(images.float(), labels, batch_size=2, mean=MEAN, std=STD)
    with pytest.raises(ValueError, match="labels must have shape"):
        DeviceLoader(images, labels[:3], batch_size=2, mean=MEAN, std=STD)
    with pytest.raises(ValueError, match="batch_size"):
        DeviceLoader(images, labels, batch_size=0, mean=MEAN, std=STD)
    with pytest.raises(ValueError, match="mean and std"):
        DeviceLoader(images, labels, batch_size=2, mean=(0.5,), std=STD)
    with pytest.raises(ValueError, match="padding"):
        DeviceLoader(images, labels, batch_size=2, mean=MEAN, std=STD, padding=8)
    with pytest.raises(ValueError, match="padding"):
        crop_flip(images, labels, labels, labels.bool(), -1)
    with pytest.raises(ValueError, match="tops must have shape"):
        crop_flip(images, labels[:2], labels, labels.bool(), 1)
