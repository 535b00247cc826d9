"""The small training run of ``test_training.py``'s kill-and-resume test.

Both the test process and the subprocess that gets killed build the run with this
module, so model, data, loader and optimiser are seeded identically.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from attn_helpers import History, accuracy, fit, seed_everything

EPOCHS = 4
SEED = 1234


def build(use_generator: bool) -> tuple[nn.Module, DataLoader, DataLoader, torch.optim.Optimizer, object]:
    """A tiny MLP with dropout, a shuffled loader, SGD with momentum and OneCycleLR."""
    generator = seed_everything(SEED)
    x = torch.randn(96, 6)
    y = (x[:, :3].sum(dim=1) > 0).long() + (x[:, 3] > 0.5).long()  # 3 classes
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.25), nn.Linear(16, 3))
    train_loader = DataLoader(
        TensorDataset(x[:80], y[:80]), batch_size=16, shuffle=True,
        generator=generator if use_generator else None,
    )
    val_loader = DataLoader(TensorDataset(x[80:], y[80:]), batch_size=8)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.3, total_steps=EPOCHS * len(train_loader)
    )
    return model, train_loader, val_loader, optimizer, scheduler


def train(
    use_generator: bool,
    *,
    checkpoint_path: str | os.PathLike[str] | None = None,
    on_epoch_end: Callable[[int, History], None] | None = None,
    epochs: int = EPOCHS,
) -> tuple[nn.Module, History]:
    model, train_loader, val_loader, optimizer, scheduler = build(use_generator)
    history = fit(
        model, train_loader, loss_fn=nn.functional.cross_entropy, optimizer=optimizer,
        epochs=epochs, val_loader=val_loader, metric=accuracy, scheduler=scheduler,
        checkpoint_path=checkpoint_path, on_epoch_end=on_epoch_end, progress=False,
    )
    return model, history


def train_and_kill(checkpoint_path: str, use_generator: bool, kill_after: int) -> None:
    """Train with checkpoints and SIGKILL this process right after epoch ``kill_after``."""

    def kill(epoch: int, history: History) -> None:
        if epoch == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    train(use_generator, checkpoint_path=checkpoint_path, on_epoch_end=kill)
    raise SystemExit(3)  # not reached: the kill comes first
