"""What the input alone does to the spectra: the trained model's spectral quantities set
beside those of the embedding (layer 0) and of the same architecture untrained.

A mean shift adds the rank-one term c·W_in·1 to every x token before any attention,
so the leading singular vector turns towards it and σ₁ grows whatever the network has
learned. A spectral effect counts as the network's own only by what it adds beyond
layer 0 and beyond an untrained model of the same shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..core.config import check
from ..core.model import InContextRegressor
from ..core.results import mean_over_seeds, shift_ends, write_chapter_file
from .loss_predictors import STATISTICS
from .shift_sweeps import cross_evaluation, spectral_sweep
from .spectral import (
    SpectralSample,
    alignment_with_reference,
    mean_singular_values,
    mean_token_profile,
    reference_directions,
    reference_streams,
    signature_reference,
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


def untrained_scores(
    models: dict,
    tests: dict,
    n_prompts: int,
    reference_prompts: int,
    seed: int,
    init_seed: int,
    center: bool = False,
) -> np.ndarray:
    """The signature score matrix (models, tests) at the last layer of each model's
    untrained twin (initialised from `init_seed`), each against the twin's own
    reference from its model's pretraining distribution (`tests` by model name)."""
    twins = {name: untrained_twin(model, init_seed) for name, model in models.items()}
    references = {
        name: signature_reference(twin, tests[name], reference_prompts, seed, center)
        for name, twin in twins.items()
    }
    return cross_evaluation(twins, references, tests, n_prompts, seed, center)[1][
        ..., -1
    ]


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


# spectral.json ----------------------------------------------------------------------


def write_spectral(
    results, preset, runs, per_seed, other_family, thresholds, **settings
) -> None:
    """`per_seed`: each seed's spectral `controls` (`input_controls.spectral_controls`),
    its `pooled` prompts (`spectral.PooledPrompts`) and their correlations `by_layer`,
    and `predictors` (last layer, `loss_predictors.loss_predictors`); `thresholds`, the
    signature scores at which the share of in-distribution prompts at or above each is
    recorded; `settings["center"]`, the centring the chapter judges."""

    def seed_values(s):
        trained, untrained = s["controls"]["trained"], s["controls"]["untrained"]
        center = settings["center"]
        last, mine = s["by_layer"][-1], trained[center]
        return {
            "signature_score": mine.score[-1],
            "leading_singular_values": {
                "sigma1": mine.sigma1[-1],
                "sigma2": mine.sigma2[-1],
            },
            "spearman_signature_vs_loss": {  # the interval clustered as in 6a, 6b
                **s["predictors"]["pooled_spearman"],
                "pooled_prompts": len(s["pooled"].error),
                "other_family": other_family,
            },
            "pearson_signature_vs_log_loss": {
                "value": last["pearson"],
                "low": last["pearson_low"],
                "high": last["pearson_high"],
            },
            "by_layer": {
                **mine.record(),
                "spearman": [r["spearman"] for r in s["by_layer"]],
            },
            "layer0": {
                "signature_score": mine.score[0],
                "sigma1": mine.sigma1[0],
                "sigma2": mine.sigma2[0],
                "centred_signature_score": trained[True].score[0],
            },
            "untrained": {
                **untrained[center].record(),
                "centred_signature_score": untrained[True].score,
            },
            "centred": trained[True].record(),
            "per_direction": mine.alignment[-1],
            "score_above_threshold": {
                "thresholds": thresholds,
                "trained": share_above(mine.in_distribution_scores[-1], thresholds),
                "layer0": share_above(mine.in_distribution_scores[0], thresholds),
                "untrained": share_above(
                    untrained[False].in_distribution_scores[-1], thresholds
                ),
            },
            **s["predictors"],
        }

    values = [seed_values(s) for s in per_seed]
    spans = {
        key: _interval_span([v[key] for v in values])
        for key in ("spearman_signature_vs_loss", "within_shift_spearman")
        + ("partial_spearman", "pooled_spearman", "pearson_signature_vs_log_loss")
    }
    write_chapter_file(results, preset, "spectral", runs, values, **settings, **spans)


def _interval_span(entries: list[dict]) -> dict:
    """The across-seed entry of 95% intervals: the mean of the values, and as the ends
    the lowest lower and the highest upper end of the seeds' own intervals (never an
    average of endpoints), in nested entries too."""
    mean = mean_over_seeds(entries)

    def span(mean, entries):
        if not isinstance(mean, dict):
            return mean
        out = {k: span(v, [e[k] for e in entries]) for k, v in mean.items()}
        if "low" in mean:
            out["low"] = min(e["low"] for e in entries)
            out["high"] = max(e["high"] for e in entries)
        return out

    return span(mean, entries)


def spectral_quantities(spec: dict) -> dict[str, Any]:
    zero, largest = shift_ends(list(spec["shifts"]), "spectral.json")
    layer = spec["layer"]
    score = np.asarray(spec["signature_score"])
    sigma1 = np.asarray(spec["leading_singular_values"]["sigma1"])
    layer0 = {k: np.asarray(v) for k, v in spec["layer0"].items()}
    untrained = {
        k: np.asarray(spec["untrained"][k])[layer]
        for k in ("signature_score", "sigma1")
    }
    centred = np.asarray(spec["centred"]["signature_score"])[layer]

    def drop(values):
        return values[zero] - values[largest]

    def growth(values):
        return values[largest] / values[zero]

    free = spec["model_free_spearman"]
    best = max(free, key=lambda name: abs(free[name]["pooled"]))
    within, partial = spec["within_shift_spearman"], spec["partial_spearman"]
    q = {
        "layer": layer,
        "signature_in_distribution": score[zero],
        "signature_largest": score[largest],
        "signature_drop": drop(score),
        "sigma1_0": sigma1[zero],
        "sigma1_largest": sigma1[largest],
        "sigma1_growth": growth(sigma1),
        "spearman": spec["spearman_signature_vs_loss"]["value"],
        "pooled_prompts": spec["spearman_signature_vs_loss"]["pooled_prompts"],
        # what the input alone gives: the embedding (layer 0) and the untrained model
        "signature_layer0": layer0["signature_score"][zero],
        "signature_untrained": untrained["signature_score"][zero],
        "signature_centred": centred[zero],
        "drop_layer0": drop(layer0["signature_score"]),
        "drop_untrained": drop(untrained["signature_score"]),
        "sigma1_growth_layer0": growth(layer0["sigma1"]),
        "sigma1_growth_untrained": growth(untrained["sigma1"]),
        "within_shift_spearman": within["value"],
        "partial_spearman": partial["value"],
        "best_model_free": STATISTICS[best],
        "best_model_free_spearman": abs(free[best]["pooled"]),
    }
    centred_layer0 = np.asarray(layer0["centred_signature_score"])
    centred_untrained = np.asarray(spec["untrained"]["centred_signature_score"])[layer]
    q |= {
        "signature_beyond_input": q["signature_in_distribution"]
        - max(q["signature_layer0"], q["signature_untrained"]),
        "centred_beyond_input": centred[zero]
        - max(centred_layer0[zero], centred_untrained[zero]),
        "drop_beyond_input": q["signature_drop"]
        - max(q["drop_layer0"], q["drop_untrained"]),
        "sigma1_growth_beyond_input": q["sigma1_growth"]
        / max(q["sigma1_growth_layer0"], q["sigma1_growth_untrained"]),
    }
    for name, key in (
        ("spearman", "spearman_signature_vs_loss"),
        ("within_shift_spearman", "within_shift_spearman"),
        ("partial_spearman", "partial_spearman"),
    ):
        q[f"{name}_low"], q[f"{name}_high"] = spec[key]["low"], spec[key]["high"]
    return q
