"""What removes the failure: models that differ from the standard one only in their
pretraining prior or only in their architecture, each measured on the same prompts as
the standard and the coverage model, every way of moving x by a size c, and Garg et
al.'s battery, beside least squares and the predictors that ignore x."""

from __future__ import annotations

import numpy as np
import torch

from ..core.config import check
from ..core.presets import ARCHITECTURES
from ..core.results import checkpoint_record
from ..core.samplers import Prompts
from ..core.storage import write_json
from ..core.train import TrainedModel, resolve_device
from .algorithm import KINDS, contexts
from .battery import PAPER_SHIFTS, SETTINGS, battery_errors, battery_prompts
from .evaluation import errors, in_distribution_error

PRIORS = ("x_scale_spread", "x_point_offsets", "intercept")
VARIANTS = (*PRIORS, *ARCHITECTURES)
# the models every variant is set beside: the standard model and the coverage model
REFERENCES = ("standard", "x_mean_spread")
BASELINES = ("ols", "context_mean", "zero")
BATTERY = (*SETTINGS, *PAPER_SHIFTS)


def moved_prompts(
    kind: str, c: float, n_prompts: int, n_points: int, n_dims: int, seed: int
) -> Prompts:
    """Whole prompts whose x are moved by `kind` (`algorithm.KINDS`) at size c, the
    last point the query; the same underlying draws for every kind and c."""
    ctx = contexts(n_prompts, n_points - 1, n_dims, 1, seed, kind, c)
    xs = torch.cat((ctx.xs, ctx.queries), dim=1)
    return Prompts(xs, torch.cat((ctx.ys, ctx.targets), dim=1), ctx.ws)


def last_query_medians(model, prompts: Prompts, methods) -> dict[str, float]:
    """Each method's median normalised squared error at the last query."""
    return {
        m: float(np.median(e[:, -1]))
        for m, e in errors(model, prompts, methods).items()
    }


def measure(
    runs: dict[str, list[TrainedModel]],
    device: str,
    sizes,
    n_prompts: int,
    seed: int,
    battery_prompt_count: int,
) -> dict:
    """Every model's median error at the last query, per training seed: on prompts of
    its own pretraining distribution, for each kind of move and size c, and at the last
    defined position of every battery setting; the baselines' on the same prompts."""
    cfg = next(iter(runs.values()))[0].config.model
    moved = {
        kind: [
            moved_prompts(kind, c, n_prompts, cfg.n_points, cfg.n_dims, seed)
            for c in sizes
        ]
        for kind in KINDS
    }
    battery = {
        s: battery_prompts(s, battery_prompt_count, cfg.n_points, cfg.n_dims, seed)
        for s in BATTERY
    }

    def battery_medians(model, methods) -> dict[str, dict[str, float]]:
        out = {}
        for setting, prompts in battery.items():
            errs = battery_errors(model, prompts, methods)
            last = prompts.defined - 1
            out[setting] = {m: float(np.median(e[:, last])) for m, e in errs.items()}
        return out

    def model_record(run: TrainedModel) -> dict:
        model = run.model.to(resolve_device(device))
        shifted = {
            kind: [
                last_query_medians(model, p, ("transformer",))["transformer"]
                for p in batches
            ]
            for kind, batches in moved.items()
        }
        on_battery = battery_medians(model, ("transformer",))
        return {
            "own_prior_error": in_distribution_error(model, run.config.task),
            "median_error": shifted,
            "battery": {s: v["transformer"] for s, v in on_battery.items()},
        }

    baselines = {
        kind: [last_query_medians(None, p, BASELINES) for p in batches]
        for kind, batches in moved.items()
    }
    return {
        "models": {
            name: [model_record(r) for r in group] for name, group in runs.items()
        },
        "baselines": {
            kind: {m: [b[m] for b in values] for m in BASELINES}
            for kind, values in baselines.items()
        },
        "battery_baselines": battery_medians(None, BASELINES),
    }


def _per_seed(values: list) -> dict:
    """A quantity's seed mean (elementwise for lists) beside its value per seed."""
    return {"mean": np.mean(values, axis=0).tolist(), "per_seed": values}


def summary(
    measured: dict, runs: dict[str, list[TrainedModel]], sizes, removed_at, results
) -> dict:
    """Per model: its checkpoints and training seeds; per seed and as their mean, the
    in-distribution error (c = 0, last query), its ratio to the standard model's seed
    mean (`cost_ratio`), the median error per kind of move and size, the share of the
    standard model's shift-induced error removed at each size of `removed_at` (1 - the
    model's growth from c = 0 over the standard model's seed-mean growth), and the
    error on each battery setting."""
    sizes = list(sizes)
    for c in removed_at:
        check(c in sizes, "removed_at", c, f"sizes among shifts={sizes}")
    zero = sizes.index(0.0)
    records = measured["models"]
    standard = {
        kind: np.mean([r["median_error"][kind] for r in records["standard"]], axis=0)
        for kind in KINDS
    }
    out = {}
    for name, seeds in records.items():
        own = [r["median_error"]["ones"][zero] for r in seeds]
        removed = {
            kind: {
                f"{c:g}": _per_seed(
                    [
                        1
                        - (
                            r["median_error"][kind][sizes.index(c)]
                            - r["median_error"][kind][zero]
                        )
                        / (standard[kind][sizes.index(c)] - standard[kind][zero])
                        for r in seeds
                    ]
                )
                for c in removed_at
            }
            for kind in KINDS
        }
        out[name] = {
            "checkpoints": list(
                checkpoint_record([r.path for r in runs[name]], results)
            ),
            "seeds": [r.config.train.seed for r in runs[name]],
            # on prompts of its own pretraining distribution: whether it learned it
            "own_prior_error": _per_seed([r["own_prior_error"] for r in seeds]),
            "in_distribution_error": _per_seed(own),
            "cost_ratio": _per_seed((np.array(own) / standard["ones"][zero]).tolist()),
            "median_error": {
                kind: _per_seed([r["median_error"][kind] for r in seeds])
                for kind in KINDS
            },
            "removed_share": removed,
            "battery": {
                s: _per_seed([r["battery"][s] for r in seeds]) for s in BATTERY
            },
        }
    return out


def write_remedies(results, preset: str, runs, **content) -> None:
    """`results/<preset>/remedies.json`: `content` (the settings, the models'
    `summary` with their verdicts, the baselines, the rule), and the hash of every
    checkpoint used."""
    every = [r.path for group in runs.values() for r in group]
    write_json(
        f"{results}/{preset}/remedies.json",
        {**content, "checkpoints": checkpoint_record(every, results)},
    )
