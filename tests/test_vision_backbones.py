"""Tests of attn_helpers.vision.backbones: shapes, where attention goes, bad input."""

import functools

import pytest
import torch
from torch import nn

import attn_helpers as ah


class Recorder(nn.Module):
    """A stand-in attention module that multiplies by 2 and records its input shape."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.seen: list[tuple[int, ...]] = []

    def forward(self, x):
        self.seen.append(tuple(x.shape))
        return 2 * x


def _block_pieces(block, x):
    shortcut = block.shortcut(x)
    residual = block.bn2(block.conv2(block.conv1(x)))
    return residual, shortcut


@pytest.mark.parametrize("position", ah.ATTENTION_POSITIONS)
def test_block_attention_positions(position):
    torch.manual_seed(0)
    block = ah.BasicBlock(4, 8, stride=2, attention=Recorder, attention_position=position).double().eval()
    x = torch.randn(2, 4, 6, 10, dtype=torch.float64)  # non-square
    out = block(x)
    with torch.no_grad():
        if position == "pre":
            residual = block.bn2(block.conv2(block.conv1(2 * x)))
            expected = torch.relu(residual + block.shortcut(x))
        else:
            residual, shortcut = _block_pieces(block, x)
            expected = {
                "standard": torch.relu(2 * residual + shortcut),
                "post": 2 * torch.relu(residual + shortcut),
                "identity": torch.relu(residual + 2 * shortcut),
            }[position]
    torch.testing.assert_close(out, expected)
    assert block.attention.channels == (4 if position == "pre" else 8)


def test_baseline_block_is_plain_residual():
    torch.manual_seed(0)
    block = ah.BasicBlock(8, 8).eval()
    x = torch.randn(2, 8, 5, 5)
    residual, shortcut = _block_pieces(block, x)
    assert isinstance(block.shortcut, nn.Identity)
    torch.testing.assert_close(block(x), torch.relu(residual + x))


def test_resnet_shapes_and_attention_placement():
    model = ah.ResNetCifar(10, block_attention=ah.SqueezeExcite, blocks_per_stage=(2, 1, 1))
    x = torch.randn(2, 3, 24, 40)
    assert model(x).shape == (2, 10)
    assert [m.channels for m in model.block_attention_modules()] == [16, 16, 32, 64]
    stages = model.forward_stages(x)
    assert [tuple(s.shape) for s in stages] == [(2, 16, 24, 40), (2, 32, 12, 20), (2, 64, 6, 10)]
    baseline = ah.ResNetCifar(10)
    assert baseline.block_attention_modules() == [] and baseline.stage_attention_modules() == []
    assert ah.count_parameters(model) > ah.count_parameters(baseline)


def test_attention_stages_and_stage_attention():
    model = ah.ResNetCifar(10, block_attention=ah.SqueezeExcite, attention_stages=[2], stage_attention=Recorder)
    assert [m.channels for m in model.block_attention_modules()] == [64]
    assert [m.channels for m in model.stage_attention_modules()] == [16, 32]  # between stages only
    model(torch.randn(2, 3, 16, 16))
    assert model.stage_attention_modules()[1].seen == [(2, 32, 8, 8)]


def test_block_conv_selective_kernel_and_keep_maps():
    model = ah.ResNetCifar(10, block_conv=functools.partial(ah.SelectiveKernel, groups=8))
    sks = model.block_conv_modules()
    assert all(isinstance(m, ah.SelectiveKernel) for m in sks)
    model.set_keep_maps(True)
    model(torch.randn(2, 3, 16, 16))
    assert [tuple(m.last_branch_weights.shape) for m in sks] == [(2, 2, 16), (2, 2, 32), (2, 2, 64)]
    model.set_keep_maps(False)
    assert not any(m.keep_maps for m in sks)


def test_vgg_shapes_and_attention():
    model = ah.VGGCifar(10, widths=(8, 16, 32), block_attention=ah.SqueezeExcite, stage_attention=Recorder)
    x = torch.randn(2, 3, 32, 24)
    assert model(x).shape == (2, 10)
    assert [tuple(s.shape) for s in model.forward_stages(x)] == [(2, 8, 16, 12), (2, 16, 8, 6), (2, 32, 4, 3)]
    assert [m.channels for m in model.block_attention_modules()] == [8, 16, 32]
    assert len(model.stage_attention_modules()) == 2
    plain = ah.VGGCifar(10, widths=(8, 16), pool=(False, True))
    assert [tuple(s.shape) for s in plain.forward_stages(torch.randn(1, 3, 8, 8))] == [(1, 8, 8, 8), (1, 16, 4, 4)]
    assert plain.block_attention_modules() == []


def test_gradients_reach_attention():
    model = ah.ResNetCifar(10, block_attention=ah.SqueezeExcite).double()
    model(torch.randn(2, 3, 12, 12, dtype=torch.float64)).sum().backward()
    assert all(m.fc1.weight.grad is not None for m in model.block_attention_modules())


def test_bad_input():
    model = ah.ResNetCifar(10)
    with pytest.raises(ValueError, match="x must be 4-D"):
        model(torch.randn(3, 16, 16))
    with pytest.raises(ValueError, match=r"x must have shape \(\*, 3, \*, \*\)"):
        model(torch.randn(2, 1, 16, 16))
    with pytest.raises(ValueError, match="attention_position"):
        ah.ResNetCifar(10, attention_position="middle")
    with pytest.raises(ValueError, match="attention_stages"):
        ah.ResNetCifar(10, attention_stages=[3])
    with pytest.raises(ValueError, match="blocks_per_stage"):
        ah.ResNetCifar(10, blocks_per_stage=(1, 1))
    with pytest.raises(ValueError, match="widths"):
        ah.ResNetCifar(10, widths=())
    with pytest.raises(ValueError, match="num_classes"):
        ah.ResNetCifar(0)
    with pytest.raises(ValueError, match="pool"):
        ah.VGGCifar(10, widths=(8, 16), pool=(True,))
    with pytest.raises(ValueError, match="x must be 4-D"):
        ah.VGGCifar(10)(torch.randn(3, 8, 8))


@pytest.mark.parametrize("kwargs", [
    dict(block_attention=ah.CBAM),
    dict(stage_attention=ah.BAM),
    dict(block_attention=ah.SqueezeExcite, attention_position="pre"),
    dict(block_conv=functools.partial(ah.SelectiveKernel, groups=4, min_channels=8)),
])
def test_shared_backbone_layers_start_identical_with_and_without_attention(kwargs):
    # Paired comparisons rest on this: after the same seed, every layer the two networks
    # share has the same initial weights (attention is built off the backbone's stream).
    torch.manual_seed(7)
    plain = ah.ResNetCifar(10).state_dict()
    torch.manual_seed(7)
    with_attention = ah.ResNetCifar(10, **kwargs).state_dict()
    shared = [k for k in plain if k in with_attention]
    replaced = [k for k in plain if k not in with_attention]
    # only the SK-replaced first conv-BN of each of the 3 blocks (conv weight + 5 BN entries)
    assert len(replaced) == (18 if "block_conv" in kwargs else 0)
    assert all(".conv1." in k for k in replaced)
    for key in shared:
        assert torch.equal(plain[key], with_attention[key]), key


def test_vgg_shared_layers_identical_with_block_attention():
    torch.manual_seed(3)
    plain = ah.VGGCifar(10, widths=(8, 16)).state_dict()
    torch.manual_seed(3)
    other = ah.VGGCifar(10, widths=(8, 16), block_attention=functools.partial(ah.CBAM, reduction=4)).state_dict()
    for key, value in plain.items():
        assert torch.equal(value, other[key]), key


def test_a_float64_image_to_a_float32_network_is_named():
    for net, name in ((ah.ResNetCifar(10, widths=(8, 16)), "ResNetCifar"), (ah.VGGCifar(10, widths=(8, 16)), "VGGCifar")):
        with pytest.raises(TypeError, match=rf"x must have dtype torch.float32 \(the dtype of {name}'s parameters\)"):
            net(torch.randn(2, 3, 8, 8, dtype=torch.float64))


@pytest.mark.parametrize("argument", ["num_classes", "in_channels"])
def test_a_float_count_is_named(argument: str):
    with pytest.raises(ValueError, match=f"{argument} must be a positive int, got 3.0"):
        ah.ResNetCifar(**{"num_classes": 10, argument: 3.0})
