"""Measured cost: wall-clock time of one training step's forward and backward pass."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence

import torch
from torch import nn

from ..device import autocast_dtype
from ..validation import check_device, check_int, check_ints

__all__ = ["time_forward_backward"]


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_forward_backward(
    model: nn.Module,
    input_shape: Sequence[int],
    *,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    repeats: int = 10,
    warmup: int = 3,
    channels_last: bool = True,
) -> float:
    """Median seconds of ``model(x).sum().backward()`` on a random batch, in train mode.

    Args:
        model: the network (moved to ``device``; left there in train mode).
        input_shape: one input's shape, e.g. ``(3, 32, 32)``.
        batch_size: images per timed step.
        repeats: timed steps; the median is returned (robust to a stray slow step).
        warmup: untimed steps first (allocator, cuDNN autotuning, lazy init).
        channels_last: use the channels-last memory format for 4-D inputs, the layout
            :func:`attn_helpers.train_and_evaluate` trains in (on CPU as well as CUDA).

    On CUDA the step runs under the autocast dtype ``ah.fit`` trains with
    (:func:`attn_helpers.autocast_dtype`: bf16 on compute capability 8+, else fp16), and the device is
    synchronised around every timed step.
    """
    check_int("batch_size", batch_size, 1)
    check_int("repeats", repeats, 1)
    check_int("warmup", warmup, 0)
    shape = check_ints("input_shape", input_shape, 1)
    device = check_device("device", device)
    model.to(device).train()
    x = torch.randn(batch_size, *shape, device=device)
    if channels_last and x.dim() == 4:
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    dtype = autocast_dtype(device)  # the precision ah.fit trains in on this device
    times = []
    for step in range(warmup + repeats):
        model.zero_grad(set_to_none=True)
        _synchronize(device)
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            out = model(x)
        out.float().sum().backward()
        _synchronize(device)
        if step >= warmup:
            times.append(time.perf_counter() - start)
    model.zero_grad(set_to_none=True)
    return statistics.median(times)
