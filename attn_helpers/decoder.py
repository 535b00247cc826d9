"""The Transformer decoder and an encoder-decoder (Vaswani et al., 2017), with a key/value cache.

    decoder block: causal self-attention, add & norm -> cross-attention to the encoder
    output ("memory"), add & norm -> position-wise feed-forward, add & norm

The encoder reuses :class:`~attn_helpers.transformer.TransformerEncoderBlock`. Blocks are
pre-norm by default here (``norm_first=True``: ``x + sublayer(norm(x))``), which trains a
small model without a learning-rate warm-up; ``norm_first=False`` is the paper's post-norm.
The block's layer names follow ``torch.nn.TransformerDecoderLayer`` (``norm1`` before or after
self-attention, ``norm2`` cross-attention, ``norm3`` feed-forward), so its weights map one to one.

Greedy decoding comes in two versions that must agree: the plain one re-runs the decoder on
the whole prefix at every step (``O(T^2)`` position-steps for ``T`` output tokens), the cached
one keeps every layer's projected keys and values and feeds only the newest token (``O(T)``).

Shapes: sources ``(B, S)``, source_lens ``(B,)``, decoder inputs ``(B, T)``, memory
``(B, S, d)``, logits ``(B, T, V)``, attention maps ``(layers, B, H, T, S or T)``.
Masks follow the package convention (True = attend); ``source_lens`` masks the source
padding in encoder self-attention and in cross-attention.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .multihead import MultiHeadAttention
from .positional import PositionalEncoding
from .transformer import TransformerEncoderBlock
from .validation import check_in_range, check_int, check_tensor, check_tokens

__all__ = ["TransformerDecoderBlock", "TransformerSeq2Seq"]

LayerCache = dict[str, torch.Tensor]


class TransformerDecoderBlock(nn.Module):
    """Causal self-attention, cross-attention to the encoder output and a feed-forward network,
    each in a residual connection with layer normalisation.

    Args:
        num_hiddens: ``d_model``.
        num_heads: ``h`` (for both attentions).
        ffn_hiddens: ``d_ff``, the feed-forward hidden size.
        dropout: dropout on attention weights and on each sub-layer's output.
        norm_first: pre-norm (default here) instead of the paper's post-norm.

    Shapes: ``x`` ``(B, T, d)``, ``memory`` ``(B, S, d)``, output ``(B, T, d)``,
    self-attention weights ``(B, H, T, T)``, cross-attention weights ``(B, H, T, S)``.
    """

    def __init__(
        self, num_hiddens: int, num_heads: int, ffn_hiddens: int, dropout: float = 0.1, norm_first: bool = True
    ) -> None:
        super().__init__()
        check_int("ffn_hiddens", ffn_hiddens, 1)
        self.self_attention = MultiHeadAttention(num_hiddens, num_heads, dropout)
        self.cross_attention = MultiHeadAttention(num_hiddens, num_heads, dropout)
        self.ffn = nn.Sequential(
            nn.Linear(num_hiddens, ffn_hiddens), nn.ReLU(), nn.Linear(ffn_hiddens, num_hiddens)
        )
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(num_hiddens) for _ in range(3))
        self.dropout = nn.Dropout(dropout)
        self.norm_first = norm_first

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        memory_lens: torch.Tensor | None = None,
        target_lens: torch.Tensor | None = None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Return ``(output (B, T, d), self weights (B, H, T, T), cross weights (B, H, T, S))``.

        Position ``t`` attends to target positions ``<= t`` only (the causal mask), so a
        future token cannot change an earlier output. ``target_lens`` additionally masks
        target padding; with right-padding the causal mask already hides it from every real
        position, so it only matters for the (ignored) outputs at padded positions.
        """
        T = x.shape[1]
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()  # (T, T): key <= query
        if self.norm_first:
            h = self.norm1(x)
            attended, self_weights = self.self_attention(h, h, h, target_lens, causal, need_weights)
            x = x + self.dropout(attended)
            h = self.norm2(x)
            crossed, cross_weights = self.cross_attention(h, memory, memory, memory_lens, None, need_weights)
            x = x + self.dropout(crossed)
            return x + self.dropout(self.ffn(self.norm3(x))), self_weights, cross_weights
        attended, self_weights = self.self_attention(x, x, x, target_lens, causal, need_weights)
        x = self.norm1(x + self.dropout(attended))
        crossed, cross_weights = self.cross_attention(x, memory, memory, memory_lens, None, need_weights)
        x = self.norm2(x + self.dropout(crossed))
        return self.norm3(x + self.dropout(self.ffn(x))), self_weights, cross_weights

    @torch.no_grad()
    def to_torch(self) -> nn.TransformerDecoderLayer:
        """A ``torch.nn.TransformerDecoderLayer`` (``batch_first=True``, ReLU) holding this block's weights.

        Its masks mark what to *ignore*: ``tgt_mask=~causal``, ``tgt_key_padding_mask=~padding_mask(...)``,
        ``memory_key_padding_mask=~padding_mask(memory_lens, S)``.
        """
        linear1, linear2 = self.ffn[0], self.ffn[2]
        layer = nn.TransformerDecoderLayer(
            self.self_attention.embed_dim, self.self_attention.num_heads, dim_feedforward=linear1.out_features,
            dropout=self.dropout.p, activation="relu", layer_norm_eps=self.norm1.eps, batch_first=True,
            norm_first=self.norm_first, bias=self.self_attention.W_q.bias is not None,
        ).to(device=linear1.weight.device, dtype=linear1.weight.dtype)
        layer.self_attn = self.self_attention.to_torch()
        layer.multihead_attn = self.cross_attention.to_torch()
        for mine, theirs in ((linear1, layer.linear1), (linear2, layer.linear2),
                             (self.norm1, layer.norm1), (self.norm2, layer.norm2), (self.norm3, layer.norm3)):
            theirs.load_state_dict(mine.state_dict())
        return layer

    def step(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        memory_lens: torch.Tensor | None,
        cache: LayerCache,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One decoding step with a key/value cache.

        Args:
            x: the newest position only, ``(B, 1, d)``.
            memory: encoder output ``(B, S, d)``.
            memory_lens: valid source lengths ``(B,)`` or ``None``.
            cache: this block's cache, updated in place: ``"self_k"``/``"self_v"``
                ``(B, H, t, d/H)`` for the ``t`` earlier positions (absent at the first step),
                ``"cross_k"``/``"cross_v"`` ``(B, H, S, d/H)`` (projected once, at the first step).

        Returns ``(output (B, 1, d), cross-attention weights (B, H, 1, S) or None)``; equal to
        the last position of :meth:`forward` on the whole prefix (in eval mode).
        """
        check_tensor("x", x, ndim=3, shape=(None, 1, None))
        sa, ca = self.self_attention, self.cross_attention
        if "cross_k" not in cache:
            cache["cross_k"], cache["cross_v"] = ca.project_key_value(memory, memory)  # (B, H, S, d/H)
        h = self.norm1(x) if self.norm_first else x
        k, v = sa.project_key_value(h, h)  # (B, H, 1, d/H): only the newest position is projected
        if "self_k" in cache:
            k, v = torch.cat([cache["self_k"], k], dim=2), torch.cat([cache["self_v"], v], dim=2)
        cache["self_k"], cache["self_v"] = k, v  # (B, H, t + 1, d/H)
        # the newest query may see every cached key: no causal mask needed
        attended, _ = sa.attend(h, k, v)
        x = x + self.dropout(attended) if self.norm_first else self.norm1(x + self.dropout(attended))
        h = self.norm2(x) if self.norm_first else x
        crossed, cross_weights = ca.attend(h, cache["cross_k"], cache["cross_v"], memory_lens,
                                           need_weights=need_weights)
        if self.norm_first:
            x = x + self.dropout(crossed)
            return x + self.dropout(self.ffn(self.norm3(x))), cross_weights
        x = self.norm2(x + self.dropout(crossed))
        return self.norm3(x + self.dropout(self.ffn(x))), cross_weights


class TransformerSeq2Seq(nn.Module):
    """Encoder-decoder Transformer: an encoder over the source, a decoder that reads the
    target so far (teacher forcing in training) and attends to the encoder output.

    Args:
        source_vocab: number of source tokens.
        target_vocab: number of target tokens (the size of the output layer).
        num_hiddens, num_heads, ffn_hiddens: ``d_model``, ``h``, ``d_ff`` (paper: 512, 8, 2048).
        num_encoder_layers, num_decoder_layers: ``N`` for each stack (paper: 6 and 6).
        dropout: dropout everywhere (0.1 in the paper).
        max_len: longest source or target the positional encoding covers.
        norm_first: pre-norm blocks (default) with a final LayerNorm on each stack.

    Shapes: ``sources`` ``(B, S)``, ``source_lens`` ``(B,)``, ``decoder_inputs`` ``(B, T)``
    (int), logits ``(B, T, target_vocab)``.
    """

    def __init__(
        self,
        source_vocab: int,
        target_vocab: int,
        num_hiddens: int = 512,
        num_heads: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        ffn_hiddens: int = 2048,
        dropout: float = 0.1,
        max_len: int = 1000,
        norm_first: bool = True,
    ) -> None:
        super().__init__()
        for name, value in (
            ("source_vocab", source_vocab), ("target_vocab", target_vocab),
            ("num_encoder_layers", num_encoder_layers), ("num_decoder_layers", num_decoder_layers),
        ):
            check_int(name, value, 1)
        check_in_range("dropout", dropout, 0.0, 1.0)
        self.num_hiddens, self.source_vocab, self.target_vocab = num_hiddens, source_vocab, target_vocab
        self.source_embedding = nn.Embedding(source_vocab, num_hiddens)
        self.target_embedding = nn.Embedding(target_vocab, num_hiddens)
        for embedding in (self.source_embedding, self.target_embedding):
            # entries of size d^-1/2, so embedding * sqrt(d) is on the positional encoding's scale
            nn.init.normal_(embedding.weight, std=num_hiddens**-0.5)
        self.positional = PositionalEncoding(num_hiddens, dropout, max_len)
        self.encoder_blocks = nn.ModuleList(
            TransformerEncoderBlock(num_hiddens, num_heads, ffn_hiddens, dropout, norm_first)
            for _ in range(num_encoder_layers)
        )
        self.decoder_blocks = nn.ModuleList(
            TransformerDecoderBlock(num_hiddens, num_heads, ffn_hiddens, dropout, norm_first)
            for _ in range(num_decoder_layers)
        )
        # pre-norm leaves the residual stream un-normalised: each stack ends with a LayerNorm
        self.encoder_norm = nn.LayerNorm(num_hiddens) if norm_first else nn.Identity()
        self.decoder_norm = nn.LayerNorm(num_hiddens) if norm_first else nn.Identity()
        self.head = nn.Linear(num_hiddens, target_vocab)

    def _embed(self, embedding: nn.Embedding, tokens: torch.Tensor, offset: int = 0) -> torch.Tensor:
        x = embedding(tokens) * math.sqrt(self.num_hiddens)  # (B, L, d)
        if offset == 0:
            return self.positional(x)
        # one step of cached decoding: the position is `offset`, not 0
        if offset + tokens.shape[1] > self.positional.max_len:
            raise ValueError(f"position {offset + tokens.shape[1] - 1} is beyond max_len={self.positional.max_len}")
        return self.positional.dropout(x + self.positional.P[:, offset : offset + tokens.shape[1]].to(x.dtype))

    def encode(
        self, sources: torch.Tensor, source_lens: torch.Tensor | None = None, need_weights: bool = False
    ) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
        """Return ``(memory (B, S, d), encoder self-attention weights per layer (B, H, S, S))``."""
        check_tokens("sources", sources, self.source_vocab)
        x = self._embed(self.source_embedding, sources)
        maps = []
        for block in self.encoder_blocks:
            x, weights = block(x, source_lens, need_weights)
            maps.append(weights)
        return self.encoder_norm(x), maps

    def decode(
        self,
        decoder_inputs: torch.Tensor,
        memory: torch.Tensor,
        source_lens: torch.Tensor | None = None,
        target_lens: torch.Tensor | None = None,
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, list[torch.Tensor | None], list[torch.Tensor | None]]:
        """Return ``(logits (B, T, V), self weights per layer (B, H, T, T), cross weights per layer (B, H, T, S))``."""
        check_tokens("decoder_inputs", decoder_inputs, self.target_vocab)
        x = self._embed(self.target_embedding, decoder_inputs)
        self_maps, cross_maps = [], []
        for block in self.decoder_blocks:
            x, self_weights, cross_weights = block(x, memory, source_lens, target_lens, need_weights)
            self_maps.append(self_weights)
            cross_maps.append(cross_weights)
        return self.head(self.decoder_norm(x)), self_maps, cross_maps

    def forward(
        self,
        sources: torch.Tensor,
        source_lens: torch.Tensor,
        decoder_inputs: torch.Tensor,
        target_lens: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Teacher-forced logits ``(B, T, target_vocab)``: position ``t`` predicts token ``t + 1``
        of the target from ``decoder_inputs[:, :t + 1]`` and the whole source."""
        memory, _ = self.encode(sources, source_lens)
        return self.decode(decoder_inputs, memory, source_lens, target_lens)[0]

    @torch.no_grad()
    def attention_maps(
        self, sources: torch.Tensor, source_lens: torch.Tensor, decoder_inputs: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Teacher-forced attention weights (computed in eval mode): ``"encoder"``
        ``(enc layers, B, H, S, S)``, ``"decoder"`` ``(dec layers, B, H, T, T)`` and
        ``"cross"`` ``(dec layers, B, H, T, S)``."""
        was_training = self.training
        self.eval()
        memory, encoder_maps = self.encode(sources, source_lens, need_weights=True)
        _, self_maps, cross_maps = self.decode(decoder_inputs, memory, source_lens, need_weights=True)
        self.train(was_training)
        return {"encoder": torch.stack(encoder_maps), "decoder": torch.stack(self_maps), "cross": torch.stack(cross_maps)}

    @torch.no_grad()
    def greedy_decode(
        self,
        sources: torch.Tensor,
        source_lens: torch.Tensor,
        *,
        bos_id: int,
        eos_id: int,
        max_steps: int,
        use_cache: bool = True,
        stop_at_eos: bool = True,
        pad_id: int = 0,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Generate up to ``max_steps`` tokens, each the arg-max given the tokens before it.

        Args:
            sources, source_lens: ``(B, S)`` and ``(B,)``.
            bos_id, eos_id: the start token fed first and the token that ends an output.
            max_steps: most tokens generated per example.
            use_cache: keep projected keys and values (one new position per step) instead
                of re-running the decoder on the whole prefix; both give the same tokens.
            stop_at_eos: stop once every example has produced ``eos_id`` (set False to time
                a fixed number of steps).
            pad_id: written after an example's ``eos_id``.

        Returns ``(tokens (B, steps), cross-attention weights (dec layers, B, H, steps, S))``
        (computed in eval mode; positions after ``eos_id`` hold ``pad_id``).
        """
        check_int("max_steps", max_steps, 1)
        was_training = self.training
        self.eval()
        memory, _ = self.encode(sources, source_lens)
        B = sources.shape[0]
        generated = torch.full((B, 1), bos_id, dtype=torch.long, device=sources.device)  # (B, 1 + t)
        finished = torch.zeros(B, dtype=torch.bool, device=sources.device)
        caches: list[LayerCache] = [{} for _ in self.decoder_blocks]
        cross_steps = []
        for t in range(max_steps):
            if use_cache:
                x = self._embed(self.target_embedding, generated[:, -1:], offset=t)  # (B, 1, d)
                weights = []
                for block, cache in zip(self.decoder_blocks, caches):
                    x, w = block.step(x, memory, source_lens, cache, need_weights=True)
                    weights.append(w)
                logits = self.head(self.decoder_norm(x))[:, -1]  # (B, V)
                cross = torch.stack(weights)  # (layers, B, H, 1, S)
            else:
                all_logits, _, cross_maps = self.decode(generated, memory, source_lens, need_weights=True)
                logits = all_logits[:, -1]
                cross = torch.stack(cross_maps)[..., -1:, :]
            cross_steps.append(cross)
            token = logits.argmax(dim=-1).masked_fill(finished, pad_id)  # (B,)
            generated = torch.cat([generated, token[:, None]], dim=1)
            finished |= token == eos_id
            if stop_at_eos and finished.all():
                break
        self.train(was_training)
        return generated[:, 1:], torch.cat(cross_steps, dim=-2)
