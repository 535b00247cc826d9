"""Efficient channel attention (ECA).

Wang, Wu, Zhu, Li, Zuo and Hu, *ECA-Net: Efficient Channel Attention for Deep
Convolutional Neural Networks* (CVPR 2020).

ECA keeps SE's squeeze and gate but drops its bottleneck: the channel descriptor
``z`` (B, C) from global average pooling goes through a 1-D convolution across
neighbouring channels (kernel ``k``, no bias), then a sigmoid, and rescales the
features. ``k`` adapts to the channel count (paper, Eq. 12):
``k = | log2(C) / gamma + b / gamma |_odd`` with ``gamma = 2``, ``b = 1``. The official
code's ``eca_layer`` defaults to a fixed ``k = 3``; this module follows the paper and
accepts ``kernel_size`` to fix it.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .validation import check_dtype, check_feature_map, check_int, check_positive

__all__ = ["EfficientChannelAttention", "eca_kernel_size"]


def eca_kernel_size(channels: int, gamma: int = 2, b: int = 1) -> int:
    """The paper's adaptive kernel size: the odd number nearest ``log2(C)/gamma + b/gamma``."""
    check_int("channels", channels, 1)
    check_positive("gamma", gamma)
    t = int(abs((math.log2(channels) + b) / gamma))
    return t if t % 2 else t + 1


class EfficientChannelAttention(nn.Module):
    """ECA block: ``x * sigmoid(conv1d_k(avgpool(x)))`` (Wang et al., 2020).

    Args:
        channels: C of the input (only used to choose ``k``).
        kernel_size: odd ``k``; ``None`` uses :func:`eca_kernel_size`.

    Shapes: input (B, C, H, W) -> output (B, C, H, W). With ``keep_maps = True`` the
    last gate is kept in ``last_gate`` (B, C, 1, 1).
    """

    def __init__(self, channels: int, kernel_size: int | None = None) -> None:
        super().__init__()
        k = eca_kernel_size(channels) if kernel_size is None else check_int("kernel_size", kernel_size, 1)
        if k % 2 == 0:
            raise ValueError(f"kernel_size must be odd (the conv keeps C channels), got {kernel_size!r}")
        self.channels = channels
        self.conv = nn.Conv1d(1, 1, kernel_size=k, padding=k // 2, bias=False)
        self.keep_maps = False
        self.last_gate: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Rescale the channels of ``x`` (B, C, H, W)."""
        check_feature_map("x", x, self.channels)
        check_dtype("x", x, self.conv.weight.dtype, source="EfficientChannelAttention's parameters")
        z = x.mean(dim=(2, 3))  # (B, C)
        gate = torch.sigmoid(self.conv(z.unsqueeze(1))).squeeze(1)[:, :, None, None]  # (B, C, 1, 1)
        if self.keep_maps:
            self.last_gate = gate.detach()
        return x * gate
