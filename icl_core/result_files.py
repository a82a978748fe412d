"""The layout of each chapter's results file: the function that writes it beside the
one that reads the verdicts' quantities back out of it.

Writers take what a chapter measured, one entry per training seed, and write through
`results.write_results` (across-seed mean at the top level, every seed under
`"seeds"`, the checkpoints' hashes). Each `<file>_quantities` takes a file's content
(its across-seed mean, or one seed's through `results.one_seed`) and returns the named
quantities that `verdicts.claims` judges."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .analysis.battery import (
    PAPER_SHIFTS,
    SETTINGS,
    battery_checks,
    battery_measures,
)
from .analysis.coverage import coverage_measures, invariant_range
from .analysis.input_controls import share_above
from .analysis.loss_predictors import STATISTICS
from .analysis.metrics import accuracy, accuracy_curve
from .analysis.shift_sweeps import best_shift, own_wins
from .results import mean_over_seeds, write_results

# the moderate shift at which the Scale chapter also compares error growth
MODERATE_SHIFT = 4
# the models findings D to G compare with the standard model
COVERAGE_MODELS = ("x_mean_spread", "x_mean_spread_random")


def _write(results: str | Path, preset: str, name: str, runs, per_seed, **settings):
    """`results/<preset>/<name>.json` through `results.write_results`."""
    path = f"{results}/{preset}/{name}.json"
    write_results(path, runs, per_seed, results, **settings)


def _ends(shifts: list[float], source: str) -> list[int]:
    """Indices of c = 0 and of the largest c, the two ends every shift criterion
    compares."""
    if 0 not in shifts:
        raise ValueError(
            f"shifts={shifts!r} in {source} is not allowed; expected a sweep that "
            "includes c = 0"
        )
    return [shifts.index(0), shifts.index(max(shifts))]


# in_distribution.json ------------------------------------------------------------


def write_in_distribution(results, preset, runs, means, medians, **settings) -> None:
    """`means`, `medians`: method -> error (seeds, positions)."""
    per_seed = [
        {
            "error_mean": {m: e[i] for m, e in means.items()},
            "error_median": {m: e[i] for m, e in medians.items()},
        }
        for i in range(len(runs))
    ]
    _write(results, preset, "in_distribution", runs, per_seed, **settings)


def in_distribution_quantities(ind: dict) -> dict[str, Any]:
    return {
        "in_distribution_error": ind["error_median"]["transformer"][-1],
        "ols_in_distribution_error": ind["error_median"]["ols"][-1],
    }


# distribution_shift.json ---------------------------------------------------------


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
    _write(results, preset, "distribution_shift", runs, per_seed, **settings)


def distribution_shift_quantities(shift: dict) -> dict[str, Any]:
    shifts = list(shift["shifts"])
    zero, largest = _ends(shifts, "distribution_shift.json")
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


# spectral.json (the chapter on the signature and the loss) ------------------------


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
    _write(results, preset, "spectral", runs, values, **settings, **spans)


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
    zero, largest = _ends(list(spec["shifts"]), "spectral.json")
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
        "centred_drop": drop(centred),
        "centred_drop_layer0": drop(centred_layer0),
        "centred_drop_untrained": drop(centred_untrained),
        "sigma1_growth_beyond_input": q["sigma1_growth"]
        / max(q["sigma1_growth_layer0"], q["sigma1_growth_untrained"]),
    }
    q["centred_drop_beyond_input"] = q["centred_drop"] - max(
        q["centred_drop_layer0"], q["centred_drop_untrained"]
    )
    for name, key in (
        ("spearman", "spearman_signature_vs_loss"),
        ("within_shift_spearman", "within_shift_spearman"),
        ("partial_spearman", "partial_spearman"),
    ):
        q[f"{name}_low"], q[f"{name}_high"] = spec[key]["low"], spec[key]["high"]
    return q


# pretraining.json ----------------------------------------------------------------


def write_pretraining(
    results, preset, runs, models, errors, scores, median_error, shifts, **settings
) -> None:
    """`runs[name][k]`: model `name`'s k-th training seed; `errors`, `scores`: each
    seed's (models, tests) matrices; `median_error[name]`: (seeds, shifts)."""
    per_seed = []
    for k, (error, score) in enumerate(zip(errors, scores)):
        lowest, highest = own_wins(error, score)
        per_seed.append(
            {
                "median_error": error,
                "signature_score": score,
                "lowest_error_is_own_model": lowest,
                "highest_score_is_own_distribution": highest,
                "best_shift": {
                    m: best_shift(shifts, median_error[m][k]) for m in models
                },
            }
        )
    lowest, highest = own_wins(np.mean(errors, axis=0), np.mean(scores, axis=0))
    _write(
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
        **settings,
    )


def pretraining_quantities(pre: dict) -> dict[str, Any]:
    """Claim 7 compares models pretrained on different distributions: not measured
    where the pretraining chapter ran with fewer than two."""
    lowest = pre["lowest_error_is_own_model"]
    highest = pre["highest_score_is_own_distribution"]
    measured = len(pre["models"]) >= 2
    return {
        "pretrained_models": ", ".join(pre["models"]),
        "n_pretrained": len(pre["models"]),
        "own_lowest_error": sum(lowest),
        "own_highest_score": sum(highest),
        # the share of distributions on which the own model has the lowest error and
        # of models whose own distribution has the highest score
        "own_distribution_wins": float(np.mean([*lowest, *highest]))
        if measured
        else None,
    }


# signature_intervention.json -----------------------------------------------------


def write_signature_intervention(
    results, preset, runs, per_seed, verdict, **settings
) -> None:
    """`per_seed`: each seed's `interventions.intervention_record`; `verdict`: their
    `interventions.PatchingVerdict`."""
    values = [
        {**s, "conclusion": {f: c[i] for f, c in verdict.by_seed.items()}}
        for i, s in enumerate(per_seed)
    ]
    shared = {
        "layer": verdict.layer,
        "conclusion": verdict.conclusion,
        "reason": verdict.reason,
        "conclusion_by_layer": verdict.by_layer,
    }
    _write(
        results, preset, "signature_intervention", runs, values, **shared, **settings
    )


# the family on which the finding is judged: there the counterfactual has the same
# targets, so the whole-stream patch restores the error and a patch can show an effect
PATCHED_FAMILY = "x_mean_w_perp"


def signature_intervention_quantities(intervention: dict) -> dict[str, Any]:
    family, layer = PATCHED_FAMILY, intervention["layer"]
    conclusion = intervention["conclusion"][family]
    signature = intervention["interventions"]["signature subspace"][family]
    return {
        "patching_conclusion": conclusion,
        "patching_conclusion_x_mean": intervention["conclusion"]["x_mean"],
        "patching_reason": intervention["reason"][family],
        "patching_layer": layer,
        "patching_restore": signature["restore"]["share"][layer],
        "patching_break": signature["break"]["share"][layer],
        # an inconclusive test leaves the finding untested
        "not_causal": None
        if conclusion == "inconclusive"
        else float(conclusion != "causal"),
    }


# garg_battery.json ---------------------------------------------------------------


def write_garg_battery(results, preset, runs, per_seed, **settings) -> None:
    """`per_seed`: each seed's `battery.battery_record`, Garg et al.'s settings and the
    paper's mean shifts apart."""
    values = [
        {
            "settings": {name: s[name] for name in SETTINGS},
            "paper_shifts": {name: s[name] for name in PAPER_SHIFTS},
        }
        for s in per_seed
    ]
    _write(results, preset, "garg_battery", runs, values, **settings)


def garg_battery_quantities(battery: dict, bound_share: float) -> dict[str, Any]:
    every = {**battery["settings"], **battery["paper_shifts"]}
    worst, rho = battery_measures(every)
    checks = battery_checks(every, bound_share)
    return {
        "battery_worst_ratio": worst,
        "battery_spearman": rho,
        **{f"battery_{k}": v for k, v in checks.items()},
    }


# coverage.json -------------------------------------------------------------------


def write_coverage(results, preset, runs, per_seed, **settings) -> None:
    """`runs[m]`, `per_seed[m]`: model m's training seeds and, for each, its median
    error and signature score per shift. Seed k's entry holds every model trained with
    seed k; the top level, each model's mean over its seeds."""
    n = max(len(v) for v in runs.values())
    groups = [[runs[m][k] for m in runs if k < len(runs[m])] for k in range(n)]
    values = [
        {
            key: {m: per_seed[m][k][key] for m in runs if k < len(runs[m])}
            for key in ("median_error", "signature_score")
        }
        for k in range(n)
    ]
    _write(results, preset, "coverage", groups, values, models=list(runs), **settings)


def coverage_quantities(coverage: dict, training_range: float, factor: float) -> dict:
    """Reach, growth at the sweep's edge and signature drop of the coverage models
    (findings D to G), None where they were not trained."""
    shifts = coverage["shifts"]
    q: dict[str, Any] = {"coverage_edge": float(np.abs(shifts).max())}
    error, score = coverage["median_error"], coverage["signature_score"]
    if not {"standard", *COVERAGE_MODELS} <= set(error):
        return {**q, "coverage_reach": None, "coverage_random_reach": None}
    spread, standard, random = (
        coverage_measures(shifts, error[m], score[m], training_range, factor)
        for m in ("x_mean_spread", "standard", "x_mean_spread_random")
    )
    return {
        **q,
        "coverage_reach": spread["reach"],
        "coverage_edge_growth": spread["edge_growth"],
        "coverage_signature_drop": spread["drop"],
        "standard_signature_drop": standard["drop"],
        "coverage_random_reach": random["reach"],
    }


# output_range.json ---------------------------------------------------------------

# the shifts at which the quoted accuracies (43% at 13, 10% at 4) are compared
QUOTED_SHIFTS = (4, 13)


def _finite_or_none(values) -> list:
    """Errors for JSON: a diverged baseline's inf becomes None."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, float)]


def _medians(errors: np.ndarray) -> np.ndarray:
    return np.median(errors, axis=-1)


def write_output_range(
    results,
    preset,
    models: dict[str, list],
    sweeps: dict,
    coverage: dict,
    quoted: dict,
    tolerance: float,
    **settings,
) -> None:
    """`models`: kind -> its trained models, one per training seed ("standard" first,
    then those without the bound and the coverage models, possibly none; seed k's entry
    holds every model trained with seed k); `sweeps`: family -> `output_range.FamilySweep`
    over the standard models and those without the bound; `coverage`: the coverage
    model's `FamilySweep` along x_mean, with and without the bound;
    `quoted`: `output_range.quoted_pair`."""
    x_mean = sweeps["x_mean"]
    seeds = [run.config.train.seed for run in models["standard"]]
    index = {kind: _seed_index(runs, seeds, kind) for kind, runs in models.items()}

    def families(values) -> dict:
        return {f: values(s) for f, s in sweeps.items()}

    def seed_values(i: int) -> dict:
        seed = seeds[i]
        out = {
            "bound": x_mean.bound[i],
            "share_beyond_bound": families(lambda s: s.share_beyond_bound[i]),
            "max_abs_prediction": families(lambda s: s.max_abs_prediction[i]),
            "transformer": families(
                lambda s: {
                    "median": _medians(s.transformer[i]),
                    "normalised": _medians(s.normalised(s.transformer[i])),
                    "accuracy": accuracy(s.transformer[i], tolerance, axis=1),
                    "normalised_accuracy": accuracy(
                        s.normalised(s.transformer[i]), tolerance, axis=1
                    ),
                }
            ),
            # the median error over the prompts whose target the bound can reach
            "reachable_median": _finite_or_none(
                [
                    np.median(e[r]) if r.any() else np.nan
                    for e, r in zip(x_mean.transformer[i], x_mean.reachable()[i])
                ]
            ),
            "control_w_perp": {
                m: {"median": _medians(e)}
                for m, e in (
                    ("transformer", sweeps["x_mean_w_perp"].transformer[i]),
                    ("ols", sweeps["x_mean_w_perp"].baselines["ols"]),
                )
            },
        }
        out["coverage"] = _coverage_seed(coverage, index["coverage"].get(seed))
        j = index["bound_free"].get(seed)
        if j is not None:
            out["bound_free"] = families(
                lambda s: {
                    "median_error": _medians(s.bound_free[j]),
                    "normalised": _medians(s.normalised(s.bound_free[j])),
                    "accuracy": accuracy(s.bound_free[j], tolerance, axis=1),
                    "max_abs_prediction": s.free_max_abs_prediction[j],
                }
            )
        return out

    per_seed = [seed_values(i) for i in range(len(models["standard"]))]
    baselines = {
        name: families(
            lambda s: {
                "median": _finite_or_none(_medians(s.baselines[name])),
                "normalised": _finite_or_none(
                    _medians(s.normalised(s.baselines[name]))
                ),
                "accuracy": accuracy(s.baselines[name], tolerance, axis=1).tolist(),
            }
        )
        for name in x_mean.baselines
    }
    groups = [
        [
            runs[index[kind][seed]]
            for kind, runs in models.items()
            if seed in index[kind]
        ]
        for seed in seeds
    ]
    _write(
        results,
        preset,
        "output_range",
        groups,
        per_seed,
        shifts={f: s.shifts for f, s in sweeps.items()},
        bounds=[float(b) for b in x_mean.bound],
        scale=families(lambda s: s.scale.tolist()),
        unit_median=families(lambda s: np.median(s.unit, axis=1).tolist()),
        baselines=baselines,
        coverage_shifts=next(iter(coverage.values())).shifts if coverage else None,
        quoted_pair={
            name: {
                "reverses": q["reverses"],
                "closest_tolerance": q["closest_tolerance"],
                **{
                    f"accuracy_{c}": q["accuracy"][:, k].tolist()
                    for k, c in enumerate(QUOTED_SHIFTS)
                },
                **{
                    f"closest_accuracy_{c}": float(q["closest"][k])
                    for k, c in enumerate(QUOTED_SHIFTS)
                },
            }
            for name, q in quoted.items()
        },
        tolerance=tolerance,
        models={kind: len(runs) for kind, runs in models.items()},
        **settings,
    )


def _seed_index(runs: list, seeds: list[int], kind: str) -> dict[int, int]:
    """training seed -> position in `runs`, each seed among the standard models'."""
    own = [run.config.train.seed for run in runs]
    if not set(own) <= set(seeds):
        raise ValueError(
            f"{kind} seeds={own!r} is not allowed; expected training seeds among the "
            f"standard model's seeds={seeds!r}"
        )
    return {s: k for k, s in enumerate(own)}


def _coverage_seed(coverage: dict, i: int | None) -> dict | None:
    """The coverage model at position i along x_mean and its control, with and without
    the bound; None where no coverage model has that training seed."""
    if not coverage or i is None:
        return None

    def errors(s, e) -> dict:
        return {"median_error": _medians(e), "normalised": _medians(s.normalised(e))}

    return {
        f: {
            **errors(s, s.transformer[i]),
            "share_beyond_bound": s.share_beyond_bound[i],
            "bound_free": errors(s, s.bound_free[i])
            if s.bound_free is not None
            else None,
        }
        for f, s in coverage.items()
    }


def _ratio(values, at: int, of: int = 0) -> float:
    """values[at] / values[of], inf where values[of] is 0 (nothing kept of nothing)."""
    return float(values[at] / values[of]) if values[of] else math.inf


def _from_zero_to(at: int, zero: int, name: str, accuracy, error) -> dict[str, Any]:
    """One measurement's accuracy and median error at c = 0 and at shift index `at`,
    with the share of accuracy kept and the growth of the error."""
    return {
        f"{name}_accuracy_0": accuracy[zero],
        f"{name}_accuracy_largest": accuracy[at],
        f"accuracy_kept_{name}": _ratio(accuracy, at, zero),
        f"{name}_error_0": error[zero],
        f"{name}_error_largest": error[at],
        f"error_growth_{name}": _ratio(error, at, zero),
    }


def output_range_quantities(
    data: dict, bound_share: float, training_range: float, factor: float
) -> dict[str, Any]:
    """The quantities of claims 2 and 3 and findings D and E re-measured four ways
    (`claims.CHECKS`): at the largest shift where at most `bound_share` of the targets
    lie beyond the bound, on the control family, on the models without the bound, and
    in normalised error."""
    shifts = data["shifts"]["x_mean"]
    zero, largest = _ends(shifts, "output_range.json")
    tf = data["transformer"]["x_mean"]
    share = np.asarray(data["share_beyond_bound"]["x_mean"])
    inside = [i for i, c in enumerate(shifts) if share[i] <= bound_share]
    # None where even c = 0 has more targets beyond the bound than the cut allows
    at = max(inside, key=lambda i: shifts[i]) if inside else None
    control = data["transformer"]["x_mean_w_perp"]
    free = data.get("bound_free", {}).get("x_mean")
    ols_control = np.asarray(data["control_w_perp"]["ols"]["median"])
    q = {
        "bound": data["bound"],
        "bound_share": bound_share,
        "c_largest": shifts[largest],
        "share_at_largest": float(share[largest]),
        "c_in_bound": None if at is None else shifts[at],
        "accuracy_in_bound": None if at is None else tf["accuracy"][at],
        "accuracy_kept_in_bound": None
        if at is None
        else _ratio(tf["accuracy"], at, zero),
        "error_growth_in_bound": None if at is None else _ratio(tf["median"], at, zero),
        "ols_control_error_max": float(ols_control.max()),
        "accuracy_kept_free": None,
        "error_growth_free": None,
        **_from_zero_to(
            largest, zero, "control", control["accuracy"], control["median"]
        ),
        **_from_zero_to(
            largest, zero, "normalised", tf["normalised_accuracy"], tf["normalised"]
        ),
    }
    if free is not None:
        q |= _from_zero_to(
            largest, zero, "free", free["accuracy"], free["median_error"]
        )
    return {
        **q,
        **_coverage_checks(
            data.get("coverage_shifts"),
            data.get("coverage"),
            bound_share,
            training_range,
            factor,
        ),
    }


def _coverage_checks(shifts, coverage, bound_share, training_range, factor) -> dict:
    """Findings D (reach) and E (growth at the edge) of the coverage model, measured
    within the bound, on the control family, without the bound, in normalised error;
    None where a measurement is not possible (no coverage model, no model without the
    bound, or no shift beyond the training range within the bound)."""
    names = ("in_bound", "control", "free", "normalised")
    q = {f"coverage_{m}_{k}": None for m in ("reach", "edge") for k in names}
    if coverage is None:
        return q
    main, control = coverage["x_mean"], coverage["x_mean_w_perp"]
    inside = [
        i for i, c in enumerate(shifts) if main["share_beyond_bound"][i] <= bound_share
    ]
    kept = [shifts[i] for i in inside]
    curves = {
        "control": (shifts, control["median_error"]),
        "normalised": (shifts, main["normalised"]),
    }
    if 0 in kept:
        curves["in_bound"] = (kept, [main["median_error"][i] for i in inside])
    if main.get("bound_free") is not None:
        curves["free"] = (shifts, main["bound_free"]["median_error"])
    for k, (c, error) in curves.items():
        c, error = np.asarray(c, float), np.asarray(error, float)
        q[f"coverage_reach_{k}"] = invariant_range(c, error, factor)
        edge = np.abs(c) == np.abs(c).max()  # both signs: the smaller growth counts
        if np.abs(c).max() > training_range:
            q[f"coverage_edge_{k}"] = float(error[edge].min() / error[c == 0][0])
    return q
