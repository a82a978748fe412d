"""Pretraining coverage: how far along a mean shift each model stays near its
in-distribution error, and how far its spectral signature reaches."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.presets import PRETRAINING
from ..core.results import write_chapter_file
from ..core.train import resolve_device
from .evaluation import TRIVIAL
from .shift_sweeps import last_query_by_seed, shift_sweep_by_seed, spectral_sweep
from .spectral import mean_signature, signature_reference

# the models findings D to G compare with the standard model
COVERAGE_MODELS = ("x_mean_spread", "x_mean_spread_random")


def coverage_sweep(
    runs: list, device: str, shifts, n_prompts: int, seed: int, reference_prompts: int
) -> list[dict]:
    """Per training seed of one pretraining distribution: the median error at the last
    query and the mean last-layer signature score at every shift c of x ~ N(c·1, I),
    the score against the model's own signature of unshifted prompts; and the median
    error of the predictors that ignore x (`TRIVIAL`) on the same prompts."""
    sweep = shift_sweep_by_seed(
        runs, device, "x_mean", shifts, n_prompts, seed, ("transformer", *TRIVIAL)
    )
    error = np.median(last_query_by_seed(sweep, shifts, "transformer"), axis=2)
    trivial = {
        m: np.median(last_query_by_seed(sweep, shifts, m)[0], axis=1).tolist()
        for m in TRIVIAL
    }
    out = []
    for run, median_error in zip(runs, error):
        model = run.model.to(resolve_device(device))
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
                "trivial_error": trivial,
            }
        )
    return out


def invariant_range(shifts, median_error, factor: float, trivial=None) -> float:
    """The largest |c| such that at every shift with |c'| ≤ |c| the median error stays
    within `factor` times its value at c = 0 and, given the `trivial` predictors'
    errors (a list per predictor), below each of theirs."""
    shifts, error = np.asarray(shifts, float), np.asarray(median_error, float)
    base = error[shifts == 0][0]
    ceiling = np.full_like(error, np.inf)
    for other in trivial or ():
        ceiling = np.minimum(ceiling, np.asarray(other, float))
    reach = 0.0
    for c in sorted(set(np.abs(shifts))):
        inside = np.abs(shifts) <= c
        if np.all(error[inside] <= factor * base) and np.all(
            error[inside] < ceiling[inside]
        ):
            reach = float(c)
        else:
            break
    return reach


def coverage_measures(
    shifts,
    median_error,
    signature_score,
    training_range: float,
    factor: float,
    trivial=None,
) -> dict[str, float]:
    """One model's (one seed's) reach along the shift (beating the `trivial`
    predictors' errors where given), its error at c = 0, the growth of its error at the
    sweep's edge, its error there ÷ the better trivial predictor's, and the drop of its
    signature score from c = 0 to the edge of the training range."""
    shifts = np.asarray(shifts, float)
    error, score = np.asarray(median_error, float), np.asarray(signature_score, float)
    zero = np.flatnonzero(shifts == 0)[0]
    inside = np.abs(shifts) == training_range
    edge = np.abs(shifts) == np.abs(shifts).max()
    best_trivial = (
        np.min(np.asarray(trivial, float), axis=0)
        if trivial
        else np.full_like(error, np.inf)
    )
    return {
        "reach": invariant_range(shifts, error, factor, trivial),
        "base": float(error[zero]),
        "edge_growth": float(error[edge].min() / error[zero]),
        "edge_vs_trivial": float((error[edge] / best_trivial[edge]).min()),
        "drop": float(score[zero] - score[inside].min()),
    }


# coverage.json ----------------------------------------------------------------------


def write_coverage(results, preset, runs, per_seed, **settings) -> None:
    """`runs[m]`, `per_seed[m]`: model m's training seeds and, for each, its median
    error and signature score per shift. Seed s's entry holds every model trained with
    seed s (the standard model only at the seeds that learned the task); the top
    level, each model's mean over its seeds."""
    index = {m: {r.config.train.seed: k for k, r in enumerate(runs[m])} for m in runs}
    seeds = sorted({s for m in runs for s in index[m]})
    groups = [[runs[m][index[m][s]] for m in runs if s in index[m]] for s in seeds]
    values = [
        {
            key: {m: per_seed[m][index[m][s]][key] for m in runs if s in index[m]}
            for key in ("median_error", "signature_score")
        }
        for s in seeds
    ]
    # the trivial predictors do not depend on the model: the first model's record
    trivial = next(iter(per_seed.values()))[0]["trivial_error"]
    write_chapter_file(
        results,
        preset,
        "coverage",
        groups,
        values,
        models=list(runs),
        trivial_error=trivial,
        **settings,
    )


def coverage_quantities(coverage: dict, training_range: float, factor: float) -> dict:
    """Reach (within `factor` of c = 0 and beating the predictors that ignore x),
    growth at the sweep's edge and signature drop of the coverage models (findings D
    to G), None where they were not trained."""
    shifts = coverage["shifts"]
    q: dict[str, Any] = {"coverage_edge": float(np.abs(shifts).max())}
    error, score = coverage["median_error"], coverage["signature_score"]
    if not {"standard", *COVERAGE_MODELS} <= set(error):
        return {**q, "coverage_reach": None, "coverage_random_reach": None}
    trivial = [coverage["trivial_error"][m] for m in TRIVIAL]
    spread, standard, random = (
        coverage_measures(shifts, error[m], score[m], training_range, factor, trivial)
        for m in ("x_mean_spread", "standard", "x_mean_spread_random")
    )
    return {
        **q,
        "coverage_reach": spread["reach"],
        "coverage_edge_growth": spread["edge_growth"],
        "coverage_edge_vs_trivial": spread["edge_vs_trivial"],
        "coverage_signature_drop": spread["drop"],
        "standard_signature_drop": standard["drop"],
        "coverage_random_reach": random["reach"],
    }
