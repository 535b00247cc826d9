"""Comparing vision models fairly: size, cost, and accuracy under a fixed training budget.

* :func:`count_parameters` and :func:`count_flops` (forward FLOPs of one image, counted
  by PyTorch's own ``torch.utils.flop_counter.FlopCounterMode``);
* :func:`train_and_evaluate` trains a model with the same recipe for every variant
  (SGD with Nesterov momentum and a one-cycle schedule, the same batch order) through
  :func:`attn_helpers.fit` and returns a :class:`ResultRow`;
* :func:`results_table` prints rows as a Markdown table.

``FlopCounterMode`` counts matrix multiplications and convolutions (one multiply-add =
2 FLOPs); element-wise work such as pooling, gating and activations is not counted.
For attention modules that is most of their *time* but little of their arithmetic.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ..seed import seed_everything
from ..training import History, _loader_generators, accuracy, evaluate, fit
from ..validation import check_choice, check_int, check_ints, check_positive
from ..data.vision import VisionData

__all__ = ["ResultRow", "count_parameters", "count_flops", "train_and_evaluate", "train_paired", "results_table"]

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("onecycle", "constant")


def count_parameters(model: nn.Module, *, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of ``model``."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_flops(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Forward FLOPs of ``model`` on one input of shape ``input_shape`` = (C, H, W).

    Runs one forward pass in eval mode without gradients (BatchNorm statistics are
    untouched) on the model's device, under ``FlopCounterMode``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    shape = check_ints("input_shape", input_shape, 1, length=3)  # (C, H, W)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros((1, *shape), device=device, dtype=dtype))
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())


@dataclass
class ResultRow:
    """One trained model: test accuracy, size, cost, training time and where it ran."""

    name: str
    accuracy: float
    params: int
    flops: int
    train_seconds: float
    device: str
    history: History | None = field(default=None, repr=False, compare=False)


def _make_optimizer(model: nn.Module, name: str, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    # No weight decay on BatchNorm scales/shifts and biases (1-D parameters).
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() <= 1]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True)
    return torch.optim.AdamW(groups, lr=lr)


def train_and_evaluate(
    name: str,
    model: nn.Module,
    data: VisionData,
    *,
    epochs: int,
    lr: float,
    device: torch.device | str,
    weight_decay: float = 5e-4,
    optimizer: str = "sgd",
    seed: int = 0,
    progress: bool = True,
    checkpoint_path: str | os.PathLike[str] | None = None,
    schedule: str = "onecycle",
    val_loader: Iterable[Any] | None = None,
    on_epoch_end: Callable[[int, History], None] | None = None,
) -> ResultRow:
    """Train ``model`` on ``data`` under a fixed budget and return its :class:`ResultRow`.

    The recipe is the same for every model so rows are comparable: ``optimizer``
    (``"sgd"``: Nesterov momentum 0.9; ``"adamw"``) with a one-cycle schedule peaking at
    ``lr``, weight decay on weights only, ``epochs`` passes, channels-last memory format
    and (on CUDA) mixed precision. The training batches come in the same order for every
    call with the same ``seed``. ``train_seconds`` is the wall time of the training
    loop (CUDA is synchronised once at the end, never per step); for a run resumed from
    ``checkpoint_path`` (see :func:`attn_helpers.fit`) it counts only this session's part.
    ``schedule="constant"`` keeps the learning rate at ``lr`` (a recipe being reproduced
    as published); ``val_loader`` is evaluated after every epoch (loss and accuracy in the
    row's ``history``), never the test set, which is evaluated once at the end.
    ``on_epoch_end`` is passed to :func:`attn_helpers.fit`.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if not isinstance(data, VisionData):
        raise TypeError(f"data must be a VisionData (ah.vision_data(...)), got {type(data).__name__}")
    check_int("epochs", epochs, 1)
    check_positive("lr", lr)
    check_positive("weight_decay", weight_decay, allow_zero=True)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_choice("schedule", schedule, SCHEDULES)
    device = torch.device(device)
    params, flops = count_parameters(model), count_flops(model, data.input_shape)
    seed_everything(seed)
    for generator in _loader_generators(data.train_loader):
        generator.manual_seed(seed)
    model.to(device)
    opt = _make_optimizer(model, optimizer, lr, weight_decay)
    scheduler = None if schedule == "constant" else torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, epochs=epochs, steps_per_epoch=len(data.train_loader))
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.cuda.synchronize(device)
    started = time.perf_counter()
    history = fit(model, data.train_loader, loss_fn=nn.CrossEntropyLoss(), optimizer=opt, epochs=epochs,
                  scheduler=scheduler, device=device, channels_last=True, progress=progress, desc=name,
                  checkpoint_path=checkpoint_path, val_loader=val_loader,
                  metric=accuracy if val_loader is not None else None, on_epoch_end=on_epoch_end)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - started
    _, test_accuracy = evaluate(model, data.test_loader, nn.CrossEntropyLoss(), accuracy, channels_last=True)
    return ResultRow(name, test_accuracy, params, flops, seconds, str(device), history)


def train_paired(
    builders: Mapping[str, Callable[[], nn.Module]],
    data: VisionData,
    *,
    seeds: Sequence[int],
    epochs: int,
    lr: float,
    device: torch.device | str,
    progress: bool = True,
    run_dir: str | os.PathLike[str] | None = None,
    **train_kwargs: object,
) -> dict[str, list[ResultRow]]:
    """Train every variant with every seed, paired: ``{name: [ResultRow per seed]}``.

    For each seed, each builder is called right after ``torch.manual_seed(seed)``, so the
    backbone layers the variants share start from identical weights (attention modules are
    built off the backbone's random stream), and :func:`train_and_evaluate` gives every
    variant the same batches in the same order. Feed the accuracies to
    :func:`attn_helpers.paired_difference` / :func:`attn_helpers.paired_table`.

    Args:
        builders: variant name -> a function of no arguments returning a fresh model.
        seeds: the seeds, e.g. ``range(3)``; the same for every variant.
        epochs, lr, device, **train_kwargs: passed to :func:`train_and_evaluate`.
        progress: one progress bar over all runs (per-epoch bars are off), and an ETA for the
            whole comparison printed after its first epoch and its first run
            (:class:`attn_helpers.vision.plan.RunClock`).
        run_dir: a folder that makes the comparison survive a disconnect (on Colab, a
            folder on Google Drive). Each finished (variant, seed) run is written there as
            ``<variant>-seed<seed>.json``; the run in progress checkpoints after every epoch
            to ``<variant>-seed<seed>.ckpt``. Called again with the same arguments, finished
            runs are read back instead of trained and an interrupted run resumes from its
            last epoch, so the table is the one an uninterrupted call would have printed.
            Delete the folder (or use another) after changing the data, budget or models.
    """
    from tqdm.auto import tqdm

    from .plan import RunClock  # plan.py builds on this module

    if not builders:
        raise ValueError("builders must name at least one variant")
    seeds = list(check_ints("seeds", seeds, 0))
    folder = Path(run_dir) if run_dir is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[ResultRow]] = {name: [] for name in builders}
    stems = {(seed, name): f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}-seed{seed}"
             for seed in seeds for name in builders}
    to_train = sum(folder is None or not (folder / f"{stem}.json").is_file() for stem in stems.values())
    clock = RunClock(to_train, epochs, write=tqdm.write if progress else lambda text: None)
    with tqdm(total=len(seeds) * len(builders), desc="paired runs", disable=not progress) as bar:
        for seed in seeds:
            for name, build in builders.items():
                stem = stems[(seed, name)]
                done = folder / f"{stem}.json" if folder is not None else None
                if done is not None and done.is_file():
                    row = _read_row(done)
                else:
                    torch.manual_seed(seed)
                    model = build()
                    clock.run_start()
                    row = train_and_evaluate(
                        name, model, data, epochs=epochs, lr=lr, device=device, seed=seed, progress=False,
                        checkpoint_path=folder / f"{stem}.ckpt" if folder is not None else None,
                        on_epoch_end=clock.epoch_end, **train_kwargs)
                    clock.run_end()
                    if done is not None:
                        _write_row(row, done)
                        (folder / f"{stem}.ckpt").unlink(missing_ok=True)
                rows[name].append(row)
                bar.set_postfix_str(f"{name}, seed {seed}: {row.accuracy:.3f}")
                bar.update()
    return rows


def _write_row(row: ResultRow, path: Path) -> None:
    # Written to a temporary file and renamed, so a kill leaves either no file or a whole one.
    record = {k: v for k, v in asdict(row).items() if k != "history"}
    record["history"] = row.history.as_dict() if row.history is not None else None
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, path)


def _read_row(path: Path) -> ResultRow:
    record = json.loads(path.read_text())
    history = record.pop("history")
    return ResultRow(**record, history=History(**history) if history is not None else None)


def results_table(rows: Sequence[ResultRow], *, baseline: str | None = None) -> str:
    """Markdown table of ``rows``: accuracy, parameters, MFLOPs, training seconds, device.

    With ``baseline`` (a row name), add the accuracy difference to that row in points.
    """
    rows = list(rows)
    if not rows or not all(isinstance(r, ResultRow) for r in rows):
        raise ValueError("rows must be a non-empty sequence of ResultRow")
    base = None
    if baseline is not None:
        matches = [r for r in rows if r.name == baseline]
        if not matches:
            raise ValueError(f"baseline must be one of the row names {[r.name for r in rows]}, got {baseline!r}")
        base = matches[0]
    header = ["model", "test acc", "params", "MFLOPs", "train s", "device"]
    if base is not None:
        header.insert(2, "Δ acc (pts)")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = [r.name, f"{r.accuracy:.4f}", f"{r.params:,}", f"{r.flops / 1e6:.2f}", f"{r.train_seconds:.1f}", r.device]
        if base is not None:
            cells.insert(2, f"{100 * (r.accuracy - base.accuracy):+.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
