"""ECA checked against the paper's definition written out with plain tensor ops."""

from __future__ import annotations

import math

import pytest
import torch

from attn_helpers.efficient_channel import EfficientChannelAttention, eca_kernel_size


@pytest.mark.parametrize(("channels", "expected"), [(16, 3), (64, 3), (128, 5), (256, 5), (512, 5), (2048, 7)])
def test_adaptive_kernel_size_matches_the_paper_formula(channels: int, expected: int) -> None:
    t = int(abs((math.log2(channels) + 1) / 2))
    assert eca_kernel_size(channels) == expected == (t if t % 2 else t + 1)


@pytest.mark.parametrize("train", [True, False])
def test_forward_equals_the_formula_on_non_square_float64_input(train: bool) -> None:
    torch.manual_seed(0)
    module = EfficientChannelAttention(32, kernel_size=5).double().train(train)
    x = torch.randn(3, 32, 5, 7, dtype=torch.float64, requires_grad=True)
    weight = module.conv.weight.view(-1)  # (k,)
    z = x.mean(dim=(2, 3))  # (B, C)
    padded = torch.nn.functional.pad(z, (2, 2))
    mixed = torch.stack([(padded[:, c : c + 5] * weight).sum(dim=1) for c in range(32)], dim=1)
    expected = x * torch.sigmoid(mixed)[:, :, None, None]
    torch.testing.assert_close(module(x), expected)
    assert torch.autograd.gradcheck(module, (x,))


def test_gate_is_kept_only_when_asked() -> None:
    module = EfficientChannelAttention(8)
    x = torch.randn(2, 8, 4, 4)
    module(x)
    assert module.last_gate is None
    module.keep_maps = True
    module(x)
    assert module.last_gate.shape == (2, 8, 1, 1)
    assert bool(((module.last_gate > 0) & (module.last_gate < 1)).all())


def test_has_no_bottleneck_only_k_weights() -> None:
    assert sum(p.numel() for p in EfficientChannelAttention(256).parameters()) == eca_kernel_size(256)


@pytest.mark.parametrize(
    ("kwargs", "x", "match"),
    [
        ({"channels": 8}, torch.randn(2, 8, 4), "x must be 4-D"),
        ({"channels": 8}, torch.randn(2, 6, 4, 4), r"x must have shape \(B, 8, H, W\)"),
        ({"channels": 8}, torch.randn(2, 8, 0, 4), r"x must have at least one position"),
        ({"channels": 8, "kernel_size": 2.5}, None, "kernel_size must be a positive int, got 2.5"),
        ({"channels": 8, "kernel_size": 4}, None, "kernel_size"),
        ({"channels": 0}, None, "channels"),
    ],
)
def test_bad_input_names_the_argument(kwargs: dict, x: torch.Tensor | None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        EfficientChannelAttention(**kwargs)(x)


def test_an_integer_input_is_named_before_mean_fails() -> None:
    # torch's own error comes from mean() and names neither the argument nor the module
    with pytest.raises(TypeError, match="x must have a floating-point dtype, got torch.int64"):
        EfficientChannelAttention(8)(torch.ones(2, 8, 4, 4, dtype=torch.long))


def test_a_float64_input_to_a_float32_module_is_named() -> None:
    module = EfficientChannelAttention(8)
    with pytest.raises(TypeError, match=r"x must have dtype torch.float32 \(the dtype of EfficientChannelAttention's "
                                        r"parameters\), got torch.float64"):
        module(torch.randn(2, 8, 4, 4, dtype=torch.float64))
    assert module.double()(torch.randn(2, 8, 4, 4, dtype=torch.float64)).dtype == torch.float64
