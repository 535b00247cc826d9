"""Generated digit images with known boxes: the offline route of the vision chapters.

scikit-learn ships 1,797 real handwritten 8x8 digits (``sklearn.datasets.load_digits``, no
download). Both tasks here paste them, upsampled, onto a canvas; because we place every
digit, its box is known, so attention maps can be scored against the truth. Train and test
images use disjoint source digits, so test accuracy measures generalisation to new
handwriting.

* :func:`make_cluttered_digits`, the *easy* task: one digit on a dark canvas strewn with
  fragments of other digits; the label is that digit. A CNN with global pooling solves it
  without help, so it is the book's contrast: where attention has nothing to add.
* :func:`make_cued_digits`, the *cued* task: several whole digits, each in its own colour,
  and a frame around the canvas in the colour of the one to read (the target). The label is
  the target's class; the other digits (distractors) carry other classes. Reading it needs
  global context (the frame's colour) to decide which local evidence counts: what channel
  gates (select the target's colour) and spatial gates (select the target's place) are
  built for. Boxes of the target *and* every distractor are stored.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..validation import check_choice, check_int

__all__ = [
    "CUE_COLOURS",
    "DIGIT_SOURCES",
    "ClutteredDigits",
    "CuedDigits",
    "make_cluttered_digits",
    "make_cued_digits",
]

DIGIT_SOURCES = ("train", "test")
_TEST_FRACTION = 0.25  # share of scikit-learn's digits kept for test images
_SPLIT_SEED = 1234
# Colours of the cued task, most separable first: the primaries each live in one input
# channel; the mixtures share channels with two primaries (a harder task, see ``colours``).
CUE_COLOURS = {
    "red": (1.0, 0.0, 0.0),
    "green": (0.0, 1.0, 0.0),
    "blue": (0.0, 0.0, 1.0),
    "yellow": (1.0, 1.0, 0.0),
    "cyan": (0.0, 1.0, 1.0),
    "magenta": (1.0, 0.0, 1.0),
}


def _check_scale_range(scale_range: tuple[float, float], digit_size: int, room: int) -> None:
    if len(scale_range) != 2 or not 0 < scale_range[0] <= scale_range[1]:
        raise ValueError(f"scale_range must be (low, high) with 0 < low <= high, got {scale_range!r}")
    if round(digit_size * scale_range[1]) > room or round(digit_size * scale_range[0]) < 2:
        raise ValueError(
            f"scale_range={scale_range!r} with digit_size={digit_size} gives digits outside "
            f"[2, {room}] pixels"
        )


def _load_digit_pool(source: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)  # (1797, 8, 8) in [0, 1]
    order = np.random.default_rng(_SPLIT_SEED).permutation(len(images))
    n_test = int(round(_TEST_FRACTION * len(images)))
    chosen = order[:n_test] if source == "test" else order[n_test:]
    return images[chosen], bunch.target[chosen].astype(np.int64)


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of (N, h, w) images to (N, size, size), clipped to [0, 1]."""
    tensor = torch.from_numpy(images)[:, None]
    out = F.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=False)
    return out[:, 0].clamp_(0.0, 1.0).numpy()


class ClutteredDigits(Dataset):
    """Generated cluttered-digit images; build with :func:`make_cluttered_digits`.

    Attributes:
        images: (N, 1, H, W) uint8 grey canvases (repeated to 3 channels when read), or
            (N, 3, H, W) colour canvases (:class:`CuedDigits`).
        labels: (N,) int64 digit classes 0-9.
        boxes: (N, 4) float32 ``(x0, y0, x1, y1)`` pixel box of the digit (x1, y1 exclusive).
        scales: (N,) float32 size of the digit relative to ``digit_size``.
        class_names: ``["0", ..., "9"]``.

    ``dataset[i]`` gives ``(image (3, H, W) float32, label int)``; indexing with a list or
    tensor of indices gives a whole batch ``(images (B, 3, H, W), labels (B,))`` in one
    tensor operation (the offline loaders use this: no per-image Python work).
    Pixel values are mapped from [0, 1] to [-1, 1].
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, boxes: torch.Tensor, scales: torch.Tensor) -> None:  # noqa: D107
        self.images, self.labels, self.boxes, self.scales = images, labels, boxes, scales
        self.class_names = [str(d) for d in range(10)]

    def __len__(self) -> int:
        return self.labels.shape[0]

    def __getitem__(self, index: Any) -> tuple[torch.Tensor, Any]:
        if isinstance(index, (int, np.integer)):
            image = self.images[int(index)].float().div_(127.5).sub_(1.0)  # (C, H, W) in [-1, 1]
            return image.expand(3, -1, -1).contiguous(), int(self.labels[int(index)])
        index = torch.as_tensor(index, dtype=torch.long)
        images = self.images[index].float().div_(127.5).sub_(1.0)  # (B, C, H, W), C = 1 or 3
        return images.expand(-1, 3, -1, -1).contiguous(), self.labels[index]


def make_cluttered_digits(
    n: int,
    *,
    canvas_size: int = 48,
    digit_size: int | None = None,
    scale_range: tuple[float, float] = (1.0, 1.0),
    clutter: int = 4,
    source: str = "train",
    seed: int = 0,
) -> ClutteredDigits:
    """Generate ``n`` cluttered-digit images.

    Args:
        n: number of images.
        canvas_size: side of the square canvas in pixels.
        digit_size: side of a digit at scale 1.0 (default ``canvas_size // 3``).
        scale_range: each digit's scale is drawn uniformly from this range
            (``(1.5, 1.5)`` makes every digit exactly 1.5x as large).
        clutter: number of fragments (random quarter-to-half crops of other digits) per image.
        source: ``"train"`` or ``"test"``: which disjoint set of scikit-learn digits to use.
        seed: seed of the positions, scales, digits and clutter.
    """
    n = check_int("n", n, 1)
    canvas_size = check_int("canvas_size", canvas_size, 8)
    digit_size = check_int("digit_size", canvas_size // 3 if digit_size is None else digit_size, 4, canvas_size)
    _check_scale_range(scale_range, digit_size, canvas_size)
    clutter = check_int("clutter", clutter, 0)
    check_choice("source", source, DIGIT_SOURCES)
    seed = check_int("seed", seed, 0)

    pool, pool_labels = _load_digit_pool(source)
    rng = np.random.default_rng([seed, DIGIT_SOURCES.index(source)])
    which = rng.integers(len(pool), size=n)
    scales = rng.uniform(scale_range[0], scale_range[1], size=n).astype(np.float32)
    sizes = np.rint(digit_size * scales).astype(int)
    x0 = (rng.random(n) * (canvas_size - sizes + 1)).astype(int)
    y0 = (rng.random(n) * (canvas_size - sizes + 1)).astype(int)

    canvases = np.zeros((n, canvas_size, canvas_size), dtype=np.float32)
    if clutter:
        base = _resize(pool, digit_size)  # (P, s, s): fragments come from base-size digits
        frag_which = rng.integers(len(pool), size=(n, clutter))
        frag_size = rng.integers(max(2, digit_size // 4), max(3, digit_size // 2 + 1), size=(n, clutter))
        frag_u = rng.random((n, clutter, 4))  # crop offset (2) and canvas position (2)
        for i in range(n):
            for k in range(clutter):
                f = frag_size[i, k]
                cy, cx = (frag_u[i, k, :2] * (digit_size - f + 1)).astype(int)
                py, px = (frag_u[i, k, 2:] * (canvas_size - f + 1)).astype(int)
                patch = base[frag_which[i, k], cy:cy + f, cx:cx + f]
                region = canvases[i, py:py + f, px:px + f]
                np.maximum(region, patch, out=region)
    for size in np.unique(sizes):
        members = np.nonzero(sizes == size)[0]
        resized = _resize(pool[which[members]], int(size))  # (m, size, size)
        for j, i in enumerate(members):
            region = canvases[i, y0[i]:y0[i] + size, x0[i]:x0[i] + size]
            np.maximum(region, resized[j], out=region)

    images = torch.from_numpy(np.rint(canvases * 255).astype(np.uint8))[:, None]  # (n, 1, H, W)
    boxes = torch.from_numpy(np.stack([x0, y0, x0 + sizes, y0 + sizes], axis=1).astype(np.float32))
    return ClutteredDigits(images, torch.from_numpy(pool_labels[which]), boxes, torch.from_numpy(scales))


class CuedDigits(ClutteredDigits):
    """Generated cued-digit images; build with :func:`make_cued_digits`.

    Attributes (besides those of :class:`ClutteredDigits`, which here describe the target):
        images: (N, 3, H, W) uint8 colour canvases.
        distractor_boxes: (N, D, 4) float32 boxes of the D distractor digits.
        distractor_labels: (N, D) int64 classes of the distractors (never the target's).
        target_colours: (N,) int64 index into :data:`CUE_COLOURS` of the target's (and the
            frame's) colour.
        cue_width: the frame's width in pixels (0: no cue, the target cannot be told).
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, boxes: torch.Tensor, scales: torch.Tensor,
                 distractor_boxes: torch.Tensor, distractor_labels: torch.Tensor,
                 target_colours: torch.Tensor, cue_width: int) -> None:  # noqa: D107
        super().__init__(images, labels, boxes, scales)
        self.distractor_boxes, self.distractor_labels = distractor_boxes, distractor_labels
        self.target_colours, self.cue_width = target_colours, cue_width


def _place_without_overlap(rng: np.random.Generator, sizes: np.ndarray, low: int, high: int,
                           gap: int) -> np.ndarray:
    """Top-left corners (k, 2) of k squares of ``sizes`` inside [low, high), ``gap`` px apart."""
    for _ in range(1000):
        corners = np.stack([rng.integers(low, high - s + 1, size=2) for s in sizes])
        ok = True
        for a in range(len(sizes)):
            for b in range(a):
                apart_x = (corners[a, 0] >= corners[b, 0] + sizes[b] + gap) or (corners[b, 0] >= corners[a, 0] + sizes[a] + gap)
                apart_y = (corners[a, 1] >= corners[b, 1] + sizes[b] + gap) or (corners[b, 1] >= corners[a, 1] + sizes[a] + gap)
                if not (apart_x or apart_y):
                    ok = False
        if ok:
            return corners
    raise ValueError(f"could not place {len(sizes)} digits of sizes {sizes.tolist()} without overlap "
                     f"in a {high - low} px square; use a larger canvas_size or fewer distractors")


def make_cued_digits(
    n: int,
    *,
    canvas_size: int = 32,
    digit_size: int = 10,
    distractors: int = 1,
    colours: int = 3,
    cue_width: int = 2,
    scale_range: tuple[float, float] = (1.0, 1.0),
    source: str = "train",
    seed: int = 0,
) -> CuedDigits:
    """Generate ``n`` cued-digit images: read the digit whose colour the frame shows.

    Each image holds ``1 + distractors`` whole digits of distinct classes, each in a distinct
    colour drawn from the first ``colours`` of :data:`CUE_COLOURS`, placed without overlap
    inside a frame of width ``cue_width`` in the target's colour. The label is the target's
    class, so a model that reads a random digit scores ``1 / (1 + distractors)``.

    Args:
        n: number of images.
        canvas_size: side of the square canvas in pixels.
        digit_size: side of a digit at scale 1.0.
        distractors: D, digits besides the target (difficulty knob; 0 is a one-digit task).
        colours: palette size, ``1 + distractors`` to 6; 3 uses only pure red, green and
            blue (each colour in one input channel), more adds mixtures that share channels.
        cue_width: the frame's width in pixels, the cue's size (0 removes the cue: a control
            where the target cannot be identified).
        scale_range: each digit's scale is drawn uniformly from this range.
        source: ``"train"`` or ``"test"``: which disjoint set of scikit-learn digits to use.
        seed: seed of positions, scales, digits and colours.
    """
    n = check_int("n", n, 1)
    canvas_size = check_int("canvas_size", canvas_size, 8)
    digit_size = check_int("digit_size", digit_size, 4, canvas_size)
    distractors = check_int("distractors", distractors, 0, len(CUE_COLOURS) - 1)
    colours = check_int("colours", colours, distractors + 1, len(CUE_COLOURS))
    cue_width = check_int("cue_width", cue_width, 0, canvas_size // 4)
    inner = canvas_size - 2 * (cue_width + 1)  # one dark pixel between frame and digits
    _check_scale_range(scale_range, digit_size, inner)
    check_choice("source", source, DIGIT_SOURCES)
    seed = check_int("seed", seed, 0)

    pool, pool_labels = _load_digit_pool(source)
    by_class = [np.nonzero(pool_labels == c)[0] for c in range(10)]
    rng = np.random.default_rng([seed, DIGIT_SOURCES.index(source), 7])
    k = 1 + distractors
    classes = np.stack([rng.choice(10, size=k, replace=False) for _ in range(n)])  # (n, k), [:, 0] target
    which = np.stack([[rng.choice(by_class[c]) for c in row] for row in classes])  # (n, k) pool indices
    colour_idx = np.stack([rng.choice(colours, size=k, replace=False) for _ in range(n)])  # (n, k)
    scales = rng.uniform(scale_range[0], scale_range[1], size=(n, k)).astype(np.float32)
    sizes = np.rint(digit_size * scales).astype(int)
    low = cue_width + 1
    corners = np.stack([_place_without_overlap(rng, sizes[i], low, low + inner, gap=1) for i in range(n)])

    palette = np.array(list(CUE_COLOURS.values()), dtype=np.float32)  # (6, 3)
    canvases = np.zeros((n, 3, canvas_size, canvas_size), dtype=np.float32)
    if cue_width:
        frame = np.ones((canvas_size, canvas_size), dtype=bool)
        frame[cue_width:-cue_width, cue_width:-cue_width] = False
        canvases[:, :, frame] = palette[colour_idx[:, 0]][:, :, None]
    for size in np.unique(sizes):
        members = np.argwhere(sizes == size)  # (m, 2): (image, digit)
        resized = _resize(pool[which[members[:, 0], members[:, 1]]], int(size))  # (m, size, size)
        for (i, j), ink in zip(members, resized):
            x0, y0 = corners[i, j]
            region = canvases[i, :, y0:y0 + size, x0:x0 + size]
            np.maximum(region, palette[colour_idx[i, j]][:, None, None] * ink, out=region)

    boxes = np.concatenate([corners, corners + sizes[..., None]], axis=-1).astype(np.float32)  # (n, k, 4)
    images = torch.from_numpy(np.rint(canvases * 255).astype(np.uint8))
    return CuedDigits(
        images, torch.from_numpy(classes[:, 0].copy()), torch.from_numpy(boxes[:, 0].copy()),
        torch.from_numpy(scales[:, 0].copy()), distractor_boxes=torch.from_numpy(boxes[:, 1:].copy()),
        distractor_labels=torch.from_numpy(classes[:, 1:].copy()),
        target_colours=torch.from_numpy(colour_idx[:, 0].astype(np.int64)), cue_width=cue_width,
    )
