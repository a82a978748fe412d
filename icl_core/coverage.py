"""Pretraining coverage: how far along a mean shift each model stays near its
in-distribution error, and how far its spectral signature reaches."""

from __future__ import annotations

import numpy as np

from .experiments import (
    last_query_by_seed,
    mean_signature,
    on_device,
    shift_sweep_by_seed,
    signature_reference,
    spectral_sweep,
)
from .presets import PRETRAINING


def coverage_sweep(
    runs: list, device: str, shifts, n_prompts: int, seed: int, reference_prompts: int
) -> list[dict]:
    """Per training seed of one pretraining distribution: the median error at the last
    query and the mean last-layer signature score at every shift c of x ~ N(c·1, I),
    the score against the model's own signature of unshifted prompts."""
    sweep = shift_sweep_by_seed(
        runs, device, "x_mean", shifts, n_prompts, seed, ("transformer",)
    )
    error = np.median(last_query_by_seed(sweep, shifts, "transformer"), axis=2)
    out = []
    for run, median_error in zip(runs, error):
        model = on_device(run.model, device)
        reference = signature_reference(
            model, PRETRAINING["standard"], reference_prompts, seed
        )
        spectra = spectral_sweep(model, "x_mean", shifts, n_prompts, seed)
        out.append(
            {
                "median_error": median_error.tolist(),
                "signature_score": mean_signature(spectra, shifts, reference)[
                    -1
                ].tolist(),
            }
        )
    return out


def invariant_range(shifts, median_error, factor: float) -> float:
    """The largest |c| such that at every shift with |c'| ≤ |c| the median error stays
    within `factor` times its value at c = 0."""
    shifts, error = np.asarray(shifts, float), np.asarray(median_error, float)
    base = error[shifts == 0][0]
    reach = 0.0
    for c in sorted(set(np.abs(shifts))):
        if np.all(error[np.abs(shifts) <= c] <= factor * base):
            reach = float(c)
        else:
            break
    return reach
