"""Time forward + backward of this book's attention modules against PyTorch's.

    python benchmarks/bench_attention.py [--device cpu|cuda] [--repeats 20] [--threads N]

Compares, on the same shapes and dtype (float32), in one run:

* ``ah.MultiHeadAttention`` (``need_weights=False``) vs ``torch.nn.MultiheadAttention``
  (``need_weights=False``, ``batch_first=True``), self-attention;
* ``ah.DotProductAttention`` (fast path) vs ``torch.nn.functional.scaled_dot_product_attention``.

Prints the median time of each and the speed ratio ``torch_time / our_time`` (>= 1.0 means
ours is at least as fast). This is a benchmark, not a test: numbers depend on the machine
and its load.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

import attn_helpers as ah

SHAPES = [  # (B, L, E, H)
    (32, 128, 256, 8),
    (16, 64, 128, 4),
]


def median_time(step: Callable[[], None], repeats: int, device: torch.device) -> float:
    for _ in range(2):  # warm-up
        step()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved(steps: dict[str, Callable[[], None]], repeats: int, device: torch.device) -> dict[str, float]:
    """Median times, measuring the candidates in alternation so load changes hit all alike."""
    results: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            results[name].append(median_time(step, 1, device))
    return {name: statistics.median(t) for name, t in results.items()}


def fwd_bwd(fn: Callable[[], torch.Tensor], params: list[torch.Tensor]) -> Callable[[], None]:
    def step() -> None:
        for p in params:
            p.grad = None
        fn().sum().backward()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"torch {torch.__version__} | device {device} | threads {torch.get_num_threads()} | "
          f"float32 | forward+backward | median of {args.repeats}")
    header = f"{'shape (B, L, E, H)':<22}{'comparison':<44}{'ours ms':>9}{'torch ms':>10}{'speed':>8}"
    print(header)
    print("-" * len(header))
    for B, L, E, H in SHAPES:
        torch.manual_seed(0)
        ours = ah.MultiHeadAttention(E, H).to(device)
        theirs = ours.to_torch()
        x = torch.randn(B, L, E, device=device, requires_grad=True)
        q, k, v = (torch.randn(B, H, L, E // H, device=device, requires_grad=True) for _ in range(3))
        dot = ah.DotProductAttention()
        rows = {
            "MultiHeadAttention vs nn.MultiheadAttention": (
                fwd_bwd(lambda: ours(x, x, x)[0], [x, *ours.parameters()]),
                fwd_bwd(lambda: theirs(x, x, x, need_weights=False)[0], [x, *theirs.parameters()]),
            ),
            "DotProductAttention vs F.sdpa": (
                fwd_bwd(lambda: dot(q, k, v)[0], [q, k, v]),
                fwd_bwd(lambda: F.scaled_dot_product_attention(q, k, v), [q, k, v]),
            ),
        }
        for name, (our_step, torch_step) in rows.items():
            t = interleaved({"ours": our_step, "torch": torch_step}, args.repeats, device)
            print(f"{str((B, L, E, H)):<22}{name:<44}{t['ours'] * 1e3:>9.2f}{t['torch'] * 1e3:>10.2f}"
                  f"{t['torch'] / t['ours']:>7.2f}x")


if __name__ == "__main__":
    main()
