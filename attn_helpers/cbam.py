"""CBAM: Convolutional Block Attention Module (Woo et al., ECCV 2018).

CBAM refines a feature map ``F`` (B, C, H, W) with two gates applied one after the other:

* channel attention ``Mc(F) = sigmoid(MLP(AvgPool(F)) + MLP(MaxPool(F)))``, shape (B, C, 1, 1):
  one MLP (C -> C/r -> C, ReLU) shared by the average- and max-pooled descriptors;
* spatial attention ``Ms(F) = sigmoid(conv7x7([mean_c(F); max_c(F)]))``, shape (B, 1, H, W):
  the channel-wise mean and max maps, concatenated and convolved to one channel.

``F' = Mc(F) * F`` and ``F'' = Ms(F') * F'`` (the paper's "channel-spatial" order).

Where this file follows the authors' code (github.com/Jongchan/attention-module) instead
of the paper's equations, and why:

* the 7x7 convolution has no bias and is followed by BatchNorm (``batchnorm=True``).
  The paper's equation has neither; the official code has both. Batch-normalising the
  one-channel logit map keeps the gate inside the sigmoid's responsive range whatever the
  scale of the incoming features, which is what lets it train from the first epoch in
  the short runs of this book. ``batchnorm=False`` gives the paper's exact equation.
* the MLP's linear layers have biases (the paper writes ``W1(W0 x)`` without them).
* the official code's ResNet zero-initialises the spatial gate's BatchNorm scale, so every
  spatial gate starts as the uniform ``sigmoid(0) = 0.5`` and only departs from it as it
  learns; with PyTorch's default scale 1 each gate starts as a random mask. This file
  follows the official code (``zero_init=True``, the default): on the cued-digits task
  (three or four seeds in each of four budgets, measured on a GPU sweep) the zero start had
  the higher mean accuracy in three budgets and tied in the fourth (e.g. 0.742 against
  0.614, mean of 3 seeds, 3,000 images x 12 epochs), though no paired interval there
  excluded zero; an earlier version of chapter 6 (24 px, one distractor, 2,000 images x 12
  epochs, 3 paired seeds, CPU) measured the start at 1 ahead by +5.8 [+1.9, +9.7] points.
  The default is kept because it is the authors' initialisation; chapter 6 trains it and
  leaves the comparison of the two starts to an exercise.

The pooled maps are concatenated in the paper's order ``[mean; max]`` (the official code
uses ``[max; mean]``; the convolution learns either, only pretrained weights care).
"""

from __future__ import annotations

import torch
from torch import nn

from .validation import check_choice, check_dtype, check_feature_map, check_int

__all__ = ["CBAM_ORDERS", "CBAM", "ChannelAttention", "SpatialAttention"]

CBAM_ORDERS = ("channel-spatial", "spatial-channel", "channel", "spatial")


def check_reduction(channels: int, reduction: int) -> int:
    """Validate ``channels`` and ``reduction``; return the hidden width ``channels // reduction``."""
    check_int("channels", channels, 1)
    check_int("reduction", reduction, 1)
    if channels < reduction:
        raise ValueError(
            f"channels must be >= reduction so the hidden layer keeps at least one unit, "
            f"got channels={channels}, reduction={reduction}"
        )
    return channels // reduction


class ChannelAttention(nn.Module):
    """CBAM's channel gate ``sigmoid(MLP(avg) + MLP(max))``.

    Args:
        channels: C, the number of feature channels.
        reduction: r, the MLP's hidden width is C // r (paper: 16).

    Shapes: input (B, C, H, W) -> output (B, C, H, W); ``gate(x)`` is (B, C, 1, 1).
    With ``keep_maps = True`` the last gate is kept, detached, in ``last_gate``.
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = check_reduction(channels, reduction)
        self.channels = channels
        self.mlp = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels)
        )
        self.keep_maps = False
        self.last_gate: torch.Tensor | None = None

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The channel attention ``Mc(x)``, shape (B, C, 1, 1)."""
        check_feature_map("x", x, self.channels)
        check_dtype("x", x, self.mlp[0].weight.dtype, source="ChannelAttention's parameters")
        avg = self.mlp(x.mean(dim=(2, 3)))  # (B, C)
        mx = self.mlp(x.amax(dim=(2, 3)))  # (B, C)
        return torch.sigmoid(avg + mx)[:, :, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.gate(x)
        if self.keep_maps:
            self.last_gate = gate.detach()
        return x * gate


class SpatialAttention(nn.Module):
    """CBAM's spatial gate ``sigmoid(conv_k([mean_c(x); max_c(x)]))``.

    Args:
        kernel_size: k of the k x k convolution (paper: 7; odd, so the map keeps its size).
        batchnorm: follow the official code (conv without bias, then BatchNorm); ``False``
            is the paper's equation (conv with bias, no normalisation).
        zero_init: start the BatchNorm scale at 0, so the gate starts uniform at 0.5, as the
            official code does (default); ``False`` starts it at 1 (a random initial mask).
            Without BatchNorm there is no scale to zero and it has no effect.

    Shapes: input (B, C, H, W) -> output (B, C, H, W); ``gate(x)`` is (B, 1, H, W).
    With ``keep_maps = True`` the last gate is kept, detached, in ``last_spatial_map``.
    """

    def __init__(self, kernel_size: int = 7, *, batchnorm: bool = True, zero_init: bool = True) -> None:
        super().__init__()
        check_int("kernel_size", kernel_size, 1)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd to keep the map's size, got {kernel_size}")
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=not batchnorm)
        self.norm = nn.BatchNorm2d(1) if batchnorm else nn.Identity()
        if zero_init and batchnorm:  # the gate starts uniform at 0.5, as in the official code
            nn.init.zeros_(self.norm.weight)
        self.keep_maps = False
        self.last_spatial_map: torch.Tensor | None = None

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The spatial attention ``Ms(x)``, shape (B, 1, H, W)."""
        check_feature_map("x", x)
        check_dtype("x", x, self.conv.weight.dtype, source="SpatialAttention's parameters")
        pooled = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)  # (B, 2, H, W)
        return torch.sigmoid(self.norm(self.conv(pooled)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.gate(x)
        if self.keep_maps:
            self.last_spatial_map = gate.detach()
        return x * gate


class CBAM(nn.Module):
    """Channel then spatial attention, each multiplying the features (Woo et al., 2018).

    Args:
        channels: C of the input feature map.
        reduction: r of the channel MLP (paper: 16).
        kernel_size: size of the spatial convolution (paper: 7).
        order: ``"channel-spatial"`` (the paper's), ``"spatial-channel"`` (its order
            ablation), or a single gate: ``"channel"`` or ``"spatial"``.
        batchnorm, zero_init: see :class:`SpatialAttention`.

    Shapes: (B, C, H, W) -> (B, C, H, W). Set ``keep_maps = True`` to keep the gates of the
    last forward pass in ``last_gate`` (B, C, 1, 1) and ``last_spatial_map`` (B, 1, H, W).
    """

    def __init__(
        self,
        channels: int,
        reduction: int = 16,
        kernel_size: int = 7,
        *,
        order: str = "channel-spatial",
        batchnorm: bool = True,
        zero_init: bool = True,
    ) -> None:
        super().__init__()
        self.order = check_choice("order", order, CBAM_ORDERS)
        self.channel = ChannelAttention(channels, reduction) if order != "spatial" else None
        if order == "spatial":
            check_reduction(channels, reduction)
        self.spatial = SpatialAttention(kernel_size, batchnorm=batchnorm, zero_init=zero_init) if order != "channel" else None
        self.channels = channels

    @property
    def keep_maps(self) -> bool:
        return any(m.keep_maps for m in (self.channel, self.spatial) if m is not None)

    @keep_maps.setter
    def keep_maps(self, value: bool) -> None:
        for module in (self.channel, self.spatial):
            if module is not None:
                module.keep_maps = bool(value)

    @property
    def last_gate(self) -> torch.Tensor | None:
        return self.channel.last_gate if self.channel is not None else None

    @property
    def last_spatial_map(self) -> torch.Tensor | None:
        return self.spatial.last_spatial_map if self.spatial is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map("x", x, self.channels)
        gates = [self.channel, self.spatial]
        if self.order == "spatial-channel":
            gates.reverse()
        for gate in gates:
            if gate is not None:
                x = gate(x)
        return x
