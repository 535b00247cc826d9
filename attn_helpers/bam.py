"""BAM: Bottleneck Attention Module (Park et al., BMVC 2018).

BAM computes a channel branch and a spatial branch *in parallel* from the same feature
map ``F`` (B, C, H, W), combines them into one 3-D attention map and applies it as a
residual gate, once per stage boundary ("bottleneck") of a network, not in every block:

* channel branch ``Mc(F) = BN(MLP(AvgPool(F)))``, (B, C, 1, 1): C -> C/r -> C (r = 16);
* spatial branch ``Ms(F) = BN(f1x1(f3x3_d(f3x3_d(f1x1(F)))))``, (B, 1, H, W): reduce to
  C/r channels, two 3x3 convolutions with dilation d = 4, then one channel;
* ``M(F) = sigmoid(Mc(F) + Ms(F))`` (paper, eq. 2: the branches are broadcast to
  (B, C, H, W) and **summed**), and ``F' = F + F * M(F) = F * (1 + M(F))``.

The paper and the official code (github.com/Jongchan/attention-module, ``bam.py``)
differ on the combination: the code multiplies the branches,
``1 + sigmoid(Mc(F) * Ms(F))``. ``combine="sum"`` (default) is the paper's,
``combine="product"`` the code's; chapter 7 trains both.

The hidden layers of both branches use BatchNorm + ReLU as in the official code (the
paper only says the MLP and convolutions are followed by BN); the final BN of each
branch is the paper's: it puts the two logits on a common scale before they are added.
"""

from __future__ import annotations

import torch
from torch import nn

from .cbam import check_reduction
from .validation import check_batchnorm_batch, check_choice, check_dtype, check_feature_map, check_int

__all__ = ["BAM", "BAM_COMBINES"]

BAM_COMBINES = ("sum", "product")


class BAM(nn.Module):
    """Bottleneck Attention Module.

    Args:
        channels: C of the feature map.
        reduction: r, hidden width C // r in both branches (paper: 16).
        dilation: d of the two 3x3 convolutions of the spatial branch (paper: 4).
        combine: ``"sum"`` (paper) or ``"product"`` (official code) of the branch logits.

    Shapes: (B, C, H, W) -> (B, C, H, W). With ``keep_maps = True`` the last forward pass
    keeps, detached:

    * ``last_gate`` = sigmoid(Mc), (B, C, 1, 1): the channel branch alone;
    * ``last_spatial_logits`` = Ms, (B, 1, H, W);
    * ``last_spatial_map`` = sigmoid(Ms), (B, 1, H, W): the spatial branch alone, in (0, 1);
    * ``last_attention_mean`` = the applied attention M(F) averaged over channels,
      (B, 1, H, W): how strongly each position is amplified on average.

    ``last_spatial_map`` is what to score against object boxes: it is the only part of BAM
    that can say *where*, and it means the same thing for both combinations. The channel
    mean of M(F) does not: with ``combine="product"`` each channel's logit is Mc * Ms, and
    averaging sigmoid(Mc * Ms) over channels whose Mc have both signs cancels the spatial
    signal (the mean sits near 0.5 whatever Ms does), so scoring it would measure an
    artefact of the averaging, not the spatial branch.
    """

    def __init__(
        self, channels: int, reduction: int = 16, dilation: int = 4, *, combine: str = "sum"
    ) -> None:
        super().__init__()
        hidden = check_reduction(channels, reduction)
        check_int("dilation", dilation, 1)
        self.combine = check_choice("combine", combine, BAM_COMBINES)
        self.channels = channels
        self.channel_branch = nn.Sequential(
            nn.Linear(channels, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, channels), nn.BatchNorm1d(channels),
        )

        def conv_bn_relu(cin: int, cout: int, k: int, d: int = 1) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, k, padding=d * (k // 2), dilation=d),
                    nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.spatial_branch = nn.Sequential(
            *conv_bn_relu(channels, hidden, 1),
            *conv_bn_relu(hidden, hidden, 3, dilation),
            *conv_bn_relu(hidden, hidden, 3, dilation),
            nn.Conv2d(hidden, 1, 1), nn.BatchNorm2d(1),
        )
        self.keep_maps = False
        self.last_gate: torch.Tensor | None = None
        self.last_spatial_logits: torch.Tensor | None = None
        self.last_spatial_map: torch.Tensor | None = None
        self.last_attention_mean: torch.Tensor | None = None

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """The attention map ``M(F)`` of shape (B, C, H, W), values in (0, 1)."""
        check_feature_map("x", x, self.channels)
        check_dtype("x", x, self.channel_branch[0].weight.dtype, source="BAM's parameters")
        check_batchnorm_batch("x", x, self.training, owner="BAM's channel branch")
        mc = self.channel_branch(x.mean(dim=(2, 3)))[:, :, None, None]  # (B, C, 1, 1)
        ms = self.spatial_branch(x)  # (B, 1, H, W)
        logits = mc + ms if self.combine == "sum" else mc * ms  # (B, C, H, W)
        attention = torch.sigmoid(logits)
        if self.keep_maps:
            self.last_gate = torch.sigmoid(mc).detach()
            self.last_spatial_logits = ms.detach()
            self.last_spatial_map = torch.sigmoid(ms).detach()
            self.last_attention_mean = attention.mean(dim=1, keepdim=True).detach()
        return attention

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (1 + self.attention(x))
