"""A small Vision Transformer (Dosovitskiy et al., 2021, "An Image is Worth 16x16 Words").

    image -> patches (strided conv) -> [class token; patch tokens] + learned positions
          -> N x pre-norm Transformer block -> LayerNorm -> linear head on the class token

Built from the book's parts: the blocks are the pre-norm :class:`~attn_helpers.TransformerEncoderBlock`
of chapter 3 (``norm_first=True``; its feed-forward network uses ReLU where the paper uses
GELU), so the ViT differs from the sequence encoder only in how tokens are made (patches
instead of an embedding table), in the learned positions, and in reading one class token.

* :class:`PatchEmbedding`: a ``p x p`` convolution with stride ``p``, which is the same as
  cutting the image into non-overlapping ``p x p`` patches, flattening each to ``C p^2``
  numbers and applying one linear layer to every patch (tested).
* :class:`VisionTransformer`: the classifier. With ``keep_maps = True`` it keeps the last
  batch's attention weights of every layer and head in ``last_attention``
  ``(B, depth, H, T, T)`` (``T = 1 + number of patches``, token 0 is the class token);
  ``last_class_attention`` gives the class token's attention over the patch grid
  ``(B, depth, H, gh, gw)`` and ``last_rollout`` its attention rollout ``(B, gh, gw)``.
* :func:`attention_rollout` (Abnar & Zuidema, 2020, "Quantifying Attention Flow in
  Transformers"): how much each input token reaches each output token through all layers.

Parameter count (tested), for ``D = dim``, ``F = ffn_hiddens``, ``n`` patches, ``depth`` blocks,
``K`` classes and ``C`` input channels::

    C p^2 D + D            patch embedding (conv weight and bias)
    + D + (n + 1) D        class token, position embeddings
    + depth (4 D^2 + 4 D   W_q, W_k, W_v, W_o with biases
             + 2 D F + F + D   feed-forward
             + 4 D)        two LayerNorms
    + 2 D                  final LayerNorm
    + D K + K              head
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..keep_maps import set_keep_maps
from ..transformer import TransformerEncoderBlock
from ..validation import check_choice, check_image_size, check_in_range, check_int, check_tensor

__all__ = ["PatchEmbedding", "VisionTransformer", "attention_rollout"]

HEAD_FUSIONS = ("mean", "max", "min")


class PatchEmbedding(nn.Module):
    """Cut an image into ``p x p`` patches and embed each linearly: a conv with kernel = stride = ``p``.

    Args:
        in_channels: image channels ``C``.
        dim: embedding size ``D``.
        patch_size: ``p``; must divide the image's height and width.

    Shapes: ``(B, C, H, W)`` -> ``(B, (H/p)(W/p), D)``, patches in row-major order.
    """

    def __init__(self, in_channels: int, dim: int, patch_size: int) -> None:
        super().__init__()
        check_int("in_channels", in_channels, 1)
        check_int("dim", dim, 1)
        self.patch_size = check_int("patch_size", patch_size, 1)
        self.in_channels = in_channels
        self.proj = nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=4, floating=True, shape=(None, self.in_channels, None, None))
        p = self.patch_size
        if x.shape[2] % p or x.shape[3] % p:
            raise ValueError(f"patch_size {p} must divide the image's height and width, got {tuple(x.shape[2:])}")
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, D, H/p, W/p) -> (B, n, D)


class VisionTransformer(nn.Module):
    """ViT classifier: patch embedding, class token, learned positions, pre-norm blocks, head.

    Args:
        num_classes: outputs of the head ``K``.
        image_size: ``H`` (square) or ``(H, W)``; fixes the number of position embeddings.
        patch_size: ``p`` (16 in the paper's ImageNet models; 4 suits 24-32 pixel images).
        in_channels: image channels ``C``.
        dim: token width ``D``.
        depth: number of Transformer blocks.
        num_heads: attention heads per block; must divide ``dim``.
        ffn_hiddens: hidden width ``F`` of each block's feed-forward network (default ``2 D``;
            the paper uses ``4 D``).
        dropout: dropout on attention weights and sub-layer outputs (the blocks') and on the
            embedded tokens.

    Shapes: ``(B, C, H, W)`` -> logits ``(B, K)``.
    """

    def __init__(
        self,
        num_classes: int,
        *,
        image_size: int | Sequence[int] = 24,
        patch_size: int = 4,
        in_channels: int = 3,
        dim: int = 64,
        depth: int = 3,
        num_heads: int = 4,
        ffn_hiddens: int | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_int("num_classes", num_classes, 1)
        height, width = check_image_size("image_size", image_size)
        check_int("patch_size", patch_size, 1)
        if height % patch_size or width % patch_size:
            raise ValueError(f"patch_size must divide image_size {(height, width)}, got {patch_size}")
        check_int("depth", depth, 1)
        check_int("dim", dim, 1)
        check_int("num_heads", num_heads, 1)
        ffn_hiddens = 2 * dim if ffn_hiddens is None else check_int("ffn_hiddens", ffn_hiddens, 1)
        check_in_range("dropout", dropout, 0.0, 1.0)
        self.image_size, self.grid = (height, width), (height // patch_size, width // patch_size)
        self.num_heads, self.depth = num_heads, depth
        self.patch_embed = PatchEmbedding(in_channels, dim, patch_size)
        n_tokens = 1 + self.grid[0] * self.grid[1]
        # small random starts, as in the reference implementation (truncated normal, std 0.02)
        self.cls_token = nn.Parameter(nn.init.trunc_normal_(torch.empty(1, 1, dim), std=0.02))
        self.pos_embed = nn.Parameter(nn.init.trunc_normal_(torch.empty(1, n_tokens, dim), std=0.02))
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            TransformerEncoderBlock(dim, num_heads, ffn_hiddens, dropout, norm_first=True) for _ in range(depth)
        )
        self.norm = nn.LayerNorm(dim)  # pre-norm blocks leave the residual stream unnormalised
        self.head = nn.Linear(dim, num_classes)
        self.keep_maps = False
        self.last_attention: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, ndim=4, floating=True, shape=(None, self.patch_embed.in_channels, *self.image_size))
        tokens = self.patch_embed(x)  # (B, n, D)
        cls = self.cls_token.expand(tokens.shape[0], -1, -1)  # (B, 1, D)
        h = self.dropout(torch.cat([cls, tokens], dim=1) + self.pos_embed)  # (B, T, D), T = 1 + n
        maps = []
        for block in self.blocks:
            # the explicit attention path (weights materialised) only when maps are kept;
            # otherwise the blocks take the fused scaled_dot_product_attention path
            h, weights = block(h, need_weights=self.keep_maps)
            maps.append(weights)
        if self.keep_maps:
            self.last_attention = torch.stack(maps, dim=1).detach()  # (B, depth, H, T, T)
        return self.head(self.norm(h[:, 0]))  # class token -> (B, K)

    @property
    def last_class_attention(self) -> torch.Tensor | None:
        """The class token's attention to each patch, ``(B, depth, H, gh, gw)``, from the last
        batch run with ``keep_maps``; per layer and head it sums to 1 minus its attention to itself."""
        if self.last_attention is None:
            return None
        a = self.last_attention[:, :, :, 0, 1:]  # (B, depth, H, n): row of the class token, patch columns
        return a.reshape(*a.shape[:3], *self.grid)

    @property
    def last_rollout(self) -> torch.Tensor | None:
        """Attention rollout of the class token over the patches, ``(B, gh, gw)`` (last ``keep_maps`` batch)."""
        if self.last_attention is None:
            return None
        return attention_rollout(self.last_attention)[:, 0, 1:].reshape(-1, *self.grid)

    def set_keep_maps(self, keep: bool = True) -> None:
        """Keep (or drop) the attention weights of every forward pass in ``last_attention``."""
        set_keep_maps(self, keep)


def attention_rollout(attention: torch.Tensor, *, head_fusion: str = "mean", residual: bool = True) -> torch.Tensor:
    """Attention rollout (Abnar & Zuidema, 2020): attention chained through all layers.

    Per layer ``l`` the heads are fused (``head_fusion``: mean, max or min over heads) into
    ``A_l`` (T, T). With ``residual`` the skip connection is counted as attention to oneself,
    ``A_l <- (A_l + I) / 2``, rows renormalised to sum to 1. The rollout is the product
    ``R = A_L ... A_2 A_1``: ``R[i, j]`` is how much input token ``j`` reaches output token ``i``.
    Row 0 is the class token's rollout; ``R[:, 0, 1:]`` is its map over the patches.

    Args:
        attention: ``(B, L, H, T, T)`` attention weights (rows sum to 1), layers in order.
        head_fusion: how the heads of a layer are combined.
        residual: add the identity for the residual connection.

    Returns ``(B, T, T)``, every row summing to 1.
    """
    check_tensor("attention", attention, ndim=5, floating=True)
    if attention.shape[-1] != attention.shape[-2]:
        raise ValueError(f"attention must have square (T, T) maps in its last two dims, got {tuple(attention.shape)}")
    check_choice("head_fusion", head_fusion, HEAD_FUSIONS)
    if not isinstance(residual, bool):
        raise TypeError(f"residual must be a bool, got {type(residual).__name__}")
    fused = {"mean": lambda a: a.mean(dim=2), "max": lambda a: a.amax(dim=2), "min": lambda a: a.amin(dim=2)}[
        head_fusion](attention)  # (B, L, T, T)
    if residual:
        fused = fused + torch.eye(fused.shape[-1], dtype=fused.dtype, device=fused.device)
    fused = fused / fused.sum(dim=-1, keepdim=True)  # max/min fusion and the identity break row sums
    rollout = fused[:, 0]
    for layer in range(1, fused.shape[1]):
        rollout = fused[:, layer] @ rollout  # later layers act on what earlier layers mixed
    return rollout

