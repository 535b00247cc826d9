"""Tiny CIFAR-10 and STL-10 trees in torchvision's on-disk format, for tests of the real route.

The files are what torchvision's readers parse (read in ``torchvision/datasets/cifar.py`` and
``stl10.py``):

* CIFAR-10, ``cifar-10-batches-py/``: ``data_batch_1`` .. ``data_batch_5`` and ``test_batch``,
  pickled dicts with ``data`` (N, 3072) uint8 (the R, G, B planes of a 32x32 image, row-major)
  and ``labels``; ``batches.meta`` with ``label_names``.
* STL-10, ``stl10_binary/``: ``train_X.bin`` / ``test_X.bin`` (raw uint8, each image (3, 96, 96)
  stored column-major), ``train_y.bin`` / ``test_y.bin`` (labels 1..10), ``unlabeled_X.bin``,
  ``class_names.txt``.

torchvision also compares every file's MD5 with the real dataset's (``_check_integrity``),
with ``download=True`` too, before it would download. Fake files cannot have those MD5s, so
the writers return the class attributes that name the fake files' own MD5s
(``train_list``, ``test_list`` and CIFAR's ``meta``); a test sets them on the class. The
integrity check still runs unchanged, and still fails on a missing or altered file; the
parsing, transforms and loaders are torchvision's and the package's own.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Any

import numpy as np

CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def fake_images(n: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3, size, size) uint8 images whose brightness depends on the label, and (n,) labels 0..9."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    noise = rng.integers(0, 128, size=(n, 3, size, size))
    images = (noise + 12 * labels[:, None, None, None]).astype(np.uint8)
    return images, labels


def write_fake_cifar10(root: str | Path, n_train: int = 250, n_test: int = 100, seed: int = 0) -> dict[str, Any]:
    """Write ``root/cifar-10-batches-py``; return the CIFAR10 class attributes naming its MD5s."""
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    train_images, train_labels = fake_images(n_train, 32, seed)
    test_images, test_labels = fake_images(n_test, 32, seed + 1)
    train_list = []
    for k, part in enumerate(np.array_split(np.arange(n_train), 5), start=1):
        name = f"data_batch_{k}"
        entry = {"batch_label": f"training batch {k} of 5", "labels": train_labels[part].tolist(),
                 "data": train_images[part].reshape(len(part), 3072), "filenames": [f"{i}.png" for i in part]}
        (folder / name).write_bytes(pickle.dumps(entry))
        train_list.append([name, _md5(folder / name)])
    entry = {"batch_label": "testing batch 1 of 1", "labels": test_labels.tolist(),
             "data": test_images.reshape(n_test, 3072), "filenames": [f"{i}.png" for i in range(n_test)]}
    (folder / "test_batch").write_bytes(pickle.dumps(entry))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": CLASS_NAMES, "num_vis": 3072}))
    return {"train_list": train_list, "test_list": [["test_batch", _md5(folder / "test_batch")]],
            "meta": {"filename": "batches.meta", "key": "label_names", "md5": _md5(folder / "batches.meta")}}


def write_fake_stl10(root: str | Path, n_train: int = 60, n_test: int = 40, seed: int = 0) -> dict[str, Any]:
    """Write ``root/stl10_binary``; return the STL10 class attributes naming its MD5s."""
    folder = Path(root) / "stl10_binary"
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for split, n, offset in (("train", n_train, 0), ("test", n_test, 1)):
        images, labels = fake_images(n, 96, seed + offset)
        (folder / f"{split}_X.bin").write_bytes(np.ascontiguousarray(images.transpose(0, 1, 3, 2)).tobytes())
        (folder / f"{split}_y.bin").write_bytes((labels + 1).astype(np.uint8).tobytes())
    unlabeled, _ = fake_images(2, 96, seed + 2)
    (folder / "unlabeled_X.bin").write_bytes(np.ascontiguousarray(unlabeled.transpose(0, 1, 3, 2)).tobytes())
    (folder / "class_names.txt").write_text("\n".join(CLASS_NAMES) + "\n")
    for name in ("train_X.bin", "train_y.bin", "unlabeled_X.bin", "test_X.bin", "test_y.bin"):
        files[name] = _md5(folder / name)
    return {"train_list": [[n, files[n]] for n in ("train_X.bin", "train_y.bin", "unlabeled_X.bin")],
            "test_list": [[n, files[n]] for n in ("test_X.bin", "test_y.bin")]}


def attribute_code(class_name: str, attributes: dict[str, Any]) -> str:
    """Python source that sets ``attributes`` on ``torchvision.datasets.<class_name>`` (for a kernel)."""
    lines = ["import torchvision.datasets"]
    lines += [f"torchvision.datasets.{class_name}.{key} = {value!r}" for key, value in attributes.items()]
    return "\n".join(lines)
