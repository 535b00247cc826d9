"""Tests of attn_helpers.squeeze_excite against the SE paper's formula."""

import pytest
import torch

import attn_helpers as ah


def reference_se(module: ah.SqueezeExcite, x: torch.Tensor) -> torch.Tensor:
    """The paper's equations written out with plain tensor ops."""
    W1, b1 = module.fc1.weight, module.fc1.bias  # (C/r, C), (C/r,)
    W2, b2 = module.fc2.weight, module.fc2.bias  # (C, C/r), (C,)
    B, C, H, W = x.shape
    flat = x.reshape(B, C, H * W)
    z = flat.sum(-1) / (H * W) if module.pooling == "avg" else flat.max(-1).values  # squeeze
    h = torch.clamp(z @ W1.T + b1, min=0)  # delta = ReLU
    pre = h @ W2.T + b2
    gate = {"sigmoid": 1 / (1 + torch.exp(-pre)), "tanh": (torch.exp(pre) - torch.exp(-pre)) / (torch.exp(pre) + torch.exp(-pre)),
            "relu": torch.clamp(pre, min=0)}[module.gate]
    return x * gate[:, :, None, None]  # scale


@pytest.mark.parametrize("pooling", ah.SE_POOLINGS)
@pytest.mark.parametrize("gate", ah.SE_GATES)
@pytest.mark.parametrize("train", [True, False])
def test_matches_paper_formula_float64_with_gradients(pooling, gate, train):
    torch.manual_seed(0)
    se = ah.SqueezeExcite(32, rd_ratio=1 / 4, pooling=pooling, gate=gate).double().train(train)
    x = torch.randn(3, 32, 5, 7, dtype=torch.float64, requires_grad=True)  # non-square
    out = se(x)
    ref = reference_se(se, x)
    torch.testing.assert_close(out, ref)
    g_out = torch.autograd.grad(out.square().sum(), [x, se.fc1.weight])
    g_ref = torch.autograd.grad(ref.square().sum(), [x, se.fc1.weight])
    for a, b in zip(g_out, g_ref):
        torch.testing.assert_close(a, b)
    assert torch.autograd.gradcheck(lambda t: se(t), (x[:1, :, :3, :4].detach().requires_grad_(),))


def test_paper_defaults_and_hidden_width():
    se = ah.SqueezeExcite(64)
    assert se.hidden == 4 and se.pooling == "avg" and se.gate == "sigmoid"
    assert se.fc1.bias is not None and se.fc2.bias is not None
    assert ah.SqueezeExcite(64, bias=False).fc1.bias is None
    assert ah.se_hidden_channels(64, 1 / 16) == 4
    assert ah.se_hidden_channels(48, 1 / 16) == 3


def test_small_channel_counts_floor_or_error():
    assert ah.se_hidden_channels(8, 1 / 16) == 1  # floored at min_channels=1
    assert ah.SqueezeExcite(8).hidden == 1
    assert ah.se_hidden_channels(8, 1 / 16, min_channels=4) == 4
    with pytest.raises(ValueError, match="channels=8 is below the reduction"):
        ah.SqueezeExcite(8, min_channels=None)
    assert ah.SqueezeExcite(32, min_channels=None).hidden == 2


def test_gate_range_and_kept_maps():
    torch.manual_seed(0)
    se = ah.SqueezeExcite(16)
    x = torch.randn(2, 16, 6, 4)
    se(x)
    assert se.last_gate is None  # not kept by default
    se.keep_maps = True
    out = se(x)
    assert se.last_gate.shape == (2, 16, 1, 1) and not se.last_gate.requires_grad
    assert ((se.last_gate > 0) & (se.last_gate < 1)).all()
    torch.testing.assert_close(out, x * se.last_gate)


def test_channels_last_input():
    torch.manual_seed(0)
    se = ah.SqueezeExcite(16)
    x = torch.randn(2, 16, 5, 5)
    torch.testing.assert_close(se(x.contiguous(memory_format=torch.channels_last)), se(x))


def test_bad_input():
    se = ah.SqueezeExcite(16)
    with pytest.raises(ValueError, match="x must be 4-D"):
        se(torch.randn(16, 5, 5))
    with pytest.raises(ValueError, match="x must be 4-D"):
        se(torch.randn(2, 16, 5, 5, 1))
    with pytest.raises(ValueError, match=r"x must have shape \(B, 16, H, W\)"):
        se(torch.randn(2, 8, 5, 5))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        se([[1.0]])
    with pytest.raises(TypeError, match="x must have a floating-point dtype"):
        se(torch.ones(2, 16, 5, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="pooling"):
        ah.SqueezeExcite(16, pooling="median")
    with pytest.raises(ValueError, match="gate"):
        ah.SqueezeExcite(16, gate="softmax")
    with pytest.raises(ValueError, match="rd_ratio"):
        ah.SqueezeExcite(16, rd_ratio=0)
    with pytest.raises(ValueError, match="rd_ratio"):
        ah.SqueezeExcite(16, rd_ratio=2.0)
    with pytest.raises(ValueError, match="channels"):
        ah.SqueezeExcite(0)
    with pytest.raises(ValueError, match="min_channels"):
        ah.SqueezeExcite(16, min_channels=0)


def test_a_float64_input_to_a_float32_module_is_named():
    se = ah.SqueezeExcite(16)
    with pytest.raises(TypeError, match=r"x must have dtype torch.float32 \(the dtype of SqueezeExcite's parameters\), "
                                        r"got torch.float64"):
        se(torch.randn(2, 16, 5, 5, dtype=torch.float64))
    assert se.double()(torch.randn(2, 16, 5, 5, dtype=torch.float64)).dtype == torch.float64


def test_an_empty_map_and_a_float_channel_count_are_named():
    with pytest.raises(ValueError, match=r"x must have at least one position"):
        ah.SqueezeExcite(16)(torch.randn(2, 16, 0, 5))  # the mean of nothing would be NaN
    with pytest.raises(ValueError, match="channels must be a positive int, got 16.0"):
        ah.SqueezeExcite(16.0)
