"""Spectral analysis of residual streams: per-prompt SVDs, alignment and the signature
score.

`hidden` is (layers, prompts, tokens, width). Each prompt's matrix at a layer (tokens ×
width) has an SVD H = U S Vᵀ; its right singular vectors live in the width space shared
by all prompts, so they can be compared across prompts. Signs of singular vectors are
arbitrary, hence absolute cosines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core.config import check
from ..core.samplers import Prompts
from .evaluation import eval_prompts, residual_streams
from .loss_predictors import prompt_statistics
from .metrics import normalized_squared_error


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

    With `center`, each prompt's token mean is removed first. NumPy's LAPACK call, not
    torch's: torch's batched SVD of many small matrices slows a hundredfold on CPU when
    another process shares the cores (measured: 10.8 s against 0.10 s for 1,000
    matrices of 22 × 64 beside one training job)."""
    _, S, Vh = np.linalg.svd(_prepared(hidden, center).numpy(), full_matrices=False)
    return torch.from_numpy(S), torch.from_numpy(Vh)


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


@dataclass
class SpectralSample:
    """What the spectral chapters need of a batch of prompts, without keeping whole
    residual streams."""

    singular_values: torch.Tensor  # (layers, prompts, k)
    # (layers, prompts, 2, width): top-2 right singular vectors
    top_vectors: torch.Tensor
    # (prompts,) the transformer's normalised squared error at the last query
    last_error: np.ndarray
    # model-free statistics of the prompts (`loss_predictors.STATISTICS`), (prompts,)
    statistics: dict[str, np.ndarray]


def spectral_sample(model, prompts: Prompts, center: bool = False) -> SpectralSample:
    preds, hidden = residual_streams(model, prompts)
    S, Vh = prompt_svd(hidden, center)
    error = normalized_squared_error(
        preds[:, -1].double(), prompts.ys[:, -1].double(), prompts.xs.shape[-1]
    )
    return SpectralSample(
        S, Vh[..., :2, :].contiguous(), error.numpy(), prompt_statistics(prompts)
    )


def reference_streams(model, dist, n_prompts: int, seed: int) -> torch.Tensor:
    """Residual streams (layers, prompts, tokens, width) of the prompts the signature is
    formed from, drawn apart from any evaluated."""
    cfg = model.config
    prompts = eval_prompts(dist, n_prompts, cfg.n_points, cfg.n_dims, seed + 1)
    return residual_streams(model, prompts)[1]


def signature_reference(
    model, dist, n_prompts: int, seed: int, center: bool = False
) -> torch.Tensor:
    """The in-distribution signature (layers, 2, width)."""
    hidden = reference_streams(model, dist, n_prompts, seed)
    return reference_directions(hidden, k=2, center=center)


def mean_token_profile(
    hidden: torch.Tensor, reference: torch.Tensor
) -> dict[str, np.ndarray]:
    """How much of the signature is the prompts' mean token, per layer: |cos| of the
    first reference direction with the mean token of all prompts, and the mean share of
    each prompt's energy ‖H‖²_F that its mean token carries (n‖h̄‖² / ‖H‖²_F)."""
    h, first = hidden.double(), reference[:, 0].double()
    mean_token = h.mean(dim=(1, 2))
    cosine = torch.einsum("lc,lc->l", first, mean_token).abs() / (
        mean_token.norm(dim=-1) * first.norm(dim=-1)
    )
    share = h.shape[2] * h.mean(dim=2).pow(2).sum(-1) / h.pow(2).sum(dim=(2, 3))
    return {
        "first_reference_cosine": cosine.numpy(),
        "energy_share": share.mean(dim=1).numpy(),
    }


def mean_singular_values(
    sweep: dict[float, SpectralSample], values, index: int = 0
) -> np.ndarray:
    """Mean over prompts of the `index`-th singular value: (layers, shifts)."""
    return torch.stack(
        [sweep[c].singular_values[..., index].mean(dim=1) for c in values], dim=1
    ).numpy()


def mean_signature(
    sweep: dict[float, SpectralSample], values, reference: torch.Tensor
) -> np.ndarray:
    """Mean signature score over prompts: (layers, shifts)."""
    return torch.stack(
        [signature_score(sweep[c].top_vectors, reference).mean(dim=1) for c in values],
        dim=1,
    ).numpy()


@dataclass
class PooledPrompts:
    """Prompts of several sweeps pooled, each labelled by its sweep and shift level."""

    score: np.ndarray  # (layers, prompts) signature score
    error: np.ndarray  # (prompts,) at the last query
    group: np.ndarray  # (prompts,) index of the sweep
    level: np.ndarray  # (prompts,) index of the (sweep, shift) batch
    statistics: dict[str, np.ndarray]  # model-free, (prompts,) each


def pooled_signature(
    sweeps: list[dict[float, SpectralSample]], reference: torch.Tensor
) -> PooledPrompts:
    samples = [(i, s) for i, sweep in enumerate(sweeps) for s in sweep.values()]
    sizes = [len(s.last_error) for _, s in samples]
    return PooledPrompts(
        score=torch.cat(
            [signature_score(s.top_vectors, reference) for _, s in samples], dim=1
        ).numpy(),
        error=np.concatenate([s.last_error for _, s in samples]),
        group=np.repeat([i for i, _ in samples], sizes),
        level=np.repeat(np.arange(len(samples)), sizes),
        statistics={
            k: np.concatenate([s.statistics[k] for _, s in samples])
            for k in samples[0][1].statistics
        },
    )
