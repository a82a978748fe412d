"""What the input alone does to the spectra: the trained model's spectral quantities set
beside those of the embedding (layer 0) and of the same architecture untrained.

A mean shift adds the rank-one term c·W_in·1 to every x token before any attention,
so the leading singular vector turns towards it and σ₁ grows whatever the network has
learned. A spectral effect counts as the network's own only by what it adds beyond
layer 0 and beyond an untrained model of the same shape."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core.config import check
from ..core.model import InContextRegressor
from .shift_sweeps import spectral_sweep
from .spectral import (
    SpectralSample,
    alignment_with_reference,
    mean_singular_values,
    mean_token_profile,
    reference_directions,
    reference_streams,
    signature_score,
)

# the models every spectral quantity is measured on
MODELS = ("trained", "untrained")


def untrained_twin(model: InContextRegressor, seed: int) -> InContextRegressor:
    """The same architecture freshly initialised from `seed`, on the model's device,
    leaving the global random state untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        twin = InContextRegressor(model.config)
    return twin.to(next(model.parameters()).device).eval()


@dataclass
class SpectralProfile:
    """One model's spectral quantities along the mean shift, one centring."""

    shifts: list[float]
    score: np.ndarray  # (layers, shifts) mean signature score
    alignment: np.ndarray  # (layers, shifts, 2) mean |cos| per reference direction
    sigma1: np.ndarray  # (layers, shifts) mean leading singular value
    sigma2: np.ndarray  # (layers, shifts) mean second singular value
    in_distribution_scores: np.ndarray  # (layers, prompts) each prompt's, at c = 0
    # `spectral.mean_token_profile` of the uncentred streams, (layers,)
    mean_token: dict[str, np.ndarray]
    reference: torch.Tensor  # (layers, 2, width)
    sweep: dict[float, SpectralSample]
    centred: bool

    def record(self) -> dict:
        """The profile as a results file keeps it (the mean token's profile only for
        uncentred matrices, where it is not removed by construction)."""
        return {
            "signature_score": self.score,
            "per_direction": self.alignment,
            "sigma1": self.sigma1,
            "sigma2": self.sigma2,
            **({} if self.centred else {"mean_token": self.mean_token}),
        }


def spectral_profile(
    model,
    dist,
    shifts,
    n_prompts: int,
    reference_prompts: int,
    seed: int,
    center: bool = False,
) -> SpectralProfile:
    """Signature score, per-direction alignment and σ₁ of `model` along the mean shift
    of x at every layer, each against the model's own in-distribution reference."""
    check(0 in shifts, "shifts", list(shifts), "a sweep that includes 0")
    hidden = reference_streams(model, dist, reference_prompts, seed)
    reference = reference_directions(hidden, k=2, center=center)
    sweep = spectral_sweep(model, "x_mean", shifts, n_prompts, seed, center)
    return SpectralProfile(
        shifts=list(shifts),
        score=np.stack(
            [signature_score(sweep[c].top_vectors, reference).mean(1) for c in shifts],
            axis=1,
        ),
        alignment=np.stack(
            [
                alignment_with_reference(sweep[c].top_vectors, reference).mean(1)
                for c in shifts
            ],
            axis=1,
        ),
        sigma1=mean_singular_values(sweep, shifts, 0),
        sigma2=mean_singular_values(sweep, shifts, 1),
        in_distribution_scores=signature_score(sweep[0].top_vectors, reference).numpy(),
        mean_token=mean_token_profile(hidden, reference),
        reference=reference,
        sweep=sweep,
        centred=center,
    )


def spectral_controls(
    model,
    dist,
    shifts,
    n_prompts: int,
    reference_prompts: int,
    seed: int,
    init_seed: int,
) -> dict[str, dict[bool, SpectralProfile]]:
    """{'trained' | 'untrained': {centred: profile}}: the model and its untrained twin
    (initialised from `init_seed`), residual matrices uncentred and centred."""
    models = {"trained": model, "untrained": untrained_twin(model, init_seed)}
    return {
        name: {
            center: spectral_profile(
                m, dist, shifts, n_prompts, reference_prompts, seed, center
            )
            for center in (False, True)
        }
        for name, m in models.items()
    }


def share_above(scores: np.ndarray, thresholds) -> np.ndarray:
    """Share of prompts (last axis) whose score is at least each threshold:
    (…, thresholds)."""
    return (np.asarray(scores)[..., None] >= np.asarray(thresholds)).mean(axis=-2)
