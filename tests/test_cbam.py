"""CBAM (attn_helpers/cbam.py) against formulas written with plain tensor ops."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F

from attn_helpers.cbam import CBAM, CBAM_ORDERS, ChannelAttention, SpatialAttention


def reference_channel(x: torch.Tensor, m: ChannelAttention) -> torch.Tensor:
    w0, b0 = m.mlp[0].weight, m.mlp[0].bias
    w1, b1 = m.mlp[2].weight, m.mlp[2].bias

    def mlp(v: torch.Tensor) -> torch.Tensor:
        return torch.clamp(v @ w0.T + b0, min=0) @ w1.T + b1

    avg = x.sum(dim=(2, 3)) / (x.shape[2] * x.shape[3])
    mx = x.flatten(2).max(dim=2).values
    return 1 / (1 + torch.exp(-(mlp(avg) + mlp(mx))))


def reference_spatial(x: torch.Tensor, m: SpatialAttention) -> torch.Tensor:
    pooled = torch.stack([x.mean(dim=1), x.max(dim=1).values], dim=1)
    k = m.conv.kernel_size[0]
    logits = F.conv2d(pooled, m.conv.weight, m.conv.bias, padding=k // 2)
    if isinstance(m.norm, torch.nn.BatchNorm2d):
        if m.training:
            mean = logits.mean()
            var = logits.var(unbiased=False)
        else:
            mean, var = m.norm.running_mean, m.norm.running_var
        logits = (logits - mean) / torch.sqrt(var + m.norm.eps) * m.norm.weight + m.norm.bias
    return torch.sigmoid(logits)


@pytest.fixture
def x() -> torch.Tensor:
    torch.manual_seed(0)
    return torch.randn(3, 32, 5, 7, dtype=torch.float64)  # non-square


def test_channel_attention_matches_formula(x: torch.Tensor) -> None:
    m = ChannelAttention(32).double()
    gate = reference_channel(x, m)
    torch.testing.assert_close(m.gate(x), gate[:, :, None, None])
    torch.testing.assert_close(m(x), x * gate[:, :, None, None])
    assert m.mlp[0].out_features == 2  # C / r with the paper's r = 16


@pytest.mark.parametrize("batchnorm", [True, False])
@pytest.mark.parametrize("train", [True, False])
def test_spatial_attention_matches_formula(x: torch.Tensor, batchnorm: bool, train: bool) -> None:
    m = SpatialAttention(batchnorm=batchnorm).double()
    if batchnorm:  # non-trivial running statistics and affine parameters
        m.norm.running_mean.fill_(0.3)
        m.norm.running_var.fill_(2.0)
        m.norm.weight.data.fill_(1.5)
        m.norm.bias.data.fill_(-0.2)
    m.train(train)
    expected = reference_spatial(x, m)
    out = m(x)
    assert m.gate(x).shape == (3, 1, 5, 7)
    torch.testing.assert_close(out, x * expected)
    assert (m.conv.bias is None) == batchnorm
    assert m.conv.kernel_size == (7, 7)


@pytest.mark.parametrize("order", CBAM_ORDERS)
def test_cbam_orders_compose_the_gates(x: torch.Tensor, order: str) -> None:
    m = CBAM(32, order=order).double().eval()
    ch, sp = m.channel, m.spatial
    if order == "channel-spatial":
        y = x * reference_channel(x, ch)[:, :, None, None]
        expected = y * reference_spatial(y, sp)
    elif order == "spatial-channel":
        y = x * reference_spatial(x, sp)
        expected = y * reference_channel(y, ch)[:, :, None, None]
    elif order == "channel":
        assert sp is None
        expected = x * reference_channel(x, ch)[:, :, None, None]
    else:
        assert ch is None
        expected = x * reference_spatial(x, sp)
    torch.testing.assert_close(m(x), expected)


def test_cbam_keeps_maps_only_when_asked(x: torch.Tensor) -> None:
    m = CBAM(32).double()
    m(x)
    assert m.last_gate is None and m.last_spatial_map is None
    m.keep_maps = True
    assert m.keep_maps
    m(x)
    assert m.last_gate.shape == (3, 32, 1, 1)
    assert m.last_spatial_map.shape == (3, 1, 5, 7)
    assert not m.last_spatial_map.requires_grad
    assert ((m.last_spatial_map > 0) & (m.last_spatial_map < 1)).all()
    assert CBAM(32, order="spatial").last_gate is None


def test_cbam_gradients_flow_in_float64(x: torch.Tensor) -> None:
    m = CBAM(32, reduction=8).double()
    x = x.clone().requires_grad_()
    # gradcheck on a small input; the max pools are differentiable almost everywhere
    assert torch.autograd.gradcheck(lambda t: m(t).sum(), (x[:1, :, :3, :4].detach().clone().requires_grad_(),))
    m(x).square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert all(p.grad is not None for p in m.parameters())


def test_cbam_preserves_shape_and_dtype_float32() -> None:
    m = CBAM(16)
    x = torch.randn(2, 16, 9, 4)
    y = m(x)
    assert y.shape == x.shape and y.dtype == torch.float32


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(ValueError, match="channels"):
        ChannelAttention(8, reduction=16)
    with pytest.raises(ValueError, match="channels"):
        CBAM(8)
    with pytest.raises(ValueError, match="channels"):
        CBAM(8, order="spatial")
    with pytest.raises(ValueError, match="reduction"):
        CBAM(32, reduction=0)
    with pytest.raises(ValueError, match="order"):
        CBAM(32, order="parallel")
    with pytest.raises(ValueError, match="kernel_size"):
        SpatialAttention(kernel_size=4)
    m = CBAM(32)
    with pytest.raises(ValueError, match="x must be 4-D"):
        m(torch.randn(32, 5, 5))
    with pytest.raises(ValueError, match=r"x must have shape \(B, 32, H, W\)"):
        m(torch.randn(2, 16, 5, 5))
    with pytest.raises(TypeError, match="x"):
        m(torch.ones(2, 32, 5, 5, dtype=torch.long))


def test_zero_init_starts_the_spatial_gate_uniform():
    # The official code zero-initialises the spatial gate's BN scale: sigmoid(0) = 0.5 everywhere.
    gate = SpatialAttention()
    x = torch.randn(4, 8, 6, 6)
    torch.testing.assert_close(gate.gate(x), torch.full((4, 1, 6, 6), 0.5))
    assert not torch.allclose(SpatialAttention(zero_init=False).gate(x), torch.full((4, 1, 6, 6), 0.5))
    assert torch.count_nonzero(CBAM(16, reduction=4).spatial.norm.weight) == 0
    assert torch.count_nonzero(CBAM(16, reduction=4, zero_init=False).spatial.norm.weight) == 1
    assert isinstance(SpatialAttention(batchnorm=False).norm, torch.nn.Identity)


@pytest.mark.parametrize("build", [lambda: CBAM(32), lambda: ChannelAttention(32), SpatialAttention],
                         ids=["CBAM", "channel", "spatial"])
def test_a_float64_input_to_a_float32_module_is_named(build: Callable[[], torch.nn.Module]) -> None:
    module = build()
    with pytest.raises(TypeError, match=r"x must have dtype torch.float32 \(the dtype of \w+Attention's parameters\), "
                                        r"got torch.float64"):
        module(torch.randn(2, 32, 5, 5, dtype=torch.float64))
    assert module.double()(torch.randn(2, 32, 5, 5, dtype=torch.float64)).dtype == torch.float64


def test_an_empty_map_is_named() -> None:
    with pytest.raises(ValueError, match=r"x must have at least one position \(H, W >= 1\)"):
        CBAM(32)(torch.randn(2, 32, 0, 5))
    with pytest.raises(ValueError, match=r"x must have at least one position"):
        SpatialAttention()(torch.randn(2, 32, 5, 0))


@pytest.mark.parametrize("value", [2.5, True, "7"])
def test_a_float_or_bool_where_an_int_is_needed_is_named(value: object) -> None:
    with pytest.raises(ValueError, match=f"kernel_size must be a positive int, got {value!r}"):
        SpatialAttention(kernel_size=value)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reduction must be a positive int"):
        CBAM(32, reduction=value)  # type: ignore[arg-type]
