"""Sweeps along a shift family: the same evaluation prompts at every shift value, for
one model or for every training seed of a model, errors and spectral samples alike."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..core.presets import PRETRAINING
from ..core.samplers import Prompts, shifted
from ..core.train import TrainedModel, resolve_device
from .evaluation import errors, eval_prompts
from .spectral import SpectralSample, signature_score, spectral_sample


def sweep_prompts(
    cfg, family: str, values, n_prompts: int, seed: int, base=None
) -> list[Prompts]:
    """One batch of evaluation prompts per shift value for a model of config `cfg`,
    each batch from the same seed, shifting `base` (default: standard pretraining)."""
    base = base or PRETRAINING["standard"]
    return [
        eval_prompts(
            shifted(family, c, base), n_prompts, cfg.n_points, cfg.n_dims, seed
        )
        for c in values
    ]


def spectral_sweep(
    model,
    family: str,
    values,
    n_prompts: int,
    seed: int,
    center: bool = False,
    base=None,
) -> dict[float, SpectralSample]:
    """shift -> spectral sample of prompts from that shift (the same seed at every
    shift)."""
    cfg = model.config
    batches = sweep_prompts(cfg, family, values, n_prompts, seed, base)
    return {
        c: spectral_sample(model, prompts, center)
        for c, prompts in zip(values, batches)
    }


def cross_evaluation(
    models: dict,
    references: dict,
    tests: dict,
    n_prompts: int,
    seed: int,
    center: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Median error at the last query and mean last-layer signature score (each model
    against its own reference), for every model (rows) on every test distribution
    (columns)."""
    error = np.zeros((len(models), len(tests)))
    score = np.zeros_like(error)
    for i, (name, model) in enumerate(models.items()):
        cfg = model.config
        for j, dist in enumerate(tests.values()):
            sample = spectral_sample(
                model,
                eval_prompts(dist, n_prompts, cfg.n_points, cfg.n_dims, seed),
                center,
            )
            error[i, j] = np.median(sample.last_error)
            score[i, j] = signature_score(sample.top_vectors, references[name])[
                -1
            ].mean()
    return error, score


def errors_by_seed(
    runs: list[TrainedModel], device: str, prompts: Prompts, methods: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """method -> normalised squared error (seeds, prompts, positions) on the same
    prompts; baselines do not depend on the training seed, so they are computed once
    and repeated."""
    baselines = errors(None, prompts, tuple(m for m in methods if m != "transformer"))
    per_seed = (
        [
            errors(run.model.to(resolve_device(device)), prompts, ("transformer",))[
                "transformer"
            ]
            for run in runs
        ]
        if "transformer" in methods
        else []
    )
    return {
        m: np.stack(per_seed)
        if m == "transformer"
        else np.broadcast_to(baselines[m], (len(runs), *baselines[m].shape))
        for m in methods
    }


def shift_sweep_by_seed(
    runs: list[TrainedModel],
    device: str,
    family: str,
    values,
    n_prompts: int,
    seed: int,
    methods: tuple[str, ...] = ("transformer", "ols"),
    base=None,
) -> dict[float, dict[str, np.ndarray]]:
    """shift -> method -> error (seeds, prompts, positions): `shift_sweep` for every
    training seed, on the same prompts."""
    cfg = runs[0].config.model
    batches = sweep_prompts(cfg, family, values, n_prompts, seed, base)
    return {
        c: errors_by_seed(runs, device, prompts, methods)
        for c, prompts in zip(values, batches)
    }


def last_query_by_seed(
    sweep: dict[float, dict[str, np.ndarray]], shifts, method: str
) -> np.ndarray:
    """Errors at each prompt's last query, (seeds, shifts, prompts), of a
    `shift_sweep_by_seed`."""
    return np.stack([sweep[c][method][:, :, -1] for c in shifts], axis=1)


def own_wins(error: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per distribution, from (models, tests) matrices: is its own model best on it
    (lowest error), and is its own distribution best for its model (highest score)?"""
    diagonal = np.arange(len(error))
    return error.argmin(axis=0) == diagonal, score.argmax(axis=1) == diagonal


def best_shift(shifts: Sequence[float], median_error: np.ndarray) -> float:
    """The shift at which a model's error (seeds, shifts), averaged over seeds, is
    lowest."""
    return shifts[int(np.argmin(np.atleast_2d(median_error).mean(axis=0)))]
