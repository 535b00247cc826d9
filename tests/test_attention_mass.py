"""Attention mass inside a box (attn_helpers/attention_mass.py)."""

from __future__ import annotations

import pytest
import torch

from torch import nn

from attn_helpers.attention_mass import (
    attention_mass_in_box,
    collect_attention_maps,
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
    assert len(fig.axes) == 6
    with pytest.raises(ValueError, match="map_titles"):
        show_attention_on_images(images, [torch.rand(2, 4, 3)], map_titles=["a", "b"])
    with pytest.raises(ValueError, match="images must be 4-D"):
        show_attention_on_images(torch.rand(3, 16, 12), [torch.rand(2, 4, 3)])
