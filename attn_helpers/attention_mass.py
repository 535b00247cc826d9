"""Does attention land on the object? The fraction of a spatial map's mass inside a box.

A spatial attention map ``m`` (one non-negative value per position of a feature map) is
upsampled to the image's size and compared with the object's true box:

    mass = sum_{pixels p in box} m(p) / sum_{all pixels p} m(p)

A map that ignores the image (constant) puts exactly the box's share of the image area in
the box, so ``area = box pixels / image pixels`` is the chance level; ``mass / area > 1``
means attention concentrates on the object. Boxes are ``(x0, y0, x1, y1)`` in pixels, x
along the width; a pixel belongs to the box when its centre ``(col + 0.5, row + 0.5)``
lies in ``[x0, x1) x [y0, y1)`` (for integer boxes: columns x0 .. x1 - 1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from .keep_maps import set_keep_maps
from .validation import check_choice, check_tensor

__all__ = [
    "MassSummary",
    "attention_mass_in_box",
    "box_area_fraction",
    "box_masks",
    "collect_attention_maps",
    "show_attention_on_images",
    "summarise_attention_mass",
    "upsample_maps",
]


def _image_size(image_size: Sequence[int] | int) -> tuple[int, int]:
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size):
        raise ValueError(f"image_size must be an int or (height, width) of positive ints, got {image_size!r}")
    return size  # type: ignore[return-value]


def _as_maps(maps: torch.Tensor) -> torch.Tensor:
    check_tensor("maps", maps, ndim=(3, 4), floating=True)
    if maps.dim() == 4:
        if maps.shape[1] != 1:
            raise ValueError(f"maps must have shape (B, h, w) or (B, 1, h, w), got {tuple(maps.shape)}")
        maps = maps[:, 0]
    if (maps < 0).any():
        raise ValueError("maps must be non-negative (attention weights or sigmoid gates)")
    return maps


def upsample_maps(
    maps: torch.Tensor, image_size: Sequence[int] | int, *, mode: str = "bilinear"
) -> torch.Tensor:
    """Resize spatial maps (B, h, w) or (B, 1, h, w) to the image size -> (B, H, W).

    ``bilinear`` (``align_corners=False``: each map cell is centred on the image block it
    summarises) or ``nearest`` (each cell painted over its block).
    """
    maps = _as_maps(maps)
    height, width = _image_size(image_size)
    check_choice("mode", mode, ("bilinear", "nearest"))
    kwargs = {"align_corners": False} if mode == "bilinear" else {}
    return F.interpolate(maps[:, None], size=(height, width), mode=mode, **kwargs)[:, 0]


def box_masks(boxes: torch.Tensor, image_size: Sequence[int] | int) -> torch.Tensor:
    """Boolean masks (B, H, W) of the pixels whose centres lie inside each box (B, 4)."""
    check_tensor("boxes", boxes, shape=(None, 4))
    height, width = _image_size(image_size)
    boxes = boxes.double()
    if (boxes[:, 2] < boxes[:, 0]).any() or (boxes[:, 3] < boxes[:, 1]).any():
        raise ValueError("boxes must be (x0, y0, x1, y1) with x1 >= x0 and y1 >= y0")
    cols = torch.arange(width, dtype=torch.float64, device=boxes.device) + 0.5
    rows = torch.arange(height, dtype=torch.float64, device=boxes.device) + 0.5
    in_x = (cols[None] >= boxes[:, 0:1]) & (cols[None] < boxes[:, 2:3])  # (B, W)
    in_y = (rows[None] >= boxes[:, 1:2]) & (rows[None] < boxes[:, 3:4])  # (B, H)
    return in_y[:, :, None] & in_x[:, None, :]


def box_area_fraction(boxes: torch.Tensor, image_size: Sequence[int] | int) -> torch.Tensor:
    """Chance level: the share of the image's pixels inside each box, shape (B,)."""
    return box_masks(boxes, image_size).flatten(1).double().mean(dim=1)


def attention_mass_in_box(
    maps: torch.Tensor,
    boxes: torch.Tensor,
    image_size: Sequence[int] | int,
    *,
    mode: str = "bilinear",
) -> torch.Tensor:
    """Fraction of each map's mass inside its box, shape (B,), in float64.

    Args:
        maps: non-negative spatial attention, (B, h, w) or (B, 1, h, w), at any resolution.
        boxes: (B, 4) object boxes ``(x0, y0, x1, y1)`` in image pixels.
        image_size: ``(H, W)`` of the images (or one int for square images).
        mode: how maps are upsampled to the image, see :func:`upsample_maps`.
    """
    maps = _as_maps(maps)
    check_tensor("boxes", boxes, shape=(maps.shape[0], 4))
    full = upsample_maps(maps, image_size, mode=mode).double()  # (B, H, W)
    inside = box_masks(boxes.to(full.device), image_size)
    total = full.flatten(1).sum(dim=1)
    if (total <= 0).any():
        raise ValueError("maps must have positive total mass (an all-zero map has no distribution)")
    return (full * inside).flatten(1).sum(dim=1) / total


@dataclass(frozen=True)
class MassSummary:
    """Mean attention mass in the box, mean box-area fraction (chance), and their ratio."""

    mass: float
    area: float
    n: int

    @property
    def ratio(self) -> float:
        return self.mass / self.area

    def __str__(self) -> str:
        return f"mass in box {self.mass:.3f} vs area {self.area:.3f} (x{self.ratio:.2f}, n={self.n})"


def summarise_attention_mass(
    maps: torch.Tensor, boxes: torch.Tensor, image_size: Sequence[int] | int, *, mode: str = "bilinear"
) -> MassSummary:
    """Average :func:`attention_mass_in_box` and :func:`box_area_fraction` over a set of images."""
    mass = attention_mass_in_box(maps, boxes, image_size, mode=mode)
    area = box_area_fraction(boxes, image_size)
    return MassSummary(mass=mass.mean().item(), area=area.mean().item(), n=int(mass.numel()))


@torch.no_grad()
def collect_attention_maps(
    model: nn.Module,
    loader: Iterable[Any],
    read_maps: Callable[[nn.Module], Sequence[torch.Tensor]],
    *,
    max_images: int | None = None,
) -> list[torch.Tensor]:
    """Run ``model`` (eval mode, ``keep_maps`` on) over ``loader`` and gather its spatial maps.

    Args:
        model: a network whose attention modules store maps when ``keep_maps = True``.
        loader: yields ``(images, targets)`` batches; its order is kept.
        read_maps: called after each batch, returns that batch's maps, each (B, h, w) or
            (B, 1, h, w), e.g. ``lambda m: [a.last_spatial_map for a in m.block_attention_modules()]``.
        max_images: stop after this many images.

    Returns one CPU float tensor (N, h_k, w_k) per map, in the order ``read_maps`` gives them.
    """
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    set_keep_maps(model, True)
    gathered: list[list[torch.Tensor]] = []
    seen = 0
    try:
        for images, _ in loader:
            if max_images is not None and seen >= max_images:
                break
            model(images.to(device))
            maps = [m[:, 0] if m.dim() == 4 else m for m in read_maps(model)]
            if not gathered:
                gathered = [[] for _ in maps]
            for store, m in zip(gathered, maps):
                store.append(m.detach().float().cpu())
            seen += images.shape[0]
    finally:
        set_keep_maps(model, False)
        model.train(was_training)
    out = [torch.cat(store) for store in gathered]
    return [m[:max_images] for m in out] if max_images is not None else out


def show_attention_on_images(
    images: torch.Tensor,
    maps: Sequence[torch.Tensor],
    *,
    boxes: torch.Tensor | None = None,
    map_titles: Sequence[str] | None = None,
    suptitle: str | None = None,
    alpha: float = 0.55,
    cmap: str = "jet",
    panel_size: float = 1.9,
) -> Figure:
    """One row per image: the image, then each map upsampled and overlaid on it.

    Args:
        images: (N, C, H, W) images (any value range; shown min-max scaled, first channel
            as grey when C != 3).
        maps: one tensor per map kind, each (N, h, w) or (N, 1, h, w).
        boxes: optional (N, 4) true boxes ``(x0, y0, x1, y1)``, drawn in white.
        map_titles: a column title per map kind.
    """
    check_tensor("images", images, ndim=4, floating=True)
    n, c, height, width = images.shape
    if map_titles is not None and len(map_titles) != len(maps):
        raise ValueError(f"map_titles must have {len(maps)} entries, got {len(map_titles)}")
    for k, m in enumerate(maps):
        if m.shape[0] != n:
            raise ValueError(f"maps[{k}] must hold {n} maps (one per image), got {m.shape[0]}")
    ups = [upsample_maps(m.detach().float().cpu(), (height, width)).numpy() for m in maps]
    fig, axes = plt.subplots(n, 1 + len(maps), figsize=(panel_size * (1 + len(maps)), panel_size * n),
                             squeeze=False, layout="constrained")
    for i in range(n):
        img = images[i].detach().float().cpu()
        img = (img - img.min()) / (img.max() - img.min() + 1e-12)
        shown = img.permute(1, 2, 0).numpy() if c == 3 else img[0].numpy()
        for j in range(1 + len(maps)):
            ax = axes[i, j]
            ax.imshow(shown, cmap=None if c == 3 else "gray")
            if j > 0:
                m = ups[j - 1][i]
                ax.imshow((m - m.min()) / (np.ptp(m) + 1e-12), cmap=cmap, alpha=alpha)
            if boxes is not None:
                x0, y0, x1, y1 = boxes[i].tolist()
                ax.add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0,
                                           fill=False, edgecolor="white", linewidth=1.2))
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title("image" if j == 0 else (map_titles[j - 1] if map_titles else f"map {j}"),
                             fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    return fig
