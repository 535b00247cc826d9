"""The training loop every chapter uses.

``fit`` trains a model for a number of epochs with a ``tqdm.auto`` progress bar,
records train/validation history, uses mixed precision on CUDA, and (optionally)
checkpoints after every epoch so a killed run resumes where it stopped and ends with
the same weights as an uninterrupted one.

Batches are ``(inputs, targets)`` pairs; ``inputs`` may be a tensor or a tuple of
tensors passed to the model as positional arguments. Per-batch losses stay on the
device and are read once per epoch, so the loop does not stall the GPU every step.

Arguments are checked before the first step (types, devices, empty loaders, a
checkpoint from another run); inside the loop only the loss's rank is, which costs a
Python attribute read. NaN in the data is not looked for: it propagates, as in torch,
and a non-finite training loss raises ``FloatingPointError`` at the end of its epoch.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from .device import autocast_dtype
from .checkpoint import capture_rng_state, load_checkpoint, restore_rng_state, save_checkpoint
from .validation import check_device, check_file_path, check_int, check_positive, check_tensor

__all__ = ["History", "fit", "evaluate", "accuracy"]

# What fit writes into a checkpoint and needs back to resume ("scheduler" is optional).
_FIT_CHECKPOINT_KEYS = ("model", "optimizer", "scaler", "history", "epoch", "rng")

Batch = Sequence[Any]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
MetricFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class History:
    """Per-epoch record of a run: losses, the validation metric and wall time."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_metric: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """Number of epochs recorded."""
        return len(self.train_loss)

    def as_dict(self) -> dict[str, list[float]]:
        """Plain lists keyed by field name (what a checkpoint stores)."""
        return asdict(self)


def accuracy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Fraction of rows whose arg-max over the last dimension equals the target.

    Shapes: ``logits`` (N, ..., C), ``targets`` (N, ...). Returns a 0-D tensor.
    """
    check_tensor("logits", logits)
    if logits.dim() == 0:
        raise ValueError("logits must have a class dimension, got a 0-D tensor")
    check_tensor("targets", targets, shape=logits.shape[:-1])
    return (logits.argmax(dim=-1) == targets).float().mean()


def _to_device(value: Any, device: torch.device, channels_last: bool) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.to(device, non_blocking=True)
        if channels_last and value.dim() == 4:
            value = value.contiguous(memory_format=torch.channels_last)
        return value
    if isinstance(value, (tuple, list)):
        return type(value)(_to_device(v, device, channels_last) for v in value)
    return value


def _forward(model: nn.Module, inputs: Any) -> torch.Tensor:
    return model(*inputs) if isinstance(inputs, (tuple, list)) else model(inputs)


def _autocast(device: torch.device, enabled: bool) -> torch.autocast:
    dtype = autocast_dtype(device)
    return torch.autocast(device_type=device.type, dtype=dtype or torch.float32, enabled=enabled and dtype is not None)


def _loader_generators(loader: Any) -> list[torch.Generator]:
    """The generators a loader shuffles with (``DataLoader(generator=...)``, a sampler's)."""
    found: list[torch.Generator] = []
    batch_sampler = getattr(loader, "batch_sampler", None)
    for owner in (loader, getattr(loader, "sampler", None), getattr(batch_sampler, "sampler", None)):
        generator = getattr(owner, "generator", None)
        if isinstance(generator, torch.Generator) and all(generator is not g for g in found):
            found.append(generator)
    return found


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _no_batches(name: str) -> ValueError:
    return ValueError(
        f"{name} yielded no batches: check the dataset's size (and drop_last=True with a "
        f"batch_size larger than the dataset)"
    )


def _check_callable(name: str, value: object, expected: str) -> None:
    if not callable(value):
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__}")


def _check_loader(name: str, loader: object) -> None:
    """Iterable, and not known to be empty (a loader without ``len`` is checked while it runs)."""
    if not hasattr(loader, "__iter__"):
        raise TypeError(f"{name} must be an iterable of (inputs, targets) batches, got {type(loader).__name__}")
    try:
        empty = len(loader) == 0  # type: ignore[arg-type]
    except TypeError:  # no __len__ (an IterableDataset's loader, a generator)
        return
    if empty:
        raise _no_batches(name)


def _check_loss(loss: object) -> torch.Tensor:
    # A rank check on each step: one attribute read, no synchronisation with the GPU.
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        got = f"shape {tuple(loss.shape)}" if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(
            f"loss_fn must return a 0-D tensor (one number for the batch, e.g. a mean), got {got}; "
            f"use reduction='mean' or reduce the per-sample losses"
        )
    return loss


def _check_common(model: object, loss_fn: object, metric: object) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _check_callable("loss_fn", loss_fn, "a function loss_fn(outputs, targets) -> 0-D tensor")
    if metric is not None:
        _check_callable("metric", metric, "None or a function metric(outputs, targets) -> 0-D tensor")


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable[Batch],
    loss_fn: LossFn,
    metric: MetricFn | None = None,
    *,
    amp: bool = True,
    channels_last: bool = False,
) -> tuple[float, float]:
    """Mean loss and mean metric (``nan`` without one) of ``model`` over ``loader``, in eval mode."""
    _check_common(model, loss_fn, metric)
    _check_loader("loader", loader)
    return _evaluate(model, loader, loss_fn, metric, amp, channels_last, "loader")


@torch.no_grad()
def _evaluate(
    model: nn.Module,
    loader: Iterable[Batch],
    loss_fn: LossFn,
    metric: MetricFn | None,
    amp: bool,
    channels_last: bool,
    loader_name: str,
) -> tuple[float, float]:
    device = _model_device(model)
    use_amp = amp and device.type == "cuda"
    was_training = model.training
    model.eval()
    total_loss = torch.zeros((), device=device)
    total_metric = torch.zeros((), device=device)
    count = 0
    for inputs, targets in loader:
        inputs = _to_device(inputs, device, channels_last)
        targets = _to_device(targets, device, False)
        with _autocast(device, use_amp):
            outputs = _forward(model, inputs)
            loss = _check_loss(loss_fn(outputs, targets))
        n = targets.shape[0]
        total_loss += loss.float() * n
        if metric is not None:
            total_metric += metric(outputs.float(), targets).float() * n
        count += n
    model.train(was_training)
    if count == 0:
        raise _no_batches(loader_name)
    mean_metric = (total_metric / count).item() if metric is not None else math.nan
    return (total_loss / count).item(), mean_metric


def fit(
    model: nn.Module,
    train_loader: Iterable[Batch],
    *,
    loss_fn: LossFn,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    val_loader: Iterable[Batch] | None = None,
    metric: MetricFn | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    device: torch.device | str | None = None,
    amp: bool = True,
    channels_last: bool = False,
    grad_clip: float | None = None,
    checkpoint_path: str | os.PathLike[str] | None = None,
    resume: bool = True,
    on_epoch_end: Callable[[int, History], None] | None = None,
    progress: bool = True,
    desc: str = "training",
) -> History:
    """Train ``model`` for ``epochs`` epochs and return its :class:`History`.

    Args:
        model: the network; moved to ``device`` (default: where its parameters are).
        train_loader: yields ``(inputs, targets)`` batches.
        loss_fn: ``loss_fn(outputs, targets)`` -> 0-D tensor.
        optimizer: built over ``model.parameters()``.
        epochs: total number of epochs, counting epochs restored from a checkpoint.
        val_loader: evaluated after every epoch when given.
        metric: ``metric(outputs, targets)`` -> 0-D tensor (e.g. :func:`accuracy`).
        scheduler: stepped after every optimisation step (e.g. ``OneCycleLR``).
        amp: mixed precision on CUDA (bfloat16 where supported, else float16 with
            loss scaling); ignored on other devices.
        channels_last: use the channels-last memory format for 4-D inputs (faster
            convolutions on CPU and tensor cores).
        grad_clip: clip the global gradient norm to this value.
        checkpoint_path: write a checkpoint here after every epoch and, with
            ``resume=True``, continue from it if it exists.
        on_epoch_end: called as ``on_epoch_end(epoch, history)`` after each epoch
            (and after its checkpoint is written).
        progress: show a progress bar.

    Raises:
        TypeError, ValueError: a bad argument, named in the message, before any training.
        IsADirectoryError: ``checkpoint_path`` is a directory.
        ValueError: with ``resume=True``, ``checkpoint_path`` holds a checkpoint ``fit`` did
            not write, or one of another model or optimizer.
        FloatingPointError: the training loss became NaN or infinite (checked once per
            epoch; data NaNs are not looked for, they propagate as in torch).
    """
    _check_common(model, loss_fn, metric)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer built over model.parameters(), e.g. "
            f"torch.optim.AdamW(model.parameters()), got {type(optimizer).__name__}"
        )
    epochs = check_int("epochs", epochs, 1)
    if grad_clip is not None:
        check_positive("grad_clip", grad_clip)
    _check_loader("train_loader", train_loader)
    if val_loader is not None:
        _check_loader("val_loader", val_loader)
    if on_epoch_end is not None:
        _check_callable("on_epoch_end", on_epoch_end, "None or a function on_epoch_end(epoch, history)")
    if checkpoint_path is not None:
        checkpoint_path = check_file_path("checkpoint_path", checkpoint_path)
    device = check_device("device", device) if device is not None else _model_device(model)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    use_amp = amp and device.type == "cuda"
    # fp16 (cards older than compute capability 8) needs loss scaling; bf16 does not.
    needs_scaler = use_amp and autocast_dtype(device) == torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=needs_scaler)

    history = History()
    start_epoch = 0
    if checkpoint_path is not None and resume and Path(checkpoint_path).is_file():
        state = load_checkpoint(checkpoint_path, map_location=device)
        missing = [key for key in _FIT_CHECKPOINT_KEYS if key not in state]
        if missing:
            raise ValueError(
                f"checkpoint_path={str(checkpoint_path)!r} was not written by fit (it lacks {missing}); "
                f"give another path, or resume=False to train from scratch and overwrite it"
            )
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as error:
            raise ValueError(
                f"checkpoint_path={str(checkpoint_path)!r} holds another model's or optimizer's state "
                f"({type(error).__name__}: {str(error).strip()}); give another path, or resume=False "
                f"to train from scratch and overwrite it"
            ) from error
        if scheduler is not None and "scheduler" in state:
            scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        history = History(**state["history"])
        start_epoch = int(state["epoch"])
        restore_rng_state(state["rng"])
        for generator, saved in zip(_loader_generators(train_loader), state.get("loader_rng", [])):
            generator.set_state(saved)

    steps_per_epoch = len(train_loader) if hasattr(train_loader, "__len__") else None
    total = steps_per_epoch * (epochs - start_epoch) if steps_per_epoch else None
    bar = tqdm(total=total, desc=desc, disable=not progress or start_epoch >= epochs, unit="step")
    for epoch in range(start_epoch, epochs):
        model.train()
        started = time.perf_counter()
        running = torch.zeros((), device=device)
        seen = 0
        for inputs, targets in train_loader:
            inputs = _to_device(inputs, device, channels_last)
            targets = _to_device(targets, device, False)
            with _autocast(device, use_amp):
                loss = _check_loss(loss_fn(_forward(model, inputs), targets))
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if grad_clip is not None:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            scaler.step(optimizer)
            scaler.update()
            if scheduler is not None:
                scheduler.step()
            n = targets.shape[0]
            running += loss.detach().float() * n
            seen += n
            bar.update(1)
        if seen == 0:
            raise _no_batches("train_loader")
        train_loss = (running / seen).item()
        if not math.isfinite(train_loss):
            raise FloatingPointError(
                f"training loss became {train_loss} in epoch {epoch + 1}; lower the learning rate"
            )
        history.train_loss.append(train_loss)
        postfix = {"train_loss": f"{train_loss:.4f}"}
        if val_loader is not None:
            val_loss, val_metric = _evaluate(model, val_loader, loss_fn, metric, amp, channels_last, "val_loader")
            history.val_loss.append(val_loss)
            history.val_metric.append(val_metric)
            postfix["val_loss"] = f"{val_loss:.4f}"
            if metric is not None:
                postfix["val_metric"] = f"{val_metric:.4f}"
        history.epoch_seconds.append(time.perf_counter() - started)
        bar.set_postfix(postfix)
        if checkpoint_path is not None:
            state = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scaler": scaler.state_dict(),
                "history": history.as_dict(),
                "epoch": epoch + 1,
                "rng": capture_rng_state(),
                "loader_rng": [g.get_state() for g in _loader_generators(train_loader)],
            }
            if scheduler is not None:
                state["scheduler"] = scheduler.state_dict()
            save_checkpoint(state, checkpoint_path)
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, history)
    bar.close()
    return history
