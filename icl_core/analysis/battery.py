"""Garg et al.'s robustness battery, defined as in their released evaluation code
(dtsip/in-context-learning, `src/eval.py`: `build_evals` and the `gen_*` functions).

A setting gives, for every position i, the in-context examples x_1 … x_i and a query
that may come from elsewhere: in `random_quadrants` the examples lie in one random
orthant and the query does not, in `orthogonal_train_test` the query is orthogonal to
the examples before it, in `overlapping_train_test` it repeats one of them. The other
settings change the distribution of the whole prompt: x through a fixed linear map
(`half_subspace`, `skewed`, `scale-x=s`), y by a factor (`scale-y=s`), or y by unit
noise followed by Garg et al.'s renormalisation (`noisyLR`). Beside them, `mean-x=c`
is this paper's mean shift, x ~ N(c·1, I), drawn the same way. Each batch of
`batch_size` prompts is drawn as in their `eval_model`, from one seeded generator."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy import stats

from ..core.baselines import get_baseline
from ..core.config import check
from ..core.results import write_chapter_file
from ..core.samplers import Prompts
from .evaluation import EVAL_SEED_OFFSET, predict
from .metrics import normalized_squared_error
from .output_range import output_bound
from .spectral import signature_score, spectral_sample

SCALES = (0.333, 0.5, 2, 3)
SETTINGS = (
    "standard",
    "random_quadrants",
    "orthogonal_train_test",
    "overlapping_train_test",
    "half_subspace",
    "skewed",
    *(f"scale-x={s}" for s in SCALES),
    *(f"scale-y={s}" for s in SCALES),
    "noisyLR",
)
PAPER_SHIFTS = tuple(f"mean-x={c}" for c in (1, 2, 4))
# every setting by name: its kind and, for the scaled and shifted ones, its number
KINDS: dict[str, tuple[str, float]] = {
    **{name: (name, 0.0) for name in SETTINGS if "=" not in name},
    **{f"scale-x={s}": ("scale-x", s) for s in SCALES},
    **{f"scale-y={s}": ("scale-y", s) for s in SCALES},
    **{f"mean-x={c}": ("mean-x", c) for c in (1, 2, 4)},
}
# Garg et al.'s evaluation batch: renormalisation in noisyLR is per batch of this size
GARG_BATCH = 64


@dataclass
class BatteryPrompts:
    """Position i's prompt is (xs[:, :i], ys[:, :i]) followed by the query
    (query_xs[:, i], query_ys[:, i]); in most settings the queries are the examples."""

    xs: torch.Tensor  # (B, n, d)
    ys: torch.Tensor  # (B, n)
    query_xs: torch.Tensor  # (B, n, d)
    query_ys: torch.Tensor  # (B, n)
    defined: int  # positions at which the setting is defined (the rest as Garg's code)

    @property
    def queries_are_examples(self) -> bool:
        return self.query_xs is self.xs

    def at(self, i: int) -> Prompts:
        """The prompt whose last query is position i."""
        xs = torch.cat((self.xs[:, :i], self.query_xs[:, i : i + 1]), dim=1)
        ys = torch.cat((self.ys[:, :i], self.query_ys[:, i : i + 1]), dim=1)
        return Prompts(xs, ys, torch.empty(0))


def sample_transformation(
    eigenvalues: torch.Tensor, generator: torch.Generator, normalize: bool = False
) -> torch.Tensor:
    """Garg et al.'s `sample_transformation`: U diag(λ) Uᵀ for a random orthogonal U,
    scaled so that x = z t keeps E|x|² = d when `normalize`."""
    d = len(eigenvalues)
    U, _, _ = torch.linalg.svd(torch.randn(d, d, generator=generator))
    t = U @ torch.diag(eigenvalues) @ U.T
    if normalize:
        t = t * math.sqrt(d / float(torch.sum(eigenvalues**2)))
    return t


def _transformation(setting: str, d: int, g: torch.Generator) -> torch.Tensor | None:
    if setting == "half_subspace":
        eigenvalues = torch.zeros(d)
        eigenvalues[: d // 2] = 1
        return sample_transformation(eigenvalues, g, normalize=True)
    if setting == "skewed":
        return sample_transformation(1 / (torch.arange(d) + 1.0), g, normalize=True)
    kind, value = KINDS[setting]
    if kind == "scale-x":
        return sample_transformation(value * torch.ones(d), g)
    return None


def _queries(setting: str, xs: torch.Tensor, g: torch.Generator):
    """(examples, queries) of Garg et al.'s `gen_*` for `setting`."""
    B, n, d = xs.shape
    if setting == "random_quadrants":
        pattern = torch.randn(B, 1, d, generator=g).sign()
        return xs.abs() * pattern, xs
    if setting == "orthogonal_train_test":
        queries = torch.zeros_like(xs)  # beyond d points Garg's code leaves 0
        for i in range(min(n, d)):
            query = xs[:, i : i + 1]
            _, _, Vt = torch.linalg.svd(xs[:, :i], full_matrices=False)
            orthogonal = query - query @ Vt.transpose(1, 2) @ Vt
            queries[:, i : i + 1] = (
                orthogonal
                * query.norm(dim=2, keepdim=True)
                / orthogonal.norm(dim=2, keepdim=True)
            )
        return xs, queries
    if setting == "overlapping_train_test":
        queries = xs.clone()
        for i in range(1, n):
            pick = torch.randint(0, i, (B,), generator=g)
            queries[:, i] = xs[torch.arange(B), pick]
        return xs, queries
    return xs, xs


def _labels(setting: str, xs: torch.Tensor, ws: torch.Tensor, g: torch.Generator):
    ys = torch.einsum("bnd,bd->bn", xs, ws)
    kind, value = KINDS[setting]
    if kind == "scale-y":
        return value * ys
    if setting == "noisyLR":
        ys = ys + torch.randn(ys.shape, generator=g)
        return ys * math.sqrt(xs.shape[-1]) / ys.std()
    return ys


def battery_prompts(
    setting: str, n_prompts: int, n_points: int, n_dims: int, seed: int = 0
) -> BatteryPrompts:
    """`n_prompts` prompts of `setting`, in batches of Garg et al.'s 64; the same seed
    gives the same prompts."""
    check(
        setting in SETTINGS + PAPER_SHIFTS,
        "setting",
        setting,
        f"one of {', '.join(SETTINGS + PAPER_SHIFTS)}",
    )
    check(
        isinstance(n_prompts, int) and n_prompts > 0 and n_prompts % GARG_BATCH == 0,
        "n_prompts",
        n_prompts,
        f"a positive multiple of {GARG_BATCH}",
    )
    g = torch.Generator().manual_seed(seed + EVAL_SEED_OFFSET)
    t = _transformation(setting, n_dims, g)  # one map for every batch, as Garg's
    parts = []
    for _ in range(n_prompts // GARG_BATCH):
        xs = torch.randn(GARG_BATCH, n_points, n_dims, generator=g)
        xs = xs @ t if t is not None else xs
        if KINDS[setting][0] == "mean-x":
            xs = xs + KINDS[setting][1]
        examples, queries = _queries(setting, xs, g)
        ws = torch.randn(GARG_BATCH, n_dims, generator=g)
        if queries is examples:
            ys = _labels(setting, examples, ws, g)
            parts.append((examples, ys, examples, ys))
        else:
            parts.append(
                (examples, _labels(setting, examples, ws, g), queries)
                + (_labels(setting, queries, ws, g),)
            )
    xs, ys, qx, qy = (torch.cat(p) for p in zip(*parts))
    same = all(p[0] is p[2] for p in parts)
    defined = min(n_points, n_dims) if setting == "orthogonal_train_test" else n_points
    return BatteryPrompts(xs, ys, xs if same else qx, ys if same else qy, defined)


def battery_errors(
    model, prompts: BatteryPrompts, methods: tuple[str, ...] = ("transformer", "ols")
) -> dict[str, np.ndarray]:
    """Normalised squared error (prompts, positions) of each method; where queries are
    not the examples, each position is its own prompt, as in Garg et al.'s
    `eval_batch`."""
    n_dims = prompts.xs.shape[-1]

    def predictions(method: str, xs: torch.Tensor, ys: torch.Tensor):
        if method == "transformer":
            return predict(model, xs, ys)
        return get_baseline(method)(xs, ys)

    out = {}
    for method in methods:
        if prompts.queries_are_examples:
            preds = predictions(method, prompts.xs, prompts.ys)
        else:
            n = prompts.xs.shape[1]
            preds = torch.stack(
                [predictions(method, *prompts.at(i)[:2])[:, -1] for i in range(n)],
                dim=1,
            )
        out[method] = normalized_squared_error(
            preds.double(), prompts.query_ys.double(), n_dims
        ).numpy()
    return out


def last_defined_prompt(prompts: BatteryPrompts) -> Prompts:
    """The whole prompt whose query is the last position at which the setting is
    defined: what the spectral signature of a setting is computed from."""
    return prompts.at(prompts.defined - 1)


def example_statistics(prompts: BatteryPrompts) -> dict[str, float]:
    """What a setting does to x, measured on its prompts: the norm of the in-context
    examples' mean over √d (0 in distribution), their root-mean-square entry (1 in
    distribution), and the rank of their covariance (d in distribution)."""
    xs = prompts.xs[:, : prompts.defined].double()
    d = xs.shape[-1]
    flat = xs.reshape(-1, d)
    eigenvalues = torch.linalg.eigvalsh(torch.cov(flat.T))
    return {
        "mean_shift": float(xs.mean(dim=1).norm(dim=1).mean() / math.sqrt(d)),
        "rms": float(flat.pow(2).mean().sqrt()),
        "rank": int((eigenvalues > 1e-6 * eigenvalues.max()).sum()),
    }


# the predictors every setting is also measured with: least squares, and the two that
# ignore x (a model worse than them has not survived a setting)
BASELINES = ("ols", "context_mean", "zero")


def battery_run(
    model,
    settings,
    n_prompts: int,
    seed: int,
    reference: torch.Tensor,
    baselines: dict[str, dict[str, np.ndarray]] | None = None,
) -> dict[str, dict]:
    """setting -> the transformer's errors (prompts, positions), each of `BASELINES`'
    (computed once and passed back in as `baselines` for the next training seed), and
    the mean signature score at the last layer against `reference`, on the prompt of
    the last defined position."""
    cfg = model.config
    bound = output_bound(model)
    out = {}
    for setting in settings:
        prompts = battery_prompts(setting, n_prompts, cfg.n_points, cfg.n_dims, seed)
        errors = battery_errors(model, prompts, ("transformer",))
        last = prompts.defined - 1
        targets = prompts.query_ys[:, last].double()
        # each prompt's unit of normalised error: its context's spread of y
        unit = prompts.ys[:, :last].double().var(dim=1).numpy() / cfg.n_dims
        sample = spectral_sample(model, last_defined_prompt(prompts))
        known = (
            baselines[setting]
            if baselines is not None
            else battery_errors(None, prompts, BASELINES)
        )
        every = {"transformer": errors["transformer"], **known}
        out[setting] = {
            **every,
            "normalised": {
                m: float(np.median(e[:, last] / unit)) for m, e in every.items()
            },
            "signature_score": float(
                signature_score(sample.top_vectors, reference)[-1].mean()
            ),
            "defined": prompts.defined,
            "share_beyond_bound": float((targets.abs() > bound).double().mean()),
            **example_statistics(prompts),
        }
    return out


def battery_record(outcome: dict[str, dict]) -> dict[str, dict]:
    """The JSON form of a `battery_run`: per setting, each method's mean and median
    error at every position, with the setting's measured properties."""
    return {
        name: {
            **{
                method: {
                    "mean": o[method].mean(axis=0).tolist(),
                    "median": np.median(o[method], axis=0).tolist(),
                }
                for method in ("transformer", *BASELINES)
            },
            **{
                key: o[key]
                for key in (
                    "defined",
                    "signature_score",
                    "mean_shift",
                    "rms",
                    "rank",
                    "normalised",
                    "share_beyond_bound",
                )
            },
        }
        for name, o in outcome.items()
    }


def last_defined(entry: dict, defined: int) -> float:
    """A method's median error at the last position at which its setting is defined."""
    return entry["median"][int(defined) - 1]


def battery_table(settings: dict) -> dict[str, dict[str, float]]:
    """setting -> the transformer's and OLS's median error at the last defined query,
    the transformer's relative to its in-distribution error (`ratio`), the same in
    normalised error (each prompt's error ÷ its context's spread of y,
    `normalised_ratio`, where recorded) and in error in excess of OLS's
    (`excess_ratio`), and the signature score."""
    rows = {
        name: {
            "transformer": last_defined(s["transformer"], s["defined"]),
            "ols": last_defined(s["ols"], s["defined"]),
            "signature_score": s["signature_score"],
            "normalised": s.get("normalised"),
        }
        for name, s in settings.items()
    }
    base = rows["standard"]

    def excess(row):
        return row["transformer"] - row["ols"]

    out = {}
    for name, row in rows.items():
        out[name] = {
            **row,
            "ratio": row["transformer"] / base["transformer"],
            "excess_ratio": excess(row) / excess(base),
        }
        if row["normalised"] is not None:
            out[name]["normalised_ratio"] = (
                row["normalised"]["transformer"] / base["normalised"]["transformer"]
            )
    return out


def battery_measures(settings: dict) -> tuple[float, float]:
    """From one seed's `battery_record` of every setting: the worst growth of the
    transformer's error over Garg et al.'s settings (against the larger of its
    in-distribution error and OLS's in the setting), and the Spearman coefficient of
    the settings' signature score with low error."""
    table = battery_table(settings)
    base = table["standard"]["transformer"]
    worst = max(
        table[s]["transformer"] / max(base, table[s]["ols"])
        for s in SETTINGS
        if s != "standard"
    )
    rho = stats.spearmanr(
        [row["signature_score"] for row in table.values()],
        [-row["transformer"] for row in table.values()],
    ).statistic
    return float(worst), float(rho)


# the setting whose queries lie outside the span of the examples: the context says
# nothing about their targets, so least squares, which predicts 0 there, does no better
# than the predictors that ignore x, and neither can any predictor
UNINFORMATIVE = ("orthogonal_train_test",)


def beats_trivial(settings: dict, names, normalised: bool = False) -> float | None:
    """The share of the settings `names` in which the transformer's median error at
    the last defined query (or its normalised error) is below both predictors that
    ignore x, the `UNINFORMATIVE` setting left out; None where the record predates
    them or no setting of `names` counts."""
    if "context_mean" not in settings["standard"]:
        return None

    def error(name: str, method: str) -> float:
        s = settings[name]
        if normalised:
            return s["normalised"][method]
        return last_defined(s[method], s["defined"])

    def trivial(name: str) -> float:
        return min(error(name, "context_mean"), error(name, "zero"))

    counted = [n for n in names if n not in UNINFORMATIVE]
    if not counted:
        return None
    return float(np.mean([error(n, "transformer") < trivial(n) for n in counted]))


def battery_checks(settings: dict, bound_share: float) -> dict[str, float | None]:
    """Findings B and C re-measured: the worst growth over Garg et al.'s settings whose
    targets lie beyond the model's output bound for at most `bound_share` of prompts,
    the worst growth and the Spearman coefficient in normalised error (each prompt's
    error ÷ its context's spread of y). None where the record predates these
    measurements."""
    if "normalised" not in settings["standard"]:
        return dict.fromkeys(
            (
                "worst_in_bound",
                "worst_normalised",
                "spearman_normalised",
                "beats_trivial_in_bound",
                "beats_trivial_normalised",
            )
        )
    table = battery_table(settings)
    base = table["standard"]

    def growth(name):
        row = table[name]
        return row["transformer"] / max(base["transformer"], row["ols"])

    def normalised_growth(name):
        row, base_row = settings[name]["normalised"], base["normalised"]
        return row["transformer"] / max(base_row["transformer"], row["ols"])

    garg = [s for s in SETTINGS if s != "standard"]
    reachable = [s for s in garg if settings[s]["share_beyond_bound"] <= bound_share]
    return {
        "beats_trivial_in_bound": beats_trivial(settings, reachable),
        "beats_trivial_normalised": beats_trivial(settings, garg, normalised=True),
        "worst_in_bound": max(map(growth, reachable)) if reachable else None,
        "worst_normalised": max(map(normalised_growth, garg)),
        "spearman_normalised": float(
            stats.spearmanr(
                [row["signature_score"] for row in table.values()],
                [-row["normalised"]["transformer"] for row in table.values()],
            ).statistic
        ),
    }


# garg_battery.json ------------------------------------------------------------------


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
    write_chapter_file(results, preset, "garg_battery", runs, values, **settings)


def garg_battery_quantities(battery: dict, bound_share: float) -> dict[str, Any]:
    every = {**battery["settings"], **battery["paper_shifts"]}
    worst, rho = battery_measures(every)
    checks = battery_checks(every, bound_share)
    garg = [s for s in SETTINGS if s != "standard"]
    return {
        "battery_worst_ratio": worst,
        "battery_beats_trivial": beats_trivial(every, garg),
        "battery_spearman": rho,
        **{f"battery_{k}": v for k, v in checks.items()},
    }
