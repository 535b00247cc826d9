"""Attention mass inside a box (attn_helpers/attention_mass.py)."""

from __future__ import annotations

import pytest
import torch

from torch import nn

from attn_helpers.attention_mass import (
    MapScores,
    attention_mass_in_box,
    box_coverage,
    collect_attention_maps,
    intensity_maps,
    score_maps,
    show_attention_on_images,
    box_area_fraction,
    box_masks,
    summarise_attention_mass,
    upsample_maps,
)


def test_box_masks_and_area_by_hand() -> None:
    boxes = torch.tensor([[2, 1, 5, 3], [0, 0, 8, 6]])  # (x0, y0, x1, y1)
    masks = box_masks(boxes, (6, 8))  # H = 6, W = 8, non-square
    expected = torch.zeros(6, 8, dtype=torch.bool)
    expected[1:3, 2:5] = True
    assert torch.equal(masks[0], expected)
    assert masks[1].all()
    torch.testing.assert_close(box_area_fraction(boxes, (6, 8)), torch.tensor([6 / 48, 1.0], dtype=torch.float64))


def test_constant_map_gives_the_area_fraction() -> None:
    boxes = torch.tensor([[4.0, 8.0, 20.0, 16.0], [0.0, 0.0, 12.0, 12.0]])
    maps = torch.full((2, 6, 4), 0.37)
    torch.testing.assert_close(attention_mass_in_box(maps, boxes, (48, 32)), box_area_fraction(boxes, (48, 32)))


def test_mass_matches_manual_sum_at_image_resolution() -> None:
    torch.manual_seed(0)
    maps = torch.rand(3, 1, 10, 12, dtype=torch.float64)
    boxes = torch.tensor([[1, 2, 7, 9], [0, 0, 3, 3], [5, 5, 12, 10]])
    mass = attention_mass_in_box(maps, boxes, (10, 12))
    for n, (x0, y0, x1, y1) in enumerate(boxes.tolist()):
        m = maps[n, 0]
        torch.testing.assert_close(mass[n], m[y0:y1, x0:x1].sum() / m.sum())


def test_peaked_map_concentrates_mass() -> None:
    maps = torch.zeros(1, 4, 4)
    maps[0, 1, 2] = 1.0  # a cell covering image pixels rows 8..15, cols 16..23 of a 32x32 image
    box = torch.tensor([[16, 8, 24, 16]])
    nearest = attention_mass_in_box(maps, box, 32, mode="nearest")
    assert nearest.item() == pytest.approx(1.0)
    bilinear = attention_mass_in_box(maps, box, 32)
    assert bilinear.item() > 0.5 > box_area_fraction(box, 32).item()
    summary = summarise_attention_mass(maps, box, 32, mode="nearest")
    assert summary.ratio == pytest.approx(16.0)
    assert "x16.00" in str(summary)


def test_upsample_maps_shapes_and_nearest_blocks() -> None:
    maps = torch.arange(6.0).view(1, 2, 3)
    up = upsample_maps(maps, (4, 6), mode="nearest")
    assert up.shape == (1, 4, 6)
    assert torch.equal(up[0, :2, :2], torch.zeros(2, 2))
    assert upsample_maps(maps[:, None], 12).shape == (1, 12, 12)
    torch.testing.assert_close(upsample_maps(torch.full((2, 3, 5), 0.25), (12, 20)), torch.full((2, 12, 20), 0.25))


def test_gradients_flow_to_the_map() -> None:
    maps = torch.rand(2, 3, 3, dtype=torch.float64, requires_grad=True)
    boxes = torch.tensor([[0, 0, 4, 4], [2, 2, 6, 6]])
    assert torch.autograd.gradcheck(lambda m: attention_mass_in_box(m, boxes, 6), (maps,))


def test_bad_input_names_the_argument() -> None:
    boxes = torch.tensor([[0, 0, 4, 4]])
    with pytest.raises(ValueError, match="maps must be 3 or 4-D"):
        attention_mass_in_box(torch.rand(4, 4), boxes, 8)
    with pytest.raises(ValueError, match="maps must have shape"):
        attention_mass_in_box(torch.rand(1, 2, 4, 4), boxes, 8)
    with pytest.raises(ValueError, match="maps must be non-negative"):
        attention_mass_in_box(-torch.rand(1, 4, 4), boxes, 8)
    with pytest.raises(ValueError, match="maps must have positive total mass"):
        attention_mass_in_box(torch.zeros(1, 4, 4), boxes, 8)
    with pytest.raises(ValueError, match="boxes must have shape"):
        attention_mass_in_box(torch.rand(2, 4, 4), boxes, 8)
    with pytest.raises(ValueError, match="boxes must be"):
        box_masks(torch.tensor([[4, 0, 0, 4]]), 8)
    with pytest.raises(ValueError, match="image_size"):
        box_masks(boxes, (8, 0))
    with pytest.raises(ValueError, match="mode"):
        upsample_maps(torch.rand(1, 4, 4), 8, mode="bicubic")


class _Gate(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.keep_maps = False
        self.last_spatial_map = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.scale * x.mean(dim=1, keepdim=True))
        if self.keep_maps:
            self.last_spatial_map = gate.detach()
        return x * gate


def test_collect_attention_maps_keeps_order_and_restores_mode() -> None:
    model = nn.Sequential(_Gate()).train()
    x = torch.randn(10, 3, 4, 5)
    loader = [(x[:4], None), (x[4:], None)]
    maps = collect_attention_maps(model, loader, lambda m: [m[0].last_spatial_map])
    assert len(maps) == 1 and maps[0].shape == (10, 4, 5)
    torch.testing.assert_close(maps[0], torch.sigmoid(x.mean(dim=1)))
    assert model.training and model[0].keep_maps is False
    assert collect_attention_maps(model, loader, lambda m: [m[0].last_spatial_map], max_images=3)[0].shape == (3, 4, 5)


def test_show_attention_on_images_draws_a_grid() -> None:
    import matplotlib

    matplotlib.use("Agg")
    images = torch.rand(2, 3, 16, 12)
    fig = show_attention_on_images(images, [torch.rand(2, 4, 3), torch.rand(2, 1, 8, 6)],
                                   boxes=torch.tensor([[1, 2, 5, 6], [0, 0, 4, 4]]),
                                   map_titles=["a", "b"], suptitle="t")
    assert len(fig.axes) == 6 + 1  # 2 rows x 3 panels, plus the shared colour bar
    with pytest.raises(ValueError, match="map_titles"):
        show_attention_on_images(images, [torch.rand(2, 4, 3)], map_titles=["a", "b"])
    with pytest.raises(ValueError, match="images must be 4-D"):
        show_attention_on_images(torch.rand(3, 16, 12), [torch.rand(2, 4, 3)])


# --------------------------------------------------------------------------------------
# Native-resolution scoring
# --------------------------------------------------------------------------------------


def test_box_coverage_by_hand() -> None:
    # 2x2 map over a 4x4 image: each cell is a 2x2 pixel block.
    one_cell = box_coverage(torch.tensor([[0, 0, 2, 2]]), 2, 4)
    assert one_cell.dtype == torch.float64 and one_cell.shape == (1, 2, 2)
    assert torch.equal(one_cell[0], torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=torch.float64))
    half_cell = box_coverage(torch.tensor([[2.0, 2.0, 3.0, 4.0]]), (2, 2), (4, 4))  # left half of cell (1, 1)
    assert torch.equal(half_cell[0], torch.tensor([[0.0, 0.0], [0.0, 0.5]], dtype=torch.float64))
    # Non-square: a 1x3 map over a 2x6 image, cells [0,2), [2,4), [4,6) in x.
    torch.testing.assert_close(box_coverage(torch.tensor([[1.0, 0.0, 4.0, 2.0]]), (1, 3), (2, 6))[0],
                               torch.tensor([[0.5, 1.0, 0.0]], dtype=torch.float64))
    # Fractional cells: 3x3 map over 4x4 image, cell width 4/3; box [0, 2) x [0, 4).
    cov = box_coverage(torch.tensor([[0.0, 0.0, 2.0, 4.0]]), 3, 4)[0]
    torch.testing.assert_close(cov, torch.tensor([[1.0, 0.5, 0.0]] * 3, dtype=torch.float64))
    # Coverage times cell area sums to the box area.
    torch.testing.assert_close(cov.sum() * (4 / 3) ** 2, torch.tensor(8.0, dtype=torch.float64))


def test_box_coverage_union_of_several_boxes() -> None:
    boxes = torch.tensor([[[0, 0, 2, 2], [2, 2, 3, 4]]])  # cell (0, 0) fully, half of cell (1, 1)
    assert torch.equal(box_coverage(boxes, 2, 4)[0], torch.tensor([[1.0, 0.0], [0.0, 0.5]], dtype=torch.float64))
    # Two halves of one cell add up to a full cell; an overlapping copy is clipped at 1.
    halves = torch.tensor([[[0, 0, 1, 2], [1, 0, 2, 2], [0, 0, 2, 2]]])
    assert torch.equal(box_coverage(halves, 2, 4)[0], torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=torch.float64))
    # Zero-size (padding) boxes and K = 0 cover nothing.
    assert box_coverage(torch.tensor([[[1, 1, 1, 3]]]), 2, 4).sum() == 0
    assert box_coverage(torch.zeros(3, 0, 4), 2, 4).shape == (3, 2, 2)


def test_score_maps_perfect_constant_and_reversed_maps() -> None:
    boxes = torch.tensor([[0, 0, 2, 2]] * 3)  # exactly cell (0, 0) of a 2x2 map over 4x4
    perfect = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    maps = torch.stack([perfect, torch.full((2, 2), 0.4), 1.0 - perfect])
    scores = score_maps(maps, boxes, 4)
    assert isinstance(scores, MapScores) and scores.n == 3
    torch.testing.assert_close(scores.mass, torch.tensor([1.0, 0.25, 0.0], dtype=torch.float64))
    torch.testing.assert_close(scores.area, torch.full((3,), 0.25, dtype=torch.float64))
    torch.testing.assert_close(scores.auroc, torch.tensor([1.0, 0.5, 0.0], dtype=torch.float64))
    # The constant map's tied maxima resolve to the first cell (0, 0), which is the box.
    torch.testing.assert_close(scores.pointing, torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64))
    assert torch.isnan(scores.distractor_mass).all() and torch.isnan(scores.distractor_area).all()
    # (B, 1, h, w) maps give the same scores.
    torch.testing.assert_close(score_maps(maps[:, None], boxes, (4, 4)).auroc, scores.auroc)


def test_constant_maps_are_at_chance_for_any_box() -> None:
    torch.manual_seed(1)
    boxes = torch.tensor([[1.5, 2.0, 9.0, 7.25], [0.0, 0.0, 3.0, 12.0], [4.0, 4.0, 4.5, 5.0]])
    scores = score_maps(torch.full((3, 5, 7), 0.3), boxes, (12, 10))
    torch.testing.assert_close(scores.mass, scores.area)
    torch.testing.assert_close(scores.auroc, torch.full((3,), 0.5, dtype=torch.float64))


def test_weighted_auroc_by_hand_on_a_1x3_map() -> None:
    # A 1x3 map over a 2x6 image; box x in [1, 4) gives coverage [0.5, 1, 0].
    # In-box weights p = [0.5, 1, 0], out-of-box weights q = [0.5, 0, 1]; scores s = [3, 2, 1].
    # Pairs (a in, b out) with weight p_a q_b:
    #   a=0, b=0: tie 3 = 3        -> 0.5 * 0.5 * 1/2 = 0.125
    #   a=0, b=2: 3 > 1            -> 0.5 * 1         = 0.5
    #   a=1, b=0: 2 < 3            -> 0
    #   a=1, b=2: 2 > 1            -> 1 * 1           = 1
    # AUROC = 1.625 / (sum p * sum q) = 1.625 / (1.5 * 1.5) = 13 / 18.
    maps = torch.tensor([[[3.0, 2.0, 1.0]]])
    scores = score_maps(maps, torch.tensor([[1.0, 0.0, 4.0, 2.0]]), (2, 6))
    assert scores.auroc.item() == pytest.approx(13 / 18)
    assert scores.mass.item() == pytest.approx((3 * 0.5 + 2 * 1.0) / 6)
    assert scores.area.item() == pytest.approx(0.5)
    assert scores.pointing.item() == 1.0  # the argmax cell is exactly half inside: counts


def _brute_force_auroc(m: torch.Tensor, cov: torch.Tensor) -> float:
    s, p, q = m.flatten().double(), cov.flatten(), 1.0 - cov.flatten()
    win = (s[:, None] > s[None, :]).double() + 0.5 * (s[:, None] == s[None, :]).double()
    return ((p[:, None] * q[None, :] * win).sum() / (p.sum() * q.sum())).item()


def test_weighted_auroc_matches_brute_force_pairs() -> None:
    g = torch.Generator().manual_seed(0)
    n, h, w, size = 40, 5, 6, (20, 18)
    maps = torch.randint(0, 4, (n, h, w), generator=g).float() + 0.1  # many ties
    maps[::3] = torch.rand(len(maps[::3]), h, w, generator=g)  # and some without ties
    x = torch.rand(n, 2, generator=g).sort(dim=1).values * size[1]
    y = torch.rand(n, 2, generator=g).sort(dim=1).values * size[0]
    boxes = torch.stack([x[:, 0], y[:, 0], x[:, 1] + 1e-3, y[:, 1] + 1e-3], dim=1).clamp(max=18.0)
    boxes[:, 3] = boxes[:, 3].clamp(max=20.0)
    scores = score_maps(maps, boxes, size)
    cov = box_coverage(boxes, (h, w), size)
    for k in range(n):
        assert scores.auroc[k].item() == pytest.approx(_brute_force_auroc(maps[k], cov[k]), abs=1e-12)
        assert scores.mass[k].item() == pytest.approx(((maps[k].double() * cov[k]).sum() / maps[k].sum()).item())


def test_distractors_and_summary() -> None:
    # 2x2 map over 4x4; target = cell (0, 0); distractors = cell (1, 1) and half of cell (0, 1).
    maps = torch.tensor([[[4.0, 2.0], [1.0, 3.0]]])
    distractors = torch.tensor([[[2, 2, 4, 4], [2, 0, 3, 2]]])
    scores = score_maps(maps, torch.tensor([[0, 0, 2, 2]]), 4, distractor_boxes=distractors)
    assert scores.mass.item() == pytest.approx(0.4)
    assert scores.distractor_mass.item() == pytest.approx((3 + 0.5 * 2) / 10)
    assert scores.distractor_area.item() == pytest.approx(1.5 / 4)
    m = scores.summary()
    assert set(m) >= {"mass", "area", "ratio", "auroc", "pointing", "distractor_mass", "distractor_area", "n"}
    assert m["ratio"] == pytest.approx(0.4 / 0.25) and m["n"] == 1 and m["auroc"] == pytest.approx(1.0)
    assert scores.means == m
    text = str(scores)
    assert text.startswith("AUROC 1.00 | pointing 1.00 | mass in box 0.40 (x1.6 area)")
    assert "on distractors 0.40 (x1.1)" in text
    assert "distractors" not in str(score_maps(maps, torch.tensor([[0, 0, 2, 2]]), 4))
    row = scores.row("CBAM")
    assert row["map"] == "CBAM" and row["auroc"] == pytest.approx(1.0)
    # (B, 4) distractor boxes are one box per image.
    single = score_maps(maps, torch.tensor([[0, 0, 2, 2]]), 4, distractor_boxes=torch.tensor([[2, 2, 4, 4]]))
    assert single.distractor_mass.item() == pytest.approx(0.3)


def test_sigmoid_gate_floor_hides_selectivity_from_mass_not_auroc() -> None:
    maps = torch.full((1, 4, 4), 0.4)
    maps[0, 1, 1] = 0.9
    scores = score_maps(maps, torch.tensor([[4, 4, 8, 8]]), 16)
    assert scores.auroc.item() == 1.0 and scores.pointing.item() == 1.0
    assert scores.means["ratio"] < 2.5  # mass/area far below the 16x of a perfect map


def test_score_maps_bad_input_names_the_argument() -> None:
    box = torch.tensor([[0, 0, 2, 2]])
    with pytest.raises(ValueError, match="maps must be non-negative"):
        score_maps(-torch.rand(1, 2, 2), box, 4)
    with pytest.raises(ValueError, match="maps must have positive total mass"):
        score_maps(torch.zeros(1, 2, 2), box, 4)
    with pytest.raises(ValueError, match="maps must be 3 or 4-D"):
        score_maps(torch.rand(2, 2), box, 4)
    with pytest.raises(ValueError, match="boxes must hold 2"):
        score_maps(torch.rand(2, 2, 2), box, 4)
    with pytest.raises(ValueError, match="boxes must lie inside"):
        score_maps(torch.rand(1, 2, 2), torch.tensor([[0, 0, 5, 2]]), 4)
    with pytest.raises(ValueError, match="boxes must lie inside"):
        box_coverage(torch.tensor([[-1.0, 0.0, 2.0, 2.0]]), 2, 4)
    with pytest.raises(ValueError, match="boxes must be .*inverted"):
        box_coverage(torch.tensor([[3, 0, 1, 2]]), 2, 4)
    with pytest.raises(ValueError, match="boxes must have shape"):
        box_coverage(torch.tensor([[0, 0, 2]]), 2, 4)
    with pytest.raises(ValueError, match="map_size"):
        box_coverage(box, (2, 0), 4)
    with pytest.raises(ValueError, match="distractor_boxes must lie inside"):
        score_maps(torch.rand(1, 2, 2), box, 4, distractor_boxes=torch.tensor([[[0, 0, 9, 9]]]))
    with pytest.raises(ValueError, match="distractor_boxes must hold 1"):
        score_maps(torch.rand(1, 2, 2), box, 4, distractor_boxes=torch.zeros(2, 1, 4))


def test_intensity_maps_on_a_tiny_image() -> None:
    images = torch.full((1, 2, 4, 4), -1.0)  # background -1 in both channels
    images[0, 0, 0, 0] = 1.0  # bright in channel 0
    images[0, 1, 0, 1] = 0.0  # half bright in channel 1
    images[0, 1, 3, 3] = 1.0
    out = intensity_maps(images, 2)
    # shifted = image + 1; channel max: (0,0) -> 2, (0,1) -> 1, (3,3) -> 2, else 0; 2x2 mean pooling.
    torch.testing.assert_close(out, torch.tensor([[[0.75, 0.0], [0.0, 0.5]]]))
    assert intensity_maps(torch.rand(3, 3, 8, 6), (4, 3)).shape == (3, 4, 3)
    with pytest.raises(ValueError, match="images must be 4-D"):
        intensity_maps(torch.rand(3, 8, 6), 2)
    with pytest.raises(ValueError, match="map_size"):
        intensity_maps(torch.rand(1, 3, 8, 6), 0)


def test_show_attention_fixed_scale_colour_bar_and_distractors() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = torch.rand(2, 1, 16, 12)
    maps = [torch.rand(2, 4, 3), torch.rand(2, 1, 8, 6)]
    boxes = torch.tensor([[1, 2, 5, 6], [0, 0, 4, 4]])
    distractors = torch.tensor([[[6, 6, 10, 12], [0, 0, 0, 0]], [[5, 5, 9, 9], [1, 10, 4, 14]]])
    fig = show_attention_on_images(images, maps, boxes=boxes, distractor_boxes=distractors)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 2 * 3 + 1
    bar = fig.axes[-1]
    assert "fixed scale" in bar.get_ylabel()
    overlay = fig.axes[1].get_images()[-1]
    assert overlay.get_clim() == (0.0, 1.0) and overlay.get_interpolation() == "nearest"
    assert overlay.get_array().shape == (4, 3)  # native resolution, not upsampled
    dashed = [p for p in fig.axes[1].patches if p.get_linestyle() == "--"]
    assert len(dashed) == 1  # the zero-size padding box is not drawn
    plt.close(fig)
    fig = show_attention_on_images(images, maps, vmin=None, vmax=None)
    assert len(fig.axes) == 7 and "per-map min-max" in fig.axes[-1].get_ylabel()
    plt.close(fig)
    with pytest.raises(ValueError, match="vmin"):
        show_attention_on_images(images, maps, vmin=1.0, vmax=0.5)
    with pytest.raises(ValueError, match="distractor_boxes"):
        show_attention_on_images(images, maps, distractor_boxes=torch.zeros(3, 1, 4))
