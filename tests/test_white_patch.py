"""The white-patch images of the case study (attn_helpers/data/white_patch.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import attn_helpers as ah
from attn_helpers.data import white_patch
from attn_helpers.data.white_patch import WhitePatchImages, make_white_patch_images


def test_offline_images_labels_and_boxes() -> None:
    data = make_white_patch_images(64, image_size=24, patch_size=6, seed=3)
    assert data.images.shape == (64, 3, 24, 24) and data.images.dtype == torch.uint8
    assert 0.2 < data.labels.float().mean().item() < 0.8 and data.labels.dtype == torch.int64
    for i in range(64):
        image, label = data[i]
        assert image.shape == (3, 24, 24) and -1.0 <= image.min() and image.max() <= 1.0
        x0, y0, x1, y1 = data.boxes[i].int().tolist()
        if label:
            assert (x1 - x0, y1 - y0) == (6, 6)
            assert torch.all(image[:, y0:y1, x0:x1] == (255 - 128) / 128)
        else:
            assert data.boxes[i].tolist() == [-1, -1, -1, -1]
    batch, labels = data[torch.arange(5)]
    assert batch.shape == (5, 3, 24, 24) and torch.equal(labels, data.labels[:5])
    assert torch.equal(data.has_patch, data.labels == 1)


def test_deterministic_and_train_test_differ() -> None:
    a = make_white_patch_images(8, image_size=16, patch_size=4, seed=1)
    b = make_white_patch_images(8, image_size=16, patch_size=4, seed=1)
    c = make_white_patch_images(8, image_size=16, patch_size=4, seed=1, source="test")
    assert torch.equal(a.images, b.images) and torch.equal(a.boxes, b.boxes)
    assert not torch.equal(a.images, c.images)


def test_batch_loader_serves_it() -> None:
    data = make_white_patch_images(10, image_size=16, patch_size=4)
    loader = ah.batch_loader(data, 4, shuffle=False)
    x, y = next(iter(loader))
    assert x.shape == (4, 3, 16, 16) and y.dtype == torch.int64  # class indices, as CrossEntropyLoss wants


def test_stl10_route_uses_given_images(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeSTL:
        def __init__(self, value: int) -> None:
            self.data = np.full((12, 3, 96, 96), value, dtype=np.uint8)

        def __len__(self) -> int:
            return 12

    splits = {"train": FakeSTL(7), "test": FakeSTL(9)}
    monkeypatch.setattr(white_patch, "fetch_torchvision_dataset", lambda *a, split, **k: splits[split])
    train, val, test = white_patch.white_patch_stl10("unused", n_train=8, n_val=5, n_test=4)
    assert isinstance(train, WhitePatchImages) and (len(train), len(val), len(test)) == (8, 5, 4)
    patched = train.has_patch
    assert (train.images[~patched] == 7).all() and (val.images[~val.has_patch] == 9).all()
    assert ((train.images == 255).flatten(1).sum(1)[patched] == 3 * 16 * 16).all()
    with pytest.raises(ValueError, match="n_train"):
        white_patch.white_patch_stl10("unused", n_train=10, n_test=4)
    with pytest.raises(ValueError, match="n_val"):
        white_patch.white_patch_stl10("unused", n_train=8, n_val=13, n_test=4)


def test_article_rule_repeats_labels_and_positions_in_every_batch() -> None:
    # The original batch function re-seeds with the index inside the batch: every batch of
    # 8 gets the same labels and boxes, and a test set built the same way gets them too.
    a = make_white_patch_images(40, image_size=24, patch_size=4, seed=0, article_batch_size=8)
    b = make_white_patch_images(16, image_size=24, patch_size=4, seed=5, source="test", article_batch_size=8)
    fresh = make_white_patch_images(40, image_size=24, patch_size=4, seed=0)
    for k in range(1, 5):
        assert torch.equal(a.labels[8 * k:8 * k + 8], a.labels[:8]) and torch.equal(a.boxes[8 * k:8 * k + 8], a.boxes[:8])
    assert torch.equal(b.boxes[:8], a.boxes[:8])
    # the same draws written out for index 0 of a batch: seed 10, a label, then row, column
    draws = np.random.RandomState(10)
    label = draws.randint(2)
    assert a.labels[0].item() == label
    if label:
        row, col = draws.randint(24 - 4), draws.randint(24 - 4)
        assert a.boxes[0].tolist() == [col, row, col + 4, row + 4]
    assert len({tuple(box) for box in a.boxes[a.has_patch].tolist()}) <= 8
    # backgrounds are the same crops as with the default rule
    no_patch_either = ~a.has_patch & ~fresh.has_patch
    assert torch.equal(a.images[no_patch_either], fresh.images[no_patch_either])


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(ValueError, match="n must"):
        make_white_patch_images(0)
    with pytest.raises(ValueError, match="patch_size"):
        make_white_patch_images(4, image_size=16, patch_size=16)
    with pytest.raises(ValueError, match="image_size"):
        make_white_patch_images(4, image_size=4)
    with pytest.raises(ValueError, match="source"):
        make_white_patch_images(4, source="val")
    with pytest.raises(ValueError, match="article_batch_size"):
        make_white_patch_images(4, article_batch_size=0)
