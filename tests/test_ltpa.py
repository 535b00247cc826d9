"""LTPA (attn_helpers/ltpa.py): the compatibility functions against plain tensor ops."""

from __future__ import annotations

import pytest
import torch

from attn_helpers.ltpa import COMPATIBILITIES, LTPAAttention, LTPAVGG


@pytest.fixture
def features() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    return torch.randn(3, 8, 4, 6, dtype=torch.float64), torch.randn(3, 8, dtype=torch.float64)


@pytest.mark.parametrize("compatibility", COMPATIBILITIES)
def test_estimator_matches_formula(features, compatibility: str) -> None:
    local, g = features
    m = LTPAAttention(8, compatibility).double()
    attended, a, c = m(local, g)
    b = local.shape[0]
    for n in range(b):
        vectors = local[n].reshape(8, -1).T  # (positions, C): l_i
        if compatibility == "parametrised":
            u = m.u.weight.reshape(8)
            scores = (vectors + g[n]) @ u  # <u, l_i + g>
        elif compatibility == "dot":
            scores = vectors @ g[n]  # <l_i, g>
        else:
            scores = torch.zeros(vectors.shape[0], dtype=vectors.dtype)
        weights = torch.exp(scores - scores.max())
        weights = weights / weights.sum()
        torch.testing.assert_close(c[n].reshape(-1), scores)
        torch.testing.assert_close(a[n].reshape(-1), weights)
        torch.testing.assert_close(attended[n], weights @ vectors)
    assert a.shape == (3, 4, 6)
    torch.testing.assert_close(a.sum(dim=(1, 2)), torch.ones(3, dtype=torch.float64))


def test_estimator_gradients(features) -> None:
    local, g = (t.clone().requires_grad_() for t in features)
    m = LTPAAttention(8).double()
    assert torch.autograd.gradcheck(lambda l_, g_: m(l_, g_)[0], (local, g))


@pytest.mark.parametrize("compatibility", COMPATIBILITIES)
def test_model_shapes_train_and_eval(compatibility: str) -> None:
    torch.manual_seed(0)
    model = LTPAVGG(5, widths=(4, 8, 8, 16), compatibility=compatibility)
    x = torch.randn(2, 3, 32, 48)  # non-square
    for train in (True, False):
        model.train(train)
        logits, maps = model.forward_with_attention(x)
        assert logits.shape == (2, 5)
        assert [tuple(m.shape) for m in maps] == [(2, 16, 24), (2, 8, 12), (2, 4, 6)]
        for m in maps:
            torch.testing.assert_close(m.sum(dim=(1, 2)), torch.ones(2))
    model.keep_maps = True
    model(x)
    assert len(model.last_attention) == 3
    logits.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    assert (model.global_fc is None) == (compatibility == "uniform")


def test_uniform_is_the_spatial_mean(features) -> None:
    local, g = features
    attended, a, c = LTPAAttention(8, "uniform").double()(local, g)
    n = local.shape[2] * local.shape[3]
    torch.testing.assert_close(a, torch.full_like(a, 1 / n))
    torch.testing.assert_close(attended, local.mean(dim=(2, 3)))
    torch.testing.assert_close(c, torch.zeros_like(c))
    assert list(LTPAAttention(8, "uniform").parameters()) == []


def test_parametrised_attention_ignores_g(features) -> None:
    """<u, g> is constant over positions: the softmax cancels it, a does not depend on g."""
    local, g = features
    m = LTPAAttention(8, "parametrised").double()
    _, a1, c1 = m(local, g)
    _, a2, c2 = m(local, 5 * torch.randn_like(g))
    assert not torch.allclose(c1, c2)  # the raw scores move with g ...
    torch.testing.assert_close(a1, a2)  # ... the attention does not
    _, b1, _ = LTPAAttention(8, "dot").double()(local, g)
    _, b2, _ = LTPAAttention(8, "dot").double()(local, 5 * torch.randn_like(g))
    assert not torch.allclose(b1, b2)  # the dot product does depend on g


@pytest.mark.parametrize("compatibility", ["parametrised", "dot"])
def test_global_fc_gradient(compatibility: str) -> None:
    """In LTPAVGG g only feeds the compatibility: with "parametrised" global_fc gets no gradient."""
    torch.manual_seed(0)
    model = LTPAVGG(4, widths=(4, 8, 8, 8), compatibility=compatibility).double()
    x = torch.randn(3, 3, 16, 16, dtype=torch.float64)
    torch.nn.functional.cross_entropy(model(x), torch.tensor([0, 1, 3])).backward()
    grad = model.global_fc.weight.grad
    scale = model.classifier.weight.grad.abs().max()
    if compatibility == "parametrised":
        assert grad is None or grad.abs().max() < 1e-10 * scale
    else:
        assert grad.abs().max() > 1e-4 * scale


def test_shared_layers_are_paired_across_compatibilities() -> None:
    """After the same seed the convolutions, projections and classifier start identical."""
    weights = {}
    for compatibility in COMPATIBILITIES:
        torch.manual_seed(0)
        model = LTPAVGG(5, widths=(4, 8, 8, 16), compatibility=compatibility)
        weights[compatibility] = {k: v for k, v in model.state_dict().items()
                                  if not k.startswith(("attention", "global_fc"))}
    first = weights[COMPATIBILITIES[0]]
    for other in weights.values():
        assert other.keys() == first.keys()
        for k in first:
            torch.testing.assert_close(other[k], first[k])


def test_model_uses_the_attended_features_only() -> None:
    """The classifier input is [g_a^1; g_a^2; g_a^3] recomputed by hand from the parts."""
    torch.manual_seed(0)
    model = LTPAVGG(3, widths=(4, 8, 8, 8), compatibility="dot").double().eval()
    x = torch.randn(2, 3, 16, 16, dtype=torch.float64)
    h = model.stages[0](x)
    locals_ = []
    for stage in model.stages[1:]:
        h = stage(model.pool(h))
        locals_.append(h)
    g = model.global_fc(model.pool(h).mean(dim=(2, 3)))
    parts = []
    for local, proj in zip(locals_, model.projections):
        local = proj(local)
        a = torch.softmax((local * g[:, :, None, None]).sum(1).flatten(1), dim=1)
        parts.append(torch.einsum("bp,bcp->bc", a, local.flatten(2)))
    expected = model.classifier(torch.cat(parts, dim=1))
    torch.testing.assert_close(model(x), expected)


def test_bad_input_names_the_argument(features) -> None:
    local, g = features
    m = LTPAAttention(8)
    with pytest.raises(ValueError, match="global_features"):
        m(local.float(), torch.randn(3, 16))
    with pytest.raises(ValueError, match="global_features"):
        m(local.float(), torch.randn(2, 8))
    with pytest.raises(ValueError, match="local_features"):
        m(torch.randn(3, 4, 4, 6), torch.randn(3, 8))
    with pytest.raises(ValueError, match="local_features must be 4-D"):
        m(torch.randn(3, 8, 4), torch.randn(3, 8))
    with pytest.raises(ValueError, match="compatibility"):
        LTPAAttention(8, "cosine")
    with pytest.raises(ValueError, match="compatibility"):
        LTPAVGG(10, compatibility="softmax")
    with pytest.raises(ValueError, match="widths"):
        LTPAVGG(10, widths=(8, 8, 8))
    with pytest.raises(ValueError, match="num_classes"):
        LTPAVGG(1)
    with pytest.raises(ValueError, match="x must have shape"):
        LTPAVGG(10, widths=(4, 4, 4, 4))(torch.randn(1, 3, 20, 20))


@pytest.mark.parametrize("shape", [(2, 8, 0, 4), (2, 8, 4, 0)])
def test_an_empty_local_map_is_named(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"local_features must have at least one position \(H, W >= 1\)"):
        LTPAAttention(8, "dot")(torch.randn(shape), torch.randn(2, 8))


def test_dtype_mismatches_are_named() -> None:
    local = torch.randn(2, 8, 4, 4)
    with pytest.raises(TypeError, match=r"local_features must have dtype torch.float32 \(the dtype of LTPAAttention's"):
        LTPAAttention(8)(local.double(), torch.randn(2, 8).double())
    with pytest.raises(TypeError, match=r"global_features must have dtype torch.float32 \(the dtype of local_features"):
        LTPAAttention(8, "dot")(local, torch.randn(2, 8).double())
    with pytest.raises(TypeError, match=r"x must have dtype torch.float32 \(the dtype of LTPAVGG's parameters\)"):
        LTPAVGG(10, widths=(4, 4, 8, 8), convs_per_stage=1)(torch.randn(2, 3, 16, 16, dtype=torch.float64))


def test_widths_and_ints_are_checked_by_name() -> None:
    with pytest.raises(ValueError, match=r"widths must be 4 positive ints, got \(8, 8, 8\)"):
        LTPAVGG(10, widths=(8, 8, 8))
    with pytest.raises(ValueError, match="convs_per_stage must be a positive int, got 1.5"):
        LTPAVGG(10, convs_per_stage=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="num_classes must be an int >= 2, got 1"):
        LTPAVGG(1)
