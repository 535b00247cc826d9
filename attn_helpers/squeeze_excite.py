"""Squeeze-and-excitation: channel attention from global context.

Hu, Shen, Albanie, Sun and Wu, *Squeeze-and-Excitation Networks* (CVPR 2018 / TPAMI 2019).

An SE block recalibrates the channels of a feature map ``U`` of shape (B, C, H, W):

* **squeeze**: ``z_c = mean_{i,j} U[:, c, i, j]`` (global average pooling), shape (B, C);
* **excitation**: ``s = sigmoid(W2 relu(W1 z + b1) + b2)`` with a bottleneck of
  ``C / r`` units (reduction ratio ``r = 16``), shape (B, C);
* **scale**: ``U[:, c] * s_c``.

The options reproduce the paper's ablations: the pooling of the squeeze (``"avg"`` or
``"max"``) and the gate of the excitation (``"sigmoid"``, ``"tanh"``, ``"relu"``). Where
the block sits in a residual unit (standard, pre, post, identity) is an option of
:class:`attn_helpers.vision.ResNetCifar` (``attention_position``).

Small channel counts: with ``C < r`` the bottleneck would have fewer than one unit.
By default the width is floored at ``min_channels = 1`` (the excitation still works:
one shared unit, then a per-channel affine map and the gate); ``min_channels=None``
makes that case an error instead.
"""

from __future__ import annotations

import torch
from torch import nn

from .validation import check_choice, check_dtype, check_feature_map, check_in_range, check_int, check_positive

__all__ = ["SE_POOLINGS", "SE_GATES", "SqueezeExcite", "se_hidden_channels"]

SE_POOLINGS = ("avg", "max")
SE_GATES = ("sigmoid", "tanh", "relu")


def se_hidden_channels(channels: int, rd_ratio: float = 1 / 16, min_channels: int | None = 1) -> int:
    """Width of the excitation bottleneck: ``round(channels * rd_ratio)``, at least ``min_channels``.

    Raises ``ValueError`` when the bottleneck would be empty and ``min_channels`` is ``None``.
    """
    check_int("channels", channels, 1)
    check_positive("rd_ratio", rd_ratio)
    check_in_range("rd_ratio", rd_ratio, 0.0, 1.0)
    hidden = int(round(channels * rd_ratio))
    if min_channels is None:
        if hidden < 1:
            raise ValueError(
                f"channels={channels} is below the reduction r = 1/rd_ratio = {1 / rd_ratio:g}: "
                f"the bottleneck would have {channels * rd_ratio:.3g} < 1 units; use fewer "
                f"reduction (a larger rd_ratio) or pass min_channels=1 to floor it"
            )
        return hidden
    check_int("min_channels", min_channels, 1)
    return max(hidden, min_channels)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation block (Hu et al., 2018).

    Args:
        channels: ``C``, channels of the input.
        rd_ratio: ``1 / r``; the paper's default ``r = 16``.
        min_channels: floor of the bottleneck width (``None``: error if ``C * rd_ratio < 1``).
        pooling: squeeze operator, ``"avg"`` (paper) or ``"max"``.
        gate: excitation non-linearity, ``"sigmoid"`` (paper), ``"tanh"`` or ``"relu"``.
        bias: biases in the two fully connected layers (the paper has them).

    Shapes: input (B, C, H, W) -> output (B, C, H, W). With ``keep_maps = True`` the
    last gate values are kept, detached, in ``last_gate`` with shape (B, C, 1, 1).
    """

    def __init__(
        self,
        channels: int,
        *,
        rd_ratio: float = 1 / 16,
        min_channels: int | None = 1,
        pooling: str = "avg",
        gate: str = "sigmoid",
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.channels = channels
        self.hidden = se_hidden_channels(channels, rd_ratio, min_channels)
        self.pooling = check_choice("pooling", pooling, SE_POOLINGS)
        self.gate = check_choice("gate", gate, SE_GATES)
        self.fc1 = nn.Linear(channels, self.hidden, bias=bias)  # W1: C -> C/r
        self.fc2 = nn.Linear(self.hidden, channels, bias=bias)  # W2: C/r -> C
        self.keep_maps = False
        self.last_gate: torch.Tensor | None = None

    def excitation(self, x: torch.Tensor) -> torch.Tensor:
        """The gate ``s`` of shape (B, C, 1, 1) for an input (B, C, H, W)."""
        check_feature_map("x", x, self.channels)
        check_dtype("x", x, self.fc1.weight.dtype, source="SqueezeExcite's parameters")
        if self.pooling == "avg":
            z = x.mean(dim=(2, 3))  # (B, C)
        else:
            z = x.amax(dim=(2, 3))  # (B, C)
        s = self.fc2(torch.relu(self.fc1(z)))  # (B, C)
        if self.gate == "sigmoid":
            s = torch.sigmoid(s)
        elif self.gate == "tanh":
            s = torch.tanh(s)
        else:
            s = torch.relu(s)
        return s[:, :, None, None]  # (B, C, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.excitation(x)
        if self.keep_maps:
            self.last_gate = s.detach()
        return x * s

    def extra_repr(self) -> str:
        return f"channels={self.channels}, hidden={self.hidden}, pooling={self.pooling!r}, gate={self.gate!r}"
