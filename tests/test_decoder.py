"""Tests for attn_helpers.decoder: the decoder block, the encoder-decoder and its key/value cache."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import attn_helpers as ah


def block_with_trained_looking_norms(norm_first: bool) -> ah.TransformerDecoderBlock:
    torch.manual_seed(0)
    block = ah.TransformerDecoderBlock(8, 2, 16, dropout=0.0, norm_first=norm_first).double().eval()
    with torch.no_grad():
        for norm in (block.norm1, block.norm2, block.norm3):  # non-trivial affine parameters
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.normal_()
    return block


@pytest.mark.parametrize("norm_first", [True, False])
def test_block_matches_torch_decoder_layer_with_causal_and_padding_masks(norm_first):
    block = block_with_trained_looking_norms(norm_first)
    x, memory = torch.randn(3, 5, 8, dtype=torch.float64), torch.randn(3, 7, 8, dtype=torch.float64)
    memory_lens, target_lens = torch.tensor([7, 4, 1]), torch.tensor([5, 3, 2])
    ours, self_weights, cross_weights = block(x, memory, memory_lens, target_lens, need_weights=True)
    theirs = block.to_torch().eval()(
        x, memory,
        tgt_mask=~torch.ones(5, 5, dtype=torch.bool).tril(),  # torch: True = do not attend
        tgt_key_padding_mask=~ah.padding_mask(target_lens, 5),
        memory_key_padding_mask=~ah.padding_mask(memory_lens, 7),
    )
    torch.testing.assert_close(ours, theirs)
    assert (self_weights.triu(diagonal=1) == 0).all()  # no weight on a future position
    assert (cross_weights[1, ..., 4:] == 0).all() and (cross_weights[2, ..., 1:] == 0).all()  # source padding
    torch.testing.assert_close(cross_weights.sum(-1), torch.ones(3, 2, 5, dtype=torch.float64))


def test_to_torch_gradients_agree():
    block = block_with_trained_looking_norms(norm_first=True)
    x, memory = torch.randn(2, 4, 8, dtype=torch.float64), torch.randn(2, 3, 8, dtype=torch.float64)
    causal = torch.ones(4, 4, dtype=torch.bool).tril()
    reference = block.to_torch()
    block(x, memory)[0].square().sum().backward()
    reference(x, memory, tgt_mask=~causal).square().sum().backward()
    torch.testing.assert_close(block.ffn[0].weight.grad, reference.linear1.weight.grad)
    torch.testing.assert_close(block.norm3.weight.grad, reference.norm3.weight.grad)
    torch.testing.assert_close(block.cross_attention.W_o.weight.grad, reference.multihead_attn.out_proj.weight.grad)


def model(**kwargs) -> ah.TransformerSeq2Seq:
    torch.manual_seed(0)
    args = dict(num_hiddens=16, num_heads=2, num_encoder_layers=2, num_decoder_layers=2, ffn_hiddens=32,
                dropout=0.0, max_len=40)
    args.update(kwargs)
    return ah.TransformerSeq2Seq(11, 13, **args).eval()


@pytest.mark.parametrize("norm_first", [True, False])
def test_a_future_target_token_cannot_change_an_earlier_output(norm_first):
    net = model(norm_first=norm_first)
    sources, lens = torch.randint(11, (2, 6)), torch.tensor([6, 4])
    targets = torch.randint(13, (2, 8))
    logits = net(sources, lens, targets)
    for t in range(8):
        changed = targets.clone()
        changed[:, t] = (changed[:, t] + 1) % 13
        new = net(sources, lens, changed)
        torch.testing.assert_close(new[:, :t], logits[:, :t])  # earlier outputs unchanged
        assert not torch.allclose(new[:, t], logits[:, t], atol=1e-4)  # the change is seen from t on


def test_padding_on_either_side_changes_no_real_output():
    net = model()
    sources, lens = torch.randint(11, (2, 6)), torch.tensor([6, 3])
    targets, target_lens = torch.randint(13, (2, 7)), torch.tensor([7, 4])
    logits = net(sources, lens, targets)
    other_sources, other_targets = sources.clone(), targets.clone()
    other_sources[1, 3:] = torch.tensor([1, 2, 5])  # different tokens in the source padding
    other_targets[1, 4:] = torch.tensor([0, 9, 3])  # and in the target padding
    torch.testing.assert_close(net(other_sources, lens, other_targets)[1, :4], logits[1, :4])
    torch.testing.assert_close(net(other_sources, lens, other_targets)[0], logits[0])
    # right-padding is hidden by the causal mask already: target_lens changes no real position
    torch.testing.assert_close(net(sources, lens, targets, target_lens)[1, :4], logits[1, :4])
    # without source_lens, the padding is attended to and the output changes
    assert not torch.allclose(net(other_sources, None, targets)[1, :4], net(sources, None, targets)[1, :4], atol=1e-4)


def test_attention_maps_shapes_and_masks():
    net = model(num_encoder_layers=3)
    sources, lens, targets = torch.randint(11, (2, 6)), torch.tensor([6, 2]), torch.randint(13, (2, 4))
    maps = net.attention_maps(sources, lens, targets)
    assert maps["encoder"].shape == (3, 2, 2, 6, 6)
    assert maps["decoder"].shape == (2, 2, 2, 4, 4) and maps["cross"].shape == (2, 2, 2, 4, 6)
    assert (maps["cross"][:, 1, :, :, 2:] == 0).all() and (maps["decoder"].triu(diagonal=1) == 0).all()


@pytest.mark.parametrize("norm_first", [True, False])
def test_cached_greedy_decoding_equals_uncached(norm_first):
    net = model(norm_first=norm_first).double()
    sources, lens = torch.randint(3, 11, (4, 7)), torch.tensor([7, 5, 3, 1])
    cached, cached_cross = net.greedy_decode(sources, lens, bos_id=1, eos_id=2, max_steps=12, stop_at_eos=False)
    plain, plain_cross = net.greedy_decode(sources, lens, bos_id=1, eos_id=2, max_steps=12, stop_at_eos=False,
                                           use_cache=False)
    assert cached.shape == (4, 12) and cached_cross.shape == (2, 4, 2, 12, 7)
    assert torch.equal(cached, plain)
    torch.testing.assert_close(cached_cross, plain_cross)
    # each generated token is the arg-max of the teacher-forced logits on the generated prefix
    prefix = torch.cat([torch.ones(4, 1, dtype=torch.long), cached[:, :-1]], dim=1)
    unfinished = (prefix != 2).cumprod(dim=1).bool()  # up to and including the first <eos>
    assert torch.equal(net(sources, lens, prefix).argmax(-1)[unfinished], cached[unfinished])


def test_greedy_decoding_stops_and_pads_after_eos():
    net = model()
    with torch.no_grad():  # a model that always says <eos> (token 2) after its first token
        net.head.bias.zero_()
        net.head.bias[2] = 100.0
    tokens, cross = net.greedy_decode(torch.randint(3, 11, (3, 5)), torch.tensor([5, 5, 2]), bos_id=1, eos_id=2,
                                      max_steps=10)
    assert tokens.tolist() == [[2], [2], [2]] and cross.shape[-2] == 1
    tokens, _ = net.greedy_decode(torch.randint(3, 11, (3, 5)), torch.tensor([5, 5, 2]), bos_id=1, eos_id=2,
                                  max_steps=4, stop_at_eos=False, pad_id=0)
    assert tokens.tolist() == [[2, 0, 0, 0]] * 3


def test_learns_to_sort_a_little():
    data = ah.make_sorting_task(64, min_len=2, max_len=5, num_symbols=8, seed=0)
    net = model(max_len=8).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        logits = net(data.sources, data.source_lens, data.decoder_inputs)
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), data.targets.flatten(), ignore_index=data.pad_id)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_bad_input():
    net = model()
    with pytest.raises(TypeError, match="sources must have an integer dtype"):
        net(torch.zeros(2, 3), torch.tensor([3, 3]), torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"decoder_inputs must lie in \[0, 12\]"):
        net(torch.zeros(2, 3, dtype=torch.long), torch.tensor([3, 3]), torch.full((2, 3), 13))
    with pytest.raises(ValueError, match="valid_lens must lie"):
        net(torch.zeros(2, 3, dtype=torch.long), torch.tensor([3, 4]), torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="max_steps"):
        net.greedy_decode(torch.zeros(2, 3, dtype=torch.long), torch.tensor([3, 3]), bos_id=1, eos_id=2, max_steps=0)
    with pytest.raises(ValueError, match="beyond max_len"):
        net.greedy_decode(torch.zeros(1, 3, dtype=torch.long), torch.tensor([3]), bos_id=1, eos_id=2, max_steps=50,
                          stop_at_eos=False)
    with pytest.raises(ValueError, match="ffn_hiddens"):
        ah.TransformerDecoderBlock(8, 2, 0)
    with pytest.raises(ValueError, match="num_decoder_layers"):
        model(num_decoder_layers=0)
