"""Time training steps of the book's models with the argument checks on and off.

    python benchmarks/bench_checks.py [--device cpu|cuda] [--repeats 15] [--steps 4] [--threads N]
                                      [--models SE BAM ...] [--control]

Every public call of ``attn_helpers`` checks its arguments (``attn_helpers/validation.py``).
This script measures what those checks cost where it would matter, in training, two ways:

* **A/B**: ``ah.fit`` runs one epoch of ``--steps`` identical batches, once with the
  package as it is (checks on) and once with every validator replaced by a stub that
  returns at once (checks off), in alternation (on/off, then off/on, ...) so a change in
  background load hits both alike. Printed: the median time per step of each and the
  paired difference (on - off) in percent of the step: its median over repeats, and its
  mean with a 95% t-interval (``ah.paired_difference``); one repeat disturbed by another
  process moves the mean and widens the interval, not the median.
* **Replay**: the check calls of one training step are recorded, then replayed alone in a
  loop. Printed: how many calls a step makes and what they take, in microseconds per
  step and in percent of the step. This bounds the cost without the timing noise of a
  whole step.
* **Control**: ``--control`` keeps the checks in both arms (an A/A comparison), so its
  "on - off" column shows how large a difference noise alone produces on this machine.

This is a benchmark, not a test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import pkgutil
import statistics
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import attn_helpers as ah
import attn_helpers.masking
import attn_helpers.scoring
import attn_helpers.training
import attn_helpers.validation as validation

# Each validator and a stand-in that does no checking but returns what callers use.
STUBS: dict[Callable[..., Any], Callable[..., Any]] = {
    validation.check_tensor: lambda name, value, **kw: value,
    validation.check_feature_map: lambda name, value, channels=None: value,
    validation.check_dtype: lambda *a, **kw: None,
    validation.check_batchnorm_batch: lambda *a, **kw: None,
    validation.check_positive: lambda *a, **kw: None,
    validation.check_in_range: lambda *a, **kw: None,
    validation.check_choice: lambda name, value, choices: value,
    validation.check_int: lambda name, value, low=None, high=None: int(value),
    validation.check_ints: lambda name, values, low=1, *, length=None: tuple(values),
    validation.check_device: lambda name, value, **kw: torch.device(value),
    validation.check_file_path: lambda name, value: Path(value),
    attn_helpers.scoring.check_qkv: lambda q, k, v, **kw: (q, k, v),
    attn_helpers.masking.check_mask: lambda name, mask, shape: mask,
    attn_helpers.training._check_loss: lambda loss: loss,
}


def _package_modules() -> list[Any]:
    return [importlib.import_module(info.name)
            for info in pkgutil.walk_packages(ah.__path__, prefix="attn_helpers.")]


@contextlib.contextmanager
def replaced(replacement: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Iterator[None]:
    """Rebind every validator, wherever a module imported it, to ``replacement(validator)``."""
    undo = []
    for module in _package_modules():
        for attr, value in list(vars(module).items()):
            if isinstance(value, types.FunctionType) and value in STUBS:
                undo.append((module, attr, value))
                setattr(module, attr, replacement(value))
    try:
        yield
    finally:
        for module, attr, value in undo:
            setattr(module, attr, value)


def models() -> dict[str, tuple[Callable[[], nn.Module], Callable[[int], tuple[torch.Tensor, torch.Tensor]]]]:
    """Name -> (builder, batch maker): the book's vision modules in its ResNet, and its Transformer."""
    def images(b: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randn(b, 3, 32, 32), torch.randint(0, 10, (b,))

    def tokens(b: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.randint(0, 16, (b, 32))
        return x, x.flip(1)

    def resnet(**kwargs: Any) -> Callable[[], nn.Module]:
        return lambda: ah.ResNetCifar(10, widths=(16, 32, 64), **kwargs)

    return {
        "ResNetCifar + SE": (resnet(block_attention=ah.SqueezeExcite), images),
        "ResNetCifar + CBAM": (resnet(block_attention=ah.CBAM), images),
        "ResNetCifar + ECA": (resnet(block_attention=ah.EfficientChannelAttention), images),
        "ResNetCifar + BAM": (resnet(stage_attention=ah.BAM), images),
        "ResNetCifar + SK": (resnet(block_conv=lambda i, o, stride=1: ah.SelectiveKernel(
            i, o, stride=stride, groups=8, min_channels=16)), images),
        "LTPAVGG": (lambda: ah.LTPAVGG(10, widths=(16, 32, 64, 64)), images),
        "TransformerEncoder": (lambda: ah.TransformerEncoder(
            16, 16, num_hiddens=64, num_heads=4, num_layers=2, ffn_hiddens=128, dropout=0.0), tokens),
    }


def loss_for(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(outputs.flatten(0, -2), targets.flatten())


def epoch_time(model: nn.Module, optimizer: torch.optim.Optimizer, batches: list[Any], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    ah.fit(model, batches, loss_fn=loss_for, optimizer=optimizer, epochs=1, device=device, progress=False)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def record_step(model: nn.Module, optimizer: torch.optim.Optimizer, batch: Any,
                device: torch.device) -> list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]]:
    """The check calls one training step makes, with their arguments."""
    calls: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
    depth = [0]

    def recording(check: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # Only outermost calls: check_qkv's own check_tensor calls are part of its replay.
            if depth[0] == 0:
                calls.append((check, args, kwargs))
            depth[0] += 1
            try:
                return check(*args, **kwargs)
            finally:
                depth[0] -= 1
        return wrapper

    ah.fit(model, [batch], loss_fn=loss_for, optimizer=optimizer, epochs=1, device=device, progress=False)
    with replaced(recording):
        calls.clear()
        ah.fit(model, [batch], loss_fn=loss_for, optimizer=optimizer, epochs=1, device=device, progress=False)
    # fit's own argument checks run once per call of fit, not per step: keep those of the step.
    step_checks = {validation.check_tensor, validation.check_feature_map, validation.check_dtype,
                   validation.check_batchnorm_batch, attn_helpers.scoring.check_qkv,
                   attn_helpers.masking.check_mask, attn_helpers.training._check_loss}
    return [c for c in calls if c[0] in step_checks]


def replay_seconds(calls: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]], loops: int = 2000) -> float:
    """Median over 5 rounds of the time one step's checks take, replayed alone."""
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(loops):
            for check, args, kwargs in calls:
                check(*args, **kwargs)
        rounds.append((time.perf_counter() - start) / loops)
    return statistics.median(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--steps", type=int, default=4, help="training steps per timed epoch")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--models", nargs="*", default=None, help="names (substrings) of the models to time")
    parser.add_argument("--control", action="store_true",
                        help="A/A control: the 'off' arm keeps the checks too, so on - off is pure noise")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"torch {torch.__version__} | device {device} | threads {torch.get_num_threads()} | float32 | "
          f"batch {args.batch_size} | {args.steps} steps an epoch | {args.repeats} paired repeats"
          + (" | A/A CONTROL: checks on in both arms" if args.control else ""))
    header = (f"{'model':<21}{'on ms/step':>11}{'off ms/step':>12}{'on - off: median %':>20}"
              f"{'mean % [95% CI]':>26}{'checks/step':>12}{'replay us/step':>15}{'replay %':>9}")
    print(header)
    print("-" * len(header))
    for name, (build, make_batch) in models().items():
        if args.models and not any(wanted in name for wanted in args.models):
            continue
        torch.manual_seed(0)
        model = build().to(device)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        batches = [make_batch(args.batch_size)] * args.steps
        epoch_time(model, optimizer, batches, device)  # warm-up: allocations, kernels chosen
        on, off = [], []
        for r in range(args.repeats):
            for checks_on in ((True, False) if r % 2 == 0 else (False, True)):
                if checks_on:
                    on.append(epoch_time(model, optimizer, batches, device) / args.steps)
                else:
                    stub = (lambda check: check) if args.control else (lambda check: STUBS[check])
                    with replaced(stub):
                        off.append(epoch_time(model, optimizer, batches, device) / args.steps)
        baseline = statistics.median(off)
        diff = ah.paired_difference([t / baseline for t in on], [t / baseline for t in off], scale=100.0)
        calls = record_step(model, optimizer, batches[0], device)
        replay = replay_seconds(calls)
        print(f"{name:<21}{statistics.median(on) * 1e3:>11.2f}{baseline * 1e3:>12.2f}"
              f"{statistics.median(diff.differences):>+20.2f}"
              f"{f'{diff.mean:+.2f} [{diff.low:+.2f}, {diff.high:+.2f}]':>26}"
              f"{len(calls):>12}{replay * 1e6:>15.1f}{100 * replay / baseline:>8.2f}%")


if __name__ == "__main__":
    main()
