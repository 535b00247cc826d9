"""Tests of attn_helpers.selective_kernel against the SK paper's split-fuse-select equations."""

import pytest
import torch
import torch.nn.functional as F

import attn_helpers as ah


def reference_sk(sk: ah.SelectiveKernel, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split, fuse, select written out with functional ops; returns (V, weights (B, M, C))."""
    U = []
    for m, branch in enumerate(sk.branches):
        conv, bn = branch[0], branch[1]
        y = F.conv2d(x, conv.weight, stride=conv.stride, padding=m + 1, dilation=m + 1, groups=sk.groups)
        y = F.batch_norm(y, bn.running_mean.clone(), bn.running_var.clone(), bn.weight, bn.bias,
                         training=sk.training, eps=bn.eps)
        U.append(torch.clamp(y, min=0))
    s = sum(U).mean(dim=(2, 3))  # (B, C) global average pooling of the fused map
    lin, bn = sk.fc_z[0], sk.fc_z[1]
    z = F.batch_norm(s @ lin.weight.T, bn.running_mean.clone(), bn.running_var.clone(), bn.weight, bn.bias,
                     training=sk.training, eps=bn.eps)
    z = torch.clamp(z, min=0)  # (B, d)
    C = sk.out_channels
    logits = torch.stack([z @ sk.fc_select.weight[m * C:(m + 1) * C].T for m in range(sk.num_branches)], 1)
    e = torch.exp(logits - logits.max(dim=1, keepdim=True).values)
    a = e / e.sum(dim=1, keepdim=True)  # softmax across branches, per channel
    V = sum(a[:, m, :, None, None] * U[m] for m in range(sk.num_branches))
    return V, a


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("stride", [1, 2])
def test_matches_paper_equations_float64_with_gradients(train, stride):
    torch.manual_seed(0)
    sk = ah.SelectiveKernel(8, 16, stride=stride, groups=4, min_channels=6).double()
    sk.eval()
    with torch.no_grad():  # non-trivial running statistics for the eval-mode check
        for module in sk.modules():
            if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    sk.train(train)
    sk.keep_maps = True
    x = torch.randn(3, 8, 9, 6, dtype=torch.float64, requires_grad=True)  # non-square
    ref, a_ref = reference_sk(sk, x)
    out = sk(x)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(sk.last_branch_weights, a_ref.detach())
    g = torch.autograd.grad(out.square().sum(), [x, sk.fc_select.weight])
    g_ref = torch.autograd.grad(ref.square().sum(), [x, sk.fc_select.weight])
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b)
    assert out.shape == (3, 16, -(-9 // stride), -(-6 // stride))


def test_branch_weights_sum_to_one_per_channel():
    torch.manual_seed(0)
    for branches in (2, 3):
        sk = ah.SelectiveKernel(16, num_branches=branches)
        sk.keep_maps = True
        sk(torch.randn(4, 16, 8, 8))
        a = sk.last_branch_weights
        assert a.shape == (4, branches, 16)
        torch.testing.assert_close(a.sum(dim=1), torch.ones(4, 16))
        assert (a > 0).all()


def test_paper_defaults():
    sk = ah.SelectiveKernel(64)
    assert sk.num_branches == 2 and sk.d == 32  # d = max(C / 16, L = 32)
    assert ah.SelectiveKernel(1024, groups=32).d == 64
    assert sk.groups == 32
    assert sk.branches[1][0].dilation == (2, 2) and sk.branches[1][0].kernel_size == (3, 3)
    assert ah.sk_groups(32, 16, 16) == 16 and ah.sk_groups(32, 16, 32) == 16 and ah.sk_groups(4, 6, 6) == 2
    assert sk.last_branch_weights is None


def test_bad_input():
    sk = ah.SelectiveKernel(16)
    with pytest.raises(ValueError, match="x must be 4-D"):
        sk(torch.randn(16, 8, 8))
    with pytest.raises(ValueError, match=r"x must have shape \(B, 16, H, W\)"):
        sk(torch.randn(2, 8, 8, 8))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        sk("image")
    with pytest.raises(ValueError, match="num_branches"):
        ah.SelectiveKernel(16, num_branches=1)
    with pytest.raises(ValueError, match="in_channels"):
        ah.SelectiveKernel(0)
    with pytest.raises(ValueError, match="groups"):
        ah.SelectiveKernel(16, groups=0)
    with pytest.raises(ValueError, match="stride"):
        ah.SelectiveKernel(16, stride=0)
    with pytest.raises(ValueError, match="rd_ratio"):
        ah.SelectiveKernel(16, rd_ratio=-1.0)
    with pytest.raises(ValueError, match="min_channels"):
        ah.SelectiveKernel(16, min_channels=0)


@pytest.mark.parametrize("train", [True, False])
def test_select_off_is_the_mean_of_the_branches(train):
    torch.manual_seed(0)
    sk = ah.SelectiveKernel(8, 16, groups=4, num_branches=3, select=False).double()
    sk.train(train)
    sk.keep_maps = True
    x = torch.randn(2, 8, 7, 5, dtype=torch.float64)
    by_hand = []  # each branch written out: conv, batch norm, ReLU
    for m, branch in enumerate(sk.branches):
        conv, bn = branch[0], branch[1]
        y = F.conv2d(x, conv.weight, padding=m + 1, dilation=m + 1, groups=sk.groups)
        y = F.batch_norm(y, bn.running_mean.clone(), bn.running_var.clone(), bn.weight, bn.bias,
                         training=train, eps=bn.eps)
        by_hand.append(torch.clamp(y, min=0))
    torch.testing.assert_close(sk(x), sum(by_hand) / 3)
    torch.testing.assert_close(sk.last_branch_weights, torch.full((2, 3, 16), 1 / 3, dtype=torch.float64))


def test_select_on_and_off_start_from_the_same_weights():
    torch.manual_seed(3)
    on = ah.SelectiveKernel(16, 32, stride=2, groups=4, min_channels=8)
    torch.manual_seed(3)
    off = ah.SelectiveKernel(16, 32, stride=2, groups=4, min_channels=8, select=False)
    assert on.state_dict().keys() == off.state_dict().keys()
    for key, value in on.state_dict().items():
        torch.testing.assert_close(off.state_dict()[key], value, rtol=0, atol=0)
    assert on.select and not off.select


def test_select_shows_in_repr():
    assert "select=True" in repr(ah.SelectiveKernel(16))
    assert "select=False" in repr(ah.SelectiveKernel(16, select=False))


def test_a_batch_of_one_in_training_names_the_input_and_the_fuse_layer():
    sk = ah.SelectiveKernel(16, groups=4, min_channels=4)
    with pytest.raises(ValueError, match=r"x must have a batch of at least 2 in training mode: SelectiveKernel's fuse layer"):
        sk(torch.randn(1, 16, 6, 6))
    assert sk.eval()(torch.randn(1, 16, 6, 6)).shape == (1, 16, 6, 6)  # running statistics
    control = ah.SelectiveKernel(16, groups=4, min_channels=4, select=False)  # no fuse BatchNorm on its path
    assert control(torch.randn(1, 16, 6, 6)).shape == (1, 16, 6, 6)


def test_a_float64_input_to_a_float32_module_is_named():
    with pytest.raises(TypeError, match=r"x must have dtype torch.float32 \(the dtype of SelectiveKernel's parameters\)"):
        ah.SelectiveKernel(16, groups=4, min_channels=4)(torch.randn(2, 16, 6, 6, dtype=torch.float64))
