"""What the chapters call: parameter checks, cached models, shift sweeps and residual
streams.

Each function does one experiment step so that a chapter reads as prose, parameters and
figures."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .config import check
from .evaluation import errors, eval_prompts, predict
from .metrics import normalized_squared_error
from .presets import PRESETS, PRETRAINING, pretraining_config
from .samplers import SHIFT_FAMILIES, Prompts, shifted
from .spectral import prompt_svd, reference_directions, signature_score
from .sweep import default_devices, run_sweep, sweep_jobs
from .train import TrainedModel, resolve_device, run_dir, train


def _positive_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def _seed_list(v: Any) -> bool:
    return (
        isinstance(v, (list, tuple))
        and len(v) > 0
        and len(set(v)) == len(v)
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in v)
    )


def _numbers(v: Any) -> bool:
    return (
        isinstance(v, (list, tuple))
        and len(v) > 0
        and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
            for x in v
        )
    )


_SEED_LIST = (_seed_list, "a non-empty list of distinct integers >= 0, e.g. [0, 1, 2]")
_PARAMETERS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "preset": (lambda v: v in PRESETS, f"one of {', '.join(PRESETS)}"),
    "device": (
        lambda v: isinstance(v, str)
        and (v in ("auto", "cpu", "cuda") or v.startswith("cuda:")),
        "'auto', 'cpu', 'cuda' or 'cuda:N'",
    ),
    "seed": (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "an integer >= 0",
    ),
    "seeds": _SEED_LIST,
    "pretraining_seeds": _SEED_LIST,
    "seed_share": (
        lambda v: isinstance(v, (int, float))
        and not isinstance(v, bool)
        and 0 < v <= 1,
        "a number in (0, 1]",
    ),
    "results": (lambda v: isinstance(v, str) and len(v) > 0, "a folder path"),
    "n_prompts": (_positive_int, "a positive integer"),
    "n_bootstrap": (_positive_int, "a positive integer"),
    "tolerance": (lambda v: isinstance(v, (int, float)) and v > 0, "a number > 0"),
    "invariance_factor": (
        lambda v: isinstance(v, (int, float)) and v > 1,
        "a number > 1",
    ),
    "correlation": (
        lambda v: isinstance(v, (int, float)) and -1 <= v <= 1,
        "a number in [-1, 1]",
    ),
    "alignment_drop": (
        lambda v: isinstance(v, (int, float)) and 0 < v <= 1,
        "a number in (0, 1]",
    ),
    "training_range": (lambda v: isinstance(v, (int, float)) and v > 0, "a number > 0"),
    "tolerances": (
        lambda v: _numbers(v) and min(v) > 0,
        "a non-empty list of numbers > 0",
    ),
    "shifts": (_numbers, "a non-empty list of finite numbers"),
    "example_shifts": (_numbers, "a non-empty list of finite numbers"),
    "x_scales": (
        lambda v: _numbers(v) and min(v) > 0,
        "a non-empty list of numbers > 0",
    ),
    "w_means": (_numbers, "a non-empty list of finite numbers"),
    "w_scales": (
        lambda v: _numbers(v) and min(v) > 0,
        "a non-empty list of numbers > 0",
    ),
    "family": (lambda v: v in SHIFT_FAMILIES, f"one of {', '.join(SHIFT_FAMILIES)}"),
    "families": (
        lambda v: isinstance(v, (list, tuple))
        and len(v) > 0
        and set(v) <= set(SHIFT_FAMILIES),
        f"a non-empty list drawn from {', '.join(SHIFT_FAMILIES)}",
    ),
    "presets": (
        lambda v: isinstance(v, (list, tuple))
        and len(v) > 0
        and set(v) <= set(PRESETS),
        f"a non-empty list drawn from {', '.join(PRESETS)}",
    ),
    "pretraining": (
        lambda v: isinstance(v, (list, tuple))
        and len(v) > 0
        and set(v) <= set(PRETRAINING),
        f"a non-empty list drawn from {', '.join(PRETRAINING)}",
    ),
    "layer": (
        lambda v: isinstance(v, int) and not isinstance(v, bool),
        "an integer layer index (-1 = last)",
    ),
    "center": (lambda v: isinstance(v, bool), "True or False"),
    "other_family": (
        lambda v: v in SHIFT_FAMILIES,
        f"one of {', '.join(SHIFT_FAMILIES)}",
    ),
    "other_shifts": (_numbers, "a non-empty list of finite numbers"),
    "heatmap_prompts": (_positive_int, "a positive integer"),
    "heatmap_shift": (lambda v: _numbers([v]), "a finite number"),
    "reference_prompts": (_positive_int, "a positive integer"),
    "gd_steps": (_positive_int, "a positive integer"),
}


def listed(value: Any) -> Any:
    """A list parameter as given on papermill's command line (`-p seeds "[0, 1]"`
    arrives as a string)."""
    if isinstance(value, str) and value.strip().startswith("["):
        import json

        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value  # left for check_parameters to name
    return value


def check_parameters(**parameters: Any) -> None:
    """Stop a chapter early on a bad papermill parameter, naming it and what is
    allowed."""
    for name, value in parameters.items():
        check(
            name in _PARAMETERS, "parameter", name, f"one of {', '.join(_PARAMETERS)}"
        )
        ok, allowed = _PARAMETERS[name]
        check(ok(value), name, value, allowed)


def seeded_config(preset: str, pretraining: str, seed: int):
    """The preset's run for a pretraining distribution and training seed (initial
    weights and data)."""
    config = pretraining_config(preset, pretraining)
    return (
        config
        if seed == config.train.seed
        else config.with_changes(train={"seed": seed})
    )


def trained_models(
    preset: str,
    results: str | Path,
    device: str = "auto",
    seeds: dict[str, list[int]] | None = None,
) -> dict[str, list[TrainedModel]]:
    """Every model of `seeds` ({pretraining distribution: training seeds}), from the
    cache or trained now.

    Missing models train as a concurrent sweep (one one-thread job per core on a
    CPU, which `make bench` measures faster than one job at a time), then all are
    read from the cache."""
    seeds = seeds or {"standard": [0]}
    root = Path(results) / preset
    missing = [
        (name, s)
        for name, values in seeds.items()
        for s in values
        if not (run_dir(seeded_config(preset, name, s), root) / "model.pt").exists()
    ]
    if len(missing) > 1:
        devices = (
            default_devices() if device == "auto" else [str(resolve_device(device))]
        )
        jobs = [
            job
            for name, s in missing
            for job in sweep_jobs(preset, [name], [s], str(root))
        ]
        failed = [
            " ".join(job[4:])
            for job, code in zip(jobs, run_sweep(jobs, devices))
            if code
        ]
        if failed:
            raise RuntimeError(f"training failed for: {'; '.join(failed)}")
    return {
        name: [
            train(seeded_config(preset, name, s), root, device=device, progress=False)
            for s in values
        ]
        for name, values in seeds.items()
    }


def trained_seeds(
    preset: str,
    results: str | Path,
    device: str,
    seeds: list[int],
    pretraining: str = "standard",
) -> list[TrainedModel]:
    """The models of one pretraining distribution, one per training seed."""
    return trained_models(preset, results, device, {pretraining: seeds})[pretraining]


def on_device(model: torch.nn.Module, device: str) -> torch.nn.Module:
    return model.to(resolve_device(device))


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


def shift_sweep(
    model,
    family: str,
    values,
    n_prompts: int,
    seed: int,
    methods: tuple[str, ...] = ("transformer", "ols"),
    base=None,
) -> dict[float, dict[str, np.ndarray]]:
    """shift -> method -> normalised squared error (prompts, positions), along one shift
    family."""
    cfg = model.config
    batches = sweep_prompts(cfg, family, values, n_prompts, seed, base)
    return {c: errors(model, prompts, methods) for c, prompts in zip(values, batches)}


def at_last_query(
    sweep: dict[float, dict[str, np.ndarray]], shifts, method: str
) -> np.ndarray:
    """Errors at each prompt's last query, (shifts, prompts), for one method of a
    `shift_sweep`."""
    return np.stack([sweep[c][method][:, -1] for c in shifts])


def residual_streams(model, prompts: Prompts) -> tuple[torch.Tensor, torch.Tensor]:
    """Predictions (P, n) and residual streams (layers, P, tokens, width) of a batch of
    prompts."""
    return predict(model, prompts.xs, prompts.ys, return_hidden=True)


@dataclass
class SpectralSample:
    """What the spectral chapters need of a batch of prompts, without keeping whole
    residual streams."""

    singular_values: torch.Tensor  # (layers, prompts, k)
    # (layers, prompts, 2, width): top-2 right singular vectors
    top_vectors: torch.Tensor
    # (prompts,) the transformer's normalised squared error at the last query
    last_error: np.ndarray


def spectral_sample(model, prompts: Prompts, center: bool = False) -> SpectralSample:
    preds, hidden = residual_streams(model, prompts)
    S, Vh = prompt_svd(hidden, center)
    error = normalized_squared_error(
        preds[:, -1].double(), prompts.ys[:, -1].double(), prompts.xs.shape[-1]
    )
    return SpectralSample(S, Vh[..., :2, :].contiguous(), error.numpy())


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


def signature_reference(
    model, dist, n_prompts: int, seed: int, center: bool = False
) -> torch.Tensor:
    """The in-distribution signature (layers, 2, width), from prompts drawn apart from
    any evaluated."""
    cfg = model.config
    prompts = eval_prompts(dist, n_prompts, cfg.n_points, cfg.n_dims, seed + 1)
    return reference_directions(residual_streams(model, prompts)[1], k=2, center=center)


def mean_singular_values(
    sweep: dict[float, SpectralSample], values, index: int = 0
) -> np.ndarray:
    """Mean over prompts of the `index`-th singular value: (layers, shifts)."""
    return torch.stack(
        [sweep[c].singular_values[..., index].mean(dim=1) for c in values], dim=1
    ).numpy()


def mean_signature(
    sweep: dict[float, SpectralSample], values, reference: torch.Tensor
) -> np.ndarray:
    """Mean signature score over prompts: (layers, shifts)."""
    return torch.stack(
        [signature_score(sweep[c].top_vectors, reference).mean(dim=1) for c in values],
        dim=1,
    ).numpy()


def pooled_signature(
    sweeps: list[dict[float, SpectralSample]], reference: torch.Tensor
):
    """Signature scores (layers, prompts), errors (prompts,) and sweep index (prompts,)
    of pooled sweeps."""
    samples = [(i, s) for i, sweep in enumerate(sweeps) for s in sweep.values()]
    score = torch.cat(
        [signature_score(s.top_vectors, reference) for _, s in samples], dim=1
    ).numpy()
    error = np.concatenate([s.last_error for _, s in samples])
    group = np.concatenate([np.full(len(s.last_error), i) for i, s in samples])
    return score, error, group


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
            errors(on_device(run.model, device), prompts, ("transformer",))[
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
