"""Sweeps along a shift family: the same evaluation prompts at every shift value, for
one model or for every training seed of a model, errors and spectral samples alike."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from ..core.presets import PRETRAINING
from ..core.results import shift_ends, write_chapter_file
from ..core.samplers import Prompts, shifted
from ..core.train import TrainedModel, resolve_device
from .evaluation import TRIVIAL, errors, eval_prompts
from .metrics import accuracy_curve
from .spectral import SpectralSample, signature_score, spectral_sample

# the moderate shift at which the Scale chapter also compares error growth
MODERATE_SHIFT = 4


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
    """Median error at the last query (models, tests) and mean signature score at every
    layer (models, tests, layers), each model against its own reference, for every
    model (rows) on every test distribution (columns)."""
    error = np.zeros((len(models), len(tests)))
    score = []
    for i, (name, model) in enumerate(models.items()):
        cfg = model.config
        row = []
        for j, dist in enumerate(tests.values()):
            sample = spectral_sample(
                model,
                eval_prompts(dist, n_prompts, cfg.n_points, cfg.n_dims, seed),
                center,
            )
            error[i, j] = np.median(sample.last_error)
            row.append(
                signature_score(sample.top_vectors, references[name]).mean(dim=1)
            )
        score.append(torch.stack(row).numpy())
    return error, np.stack(score)


def trivial_errors(
    tests: dict, n_prompts: int, seed: int, n_points: int, n_dims: int
) -> dict[str, np.ndarray]:
    """Median error at the last query (tests,) of each predictor that ignores x
    (`TRIVIAL`) on `cross_evaluation`'s prompts of every test distribution."""
    out = {m: np.zeros(len(tests)) for m in TRIVIAL}
    for j, dist in enumerate(tests.values()):
        prompts = eval_prompts(dist, n_prompts, n_points, n_dims, seed)
        for m, e in errors(None, prompts, TRIVIAL).items():
            out[m][j] = np.median(e[:, -1])
    return out


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


def own_advantage(score: np.ndarray) -> np.ndarray:
    """Per model, from a (models, tests) score matrix: its own distribution's score
    minus the best other distribution's, (models,)."""
    others = np.where(np.eye(len(score), dtype=bool), -np.inf, score)
    return np.diag(score) - others.max(axis=1)


def own_error_ratios(error: np.ndarray) -> np.ndarray:
    """Per distribution, from a (models, tests) error matrix: its own model's error ÷
    the best other model's, (tests,)."""
    others = np.where(np.eye(len(error), dtype=bool), np.inf, error)
    return np.diag(error) / others.min(axis=0)


def own_vs_trivial(error: np.ndarray, trivial_error: dict) -> np.ndarray:
    """Each model's error on its own distribution ÷ the better predictor that ignores
    x there (`trivial_errors`), (models,): below 1 where it learned its distribution."""
    return np.diag(error) / np.min(list(trivial_error.values()), axis=0)


def own_wins(error: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per distribution, from (models, tests) matrices: is its own model best on it
    (lowest error), and is its own distribution best for its model (highest score)?"""
    diagonal = np.arange(len(error))
    return error.argmin(axis=0) == diagonal, score.argmax(axis=1) == diagonal


def best_shift(shifts: Sequence[float], median_error: np.ndarray) -> float:
    """The shift at which a model's error (seeds, shifts), averaged over seeds, is
    lowest."""
    return shifts[int(np.argmin(np.atleast_2d(median_error).mean(axis=0)))]


# distribution_shift.json ------------------------------------------------------------


def write_distribution_shift(
    results,
    preset,
    runs,
    last: dict[str, np.ndarray],
    accuracy: dict[str, np.ndarray],
    per_shift: dict,
    tolerances: Sequence[float],
    families: dict[str, dict],
    **settings,
) -> None:
    """`last`: method -> error at the last query (seeds, shifts, prompts) along x_mean;
    `accuracy`: method -> (seeds, shifts); `per_shift`: the chapter's shift sweep, for
    accuracy against the tolerance at every evaluated shift; `families`: for each other
    shift family, its `shifts`, the transformer's accuracy (seeds, shifts) and the
    errors at the last query (method -> (seeds, shifts, prompts))."""

    def seed_values(i):
        return {
            **{
                f"{m}_error": {
                    "median": np.median(e[i], axis=1),
                    "mean": e[i].mean(axis=1),
                }
                for m, e in last.items()
            },
            **{f"{m}_accuracy": a[i] for m, a in accuracy.items()},
            # the median over prompts at every query, so that presets of different
            # prompt lengths can be compared at the same query
            "transformer_error_by_query": {
                str(c): np.median(e["transformer"][i], axis=0)
                for c, e in per_shift.items()
            },
            "accuracy_vs_tolerance": {
                "tolerances": tolerances,
                "transformer": {
                    str(c): accuracy_curve(e["transformer"][i, :, -1], tolerances)
                    for c, e in per_shift.items()
                },
            },
            "other_families": {
                f: {
                    "shifts": v["shifts"],
                    "transformer_accuracy": v["accuracy"][i],
                    "transformer_error_median": np.median(
                        v["last"]["transformer"][i], axis=1
                    ),
                    "ols_error_median": np.median(v["last"]["ols"][i], axis=1),
                }
                for f, v in families.items()
            },
        }

    per_seed = [seed_values(i) for i in range(len(runs))]
    write_chapter_file(
        results, preset, "distribution_shift", runs, per_seed, **settings
    )


def distribution_shift_quantities(shift: dict) -> dict[str, Any]:
    shifts = list(shift["shifts"])
    zero, largest = shift_ends(shifts, "distribution_shift.json")
    q: dict[str, Any] = {"c_max": max(shifts), "tolerance": shift["tolerance"]}
    for method in ("transformer", "ols", "ridge", "gd"):
        error = np.asarray(shift[f"{method}_error"]["median"])
        q[f"{method}_error_0"], q[f"{method}_error_largest"] = error[[zero, largest]]
        q[f"{method}_growth_largest"] = error[largest] / error[zero]
    growth = np.asarray(shift["transformer_error"]["median"]) / q["transformer_error_0"]
    accuracy = np.asarray(shift["transformer_accuracy"])
    moderate = shifts.index(MODERATE_SHIFT) if MODERATE_SHIFT in shifts else None
    return {
        **q,
        "error_growth_largest": q.pop("transformer_growth_largest"),
        f"error_growth_{MODERATE_SHIFT}": None
        if moderate is None
        else growth[moderate],
        "accuracy_0": accuracy[zero],
        "accuracy_largest": accuracy[largest],
        "accuracy_kept": accuracy[largest] / accuracy[zero],
        "ols_accuracy_min": np.min(shift["ols_accuracy"]),  # every shift counts
    }


def quantities_at_query(ind: dict, shift: dict, query: int) -> dict[str, Any]:
    """Claim 1's and claim 3's key quantities read at query `query` (counted from 1)
    instead of each prompt's last: the median error in distribution, its growth from
    c = 0 to the largest c, and the error at the largest c. None where `shift` predates
    the per-query record."""
    by_query = shift.get("transformer_error_by_query")
    at = query - 1
    names = (
        "in_distribution_error",
        "error_growth_largest",
        "transformer_error_largest",
    )
    if by_query is None or str(max(shift["shifts"])) not in by_query:
        return dict.fromkeys(names)
    zero, largest = (by_query[str(c)][at] for c in (0, max(shift["shifts"])))
    values = (ind["error_median"]["transformer"][at], largest / zero, largest)
    return dict(zip(names, values))


# pretraining.json -------------------------------------------------------------------


def write_pretraining(
    results,
    preset,
    runs,
    models,
    errors,
    scores,
    input_scores,
    median_error,
    shifts,
    trivial_error,
    **settings,
) -> None:
    """`runs[name][k]`: model `name`'s k-th training seed; `errors`, `scores`: each
    seed's (models, tests) matrices, the scores at the last layer; `input_scores`: each
    seed's reference score matrices by name (the embedding, layer 0, and the untrained
    twins); `median_error[name]`: (seeds, shifts); `trivial_error`: `trivial_errors`
    on the same tests."""
    per_seed = []
    for k, (error, score) in enumerate(zip(errors, scores)):
        lowest, highest = own_wins(error, score)
        per_seed.append(
            {
                "median_error": error,
                "signature_score": score,
                "lowest_error_is_own_model": lowest,
                "highest_score_is_own_distribution": highest,
                "own_error_vs_trivial": own_vs_trivial(error, trivial_error),
                "reference_scores": input_scores[k],
                "own_score_advantage": {
                    "trained": own_advantage(score),
                    **{n: own_advantage(v) for n, v in input_scores[k].items()},
                },
                "best_shift": {
                    m: best_shift(shifts, median_error[m][k]) for m in models
                },
            }
        )
    lowest, highest = own_wins(np.mean(errors, axis=0), np.mean(scores, axis=0))
    write_chapter_file(
        results,
        preset,
        "pretraining",
        [[runs[m][k] for m in models] for k in range(len(errors))],
        per_seed,
        models=models,
        tests=models,
        shifts=shifts,
        lowest_error_is_own_model=lowest,
        highest_score_is_own_distribution=highest,
        best_shift={m: best_shift(shifts, median_error[m]) for m in models},
        trivial_error=trivial_error,
        **settings,
    )


def pretraining_quantities(pre: dict) -> dict[str, Any]:
    """Claims 7a and 7b compare models pretrained on different distributions: not
    measured where the pretraining chapter ran with fewer than two. 7a's key quantity
    (`own_error_ratio`) grades the win, so that a win within noise shows its margin.
    7b's reference (`own_score_beyond_input`): how far each model's own-distribution advantage in
    signature score exceeds the larger of its embedding's (layer 0) and its untrained
    twin's, the smallest over the models; None where not recorded."""
    lowest = pre["lowest_error_is_own_model"]
    highest = pre["highest_score_is_own_distribution"]
    measured = len(pre["models"]) >= 2
    advantage = pre.get("own_score_advantage")
    beyond = None
    if measured and advantage is not None:
        inputs = np.max([advantage["layer0"], advantage["untrained"]], axis=0)
        beyond = float(np.min(np.asarray(advantage["trained"]) - inputs))
    vs_trivial = pre.get("own_error_vs_trivial")
    error = np.asarray(pre.get("median_error", []), float)
    seeds = pre.get("seeds", [])
    return {
        "pretrained_models": ", ".join(pre["models"]),
        "n_pretrained": len(pre["models"]),
        "own_lowest_error": sum(lowest),
        "own_highest_score": sum(highest),
        # each seed's own count, which the seed rule reads
        "own_highest_score_by_seed": ", ".join(
            str(sum(s["highest_score_is_own_distribution"])) for s in seeds
        ),
        # 7a's key quantity: the largest, over the distributions, of the own model's
        # error there ÷ the best other model's; below 1 where every own model wins
        "own_error_ratio": (
            float(np.max(own_error_ratios(error))) if measured and error.size else None
        ),
        # the share of models whose own distribution gives the highest score
        "own_highest_score_share": float(np.mean(highest)) if measured else None,
        "own_score_beyond_input": beyond,
        # 7a's reference: the largest, over the distributions, of the own model's
        # error there ÷ the better predictor that ignores x; None where not recorded
        "own_vs_trivial": (
            float(np.max(vs_trivial)) if measured and vs_trivial is not None else None
        ),
    }
