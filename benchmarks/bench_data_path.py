"""Images per second of the real route's two data paths: torchvision's DataLoader and the DeviceLoader.

    python benchmarks/bench_data_path.py [--images 10000] [--batch-size 128] [--workers 0 2] [--repeats 3]
                                         [--root data]

Both paths make the same training batches (float32, normalised, random crop with 4 pixels of
reflect padding and a horizontal flip, CIFAR-10's 32x32 images) and are timed over whole
epochs, in alternation, in one run:

* ``torchvision``: ``DataLoader`` over a dataset that does what ``torchvision.datasets.CIFAR10``
  does per image (``PIL.Image.fromarray`` of the stored uint8 array, then the transform
  ``RandomCrop -> RandomHorizontalFlip -> ToTensor -> Normalize``), with 0 and 2 worker
  processes; on CUDA each batch is then copied to the GPU, as ``fit`` does;
* ``device``: :class:`attn_helpers.DeviceLoader` with the images on the CPU, and on the GPU
  when there is one.

The images are CIFAR-10's when ``--root`` holds ``cifar-10-batches-py`` (the throughput does not
depend on their content), else random uint8 images of the same shape. Prints the median img/s
of each path and the ratio to the torchvision path without workers. A benchmark, not a test:
the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

import attn_helpers as ah

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


class PerImageCifar(Dataset):
    """What ``torchvision.datasets.CIFAR10.__getitem__`` does, over arrays already in memory."""

    def __init__(self, data: np.ndarray, targets: list[int], transform: Callable) -> None:
        self.data, self.targets, self.transform = data, targets, transform  # data: (N, H, W, C) uint8

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(Image.fromarray(self.data[index])), self.targets[index]


def load_images(root: Path, n: int) -> tuple[np.ndarray, list[int], str]:
    if (root / "cifar-10-batches-py").is_dir():
        import torchvision

        cifar = torchvision.datasets.CIFAR10(str(root), train=True)
        return cifar.data[:n], list(cifar.targets[:n]), "CIFAR-10 training images"
    rng = np.random.default_rng(0)
    return (rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n).tolist(),
            "random uint8 images of CIFAR-10's shape (no CIFAR-10 under --root)")


def epoch_seconds(batches: Callable[[], Iterable], device: torch.device) -> float:
    start = time.perf_counter()
    for x, y in batches():
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--root", type=Path, default=Path("data"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from torchvision import transforms as T

    data, targets, source = load_images(args.root, args.images)
    n = len(data)
    cuda = torch.cuda.is_available()
    target = torch.device("cuda" if cuda else "cpu")
    transform = T.Compose([T.RandomCrop(32, padding=4, padding_mode="reflect"), T.RandomHorizontalFlip(),
                           T.ToTensor(), T.Normalize(MEAN, STD)])
    dataset = PerImageCifar(data, targets, transform)
    images = torch.from_numpy(data).permute(0, 3, 1, 2).contiguous()  # (N, 3, 32, 32) uint8
    labels = torch.tensor(targets)

    paths: dict[str, Callable[[], Iterable]] = {}
    loaders = {}
    for workers in args.workers:
        loaders[workers] = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, drop_last=True,
                                      num_workers=workers, pin_memory=cuda, persistent_workers=workers > 0,
                                      generator=torch.Generator().manual_seed(0))
        paths[f"torchvision DataLoader, {workers} workers"] = lambda w=workers: loaders[w]
    for where in ["cpu"] + (["cuda"] if cuda else []):
        device_loader = ah.DeviceLoader(images, labels, batch_size=args.batch_size, mean=MEAN, std=STD, shuffle=True,
                                        padding=4, flip=True, drop_last=True, device=where)
        paths[f"DeviceLoader on {where}"] = lambda d=device_loader: d

    for make in paths.values():  # warm-up: worker start-up, allocator, first-call costs
        epoch_seconds(make, target)
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(args.repeats):
        for name, make in paths.items():
            times[name].append(epoch_seconds(make, target))

    used = n // args.batch_size * args.batch_size
    print(f"{used} {source} per epoch, batch {args.batch_size}, batches delivered to {target}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeats} epochs")
    base = None
    print("| path | img/s | × torchvision, 0 workers |")
    print("|---|---|---|")
    for name, values in times.items():
        rate = used / statistics.median(values)
        base = base if base is not None or "0 workers" not in name else rate
        ratio = f"{rate / base:.1f}" if base else "—"
        print(f"| {name} | {rate:,.0f} | {ratio} |")


if __name__ == "__main__":
    main()
