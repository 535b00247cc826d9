"""Small CIFAR-size backbones with a slot for an attention module.

* :class:`ResNetCifar`: a ResNet of basic blocks (He et al., 2016) in three stages,
  16-32-64 channels by default. ``block_attention`` plugs a module into every block
  at the position ``attention_position`` names (SE / CBAM: on the residual branch
  before the addition), ``stage_attention`` one between stages (BAM), and
  ``block_conv`` replaces each block's first 3x3 conv-BN-ReLU (SK).
* :class:`VGGCifar`: a plain VGG-style stack of conv-BN-ReLU stages (for LTPA).

``None`` everywhere gives the baseline. Attention modules are built off the backbone's
random stream (:func:`build_off_stream`): after the same ``torch.manual_seed``, a network
with a module and one without share every backbone weight, so a paired comparison
measures the module, not a different initialisation. Every factory is called with the channel
count of the place it goes (``block_attention(channels)``), so any module class whose
first argument is the channel count works, e.g. ``block_attention=ah.SqueezeExcite``
or ``functools.partial(ah.SqueezeExcite, rd_ratio=1/4)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..keep_maps import set_keep_maps
from ..validation import check_choice, check_dtype, check_int, check_ints, check_tensor

__all__ = ["ATTENTION_POSITIONS", "BasicBlock", "ResNetCifar", "VGGCifar", "build_off_stream"]

ATTENTION_POSITIONS = ("standard", "pre", "post", "identity")

AttentionFactory = Callable[[int], nn.Module]
ConvFactory = Callable[..., nn.Module]


def _conv_bn_relu(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


def build_off_stream(factory: Callable[..., nn.Module], *args: object, **kwargs: object) -> nn.Module:
    """Call ``factory(*args, **kwargs)`` without consuming the global random stream.

    An attention module built between two backbone layers would otherwise draw its initial
    weights from the same random stream as the backbone, so every later layer of a network
    *with* the module would start from different weights than the same layer *without* it,
    and a comparison of the two would mix the module's effect with a different
    initialisation. Built here, under a forked (saved and restored) CPU random state, the
    module gets its own deterministic weights and the backbone's layers are identical,
    weight for weight, in every variant built after the same ``torch.manual_seed``.
    """
    with torch.random.fork_rng(devices=[]):
        return factory(*args, **kwargs)


def _run_stages(x: torch.Tensor, stages: nn.ModuleList, stage_attention: nn.ModuleList) -> list[torch.Tensor]:
    # Each stage, then the attention module that follows it (if any); every stage's output.
    outputs = []
    for i, stage in enumerate(stages):
        x = stage(x)
        if i < len(stage_attention):
            x = stage_attention[i](x)
        outputs.append(x)
    return outputs


class BasicBlock(nn.Module):
    """Residual basic block ``relu(F(x) + shortcut(x))`` with ``F = conv-bn-relu-conv-bn``.

    ``attention`` (a factory, called with a channel count) is placed as in Fig. 5 of the
    SE paper:

    * ``"standard"``: on the residual branch, after ``F`` and before the addition;
    * ``"pre"``: on the input of the residual branch, ``F(att(x))``;
    * ``"post"``: after the addition (and the final ReLU; a non-negative gate commutes
      with the ReLU, so the order does not matter for SE);
    * ``"identity"``: on the shortcut, ``relu(F(x) + att(shortcut(x)))``.

    ``conv`` replaces the first conv-BN-ReLU of ``F``; it is called as
    ``conv(in_channels, out_channels, stride=stride)``.

    Shapes: (B, C_in, H, W) -> (B, C_out, H / stride, W / stride).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        stride: int = 1,
        attention: AttentionFactory | None = None,
        attention_position: str = "standard",
        conv: ConvFactory | None = None,
    ) -> None:
        super().__init__()
        self.position = check_choice("attention_position", attention_position, ATTENTION_POSITIONS)
        self.in_channels = in_channels
        # The plain conv-BN-ReLU is always drawn, so the stream advances the same way with or
        # without a replacement; a replacement (SK) is built off the stream and used instead.
        # The layers after it then start exactly as in the plain network.
        plain_conv = _conv_bn_relu(in_channels, out_channels, stride)
        self.conv1 = build_off_stream(conv, in_channels, out_channels, stride=stride) if conv is not None else plain_conv
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        att_channels = in_channels if self.position == "pre" else out_channels
        self.attention = build_off_stream(attention, att_channels) if attention is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        att = self.attention if self.attention is not None else nn.Identity()
        shortcut = self.shortcut(x)
        if self.position == "pre":
            x = att(x)
        out = self.bn2(self.conv2(self.conv1(x)))  # F(x): (B, C_out, H', W')
        if self.position == "standard":
            out = att(out)
        elif self.position == "identity":
            shortcut = att(shortcut)
        out = torch.relu(out + shortcut)
        if self.position == "post":
            out = att(out)
        return out


class ResNetCifar(nn.Module):
    """A small ResNet for 32x32-ish images with pluggable attention.

    Args:
        num_classes: outputs of the classifier.
        in_channels: image channels.
        widths: channels of each stage; stage ``i > 0`` halves the resolution.
        blocks_per_stage: basic blocks in each stage (default: one per stage).
        block_attention: factory ``f(channels) -> nn.Module`` put in every block (SE, CBAM).
        stage_attention: factory put after every stage but the last (BAM's position).
        attention_position: where ``block_attention`` goes in a block (see :class:`BasicBlock`).
        attention_stages: indices of the stages whose blocks get ``block_attention``
            (default: all).
        block_conv: factory ``f(in_channels, out_channels, stride=...)`` replacing each
            block's first conv-BN-ReLU (SK convolution).

    Shapes: (B, in_channels, H, W) -> logits (B, num_classes).
    """

    def __init__(
        self,
        num_classes: int,
        *,
        in_channels: int = 3,
        widths: Sequence[int] = (16, 32, 64),
        blocks_per_stage: Sequence[int] | None = None,
        block_attention: AttentionFactory | None = None,
        stage_attention: AttentionFactory | None = None,
        attention_position: str = "standard",
        attention_stages: Sequence[int] | None = None,
        block_conv: ConvFactory | None = None,
    ) -> None:
        super().__init__()
        check_int("num_classes", num_classes, 1)
        check_int("in_channels", in_channels, 1)
        widths = check_ints("widths", widths)
        blocks = check_ints("blocks_per_stage", (1,) * len(widths) if blocks_per_stage is None else blocks_per_stage)
        if len(blocks) != len(widths):
            raise ValueError(f"blocks_per_stage must have one entry per stage ({len(widths)}), got {blocks!r}")
        check_choice("attention_position", attention_position, ATTENTION_POSITIONS)
        stages_with = set(range(len(widths))) if attention_stages is None else set(attention_stages)
        if not stages_with <= set(range(len(widths))):
            raise ValueError(f"attention_stages must be stage indices in 0..{len(widths) - 1}, got {sorted(stages_with)}")
        self.in_channels = in_channels
        self.stem = _conv_bn_relu(in_channels, widths[0])
        self.stages = nn.ModuleList()
        self.stage_attention = nn.ModuleList()
        previous = widths[0]
        for i, (width, n_blocks) in enumerate(zip(widths, blocks)):
            stage = nn.Sequential()
            for j in range(n_blocks):
                stage.append(BasicBlock(
                    previous, width, stride=2 if i > 0 and j == 0 else 1,
                    attention=block_attention if i in stages_with else None,
                    attention_position=attention_position, conv=block_conv,
                ))
                previous = width
            self.stages.append(stage)
            if stage_attention is not None and i < len(widths) - 1:
                self.stage_attention.append(build_off_stream(stage_attention, width))
        self.head = nn.Linear(previous, num_classes)

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of every stage (after its stage attention), a list of (B, C_i, H_i, W_i)."""
        check_tensor("x", x, ndim=4, floating=True, shape=(None, self.in_channels, None, None))
        check_dtype("x", x, self.head.weight.dtype, source="ResNetCifar's parameters")
        return _run_stages(self.stem(x), self.stages, self.stage_attention)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.forward_stages(x)[-1]
        return self.head(features.mean(dim=(2, 3)))  # global average pool, (B, C) -> (B, classes)

    def block_attention_modules(self) -> list[nn.Module]:
        """The attention modules of the blocks, stage by stage (empty for the baseline)."""
        return [block.attention for stage in self.stages for block in stage if block.attention is not None]

    def stage_attention_modules(self) -> list[nn.Module]:
        """The attention modules between stages (empty without ``stage_attention``)."""
        return list(self.stage_attention)

    def block_conv_modules(self) -> list[nn.Module]:
        """The first conv of every block (SK modules when ``block_conv`` was given)."""
        return [block.conv1 for stage in self.stages for block in stage]

    def set_keep_maps(self, keep: bool = True) -> None:
        """Set ``keep_maps`` on every submodule that has it, so they store their last attention map."""
        set_keep_maps(self, keep)


class VGGCifar(nn.Module):
    """A plain VGG-style network: stages of ``convs_per_stage`` conv-BN-ReLU then 2x2 max-pool.

    Args:
        num_classes: outputs of the classifier.
        in_channels: image channels.
        widths: channels of each stage.
        convs_per_stage: 3x3 convolutions in each stage.
        pool: whether each stage ends with a 2x2 max-pool (default: all stages).
        block_attention: factory put after every stage's convolutions (before its pooling).
        stage_attention: factory put after every stage but the last (after its pooling).

    ``forward_stages`` returns each stage's output, the local features that LTPA attends
    over. Shapes: (B, in_channels, H, W) -> logits (B, num_classes).
    """

    def __init__(
        self,
        num_classes: int,
        *,
        in_channels: int = 3,
        widths: Sequence[int] = (32, 64, 128, 256),
        convs_per_stage: int = 2,
        pool: Sequence[bool] | None = None,
        block_attention: AttentionFactory | None = None,
        stage_attention: AttentionFactory | None = None,
    ) -> None:
        super().__init__()
        check_int("num_classes", num_classes, 1)
        check_int("in_channels", in_channels, 1)
        check_int("convs_per_stage", convs_per_stage, 1)
        widths = check_ints("widths", widths)
        pool = (True,) * len(widths) if pool is None else tuple(bool(p) for p in pool)
        if len(pool) != len(widths):
            raise ValueError(f"pool must have one entry per stage ({len(widths)}), got {pool!r}")
        self.in_channels = in_channels
        self.stages = nn.ModuleList()
        self.stage_attention = nn.ModuleList()
        previous = in_channels
        for i, width in enumerate(widths):
            layers: list[nn.Module] = []
            for _ in range(convs_per_stage):
                layers.append(_conv_bn_relu(previous, width))
                previous = width
            if block_attention is not None:
                layers.append(build_off_stream(block_attention, width))
            if pool[i]:
                layers.append(nn.MaxPool2d(2))
            self.stages.append(nn.Sequential(*layers))
            if stage_attention is not None and i < len(widths) - 1:
                self.stage_attention.append(build_off_stream(stage_attention, width))
        self.block_attention = block_attention is not None
        self.convs_per_stage = convs_per_stage
        self.head = nn.Linear(previous, num_classes)

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of every stage, a list of (B, C_i, H_i, W_i)."""
        check_tensor("x", x, ndim=4, floating=True, shape=(None, self.in_channels, None, None))
        check_dtype("x", x, self.head.weight.dtype, source="VGGCifar's parameters")
        return _run_stages(x, self.stages, self.stage_attention)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_stages(x)[-1].mean(dim=(2, 3)))

    def block_attention_modules(self) -> list[nn.Module]:
        """The attention modules inside the stages (empty without ``block_attention``)."""
        if not self.block_attention:
            return []
        return [stage[self.convs_per_stage] for stage in self.stages]

    def stage_attention_modules(self) -> list[nn.Module]:
        """The attention modules between stages."""
        return list(self.stage_attention)

    set_keep_maps = ResNetCifar.set_keep_maps
