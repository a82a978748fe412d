"""Garg et al.'s model, the baseline icl_core's training speed is measured against.

Their `TransformerModel` (src/models.py): a HuggingFace `GPT2Model` backbone between a
linear read-in and read-out, rebuilt here from `transformers`."""

from __future__ import annotations

import torch


class GargTransformer(torch.nn.Module):
    """Garg et al.'s TransformerModel, as in their src/models.py."""

    def __init__(
        self, n_dims: int, n_positions: int, n_embd: int, n_layer: int, n_head: int
    ):
        super().__init__()
        # imported here, so that the processes the benchmark spawns (which import this
        # module) start without loading transformers
        from transformers import GPT2Config, GPT2Model

        config = GPT2Config(
            n_positions=2 * n_positions,
            n_embd=n_embd,
            n_layer=n_layer,
            n_head=n_head,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            use_cache=False,
        )
        self._read_in = torch.nn.Linear(n_dims, n_embd)
        self._backbone = GPT2Model(config)
        self._read_out = torch.nn.Linear(n_embd, 1)

    def forward(self, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        b, n, d = xs.shape
        ys_wide = torch.cat(
            (ys.view(b, n, 1), torch.zeros(b, n, d - 1, device=ys.device)), dim=2
        )
        zs = torch.stack((xs, ys_wide), dim=2).view(b, 2 * n, d)
        out = self._backbone(inputs_embeds=self._read_in(zs)).last_hidden_state
        return self._read_out(out)[:, ::2, 0]
