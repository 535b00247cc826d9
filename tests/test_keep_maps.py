"""set_keep_maps switches every module that stores maps, and nothing else."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import attn_helpers as ah


def test_switches_every_attention_module_of_a_backbone_on_and_off() -> None:
    model = ah.ResNetCifar(10, block_attention=lambda c: ah.CBAM(c, reduction=4),
                           stage_attention=lambda c: ah.BAM(c, reduction=4))
    switchable = [m for m in model.modules() if isinstance(getattr(m, "keep_maps", None), bool)]
    assert len(switchable) >= 5  # three CBAM blocks (and their parts), two BAM modules
    ah.set_keep_maps(model, True)
    assert all(m.keep_maps for m in switchable)
    model.eval()
    with torch.no_grad():
        model(torch.randn(2, 3, 16, 20))
    assert all(a.last_spatial_map is not None for a in model.stage_attention_modules())
    ah.set_keep_maps(model, False)
    assert not any(m.keep_maps for m in switchable)


def test_leaves_modules_without_the_flag_alone() -> None:
    plain = nn.Sequential(nn.Linear(2, 2))
    plain[0].keep_maps = "not a flag"  # only boolean attributes are switched
    ah.set_keep_maps(plain, True)
    assert plain[0].keep_maps == "not a flag"


def test_rejects_a_non_module() -> None:
    with pytest.raises(TypeError, match="model"):
        ah.set_keep_maps([nn.Linear(2, 2)], True)  # type: ignore[arg-type]
