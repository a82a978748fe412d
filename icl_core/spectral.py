"""Spectral analysis of residual streams: per-prompt SVDs, alignment and the signature
score.

`hidden` is (layers, prompts, tokens, width). Each prompt's matrix at a layer (tokens ×
width) has an SVD H = U S Vᵀ; its right singular vectors live in the width space shared
by all prompts, so they can be compared across prompts. Signs of singular vectors are
arbitrary, hence absolute cosines."""

from __future__ import annotations

import torch

from .config import check


def _prepared(hidden: torch.Tensor, center: bool) -> torch.Tensor:
    check(
        hidden.ndim == 4,
        "hidden",
        tuple(hidden.shape),
        "a tensor of shape (layers, prompts, tokens, width)",
    )
    hidden = hidden.double()
    return hidden - hidden.mean(dim=-2, keepdim=True) if center else hidden


def prompt_svd(
    hidden: torch.Tensor, center: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Singular values (L, P, k) and right singular vectors (L, P, k, width) of every
    prompt's matrix.

    With `center`, each prompt's token mean is removed first."""
    _, S, Vh = torch.linalg.svd(_prepared(hidden, center), full_matrices=False)
    return S, Vh


def reference_directions(
    hidden: torch.Tensor, k: int = 2, center: bool = False
) -> torch.Tensor:
    """The in-distribution signature (L, k, width): top-k right singular vectors of all
    reference prompts' tokens stacked into one matrix per layer."""
    h = _prepared(hidden, center)
    stacked = h.reshape(h.shape[0], -1, h.shape[-1])
    return torch.linalg.svd(stacked, full_matrices=False)[2][:, :k]


def alignment_with_reference(Vh: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """|cos| between each prompt's i-th right singular vector and the reference's i-th:
    (L, P, k)."""
    k = reference.shape[-2]
    return torch.einsum("lpkc,lkc->lpk", Vh[..., :k, :], reference).abs()


def pairwise_alignment(Vh: torch.Tensor, index: int = 0) -> torch.Tensor:
    """|cos| between the `index`-th right singular vectors of every pair of prompts:
    (L, P, P)."""
    v = Vh[..., index, :]
    return torch.einsum("lpc,lqc->lpq", v, v).abs()


def signature_score(Vh: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Share of each prompt's top-k right singular subspace inside the reference
    subspace: (L, P).

    ‖R Vₖᵀ‖²_F / k, 1 when the subspaces coincide and 0 when they are orthogonal."""
    k = reference.shape[-2]
    overlap = torch.einsum("lkc,lpjc->lpkj", reference, Vh[..., :k, :])
    return overlap.pow(2).sum(dim=(-1, -2)) / k
