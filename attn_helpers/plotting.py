"""Figures every chapter reuses: attention heatmaps and training curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from .training import History

__all__ = ["show_heatmaps", "plot_history"]


def _as_numpy(matrix: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(matrix, torch.Tensor):
        return matrix.detach().float().cpu().numpy()
    return np.asarray(matrix, dtype=float)


def show_heatmaps(
    matrices: torch.Tensor | np.ndarray,
    *,
    xlabel: str = "keys",
    ylabel: str = "queries",
    titles: Sequence[str] | None = None,
    suptitle: str | None = None,
    cmap: str = "Reds",
    panel_size: float = 2.8,
    vmin: float | None = 0.0,
    vmax: float | None = None,
    extent: Sequence[float] | None = None,
) -> Figure:
    """Plot a grid of attention-weight matrices sharing one colour bar.

    Args:
        matrices: shape ``(rows, cols, num_queries, num_keys)``, ``(n, num_queries,
            num_keys)`` (one row) or ``(num_queries, num_keys)`` (one panel).
        xlabel, ylabel: axis labels (keys along x, queries along y by default).
        titles: one title per panel, in row-major order.
        suptitle: a title for the whole figure.
        vmin, vmax: colour range; ``vmax=None`` uses the largest weight shown.
        extent: ``(left, right, bottom, top)`` data coordinates of each panel, to
            label axes with key/query positions instead of indices.
    """
    data = _as_numpy(matrices)
    if data.ndim == 2:
        data = data[None, None]
    elif data.ndim == 3:
        data = data[None]
    if data.ndim != 4:
        raise ValueError(
            f"matrices must be 2-, 3- or 4-D (rows, cols, queries, keys), got shape {data.shape}"
        )
    rows, cols = data.shape[:2]
    if titles is not None and len(titles) != rows * cols:
        raise ValueError(f"titles must have {rows * cols} entries, got {len(titles)}")
    vmax = float(np.nanmax(data)) if vmax is None else vmax
    fig, axes = plt.subplots(
        rows, cols, figsize=(panel_size * cols + 1.0, panel_size * rows + 0.4),
        sharex=True, sharey=True, squeeze=False, layout="constrained",
    )
    image = None
    for i in range(rows):
        for j in range(cols):
            ax = axes[i, j]
            image = ax.imshow(
                data[i, j], cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto",
                origin="upper" if extent is None else "lower", extent=extent,
                interpolation="nearest",
            )
            ax.grid(False)
            if i == rows - 1:
                ax.set_xlabel(xlabel)
            if j == 0:
                ax.set_ylabel(ylabel)
            if titles is not None:
                ax.set_title(titles[i * cols + j])
    fig.colorbar(image, ax=axes, shrink=0.8, label="attention weight")
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def plot_history(
    histories: History | Mapping[str, History],
    *,
    metric_name: str | None = None,
    title: str = "Training curves",
) -> Figure:
    """Plot train/validation loss (and the validation metric) per epoch.

    Args:
        histories: one :class:`History`, or several keyed by a legend label.
        metric_name: label of the validation metric panel; omitted when ``None``
            or when no history recorded a metric.
    """
    runs = {"": histories} if isinstance(histories, History) else dict(histories)
    show_metric = metric_name is not None and any(
        h.val_metric and not np.isnan(h.val_metric).all() for h in runs.values()
    )
    ncols = 2 if show_metric else 1
    fig, axes = plt.subplots(1, ncols, figsize=(5.2 * ncols, 3.6), squeeze=False, layout="constrained")
    loss_ax = axes[0, 0]
    for label, history in runs.items():
        epochs = np.arange(1, history.epochs + 1)
        prefix = f"{label} " if label else ""
        line, = loss_ax.plot(epochs, history.train_loss, marker="o", label=f"{prefix}train")
        if history.val_loss:
            loss_ax.plot(epochs, history.val_loss, marker="s", linestyle="--",
                         color=line.get_color(), label=f"{prefix}validation")
        if show_metric and history.val_metric:
            axes[0, 1].plot(epochs, history.val_metric, marker="s", color=line.get_color(),
                            label=label or "validation")
    loss_ax.set(xlabel="epoch", ylabel="loss", title="loss")
    loss_ax.legend()
    if show_metric:
        axes[0, 1].set(xlabel="epoch", ylabel=metric_name, title=f"validation {metric_name}")
        axes[0, 1].legend()
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return fig
