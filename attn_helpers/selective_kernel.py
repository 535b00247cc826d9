"""Selective kernel convolution: attention over receptive-field sizes.

Li, Wang, Hu and Yang, *Selective Kernel Networks* (CVPR 2019).

An SK convolution replaces one 3x3 convolution with three steps, for an input ``X``
of shape (B, C_in, H, W) and ``C = C_out`` output channels:

* **split**: ``M`` branches ``U_m = ReLU(BN(conv_m(X)))``, each a grouped 3x3
  convolution with dilation ``m`` (branch 2, dilation 2, has the receptive field of a
  5x5 kernel at the cost of a 3x3 one, as in the paper);
* **fuse**: ``U = sum_m U_m``, ``s = GAP(U)`` (B, C), ``z = ReLU(BN(W_z s))`` (B, d)
  with ``d = max(C / r, L)`` (``r = 16``, ``L = 32``);
* **select**: per channel, a softmax across branches ``a_m = softmax_m(A_m z)``
  (B, M, C), and ``V = sum_m a_m * U_m``.

The weights ``a_m`` sum to 1 over the branches for every channel: the layer chooses,
per channel and per image, how much of each receptive field to use.

Where it goes in this book's ResNet: SKNet puts the SK convolution in place of the 3x3
convolution of each bottleneck; our CIFAR-size :class:`~attn_helpers.vision.ResNetCifar`
has basic blocks, so it replaces the *first* 3x3 conv-BN-ReLU of each block
(``block_conv=SelectiveKernel``), which is where a block may change resolution
(``stride``) -- the same role the paper's SK unit plays.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .validation import (
    check_batchnorm_batch,
    check_dtype,
    check_feature_map,
    check_in_range,
    check_int,
    check_positive,
)

__all__ = ["SelectiveKernel", "sk_groups"]


def sk_groups(groups: int, in_channels: int, out_channels: int) -> int:
    """Cardinality actually used: the largest divisor of ``groups`` dividing both channel counts.

    The paper's ``G = 32`` assumes layers of 128+ channels; a narrower layer gets
    ``gcd(G, C_in, C_out)`` groups (e.g. 16 groups for 16 channels).
    """
    for name, value in (("groups", groups), ("in_channels", in_channels), ("out_channels", out_channels)):
        check_int(name, value, 1)
    return math.gcd(groups, math.gcd(in_channels, out_channels))


class SelectiveKernel(nn.Module):
    """Selective kernel convolution (Li et al., 2019).

    Args:
        in_channels: ``C_in``.
        out_channels: ``C`` (default: ``in_channels``).
        stride: stride of every branch.
        num_branches: ``M``; branch ``m`` (0-based) is a 3x3 conv with dilation ``m + 1``.
        groups: cardinality ``G`` of the grouped convolutions (see :func:`sk_groups`).
        rd_ratio: ``1 / r`` of the fuse layer, ``r = 16``.
        min_channels: ``L``, the floor of ``d``, 32 in the paper.
        select: ``False`` turns selection off: every branch gets the fixed weight ``1 / M``
            (the same grouped, dilated convolutions, summed evenly). That is the control
            that separates SK's *attention over kernels* from its multi-branch grouped
            convolutions; the fuse layers are still built, so both variants start from the
            same weights after the same seed.

    Shapes: input (B, C_in, H, W) -> output (B, C, H / stride, W / stride). With
    ``keep_maps = True`` the last branch weights are kept, detached, in
    ``last_branch_weights`` with shape (B, M, C).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int | None = None,
        *,
        stride: int = 1,
        num_branches: int = 2,
        groups: int = 32,
        rd_ratio: float = 1 / 16,
        min_channels: int = 32,
        select: bool = True,
    ) -> None:
        super().__init__()
        out_channels = in_channels if out_channels is None else out_channels
        check_int("num_branches", num_branches, 2)  # a softmax over one branch is always 1
        check_int("stride", stride, 1)
        check_positive("rd_ratio", rd_ratio)
        check_in_range("rd_ratio", rd_ratio, 0.0, 1.0)
        check_int("min_channels", min_channels, 1)
        self.groups = sk_groups(groups, in_channels, out_channels)
        self.in_channels, self.out_channels, self.num_branches = in_channels, out_channels, num_branches
        self.d = max(int(out_channels * rd_ratio), min_channels)
        self.branches = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=m + 1, dilation=m + 1,
                          groups=self.groups, bias=False),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True),
            )
            for m in range(num_branches)
        )
        self.fc_z = nn.Sequential(nn.Linear(out_channels, self.d, bias=False), nn.BatchNorm1d(self.d), nn.ReLU(inplace=True))
        self.fc_select = nn.Linear(self.d, num_branches * out_channels, bias=False)  # stacked A, B, ...
        self.select = bool(select)
        self.keep_maps = False
        self.last_branch_weights: torch.Tensor | None = None

    def branch_weights(self, feats: torch.Tensor) -> torch.Tensor:
        """Select weights (B, M, C) from the stacked branch outputs ``feats`` (B, M, C, H, W)."""
        s = feats.sum(dim=1).mean(dim=(2, 3))  # fuse: (B, C)
        z = self.fc_z(s)  # (B, d)
        logits = self.fc_select(z).view(-1, self.num_branches, self.out_channels)  # (B, M, C)
        return torch.softmax(logits, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map("x", x, self.in_channels)
        check_dtype("x", x, self.fc_select.weight.dtype, source="SelectiveKernel's parameters")
        if self.select:
            check_batchnorm_batch("x", x, self.training, owner="SelectiveKernel's fuse layer")
        feats = torch.stack([branch(x) for branch in self.branches], dim=1)  # (B, M, C, H', W')
        if self.select:
            a = self.branch_weights(feats)  # (B, M, C)
        else:  # the control: fixed equal weights, no dependence on the input
            a = feats.new_full((feats.shape[0], self.num_branches, self.out_channels), 1 / self.num_branches)
        if self.keep_maps:
            self.last_branch_weights = a.detach()
        return (feats * a[:, :, :, None, None]).sum(dim=1)  # (B, C, H', W')

    def extra_repr(self) -> str:
        return (f"in_channels={self.in_channels}, out_channels={self.out_channels}, "
                f"num_branches={self.num_branches}, groups={self.groups}, d={self.d}, select={self.select}")
