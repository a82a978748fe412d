"""Map a state dict of Garg et al.'s `TransformerModel` (HuggingFace GPT-2 backbone)
onto ours."""

from __future__ import annotations

import re

import torch

from .config import ModelConfig

# HuggingFace's Conv1D stores weights as (in, out); nn.Linear as (out, in).
_CONV1D = re.compile(
    r"h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$"
)
# Buffers of old transformers releases and the unused token embedding.
_DROPPED = re.compile(r"(\.attn\.bias|\.attn\.masked_bias|^wte\.weight)$")


def is_garg_state_dict(state: dict) -> bool:
    return any(key.startswith("_backbone.") for key in state)


def convert_garg_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    converted = {}
    for key, value in state.items():
        key = (
            key.removeprefix("_backbone.")
            .replace("_read_in.", "read_in.")
            .replace("_read_out.", "read_out.")
        )
        if _DROPPED.search(key):
            continue
        converted[key] = value.t().contiguous() if _CONV1D.match(key) else value
    return converted


def infer_model_config(state: dict[str, torch.Tensor], n_head: int) -> ModelConfig:
    """Everything but the number of heads can be read off the weight shapes."""
    n_layer = len(
        {int(m.group(1)) for key in state if (m := re.match(r"h\.(\d+)\.", key))}
    )
    n_embd = state["wpe.weight"].shape[1]
    return ModelConfig(
        n_dims=state["read_in.weight"].shape[1],
        n_points=state["wpe.weight"].shape[0] // 2,
        n_layer=n_layer,
        n_head=n_head,
        n_embd=n_embd,
    )
