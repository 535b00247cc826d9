"""Learn to pay attention (Jetley, Lord, Lee and Torr, ICLR 2018).

A CNN's *local* features ``l_i`` (one C-vector per position i of an intermediate layer)
are scored against the *global* feature ``g`` (the image descriptor the network computes
at its end) with a compatibility function, the scores are softmax-normalised over the
positions, and the attention-weighted sum of the local features replaces ``g`` as the
input of the classifier:

* parametrised compatibility ``c_i = <u, l_i + g>`` (``u`` learned), the paper's "pc";
* dot-product compatibility ``c_i = <l_i, g>``, the paper's "dp";
* ``a = softmax(c)`` over the H * W positions, ``g_a = sum_i a_i l_i``;
* ``"uniform"``, not in the paper: ``a_i = 1/n`` (``g_a`` is the spatial mean of the local
  features), the control that keeps the multi-layer read-out and switches attention off.

A property of the parametrised form worth knowing: ``<u, l_i + g> = <u, l_i> + <u, g>`` and
``<u, g>`` is the same for every position i of an image, so the softmax over positions
cancels it. The parametrised attention does not depend on ``g`` at all; it scores each
position by ``<u, l_i>`` alone, and in :class:`LTPAVGG` (where ``g`` feeds nothing but the
compatibility) the layer that computes ``g`` receives no gradient. Only the dot product
actually compares the local features with the global one.

With three attended layers the classifier sees ``[g_a^1; g_a^2; g_a^3]`` (the paper's
"concatenation" variant). Local features whose width differs from ``g`` are first projected
to it by a 1x1 convolution, as in the paper.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .validation import check_choice, check_dtype, check_feature_map, check_int, check_ints, check_tensor

__all__ = ["COMPATIBILITIES", "LTPAAttention", "LTPAVGG"]

COMPATIBILITIES = ("parametrised", "dot", "uniform")


class LTPAAttention(nn.Module):
    """The attention estimator: compatibility scores, softmax, weighted local descriptor.

    Args:
        channels: C, the width shared by the local and the global features.
        compatibility: ``"parametrised"`` (``<u, l + g>``), ``"dot"`` (``<l, g>``) or
            ``"uniform"`` (all scores 0, so ``a = 1/n``: no attention, no parameters).

    With ``"parametrised"`` the term ``<u, g>`` is constant over positions and the softmax
    cancels it: ``a`` does not depend on ``global_features`` (see the module docstring).

    Shapes: ``local_features`` (B, C, H, W), ``global_features`` (B, C) -> a tuple of the
    attended descriptor ``g_a`` (B, C), the attention ``a`` (B, H, W) (sums to 1 over
    H x W) and the raw scores ``c`` (B, H, W).
    """

    def __init__(self, channels: int, compatibility: str = "parametrised") -> None:
        super().__init__()
        check_int("channels", channels, 1)
        self.channels = channels
        self.compatibility = check_choice("compatibility", compatibility, COMPATIBILITIES)
        self.u = nn.Conv2d(channels, 1, 1, bias=False) if compatibility == "parametrised" else None

    def forward(
        self, local_features: torch.Tensor, global_features: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        check_feature_map("local_features", local_features, self.channels)
        check_tensor("global_features", global_features, ndim=2, floating=True)
        b, c, h, w = local_features.shape
        if tuple(global_features.shape) != (b, c):
            raise ValueError(
                f"global_features must have shape (B, C) = ({b}, {c}) to match local_features "
                f"{tuple(local_features.shape)}, got {tuple(global_features.shape)}"
            )
        check_dtype("global_features", global_features, local_features.dtype, source="local_features")
        if self.u is not None:
            check_dtype("local_features", local_features, self.u.weight.dtype, source="LTPAAttention's parameters")
        g = global_features[:, :, None, None]  # (B, C, 1, 1)
        if self.compatibility == "parametrised":
            scores = self.u(local_features + g).squeeze(1)  # (B, H, W); <u, g> cancels in the softmax
        elif self.compatibility == "dot":
            scores = (local_features * g).sum(dim=1)  # (B, H, W)
        else:
            scores = local_features.new_zeros(b, h, w)  # uniform: softmax gives 1/n everywhere
        attention = torch.softmax(scores.flatten(1), dim=1).view(b, h, w)
        attended = (attention[:, None] * local_features).sum(dim=(2, 3))  # (B, C)
        return attended, attention, scores


def _conv_block(cin: int, cout: int, convs: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1, bias=False),
                   nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class LTPAVGG(nn.Module):
    """A small VGG-style network with LTPA attention at three intermediate layers.

    Four convolutional stages (``convs_per_stage`` 3x3 conv-BN-ReLU each) separated by 2x2
    max-pooling. The local features are the outputs of stages 2, 3 and 4 (before their
    pooling); the global feature ``g`` is a linear layer over the globally average-pooled,
    pooled output of stage 4. Local features narrower than ``g`` are projected to its width
    by a 1x1 convolution. The classifier is one linear layer over ``[g_a^1; g_a^2; g_a^3]``.
    ``g`` feeds only the compatibility: with ``"parametrised"`` it cancels (``global_fc``
    gets no gradient), with ``"uniform"`` it is not computed (``global_fc`` is ``None``).

    ``global_fc`` and the attention estimators are built off the global random stream, so
    after the same ``torch.manual_seed`` the convolutions, projections and classifier start
    from identical weights whatever the compatibility (a paired comparison of the three).

    Args:
        num_classes: number of output classes.
        in_channels: image channels.
        widths: the four stages' widths (the paper's VGG-16 uses 64-128-256-512 with more
            convolutions per stage; these defaults are a CPU-sized version).
        convs_per_stage: 3x3 convolutions per stage.
        compatibility: ``"parametrised"``, ``"dot"`` or ``"uniform"``, see :class:`LTPAAttention`.

    Shapes: (B, in_channels, H, W) with H, W divisible by 8 -> logits (B, num_classes).
    ``forward_with_attention`` also returns the three attention maps [(B, H/2^k, W/2^k)]
    for k = 1, 2, 3; with ``keep_maps = True`` ``forward`` keeps them in ``last_attention``.
    """

    def __init__(
        self,
        num_classes: int,
        *,
        in_channels: int = 3,
        widths: Sequence[int] = (32, 64, 128, 128),
        convs_per_stage: int = 2,
        compatibility: str = "parametrised",
    ) -> None:
        super().__init__()
        check_int("num_classes", num_classes, 2)
        check_int("in_channels", in_channels, 1)
        check_int("convs_per_stage", convs_per_stage, 1)
        widths = check_ints("widths", widths, 1, length=4)
        self.compatibility = check_choice("compatibility", compatibility, COMPATIBILITIES)
        self.in_channels = in_channels
        chans = (in_channels, *widths)
        self.stages = nn.ModuleList(_conv_block(chans[i], chans[i + 1], convs_per_stage) for i in range(4))
        self.pool = nn.MaxPool2d(2)
        dim = widths[-1]
        self.projections = nn.ModuleList(
            nn.Conv2d(w, dim, 1, bias=False) if w != dim else nn.Identity() for w in widths[1:]
        )
        with torch.random.fork_rng(devices=[]):  # keep the shared layers' initial weights paired
            self.global_fc = nn.Linear(dim, dim) if compatibility != "uniform" else None
            self.attention = nn.ModuleList(LTPAAttention(dim, compatibility) for _ in range(3))
        self.classifier = nn.Linear(3 * dim, num_classes)
        self.keep_maps = False
        self.last_attention: list[torch.Tensor] | None = None

    def forward_with_attention(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits (B, num_classes) and the three attention maps [(B, h_k, w_k)]."""
        check_feature_map("x", x)
        if x.shape[1] != self.in_channels or x.shape[2] % 8 or x.shape[3] % 8:
            raise ValueError(
                f"x must have shape (B, {self.in_channels}, H, W) with H and W divisible by 8, "
                f"got {tuple(x.shape)}"
            )
        check_dtype("x", x, self.classifier.weight.dtype, source="LTPAVGG's parameters")
        locals_: list[torch.Tensor] = []
        for i, stage in enumerate(self.stages):
            x = stage(x if i == 0 else self.pool(x))
            if i > 0:
                locals_.append(x)
        if self.global_fc is not None:
            g = self.global_fc(self.pool(x).mean(dim=(2, 3)))  # (B, D)
        else:
            g = x.new_zeros(x.shape[0], x.shape[1])  # uniform: the scores ignore g
        attended, maps = [], []
        for local, project, estimator in zip(locals_, self.projections, self.attention):
            g_a, a, _ = estimator(project(local), g)
            attended.append(g_a)
            maps.append(a)
        return self.classifier(torch.cat(attended, dim=1)), maps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits, maps = self.forward_with_attention(x)
        if self.keep_maps:
            self.last_attention = [m.detach() for m in maps]
        return logits
