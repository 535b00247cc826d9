"""Tests of attn_helpers.plotting: attention heatmaps and training curves."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from attn_helpers import History, plot_history, show_heatmaps


def _image_axes(fig: Figure) -> list[Axes]:
    return [ax for ax in fig.axes if ax.images and not hasattr(ax, "_colorbar")]


def _colorbar_axes(fig: Figure) -> list[Axes]:
    return [ax for ax in fig.axes if hasattr(ax, "_colorbar")]


# -------------------------------------------------------------------------- show_heatmaps


@pytest.mark.parametrize(
    ("shape", "rows", "cols"), [((4, 5), 1, 1), ((3, 4, 5), 1, 3), ((2, 3, 4, 5), 2, 3)]
)
def test_show_heatmaps_grid_for_2d_3d_4d_inputs(shape: tuple[int, ...], rows: int, cols: int) -> None:
    matrices = torch.rand(shape)
    fig = show_heatmaps(matrices, xlabel="keys k", ylabel="queries q")
    assert isinstance(fig, Figure)
    panels = _image_axes(fig)
    assert len(panels) == rows * cols
    assert len(_colorbar_axes(fig)) == 1
    colorbar = _colorbar_axes(fig)[0]
    assert colorbar.get_ylabel() == "attention weight"
    grid = np.array(panels, dtype=object).reshape(rows, cols)
    flat = matrices.reshape(rows, cols, *shape[-2:])
    for i in range(rows):
        for j in range(cols):
            ax = grid[i, j]
            np.testing.assert_allclose(ax.images[0].get_array(), flat[i, j].numpy(), rtol=1e-6)
            assert ax.get_xlabel() == ("keys k" if i == rows - 1 else "")
            assert ax.get_ylabel() == ("queries q" if j == 0 else "")


def test_show_heatmaps_titles_suptitle_and_colour_range() -> None:
    matrices = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4) / 100
    fig = show_heatmaps(matrices, titles=["a", "b"], suptitle="Two panels")
    panels = _image_axes(fig)
    assert [ax.get_title() for ax in panels] == ["a", "b"]
    assert fig.get_suptitle() == "Two panels"
    for ax in panels:  # one colour scale: 0 up to the largest weight shown
        assert ax.images[0].get_clim() == (0.0, pytest.approx(0.23))
    fig = show_heatmaps(matrices, vmin=None, vmax=1.0)
    assert _image_axes(fig)[0].images[0].get_clim() == (pytest.approx(0.0), 1.0)


def test_show_heatmaps_accepts_tensors_that_need_grad_and_an_extent() -> None:
    weights = torch.softmax(torch.randn(6, 8, requires_grad=True), dim=-1)
    fig = show_heatmaps(weights, extent=(0.0, 5.0, 0.0, 5.0))
    image = _image_axes(fig)[0].images[0]
    assert image.get_extent() == [0.0, 5.0, 0.0, 5.0]
    assert image.origin == "lower"
    assert image.get_array().shape == (6, 8)


@pytest.mark.parametrize("shape", [(5,), (1, 2, 3, 4, 5), ()])
def test_show_heatmaps_rejects_wrong_rank(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"matrices must be 2-, 3- or 4-D"):
        show_heatmaps(torch.rand(shape))
    assert plt.get_fignums() == []  # no half-built figure left open


@pytest.mark.parametrize("titles", [["only one"], ["a", "b", "c", "d", "e", "f", "g"]])
def test_show_heatmaps_rejects_wrong_number_of_titles(titles: list[str]) -> None:
    with pytest.raises(ValueError, match="titles must have 6 entries, got"):
        show_heatmaps(torch.rand(2, 3, 4, 4), titles=titles)


# --------------------------------------------------------------------------- plot_history


def _history(n: int, *, val: bool = True, metric: bool = True) -> History:
    return History(
        train_loss=[1.0 / (e + 1) for e in range(n)],
        val_loss=[1.2 / (e + 1) for e in range(n)] if val else [],
        val_metric=([0.5 + 0.1 * e for e in range(n)] if metric else [math.nan] * n) if val else [],
        epoch_seconds=[0.1] * n,
    )


def _legend(ax: Axes) -> list[str]:
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_plot_history_one_run_without_metric() -> None:
    history = _history(3)
    fig = plot_history(history, title="Run")
    assert isinstance(fig, Figure) and len(fig.axes) == 1 and fig.get_suptitle() == "Run"
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss")
    assert _legend(ax) == ["train", "validation"]
    train, val = ax.get_lines()
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(train.get_ydata(), history.train_loss)
    np.testing.assert_allclose(val.get_ydata(), history.val_loss)


def test_plot_history_one_run_with_metric() -> None:
    history = _history(4)
    fig = plot_history(history, metric_name="accuracy")
    assert len(fig.axes) == 2
    metric_ax = fig.axes[1]
    assert metric_ax.get_ylabel() == "accuracy" and metric_ax.get_title() == "validation accuracy"
    np.testing.assert_allclose(metric_ax.get_lines()[0].get_ydata(), history.val_metric)


def test_plot_history_drops_the_metric_panel_when_no_metric_was_recorded() -> None:
    assert len(plot_history(_history(3, metric=False), metric_name="accuracy").axes) == 1
    assert len(plot_history(_history(3, val=False), metric_name="accuracy").axes) == 1
    fig = plot_history(_history(3, val=False))
    assert _legend(fig.axes[0]) == ["train"]


def test_plot_history_several_runs_with_metric() -> None:
    runs = {"gaussian": _history(3), "boxcar": _history(5), "no val": _history(2, val=False)}
    fig = plot_history(runs, metric_name="MSE")
    loss_ax, metric_ax = fig.axes
    assert _legend(loss_ax) == ["gaussian train", "gaussian validation", "boxcar train",
                                "boxcar validation", "no val train"]
    assert _legend(metric_ax) == ["gaussian", "boxcar"]
    colours = [line.get_color() for line in loss_ax.get_lines()]
    assert colours[0] == colours[1] and colours[2] == colours[3]  # a run keeps its colour
    assert colours[0] != colours[2]
    assert [len(line.get_xdata()) for line in metric_ax.get_lines()] == [3, 5]


def test_plot_history_several_runs_without_metric() -> None:
    fig = plot_history({"a": _history(2), "b": _history(2)})
    assert len(fig.axes) == 1 and len(fig.axes[0].get_lines()) == 4
