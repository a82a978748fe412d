"""What the read-out can express: the bound the final LayerNorm puts on every
prediction, and the measurements that separate a failure of the network's algorithm
from targets it cannot reach (the share of targets beyond the bound, the largest
prediction, errors in units of the context's own spread of y)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from ..core.baselines import (
    LABELS,
    get_baseline,
    gradient_descent,
    ridge,
    tuned_step_size,
)
from ..core.model import InContextRegressor
from ..core.results import shift_ends, write_chapter_file
from ..core.samplers import Prompts
from .coverage import invariant_range
from .evaluation import TRIVIAL, predict
from .metrics import accuracy, normalized_squared_error
from .shift_sweeps import sweep_prompts


def output_bound(model: InContextRegressor) -> float:
    """The largest |prediction| any input can produce; inf without a final LayerNorm.

    The read-out sees LayerNorm(h) = γ ⊙ z + β with z of mean 0 and norm at most √E
    (E the width), so ŷ = (w ⊙ γ)·z + w·β + b is at most ‖P(w ⊙ γ)‖·√E + |w·β + b| in
    size, P removing the mean. This is attained by some z and is at most Hill et al.'s
    ‖w ⊙ γ‖·√E + |w·β + b|."""
    if not isinstance(model.ln_f, torch.nn.LayerNorm):
        return math.inf
    w = model.read_out.weight[0].detach().double()
    gain = w * model.ln_f.weight.detach().double()
    offset = (
        w @ model.ln_f.bias.detach().double() + model.read_out.bias.detach().double()
    )
    width = gain.numel()
    return float((gain - gain.mean()).norm() * math.sqrt(width) + offset.abs())


def baseline_predictions(
    prompts: Prompts, tuning: Prompts, ridge_alphas: Sequence[float], gd_steps
) -> dict[str, torch.Tensor]:
    """Every reference predictor's predictions (prompts, positions): the named
    baselines, ridge at each λ, and gradient descent with its step size tuned on the
    in-distribution `tuning` prompts for each number of steps, beside the per-prompt
    step of `baselines.gradient_descent`."""
    xs, ys = prompts.xs, prompts.ys
    out = {
        name: get_baseline(name)(xs, ys)
        for name in ("ols", "ols_intercept", "context_mean", "zero", "gd")
    }
    for alpha in ridge_alphas:
        out[ridge_key(alpha)] = ridge(xs, ys, alpha)
    for steps, eta in tuned_steps(tuning, gd_steps).items():
        out[gd_fixed_key(steps)] = gradient_descent(xs, ys, steps, eta)
    return out


def ridge_key(alpha: float) -> str:
    """Ridge at λ = `alpha`: its key among the baselines and in the results file."""
    return f"ridge_{alpha:g}"


def gd_fixed_key(steps: int) -> str:
    """Gradient descent with a fixed step tuned for `steps` steps: its key."""
    return f"gd_fixed_{steps}"


def reference_labels(ridge_alphas, gd_steps) -> dict[str, str]:
    """Each reference predictor's key and its name in the tables, in table order."""
    return {
        **{n: LABELS[n] for n in ("context_mean", "zero", "ols", "ols_intercept")},
        **{ridge_key(a): f"Ridge (λ = {a:g})" for a in ridge_alphas},
        "gd": "Gradient descent, per-prompt step (10 steps)",
        **{
            gd_fixed_key(k): f"Gradient descent, fixed step ({k} step{'s' * (k > 1)})"
            for k in gd_steps
        },
    }


def tuned_steps(tuning: Prompts, gd_steps) -> dict[int, float]:
    """steps -> the fixed step size tuned in distribution for that many steps."""
    return {k: tuned_step_size(tuning.xs, tuning.ys, k) for k in gd_steps}


def context_spread(prompts: Prompts) -> np.ndarray:
    """Each prompt's unit of normalised error: the sample variance of the y in its
    context (before the last query), over d as every error here. It grows with the
    spread of y that the prompt shows, and not with an offset shared by all its y,
    which the context reveals (the mean shift adds c·(w·1) to every y of a prompt)."""
    d = prompts.xs.shape[-1]
    return (prompts.ys[:, :-1].double().var(dim=1) / d).numpy()


def mean_error(preds: torch.Tensor, prompts: Prompts) -> float:
    """A predictor's mean error at the last query over the prompts."""
    return float(last_query_errors(preds, prompts).mean())


def last_query_errors(preds: torch.Tensor, prompts: Prompts) -> np.ndarray:
    """Normalised squared error (ŷ − y)²/d at each prompt's last query."""
    d = prompts.xs.shape[-1]
    return normalized_squared_error(
        preds[:, -1].double(), prompts.ys[:, -1].double(), d
    ).numpy()


def range_measures(
    model: InContextRegressor, prompts: Prompts, bound: float
) -> tuple[np.ndarray, float, float]:
    """The model's errors at the last query, the share of last-query targets beyond
    `bound`, and its largest |prediction| at any position."""
    preds = predict(model, prompts.xs, prompts.ys)
    share = float((prompts.ys[:, -1].abs() > bound).double().mean())
    return last_query_errors(preds, prompts), share, float(preds.abs().max())


def relative_errors(preds: torch.Tensor, prompts: Prompts) -> np.ndarray:
    """|ŷ − y| / |y| at the last query: one more definition of accuracy to try on the
    quoted 43% / 10% pair."""
    y = prompts.ys[:, -1].double()
    return ((preds[:, -1].double() - y).abs() / y.abs().clamp_min(1e-12)).numpy()


@dataclass
class FamilySweep:
    """One shift family swept for every training seed, on the same prompts at each
    shift: errors at the last query (normalised by d) and what bounds them."""

    family: str
    shifts: list[float]
    bound: list[float]  # each model's `output_bound`
    transformer: np.ndarray  # (seeds, shifts, prompts)
    relative: np.ndarray  # |ŷ − y| / |y|, (seeds, shifts, prompts)
    share_beyond_bound: np.ndarray  # (seeds, shifts)
    max_abs_prediction: np.ndarray  # (seeds, shifts)
    baselines: dict[str, np.ndarray]  # name -> (shifts, prompts)
    targets: np.ndarray  # |y| at the last query, (shifts, prompts)
    scale: np.ndarray  # E[y²]/d, the mean error of predicting 0, (shifts,)
    # each prompt's unit of normalised error: the spread of its context's y, (shifts,
    # prompts); see `context_spread`
    unit: np.ndarray
    # the models without the bound: errors (seeds, shifts, prompts), largest |ŷ|
    bound_free: np.ndarray | None
    free_max_abs_prediction: np.ndarray | None  # (seeds, shifts)

    def normalised(self, errors: np.ndarray) -> np.ndarray:
        """Errors (…, shifts, prompts), each in units of its own prompt's spread of y
        (`context_spread`)."""
        return errors / self.unit

    def reachable(self) -> np.ndarray:
        """Which last-query targets each model's bound can reach, (seeds, shifts,
        prompts)."""
        return self.targets[None] <= np.asarray(self.bound)[:, None, None]


def family_sweep(
    models: Sequence[InContextRegressor],
    free_models: Sequence[InContextRegressor],
    family: str,
    shifts: Sequence[float],
    n_prompts: int,
    seed: int,
    tuning: Prompts,
    ridge_alphas: Sequence[float],
    gd_steps: Sequence[int],
) -> FamilySweep:
    """`family` swept over `shifts` for every model (one per training seed) and every
    model without the bound, with every baseline (`baseline_predictions`) on the same
    prompts."""
    cfg = models[0].config
    batches = sweep_prompts(cfg, family, shifts, n_prompts, seed)
    bounds = [output_bound(m) for m in models]
    per_model = [
        [range_measures(m, p, b) for p in batches] for m, b in zip(models, bounds)
    ]
    relative = [
        [relative_errors(predict(m, p.xs, p.ys), p) for p in batches] for m in models
    ]
    baselines = [
        baseline_predictions(p, tuning, ridge_alphas, gd_steps) for p in batches
    ]
    free = [[range_measures(m, p, math.inf) for p in batches] for m in free_models]
    return FamilySweep(
        family,
        list(shifts),
        bounds,
        np.array([[e for e, _, _ in row] for row in per_model]),
        np.array(relative),
        np.array([[s for _, s, _ in row] for row in per_model]),
        np.array([[m for _, _, m in row] for row in per_model]),
        {
            name: np.stack(
                [last_query_errors(b[name], p) for b, p in zip(baselines, batches)]
            )
            for name in baselines[0]
        },
        np.stack([p.ys[:, -1].abs().double().numpy() for p in batches]),
        np.array([mean_error(torch.zeros_like(p.ys), p) for p in batches]),
        np.stack([context_spread(p) for p in batches]),
        np.array([[e for e, _, _ in row] for row in free]) if free else None,
        np.array([[m for _, _, m in row] for row in free]) if free else None,
    )


def quoted_pair(
    sweeps: dict[str, FamilySweep],
    tolerance: float,
    grid: Sequence[float],
    shifts: Sequence[float] = (4, 13),
    quoted: Sequence[float] = (0.10, 0.43),
    margin: float = 0.05,
) -> dict[str, dict]:
    """Each definition of accuracy tried on the quoted pair (10% at c = 4, 43% at
    c = 13, along x ~ N(c·1, I) unless named) -> its accuracy at `tolerance` at the two
    `shifts` (seeds, 2); whether some tolerance in `grid` puts the seed-mean accuracy
    at the second shift at least `margin` above that at the first; and the tolerance
    whose seed-mean pair comes closest to the quoted one, with that pair."""
    x_mean, control = sweeps["x_mean"], sweeps["x_mean_w_perp"]
    definitions = {
        "absolute error": (x_mean, x_mean.transformer),
        "normalised error (÷ the context's spread of y)": (
            x_mean,
            x_mean.normalised(x_mean.transformer),
        ),
        "relative error |ŷ − y| / |y|": (x_mean, x_mean.relative),
        "absolute error, this book's control family (w ⊥ 1)": (
            control,
            control.transformer,
        ),
    }
    if x_mean.bound_free is not None:
        definitions["absolute error, models without the final LayerNorm"] = (
            x_mean,
            x_mean.bound_free,
        )
    out = {}
    for name, (sweep, errors) in definitions.items():
        pair = errors[:, [sweep.shifts.index(c) for c in shifts]]  # (seeds, 2, prompts)
        # (tolerances, seeds, 2)
        curves = np.stack([(pair < t).mean(axis=-1) for t in grid])
        mean = curves.mean(axis=1)  # (tolerances, 2), over seeds
        closest = int(np.abs(mean - np.asarray(quoted)).sum(axis=1).argmin())
        out[name] = {
            "accuracy": (pair < tolerance).mean(axis=-1),
            "reverses": bool((mean[:, 1] >= mean[:, 0] + margin).any()),
            "closest_tolerance": float(grid[closest]),
            "closest": mean[closest],
        }
    return out


@dataclass
class OutputRange:
    """Everything the chapter "What fails under the shift" measures."""

    sweeps: dict[str, FamilySweep]  # family -> the standard models and the bound-free
    coverage: dict[str, FamilySweep]  # "bounded"/"free" -> coverage models along x_mean
    quoted: dict[str, dict]  # see `quoted_pair`
    step_sizes: dict[int, float]  # the fixed steps of gradient descent, tuned
    labels: dict[str, str]  # each reference predictor's key -> its name in tables


def measure_output_range(
    models: Sequence[InContextRegressor],
    free_models: Sequence[InContextRegressor],
    coverage_models: dict[str, Sequence[InContextRegressor]],
    families: dict[str, Sequence[float]],
    coverage_shifts: Sequence[float],
    n_prompts: int,
    seed: int,
    ridge_alphas: Sequence[float],
    gd_steps: Sequence[int],
    tolerance: float,
    grid: Sequence[float],
) -> OutputRange:
    """Every family of `families` swept for the standard models and those without the
    bound; the coverage models ("bounded" and "free", possibly empty) along x_mean and
    its control; the quoted pair's definitions. Gradient descent's fixed step sizes
    are tuned on in-distribution prompts of the next evaluation seed."""
    cfg = models[0].config
    tuning = sweep_prompts(cfg, "x_mean", [0.0], n_prompts, seed + 1)[0]

    def sweep(bounded, free, family, shifts):
        return family_sweep(
            bounded,
            free,
            family,
            shifts,
            n_prompts,
            seed,
            tuning,
            ridge_alphas,
            gd_steps,
        )

    sweeps = {f: sweep(models, free_models, f, v) for f, v in families.items()}
    coverage = {}
    if coverage_models.get("bounded"):
        coverage = {
            f: sweep(
                coverage_models["bounded"], coverage_models["free"], f, coverage_shifts
            )
            for f in ("x_mean", "x_mean_w_perp")
        }
    return OutputRange(
        sweeps,
        coverage,
        quoted_pair(sweeps, tolerance, grid),
        tuned_steps(tuning, gd_steps),
        reference_labels(ridge_alphas, gd_steps),
    )


# output_range.json ------------------------------------------------------------------


# the shifts at which the quoted accuracies (43% at 13, 10% at 4) are compared
QUOTED_SHIFTS = (4, 13)


def _finite_or_none(values) -> list:
    """Errors for JSON: a diverged baseline's inf becomes None."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, float)]


def _medians(errors: np.ndarray) -> np.ndarray:
    return np.median(errors, axis=-1)


def _seed_values(
    sweeps: dict, coverage: dict, tolerance: float, i: int, k: int | None, j: int | None
) -> dict:
    """Standard model i's record along every family; the coverage model at position k
    and the model without the bound at position j, where they exist."""
    x_mean, control = sweeps["x_mean"], sweeps["x_mean_w_perp"]

    def families(values) -> dict:
        return {f: values(s) for f, s in sweeps.items()}

    def transformer(s) -> dict:
        e = s.transformer[i]
        return {
            "median": _medians(e),
            "normalised": _medians(s.normalised(e)),
            "accuracy": accuracy(e, tolerance, axis=1),
            "normalised_accuracy": accuracy(s.normalised(e), tolerance, axis=1),
        }

    def bound_free(s) -> dict:
        return {
            "median_error": _medians(s.bound_free[j]),
            "normalised": _medians(s.normalised(s.bound_free[j])),
            "accuracy": accuracy(s.bound_free[j], tolerance, axis=1),
            "max_abs_prediction": s.free_max_abs_prediction[j],
        }

    out = {
        "bound": x_mean.bound[i],
        "share_beyond_bound": families(lambda s: s.share_beyond_bound[i]),
        "max_abs_prediction": families(lambda s: s.max_abs_prediction[i]),
        "transformer": families(transformer),
        # the median error over the prompts whose target the bound can reach
        "reachable_median": _finite_or_none(
            [
                np.median(e[r]) if r.any() else np.nan
                for e, r in zip(x_mean.transformer[i], x_mean.reachable()[i])
            ]
        ),
        "control_w_perp": {
            "transformer": {"median": _medians(control.transformer[i])},
            "ols": {"median": _medians(control.baselines["ols"])},
        },
        "coverage": _coverage_seed(coverage, k),
    }
    if j is not None:
        out["bound_free"] = families(bound_free)
    return out


def _baselines_record(sweeps: dict, tolerance: float) -> dict:
    """Every baseline's median, normalised median and accuracy along every family."""
    return {
        name: {
            f: {
                "median": _finite_or_none(_medians(s.baselines[name])),
                "normalised": _finite_or_none(
                    _medians(s.normalised(s.baselines[name]))
                ),
                "accuracy": accuracy(s.baselines[name], tolerance, axis=1).tolist(),
            }
            for f, s in sweeps.items()
        }
        for name in sweeps["x_mean"].baselines
    }


def _quoted_record(quoted: dict) -> dict:
    """`output_range.quoted_pair` for JSON, its accuracies keyed by quoted shift."""
    return {
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
    }


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
    per_seed = [
        _seed_values(
            sweeps,
            coverage,
            tolerance,
            i,
            index["coverage"].get(seed),
            index["bound_free"].get(seed),
        )
        for i, seed in enumerate(seeds)
    ]
    groups = [
        [
            runs[index[kind][seed]]
            for kind, runs in models.items()
            if seed in index[kind]
        ]
        for seed in seeds
    ]
    write_chapter_file(
        results,
        preset,
        "output_range",
        groups,
        per_seed,
        shifts={f: s.shifts for f, s in sweeps.items()},
        bounds=[float(b) for b in x_mean.bound],
        scale={f: s.scale.tolist() for f, s in sweeps.items()},
        unit_median={f: np.median(s.unit, axis=1).tolist() for f, s in sweeps.items()},
        baselines=_baselines_record(sweeps, tolerance),
        coverage_shifts=next(iter(coverage.values())).shifts if coverage else None,
        quoted_pair=_quoted_record(quoted),
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
            "trivial": {m: errors(s, s.baselines[m]) for m in TRIVIAL},
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
    (`scorecard.PARTS`): at the largest shift where at most `bound_share` of the targets
    lie beyond the bound, on the control family, on the models without the bound, and
    in normalised error."""
    shifts = data["shifts"]["x_mean"]
    zero, largest = shift_ends(shifts, "output_range.json")
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
    """Findings D (reach, beating the predictors that ignore x) and E (growth at the
    edge) of the coverage model, measured within the bound, on the control family,
    without the bound, in normalised error; None where a measurement is not possible
    (no coverage model, no model without the bound, or no shift beyond the training
    range within the bound)."""
    names = ("in_bound", "control", "free", "normalised")
    q = {f"coverage_{m}_{k}": None for m in ("reach", "edge") for k in names}
    if coverage is None:
        return q
    main, control = coverage["x_mean"], coverage["x_mean_w_perp"]
    inside = [
        i for i, c in enumerate(shifts) if main["share_beyond_bound"][i] <= bound_share
    ]
    kept = [shifts[i] for i in inside]

    def trivial(family, units="median_error", at=slice(None)):
        return [np.asarray(family["trivial"][m][units])[at] for m in TRIVIAL]

    curves = {
        "control": (shifts, control["median_error"], trivial(control)),
        "normalised": (shifts, main["normalised"], trivial(main, "normalised")),
    }
    if 0 in kept:
        curves["in_bound"] = (
            kept,
            [main["median_error"][i] for i in inside],
            trivial(main, at=inside),
        )
    if main.get("bound_free") is not None:
        curves["free"] = (shifts, main["bound_free"]["median_error"], trivial(main))
    for k, (c, error, ceiling) in curves.items():
        c, error = np.asarray(c, float), np.asarray(error, float)
        q[f"coverage_reach_{k}"] = invariant_range(c, error, factor, ceiling)
        edge = np.abs(c) == np.abs(c).max()  # both signs: the smaller growth counts
        if np.abs(c).max() > training_range:
            q[f"coverage_edge_{k}"] = float(error[edge].min() / error[c == 0][0])
    return q
