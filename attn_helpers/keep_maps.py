"""Switch every attention module of a model to keep (or drop) its last attention map."""

from __future__ import annotations

from torch import nn

__all__ = ["set_keep_maps"]


def set_keep_maps(model: nn.Module, keep: bool = True) -> None:
    """Set ``keep_maps`` on every submodule of ``model`` that has that boolean attribute.

    Modules of this package store their last gate or map (``last_gate``,
    ``last_spatial_map``, ...) only while ``keep_maps`` is true, so training pays no
    memory for plots.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    for module in model.modules():
        if isinstance(getattr(module, "keep_maps", None), bool):
            module.keep_maps = bool(keep)
