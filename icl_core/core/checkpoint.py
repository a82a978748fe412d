"""Checkpoints: weights with the config they were trained with, written atomically.

A training state (`state.pt`) also holds the optimiser, RNG states, step and loss log so
that a killed run resumes exactly; a finished model (`model.pt`) holds what analysis
needs.

Everything we write is tensors inside plain containers (dicts, lists, tuples, strings,
numbers), so every read uses PyTorch's `weights_only` unpickler, which rebuilds only
those and calls nothing else: a file that needs more, ours or one downloaded from the
web, is refused before any of its code can run. (The torch format keeps the optimiser
state, the loss log and the config in one file; safetensors would hold only flat tensors
and need a second file for the rest.)"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from .config import ExperimentConfig
from .convert import convert_garg_state_dict, infer_model_config, is_garg_state_dict
from .model import InContextRegressor
from .storage import atomic_write

FORMAT = "icl_core/1"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read: truncated, corrupt, of an unknown format, or
    asking to run code."""


def save(path: str | Path, payload: dict[str, Any]) -> Path:
    return atomic_write(
        path, lambda tmp: torch.save({"format": FORMAT, **payload}, tmp)
    )


def read(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f"checkpoint {path} was refused: loading it needs more than tensors and plain "
            f"containers ({_refusal_reason(error)}); nothing in it was run"
        ) from None
    except Exception as error:  # torch raises several types for a damaged zip archive
        raise CheckpointError(
            f"checkpoint {path} is unreadable (truncated or corrupt: {error}); "
            "delete it to resume from scratch"
        ) from error


def _refusal_reason(error: Exception) -> str:
    """The line of torch's weights-only message that says what was refused, without its
    advice."""
    paragraphs = [p.strip() for p in str(error).split("\n\n") if p.strip()]
    detail = [
        p
        for p in paragraphs
        if not p.startswith(("Weights only load failed", "Check the documentation"))
    ]
    return " ".join(detail).splitlines()[-1] if detail else "not a weights-only file"


def load_checkpoint(
    path: str | Path, n_head: int = 8
) -> tuple[InContextRegressor, ExperimentConfig | None]:
    """The model on CPU in eval mode, and its config.

    Also reads Garg et al.'s checkpoints (`state.pt` or a bare state dict of their
    `TransformerModel`); those carry no config of ours, so the config is None and
    `n_head` must be given (8 in their runs)."""
    return model_from_payload(read(path), path, n_head)


def model_from_payload(
    payload: dict[str, Any], path: str | Path, n_head: int = 8
) -> tuple[InContextRegressor, ExperimentConfig | None]:
    """`load_checkpoint` for a checkpoint already read (`path` only names it in
    errors)."""
    if not isinstance(payload, dict):
        raise CheckpointError(
            f"checkpoint {path} holds a {type(payload).__name__}, not a dict of weights"
        )
    if payload.get("format") == FORMAT:
        config = ExperimentConfig.from_dict(payload["config"])
        model = InContextRegressor(config.model)
        model.load_state_dict(payload["model"])
        return model.eval(), config
    state = payload.get("model_state_dict", payload)
    if not isinstance(state, dict) or not is_garg_state_dict(state):
        raise CheckpointError(
            f"checkpoint {path} is neither an icl_core checkpoint nor a state dict "
            "of Garg et al.'s TransformerModel"
        )
    state = convert_garg_state_dict(state)
    model = InContextRegressor(infer_model_config(state, n_head))
    model.load_state_dict(state)
    return model.eval(), None
