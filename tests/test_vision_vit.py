"""Tests of attn_helpers.vision.vit: shapes, parameter count, patch embedding, rollout, bad input."""

import pytest
import torch

import attn_helpers as ah


def _formula(num_classes, *, image_size, patch_size, in_channels, dim, depth, ffn_hiddens):
    # the parameter count of the module docstring, term by term
    n = (image_size[0] // patch_size) * (image_size[1] // patch_size)
    block = (4 * dim * dim + 4 * dim) + (2 * dim * ffn_hiddens + ffn_hiddens + dim) + 4 * dim
    return (in_channels * patch_size**2 * dim + dim) + dim + (n + 1) * dim + depth * block + 2 * dim \
        + dim * num_classes + num_classes


def test_shapes_and_maps_on_a_non_square_image():
    torch.manual_seed(0)
    model = ah.VisionTransformer(7, image_size=(12, 20), patch_size=4, dim=16, depth=2, num_heads=2).eval()
    x = torch.randn(3, 3, 12, 20)
    assert model(x).shape == (3, 7)
    assert model.last_attention is None and model.last_class_attention is None and model.last_rollout is None
    ah.set_keep_maps(model, True)
    logits = model(x)
    T = 1 + 3 * 5
    assert model.last_attention.shape == (3, 2, 2, T, T)
    torch.testing.assert_close(model.last_attention.sum(-1), torch.ones(3, 2, 2, T))
    cls = model.last_class_attention
    assert cls.shape == (3, 2, 2, 3, 5)
    # the class token's row without its attention to itself, laid out on the patch grid
    torch.testing.assert_close(cls.flatten(3).sum(-1) + model.last_attention[:, :, :, 0, 0], torch.ones(3, 2, 2))
    torch.testing.assert_close(cls[1, 0, 1, 2, 3], model.last_attention[1, 0, 1, 0, 1 + 2 * 5 + 3])
    assert model.last_rollout.shape == (3, 3, 5)
    # keeping maps switches the blocks to the explicit attention path; the logits must not change
    ah.set_keep_maps(model, False)
    torch.testing.assert_close(model(x), logits, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(("image_size", "patch_size", "dim", "depth", "ffn"),
                         [((24, 24), 4, 64, 3, None), ((16, 8), 2, 12, 1, 20), ((32, 32), 8, 32, 4, 128)])
def test_parameter_count_matches_the_formula(image_size, patch_size, dim, depth, ffn):
    model = ah.VisionTransformer(10, image_size=image_size, patch_size=patch_size, dim=dim, depth=depth,
                                 num_heads=4, ffn_hiddens=ffn)
    expected = _formula(10, image_size=image_size, patch_size=patch_size, in_channels=3, dim=dim, depth=depth,
                        ffn_hiddens=2 * dim if ffn is None else ffn)
    assert ah.count_parameters(model) == expected


def test_patch_embedding_is_patch_flattening_plus_a_linear_layer():
    torch.manual_seed(0)
    embed = ah.PatchEmbedding(3, 5, patch_size=4).double()
    x = torch.randn(2, 3, 8, 12, dtype=torch.float64)
    B, C, H, W, p = 2, 3, 8, 12, 4
    # (B, C, H/p, p, W/p, p) -> (B, H/p, W/p, C, p, p): one (C, p, p) block per patch, row-major over the grid
    patches = x.view(B, C, H // p, p, W // p, p).permute(0, 2, 4, 1, 3, 5).reshape(B, (H // p) * (W // p), C * p * p)
    weight = embed.proj.weight.reshape(5, C * p * p)  # the conv kernel is the linear layer's weight
    expected = patches @ weight.T + embed.proj.bias
    torch.testing.assert_close(embed(x), expected)
    assert embed(x).shape == (2, 6, 5)


def test_rollout_by_hand_two_layers_one_head():
    a1 = torch.tensor([[0.5, 0.5], [0.0, 1.0]])
    a2 = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    attention = torch.stack([a1, a2])[None, :, None]  # (B=1, L=2, H=1, T=2, T=2)
    # with the residual: (A + I) / 2, rows already sum to 1
    r1 = torch.tensor([[0.75, 0.25], [0.0, 1.0]])
    r2 = torch.tensor([[0.5, 0.5], [0.5, 0.5]])
    torch.testing.assert_close(ah.attention_rollout(attention)[0], r2 @ r1)
    torch.testing.assert_close(ah.attention_rollout(attention)[0], torch.tensor([[0.375, 0.625], [0.375, 0.625]]))
    # without it, the plain product of the attention matrices
    torch.testing.assert_close(ah.attention_rollout(attention, residual=False)[0], a2 @ a1)


def test_rollout_fuses_heads_and_keeps_rows_normalised():
    torch.manual_seed(0)
    attention = torch.softmax(torch.randn(2, 3, 4, 5, 5), dim=-1)
    for fusion in ("mean", "max", "min"):
        rollout = ah.attention_rollout(attention, head_fusion=fusion)
        assert rollout.shape == (2, 5, 5)
        torch.testing.assert_close(rollout.sum(-1), torch.ones(2, 5))
    one_layer = ah.attention_rollout(attention[:, :1], residual=False)
    torch.testing.assert_close(one_layer, attention[:, 0].mean(dim=1))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="patch_size"):
        ah.VisionTransformer(10, image_size=24, patch_size=5)
    with pytest.raises(ValueError, match="num_heads"):
        ah.VisionTransformer(10, dim=30, num_heads=4)
    with pytest.raises(ValueError, match="image_size"):
        ah.VisionTransformer(10, image_size=(24,))
    with pytest.raises(ValueError, match="depth"):
        ah.VisionTransformer(10, depth=0)
    with pytest.raises(ValueError, match="dropout"):
        ah.VisionTransformer(10, dropout=1.5)
    model = ah.VisionTransformer(10, image_size=24, dim=16, depth=1, num_heads=2)
    with pytest.raises(ValueError, match="x must have shape"):
        model(torch.randn(2, 3, 28, 28))
    with pytest.raises(TypeError, match="x must have a floating-point dtype"):
        model(torch.zeros(2, 3, 24, 24, dtype=torch.long))
    with pytest.raises(ValueError, match="patch_size"):
        ah.PatchEmbedding(3, 8, 4)(torch.randn(1, 3, 10, 8))
    with pytest.raises(ValueError, match="attention must be 5-D"):
        ah.attention_rollout(torch.rand(2, 4, 4))
    with pytest.raises(ValueError, match="attention must have square"):
        ah.attention_rollout(torch.rand(1, 1, 1, 3, 4))
    with pytest.raises(ValueError, match="head_fusion"):
        ah.attention_rollout(torch.rand(1, 1, 1, 3, 3), head_fusion="median")
