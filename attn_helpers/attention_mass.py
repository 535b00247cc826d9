"""Does attention land on the object? The fraction of a spatial map's mass inside a box.

A spatial attention map ``m`` (one non-negative value per position of a feature map) is
upsampled to the image's size and compared with the object's true box:

    mass = sum_{pixels p in box} m(p) / sum_{all pixels p} m(p)

A map that ignores the image (constant) puts exactly the box's share of the image area in
the box, so ``area = box pixels / image pixels`` is the chance level; ``mass / area > 1``
means attention concentrates on the object. Boxes are ``(x0, y0, x1, y1)`` in pixels, x
along the width; a pixel belongs to the box when its centre ``(col + 0.5, row + 0.5)``
lies in ``[x0, x1) x [y0, y1)`` (for integer boxes: columns x0 .. x1 - 1).

Scoring at the map's native resolution
--------------------------------------
The upsampled mass above is convenient but flatters nobody honestly: bilinear upsampling
spreads each coarse cell over its neighbours, so a 3x3 map that is exactly right still
leaks mass outside a box, and a map that is slightly wrong leaks mass in. :func:`score_maps`
scores a map where it lives instead: each map cell of an ``(h, w)`` map covers the image
block ``[j W/w, (j+1) W/w) x [i H/h, (i+1) H/h)``, and :func:`box_coverage` gives the
fraction of that block inside the box. Four numbers come out per image:

* ``mass``: the map's mass in the box, cells weighted by their coverage; chance (a constant
  map) is ``area``, the mean coverage. Mass is contrast-dependent: a sigmoid gate that sits
  at 0.4 everywhere and rises to 0.9 on the object puts most of its mass on the floor, so
  ``mass / area`` stays near 1 although the gate ranks the object first every time.
* ``auroc``: the chance that a random in-box cell outranks a random out-of-box cell (ties
  count 1/2; cells weighted by coverage, a weighted Mann-Whitney U). Only the order of the
  values matters, so it is contrast-free: 0.5 for any constant map, 1 for a perfect ranking.
* ``pointing``: whether the map's maximum falls on a cell at least half inside the box.
* ``distractor_mass``: the same mass for the union of other objects' boxes, to tell
  "attends to the target" from "attends to anything with ink" (see :func:`intensity_maps`
  for the bright-pixel control).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from torch import nn

from .keep_maps import set_keep_maps
from .validation import check_choice, check_image_size, check_tensor

__all__ = [
    "MapScores",
    "MassSummary",
    "attention_mass_in_box",
    "box_area_fraction",
    "box_coverage",
    "box_masks",
    "collect_attention_maps",
    "intensity_maps",
    "score_maps",
    "show_attention_on_images",
    "summarise_attention_mass",
    "upsample_maps",
]


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
    height, width = check_image_size("image_size", image_size)
    check_choice("mode", mode, ("bilinear", "nearest"))
    kwargs = {"align_corners": False} if mode == "bilinear" else {}
    return F.interpolate(maps[:, None], size=(height, width), mode=mode, **kwargs)[:, 0]


def box_masks(boxes: torch.Tensor, image_size: Sequence[int] | int) -> torch.Tensor:
    """Boolean masks (B, H, W) of the pixels whose centres lie inside each box (B, 4)."""
    check_tensor("boxes", boxes, shape=(None, 4))
    height, width = check_image_size("image_size", image_size)
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


# --------------------------------------------------------------------------------------
# Scoring at the map's native resolution
# --------------------------------------------------------------------------------------


def _check_boxes(name: str, boxes: torch.Tensor, image_size: tuple[int, int],
                 batch: int | None = None) -> torch.Tensor:
    """Validate (B, 4) or (B, K, 4) boxes inside the image -> float64 (B, K, 4)."""
    check_tensor(name, boxes, ndim=(2, 3))
    if boxes.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (B, 4) or (B, K, 4), got {tuple(boxes.shape)}")
    if batch is not None and boxes.shape[0] != batch:
        raise ValueError(f"{name} must hold {batch} rows (one per map), got {tuple(boxes.shape)}")
    b = boxes.detach().double()
    if b.dim() == 2:
        b = b[:, None]
    if not torch.isfinite(b).all():
        raise ValueError(f"{name} must be finite")
    x0, y0, x1, y1 = b.unbind(-1)
    if (x1 < x0).any() or (y1 < y0).any():
        raise ValueError(f"{name} must be (x0, y0, x1, y1) with x1 >= x0 and y1 >= y0 (inverted box)")
    height, width = image_size
    if (x0 < 0).any() or (y0 < 0).any() or (x1 > width).any() or (y1 > height).any():
        raise ValueError(f"{name} must lie inside the image: 0 <= x <= {width}, 0 <= y <= {height}")
    return b


def box_coverage(
    boxes: torch.Tensor, map_size: Sequence[int] | int, image_size: Sequence[int] | int
) -> torch.Tensor:
    """Fraction of each map cell's area inside the box(es), shape (B, h, w), float64.

    A map of size ``(h, w)`` over an image of size ``(H, W)``: cell ``(i, j)`` covers the
    image block ``[j W/w, (j+1) W/w) x [i H/h, (i+1) H/h)`` (continuous coordinates), and its
    coverage is the area of that block inside ``[x0, x1) x [y0, y1)`` over the block's area.

    Args:
        boxes: (B, 4) boxes ``(x0, y0, x1, y1)`` in image pixels (x along the width, ``x1``
            and ``y1`` exclusive edges), or (B, K, 4) for K boxes per image; then the
            coverage of their union, computed as the sum of the K coverages clipped to 1
            (exact for non-overlapping boxes). Zero-size boxes (padding) cover nothing.
        map_size: ``(h, w)`` of the map (or one int for square maps).
        image_size: ``(H, W)`` of the images (or one int).
    """
    h, w = check_image_size("map_size", map_size)
    height, width = check_image_size("image_size", image_size)
    b = _check_boxes("boxes", boxes, (height, width))  # (B, K, 4)
    dev = b.device
    xe = torch.arange(w + 1, dtype=torch.float64, device=dev) * (width / w)
    ye = torch.arange(h + 1, dtype=torch.float64, device=dev) * (height / h)
    ox = (torch.minimum(b[..., 2:3], xe[None, None, 1:]) - torch.maximum(b[..., 0:1], xe[None, None, :-1]))
    oy = (torch.minimum(b[..., 3:4], ye[None, None, 1:]) - torch.maximum(b[..., 1:2], ye[None, None, :-1]))
    ox = ox.clamp(min=0) / (width / w)  # (B, K, w)
    oy = oy.clamp(min=0) / (height / h)  # (B, K, h)
    cov = (oy[..., :, None] * ox[..., None, :]).sum(dim=1)  # (B, h, w)
    return cov.clamp(max=1.0)


def _weighted_auroc(scores: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """Weighted Mann-Whitney AUROC per row of (B, n) scores; nan where a class has no weight.

    ``sum_{a, b} pos_a neg_b ([s_a > s_b] + [s_a == s_b] / 2) / (sum pos * sum neg)``, by
    sorting each row once and summing weights per group of tied scores: O(B n log n).
    """
    s, order = scores.sort(dim=1)
    p, q = pos.gather(1, order), neg.gather(1, order)
    new_group = torch.ones_like(s, dtype=torch.bool)
    new_group[:, 1:] = s[:, 1:] != s[:, :-1]
    gid = new_group.long().cumsum(dim=1) - 1  # group of tied scores, ascending
    gp = torch.zeros_like(p).scatter_add_(1, gid, p)
    gq = torch.zeros_like(q).scatter_add_(1, gid, q)
    below = gq.cumsum(dim=1) - gq  # negative weight strictly below each group
    num = (gp * (below + 0.5 * gq)).sum(dim=1)
    den = p.sum(dim=1) * q.sum(dim=1)
    return torch.where(den > 0, num / den.clamp(min=torch.finfo(den.dtype).tiny), torch.full_like(num, float("nan")))


def _nanmean(x: torch.Tensor) -> float:
    return float("nan") if x.numel() == 0 or torch.isnan(x).all() else x.nanmean().item()


@dataclass(frozen=True, eq=False)
class MapScores:
    """Per-image scores of spatial maps against boxes, at the maps' native resolution.

    Every field is a float64 tensor of shape (N,), one entry per image; see
    :func:`score_maps` for the definitions. :attr:`means` (or :meth:`summary`) averages them
    (``auroc`` ignores the nan of images whose box covers no cell or every cell).
    """

    mass: torch.Tensor
    area: torch.Tensor
    auroc: torch.Tensor
    pointing: torch.Tensor
    distractor_mass: torch.Tensor
    distractor_area: torch.Tensor

    @property
    def n(self) -> int:
        """Number of scored images."""
        return int(self.mass.numel())

    def summary(self) -> dict[str, float]:
        """Means over images: mass, area, ratio (mean mass / mean area), auroc, pointing,
        distractor_mass, distractor_area, distractor_ratio (nan without distractors), n."""
        mass, area = self.mass.mean().item(), self.area.mean().item()
        d_mass, d_area = _nanmean(self.distractor_mass), _nanmean(self.distractor_area)
        return {
            "mass": mass,
            "area": area,
            "ratio": mass / area if area > 0 else float("nan"),
            "auroc": _nanmean(self.auroc),
            "pointing": self.pointing.mean().item(),
            "distractor_mass": d_mass,
            "distractor_area": d_area,
            "distractor_ratio": d_mass / d_area if d_area > 0 else float("nan"),
            "n": self.n,
        }

    @property
    def means(self) -> dict[str, float]:
        """Same as :meth:`summary`."""
        return self.summary()

    def row(self, name: str) -> dict[str, Any]:
        """One table row: ``{"map": name, **summary()}``."""
        return {"map": name, **self.summary()}

    def __str__(self) -> str:
        m = self.summary()
        text = (f"AUROC {m['auroc']:.2f} | pointing {m['pointing']:.2f} | "
                f"mass in box {m['mass']:.2f} (x{m['ratio']:.1f} area)")
        if m["distractor_mass"] == m["distractor_mass"]:  # not nan
            text += f" | on distractors {m['distractor_mass']:.2f} (x{m['distractor_ratio']:.1f})"
        return text


def score_maps(
    maps: torch.Tensor,
    boxes: torch.Tensor,
    image_size: Sequence[int] | int,
    *,
    distractor_boxes: torch.Tensor | None = None,
) -> MapScores:
    """Score spatial maps against true boxes at the maps' native resolution (no upsampling).

    With ``cov`` the coverage of each map cell by the box (:func:`box_coverage`), per image:

    * ``mass = sum(m * cov) / sum(m)``, the map's mass in the box; ``area = mean(cov)`` is
      its chance level (a constant map has ``mass == area``).
    * ``auroc``: probability that a random in-box cell has a higher value than a random
      out-of-box cell, ties counting 1/2, with in-box weight ``cov`` and out-of-box weight
      ``1 - cov`` per cell (weighted Mann-Whitney U). 0.5 for any constant map, 1 when every
      in-box cell outranks every outside cell, 0 for the reverse; nan when the box covers no
      cell or every cell fully.
    * ``pointing``: 1 if the argmax cell has ``cov >= 0.5`` else 0; among tied maxima the
      first in row-major order counts (``torch.argmax``), so a constant map points at
      cell (0, 0).
    * ``distractor_mass`` / ``distractor_area``: mass and area of the union of
      ``distractor_boxes`` (nan when they are not given).

    Why not upsample and count mass? Bilinear upsampling spreads a coarse cell over its
    neighbours, so mass leaks across the box edge in both directions and a coarse map is
    judged by its interpolation. And mass depends on contrast: a sigmoid gate's floor (say
    0.4 everywhere, 0.9 on the object) holds most of its mass, so ``mass / area`` stays near 1
    although the gate picks out the object perfectly. AUROC and pointing use only the
    order of the values, so they are contrast-free; report them alongside mass.

    Args:
        maps: (B, h, w) or (B, 1, h, w) non-negative maps, each with positive total mass.
        boxes: (B, 4) target boxes ``(x0, y0, x1, y1)`` in image pixels (or (B, K, 4): union).
        image_size: ``(H, W)`` of the images the maps were computed on (or one int).
        distractor_boxes: optional (B, K, 4) (or (B, 4)) boxes of other objects.

    Returns a :class:`MapScores` of float64 (B,) tensors (on the maps' device).
    """
    maps = _as_maps(maps).detach().double()
    bsz, h, w = maps.shape
    size = check_image_size("image_size", image_size)
    check_tensor("boxes", boxes, ndim=(2, 3))
    if boxes.shape[0] != bsz:
        raise ValueError(f"boxes must hold {bsz} rows (one per map), got {tuple(boxes.shape)}")
    total = maps.flatten(1).sum(dim=1)
    if (total <= 0).any():
        raise ValueError("maps must have positive total mass (an all-zero map has no distribution)")
    cov = box_coverage(boxes.to(maps.device), (h, w), size).flatten(1)  # (B, n)
    flat = maps.flatten(1)
    mass = (flat * cov).sum(dim=1) / total
    area = cov.mean(dim=1)
    auroc = _weighted_auroc(flat, cov, 1.0 - cov)
    top = flat.argmax(dim=1, keepdim=True)
    pointing = (cov.gather(1, top)[:, 0] >= 0.5 - 1e-9).double()
    if distractor_boxes is None:
        d_mass = torch.full_like(mass, float("nan"))
        d_area = torch.full_like(mass, float("nan"))
    else:
        check_tensor("distractor_boxes", distractor_boxes, ndim=(2, 3))
        if distractor_boxes.shape[0] != bsz:
            raise ValueError(f"distractor_boxes must hold {bsz} rows (one per map), "
                             f"got {tuple(distractor_boxes.shape)}")
        d_cov = _coverage_named("distractor_boxes", distractor_boxes.to(maps.device), (h, w), size)
        d_mass = (flat * d_cov).sum(dim=1) / total
        d_area = d_cov.mean(dim=1)
    return MapScores(mass=mass, area=area, auroc=auroc, pointing=pointing,
                     distractor_mass=d_mass, distractor_area=d_area)


def _coverage_named(name: str, boxes: torch.Tensor, map_size: tuple[int, int],
                    image_size: tuple[int, int]) -> torch.Tensor:
    """:func:`box_coverage` flattened to (B, h*w), with errors naming ``name``."""
    try:
        return box_coverage(boxes, map_size, image_size).flatten(1)
    except ValueError as err:
        msg = str(err)
        raise ValueError(name + msg[len("boxes"):] if msg.startswith("boxes") else msg) from None


def intensity_maps(images: torch.Tensor, map_size: Sequence[int] | int) -> torch.Tensor:
    """The "bright pixels" control map: where the ink is, pooled to a map size -> (B, h, w).

    Per image, ``images - images.min()`` (so the background of images in [-1, 1] is 0),
    the maximum over channels, then adaptive average pooling to ``map_size``. A learned
    attention map should beat this control on :func:`score_maps`; if it does not, it may
    be attending to "anything bright" rather than to the target.

    Args:
        images: (B, C, H, W) floating images.
        map_size: ``(h, w)`` of the output maps (or one int).
    """
    check_tensor("images", images, ndim=4, floating=True)
    size = check_image_size("map_size", map_size)
    shifted = (images - images.amin(dim=(1, 2, 3), keepdim=True)).abs()
    return F.adaptive_avg_pool2d(shifted.amax(dim=1, keepdim=True), size)[:, 0]


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
    vmin: float | None = 0.0,
    vmax: float | None = 1.0,
    distractor_boxes: torch.Tensor | None = None,
) -> Figure:
    """One row per image: the image, then each map overlaid on it at its native resolution.

    Each map is drawn as blocks of cells (``interpolation="nearest"``, stretched over the
    whole image), so a coarse 3x3 map shows as 9 cells rather than as a smooth blob. All
    maps share one colour scale and one colour bar: by default the fixed range
    ``[vmin, vmax] = [0, 1]`` (a gate of 0.4 everywhere looks like 0.4, not like a peak);
    ``vmin=None, vmax=None`` rescales each map to its own min-max instead (the colour bar
    then reads "per-map min-max" and compares nothing across maps). With only one of them
    ``None``, that end is the min or max over all maps shown.

    Args:
        images: (N, C, H, W) images (any value range; shown min-max scaled, first channel
            as grey when C != 3).
        maps: one tensor per map kind, each (N, h, w) or (N, 1, h, w).
        boxes: optional (N, 4) true boxes ``(x0, y0, x1, y1)``, drawn in white.
        map_titles: a column title per map kind.
        suptitle: figure title.
        alpha: opacity of the maps over the image.
        cmap: colour map of the maps.
        panel_size: inches per panel.
        vmin: lower end of the shared colour scale (see above).
        vmax: upper end of the shared colour scale.
        distractor_boxes: optional (N, K, 4) (or (N, 4)) boxes of other objects, drawn as
            dashed grey rectangles.
    """
    check_tensor("images", images, ndim=4, floating=True)
    n, c, height, width = images.shape
    if map_titles is not None and len(map_titles) != len(maps):
        raise ValueError(f"map_titles must have {len(maps)} entries, got {len(map_titles)}")
    for k, m in enumerate(maps):
        if m.shape[0] != n:
            raise ValueError(f"maps[{k}] must hold {n} maps (one per image), got {m.shape[0]}")
    native = [_as_maps(m.detach().float().cpu()).numpy() for m in maps]
    if boxes is not None:
        check_tensor("boxes", boxes, shape=(n, 4))
    if distractor_boxes is not None:
        check_tensor("distractor_boxes", distractor_boxes, ndim=(2, 3))
        if distractor_boxes.shape[0] != n or distractor_boxes.shape[-1] != 4:
            raise ValueError(f"distractor_boxes must have shape ({n}, K, 4), got {tuple(distractor_boxes.shape)}")
        distractor_boxes = distractor_boxes.reshape(n, -1, 4)
    per_map = vmin is None and vmax is None
    if per_map:
        lo, hi, label = 0.0, 1.0, "attention (per-map min-max)"
    else:
        lo = float(vmin) if vmin is not None else min((float(m.min()) for m in native), default=0.0)
        hi = float(vmax) if vmax is not None else max((float(m.max()) for m in native), default=1.0)
        if not lo < hi:
            if vmin is not None and vmax is not None:
                raise ValueError(f"vmin must be < vmax, got vmin={vmin}, vmax={vmax}")
            if vmax is None:
                hi = lo + 1.0
            else:
                lo = hi - 1.0
        label = f"attention (fixed scale {lo:.3g} to {hi:.3g})"
    extent = (-0.5, width - 0.5, height - 0.5, -0.5)  # the image's pixel edges
    fig, axes = plt.subplots(n, 1 + len(maps), figsize=(panel_size * (1 + len(maps)) + 0.6, panel_size * n),
                             squeeze=False, layout="constrained")
    for i in range(n):
        img = images[i].detach().float().cpu()
        img = (img - img.min()) / (img.max() - img.min() + 1e-12)
        shown = img.permute(1, 2, 0).numpy() if c == 3 else img[0].numpy()
        for j in range(1 + len(maps)):
            ax = axes[i, j]
            ax.imshow(shown, cmap=None if c == 3 else "gray")
            if j > 0:
                m = native[j - 1][i]
                if per_map:
                    m = (m - m.min()) / (np.ptp(m) + 1e-12)
                ax.imshow(m, cmap=cmap, alpha=alpha, vmin=lo, vmax=hi, extent=extent,
                          interpolation="nearest")
            if distractor_boxes is not None:
                for x0, y0, x1, y1 in distractor_boxes[i].tolist():
                    if x1 > x0 and y1 > y0:
                        ax.add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False,
                                                   edgecolor="lightgrey", linestyle="--", linewidth=1.0))
            if boxes is not None:
                x0, y0, x1, y1 = boxes[i].tolist()
                ax.add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0,
                                           fill=False, edgecolor="white", linewidth=1.2))
            ax.set_xlim(extent[0], extent[1])
            ax.set_ylim(extent[2], extent[3])
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title("image" if j == 0 else (map_titles[j - 1] if map_titles else f"map {j}"),
                             fontsize=9)
    if maps:
        mappable = ScalarMappable(norm=Normalize(vmin=lo, vmax=hi), cmap=cmap)
        fig.colorbar(mappable, ax=axes.ravel().tolist(), label=label, shrink=0.8)
    if suptitle:
        fig.suptitle(suptitle)
    return fig
