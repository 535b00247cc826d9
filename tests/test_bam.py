"""BAM (attn_helpers/bam.py) against the paper's formula written with plain tensor ops."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from attn_helpers.bam import BAM


def _bn(v: torch.Tensor, bn: nn.Module, dims: tuple[int, ...]) -> torch.Tensor:
    shape = [1, -1] + [1] * (v.dim() - 2)
    if bn.training:
        mean = v.mean(dim=dims, keepdim=True)
        var = v.var(dim=dims, unbiased=False, keepdim=True)
    else:
        mean, var = bn.running_mean.view(shape), bn.running_var.view(shape)
    return (v - mean) / torch.sqrt(var + bn.eps) * bn.weight.view(shape) + bn.bias.view(shape)


def _spatial_logits(x, m):
    """Ms of BAM's spatial branch by hand: 1x1 reduce, two dilated 3x3, 1x1 to one map."""
    s = m.spatial_branch
    h = x
    for i, dilation in ((0, 1), (3, 4), (6, 4)):
        conv = s[i]
        h = F.conv2d(h, conv.weight, conv.bias, padding=dilation * (conv.kernel_size[0] // 2), dilation=dilation)
        h = torch.clamp(_bn(h, s[i + 1], (0, 2, 3)), min=0)
    ms = _bn(F.conv2d(h, s[9].weight, s[9].bias), s[10], (0, 2, 3))
    return ms


def reference_attention(x: torch.Tensor, m: BAM) -> torch.Tensor:
    c = m.channel_branch
    v = x.mean(dim=(2, 3)) @ c[0].weight.T + c[0].bias
    v = torch.clamp(_bn(v, c[1], (0,)), min=0)
    mc = _bn(v @ c[3].weight.T + c[3].bias, c[4], (0,))[:, :, None, None]
    ms = _spatial_logits(x, m)
    logits = mc + ms if m.combine == "sum" else mc * ms
    return 1 / (1 + torch.exp(-logits))


def _randomise_bn(m: nn.Module) -> None:
    g = torch.Generator().manual_seed(1)
    for bn in m.modules():
        if isinstance(bn, (nn.BatchNorm1d, nn.BatchNorm2d)):
            n = bn.num_features
            bn.running_mean.copy_(torch.randn(n, generator=g, dtype=bn.running_mean.dtype) * 0.1)
            bn.running_var.copy_(torch.rand(n, generator=g, dtype=bn.running_var.dtype) + 0.5)
            bn.weight.data.copy_(torch.rand(n, generator=g, dtype=bn.weight.dtype) + 0.5)
            bn.bias.data.copy_(torch.randn(n, generator=g, dtype=bn.bias.dtype) * 0.1)


@pytest.fixture
def x() -> torch.Tensor:
    torch.manual_seed(0)
    return torch.randn(4, 32, 6, 11, dtype=torch.float64)  # non-square, smaller than the dilation reach


@pytest.mark.parametrize("combine", ["sum", "product"])
@pytest.mark.parametrize("train", [True, False])
def test_bam_matches_formula(x: torch.Tensor, combine: str, train: bool) -> None:
    m = BAM(32, combine=combine).double()
    _randomise_bn(m)
    m.train(train)
    expected = reference_attention(x, m)
    torch.testing.assert_close(m.attention(x), expected)
    torch.testing.assert_close(m(x), x * (1 + expected))


def test_paper_defaults() -> None:
    m = BAM(64)
    assert m.combine == "sum"
    assert m.channel_branch[0].out_features == 4  # 64 / 16
    dilated = [c for c in m.spatial_branch if isinstance(c, nn.Conv2d) and c.kernel_size == (3, 3)]
    assert len(dilated) == 2 and all(c.dilation == (4, 4) for c in dilated)
    assert m.spatial_branch[-2].out_channels == 1


def test_sum_and_product_differ(x: torch.Tensor) -> None:
    a = BAM(32, combine="sum").double().eval()
    b = BAM(32, combine="product").double().eval()
    b.load_state_dict(a.state_dict())
    _randomise_bn(a)
    _randomise_bn(b)
    assert not torch.allclose(a(x), b(x))


def test_keep_maps_and_gradients(x: torch.Tensor) -> None:
    m = BAM(32).double()
    m(x)
    assert m.last_spatial_map is None
    m.keep_maps = True
    x = x.clone().requires_grad_()
    y = m(x)
    assert m.last_spatial_map.shape == (4, 1, 6, 11)
    assert m.last_gate.shape == (4, 32, 1, 1)
    assert m.last_spatial_logits.shape == (4, 1, 6, 11)
    assert m.last_attention_mean.shape == (4, 1, 6, 11)
    torch.testing.assert_close(m.last_spatial_map, torch.sigmoid(m.last_spatial_logits))
    torch.testing.assert_close(m.last_attention_mean, m.attention(x).mean(dim=1, keepdim=True).detach())
    y.square().sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(p.grad is not None for p in m.parameters())
    m.eval()
    small = torch.randn(2, 32, 3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: m(t).sum(), (small,))


@pytest.mark.parametrize("combine", ["sum", "product"])
def test_spatial_map_is_the_spatial_branch_alone(x: torch.Tensor, combine: str) -> None:
    m = BAM(32, combine=combine).double()
    _randomise_bn(m)
    m.eval()
    m.keep_maps = True
    m(x)
    ms = _spatial_logits(x, m)  # by hand, eval mode: running statistics in every BatchNorm
    torch.testing.assert_close(m.last_spatial_map, 1 / (1 + torch.exp(-ms)))
    torch.testing.assert_close(m.last_attention_mean, reference_attention(x, m).mean(dim=1, keepdim=True))


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(ValueError, match="channels"):
        BAM(8)
    with pytest.raises(ValueError, match="combine"):
        BAM(32, combine="max")
    with pytest.raises(ValueError, match="dilation"):
        BAM(32, dilation=0)
    m = BAM(32)
    with pytest.raises(ValueError, match="x must be 4-D"):
        m(torch.randn(2, 32, 5))
    with pytest.raises(ValueError, match=r"x must have shape \(B, 32, H, W\)"):
        m(torch.randn(2, 31, 5, 5))


def test_a_batch_of_one_in_training_names_the_input_and_the_channel_branch() -> None:
    bam = BAM(32)
    with pytest.raises(ValueError, match=r"x must have a batch of at least 2 in training mode: BAM's channel branch "
                                         r"applies BatchNorm over \(B, C\)"):
        bam(torch.randn(1, 32, 6, 6))
    assert bam.eval()(torch.randn(1, 32, 6, 6)).shape == (1, 32, 6, 6)  # running statistics: fine


def test_a_float64_input_and_an_integer_input_are_named() -> None:
    bam = BAM(32)
    with pytest.raises(TypeError, match=r"x must have dtype torch.float32 \(the dtype of BAM's parameters\), got torch.float64"):
        bam(torch.randn(2, 32, 6, 6, dtype=torch.float64))
    with pytest.raises(TypeError, match="x must have a floating-point dtype, got torch.int64"):
        bam(torch.ones(2, 32, 6, 6, dtype=torch.long))


def test_a_float_dilation_is_named() -> None:
    with pytest.raises(ValueError, match="dilation must be a positive int, got 2.5"):
        BAM(32, dilation=2.5)  # type: ignore[arg-type]
