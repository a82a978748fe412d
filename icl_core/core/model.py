"""A GPT-2-style decoder that reads interleaved (x, y) tokens and predicts each y from
its prefix.

Weight names follow GPT-2 (`c_attn`, `c_proj`, `ln_f`, `wpe`) so that Garg et al.'s
checkpoints map onto it key by key (see `convert.py`)."""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .config import ModelConfig

# (layer, residual stream (B, T, C)) -> the residual stream the rest of the forward pass
# reads
Intervention = Callable[[int, torch.Tensor], torch.Tensor]


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.n_head = cfg.n_head
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)  # fused query, key, value
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        B, T, C = h.shape
        q, k, v = self.heads(self.c_attn(h).split(C, dim=2))
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, nh, T, hs)
        return self.c_proj(out.transpose(1, 2).reshape(B, T, C))

    def forward_x_queries(self, h: torch.Tensor) -> torch.Tensor:
        """The output at the x tokens (even positions) only, each still attending to its
        whole prefix.

        Keys and values come from every token; queries, the output projection and
        everything after them need only the positions that are read out, which halves
        that work in the last block."""
        B, T, C = h.shape
        w_q, w_kv = self.c_attn.weight.split((C, 2 * C))
        b_q, b_kv = self.c_attn.bias.split((C, 2 * C))
        q = F.linear(h[:, ::2], w_q, b_q)
        k, v = F.linear(h, w_kv, b_kv).split(C, dim=2)
        q, k, v = self.heads((q, k, v))
        # query 2i sees keys <= 2i
        sees = torch.ones(T, T, dtype=torch.bool, device=h.device).tril()[::2]
        # (B, nh, T/2, hs)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=sees)
        return self.c_proj(out.transpose(1, 2).reshape(B, -1, C))

    def heads(self, qkv: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """(B, T, C) tensors viewed as (B, n_head, T, C / n_head)."""
        return tuple(t.view(*t.shape[:2], self.n_head, -1).transpose(1, 2) for t in qkv)


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd)
        # GPT-2's "gelu_new" is the tanh approximation
        self.act = nn.GELU(
            approximate="tanh" if cfg.activation == "gelu_new" else "none"
        )
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.c_proj(self.act(self.c_fc(h)))


def normalisation(cfg: ModelConfig) -> nn.Module:
    """GPT-2's LayerNorm, or RMSNorm, which rescales without centring."""
    if cfg.norm == "rmsnorm":
        return nn.RMSNorm(cfg.n_embd, eps=1e-5)
    return nn.LayerNorm(cfg.n_embd)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, first: bool = False):
        super().__init__()
        plain = first and not cfg.normalise_embedding
        self.ln_1 = nn.Identity() if plain else normalisation(cfg)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = normalisation(cfg)
        self.mlp = MLP(cfg)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = h + self.attn(self.ln_1(h))
        return h + self.mlp(self.ln_2(h))

    def forward_x_queries(self, h: torch.Tensor) -> torch.Tensor:
        """The block's output at the x tokens only (see
        `CausalSelfAttention.forward_x_queries`)."""
        h = h[:, ::2] + self.attn.forward_x_queries(self.ln_1(h))
        return h + self.mlp(self.ln_2(h))


class InContextRegressor(nn.Module):
    """Garg et al.'s TransformerModel: linear read-in, GPT-2 backbone, linear read-out."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.read_in = nn.Linear(cfg.n_dims, cfg.n_embd)
        self.wpe = nn.Embedding(2 * cfg.n_points, cfg.n_embd)
        self.h = nn.ModuleList(Block(cfg, first=i == 0) for i in range(cfg.n_layer))
        self.ln_f = normalisation(cfg) if cfg.final_layernorm else nn.Identity()
        self.read_out = nn.Linear(cfg.n_embd, 1)
        # GPT-2's initialisation for the backbone; the read-in and read-out keep
        # PyTorch's default, as in Garg et al., where they sit outside the HuggingFace
        # model. (At std 0.02 the read-in drowns the input under the position embeddings
        # and small models stall on the loss plateau.)
        for module in (self.wpe, self.h):
            module.apply(self._init_weights)
        for name, param in self.h.named_parameters():
            if name.endswith("c_proj.weight"):  # scaled init of residual projections
                nn.init.normal_(param, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def embed(self, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        """Tokens x_1, (y_1, 0, …, 0), x_2, … read in and positioned: (B, 2n, C).

        A y token is y·W[:, 0] + b, so the zero padding is never multiplied.
        """
        B, n, _ = xs.shape
        x_tokens = self.read_in(xs)
        y_tokens = ys.unsqueeze(-1) * self.read_in.weight[:, 0] + self.read_in.bias
        tokens = torch.stack((x_tokens, y_tokens), dim=2).view(B, 2 * n, -1)
        return tokens + self.wpe.weight[: 2 * n]

    def forward(
        self,
        xs: torch.Tensor,
        ys: torch.Tensor,
        return_hidden: bool = False,
        intervene: Intervention | None = None,
    ):
        """Predictions (B, n) where [:, i] sees (x_1, y_1, …, x_i) only.

        With `return_hidden`, also the residual stream (n_layer + 1, B, 2n, C) after the
        embedding and after each block. `intervene(layer, h)`, when given, replaces the
        residual stream after the embedding (layer 0) and after each block (layer l) by
        what it returns, before the rest of the forward pass reads it."""
        n = xs.shape[1]
        if n > self.config.n_points:
            raise ValueError(
                f"n_points={n} is not allowed; this model reads at most "
                f"{self.config.n_points} points"
            )
        if not self.config.relative_to_first:
            return self.stream(xs, ys, return_hidden, intervene)
        # every prediction after the first has seen y_1, which is added back to it
        out = self.stream(xs - xs[:, :1], ys - ys[:, :1], return_hidden, intervene)
        preds = out[0] if return_hidden else out
        preds = torch.cat((preds[:, :1], preds[:, 1:] + ys[:, :1]), dim=1)
        return (preds, out[1]) if return_hidden else preds

    def stream(self, xs, ys, return_hidden, intervene):
        """The forward pass on the tokens as they are read in."""
        h = self.embed(xs, ys)
        # only x tokens are read out, so the last block computes only those
        if not return_hidden and intervene is None:
            return self.continue_from(0, h)
        hidden = []
        for layer in range(self.config.n_layer + 1):
            if layer:
                h = self.h[layer - 1](h)
            if intervene is not None:
                h = intervene(layer, h)
            hidden.append(h)
        preds = self.read_out(self.ln_f(h[:, ::2]))[..., 0]
        return (preds, torch.stack(hidden)) if return_hidden else preds

    def continue_from(self, layer: int, h: torch.Tensor) -> torch.Tensor:
        """Predictions (B, n) from the residual stream `h` (B, 2n, C) at `layer` (0:
        after the embedding), running only the blocks after it: a patched stream's
        forward pass without recomputing what comes before the patch."""
        if layer == self.config.n_layer:
            return self.read_out(self.ln_f(h[:, ::2]))[..., 0]
        for block in self.h[layer:-1]:
            h = block(h)
        return self.read_out(self.ln_f(self.h[-1].forward_x_queries(h)))[..., 0]
