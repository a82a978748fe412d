"""The trained models a chapter analyses: found in the published checkpoints under
`results/<preset>/` or in the run's own folder, or trained there first when that fits
the run's training budget."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..analysis.evaluation import in_distribution_error
from ..core import checkpoint
from ..core.config import ExperimentConfig
from ..core.presets import run_config
from ..core.train import (
    TrainedModel,
    default_devices,
    resolve_device,
    run_dir,
    seconds_per_step,
    train,
    train_all,
)
from ..verdicts.claims import Thresholds

FREE = ", no final LayerNorm"  # how the chapters label models trained without it


class TrainingRefused(ValueError):
    """Missing models whose training would take longer than the run allows."""


class Wanted(NamedTuple):
    """A model a chapter asks for: the command line's terms and the config they make."""

    preset: str
    pretraining: str
    seed: int
    final_layernorm: bool
    config: ExperimentConfig


def trained_models(
    preset: str,
    results: str | Path,
    device: str = "auto",
    seeds: dict[str, list[int]] | None = None,
    run_folder: str | Path | None = None,
    training_budget: float = math.inf,
    without_final_layernorm: dict[str, list[int]] | None = None,
) -> dict[str, list[TrainedModel]]:
    """Every model of `seeds` ({pretraining distribution: training seeds}) and of
    `without_final_layernorm` (the same, for models trained without the final
    LayerNorm, keyed `<distribution>, no final LayerNorm`).

    Each is read from `results/<preset>/`, else from `run_folder/<preset>/` (default:
    `results`). Models in neither are trained into `run_folder/<preset>/` when their
    estimated time here is at most `training_budget` minutes, as one concurrent run (one
    one-thread job per core on a CPU, which `make bench` measures faster than one job
    at a time); above it they are a `TrainingRefused` error naming them, the estimate
    and the command that trains them."""
    seeds = {"standard": [0]} if seeds is None else seeds
    published = Path(results) / preset
    own = Path(run_folder if run_folder is not None else results) / preset
    plans = [(name, values, True) for name, values in seeds.items()]
    plans += [(name, v, False) for name, v in (without_final_layernorm or {}).items()]
    wanted = {
        name + ("" if final else FREE): [
            Wanted(preset, name, s, final, run_config(preset, name, s, final))
            for s in values
        ]
        for name, values, final in plans
    }

    def home(config: ExperimentConfig) -> Path:
        held = [
            r for r in (published, own) if (run_dir(config, r) / "model.pt").exists()
        ]
        return held[0] if held else own

    missing = [
        w
        for group in wanted.values()
        for w in group
        if not (run_dir(w.config, home(w.config)) / "model.pt").exists()
    ]
    if missing:
        minutes, basis = estimated_minutes(missing, [published, own], device)
        if minutes > training_budget:
            raise TrainingRefused(
                refusal(missing, basis, training_budget, own, published)
            )
        print(
            f"icl_core: training {_listing(missing)} into {own}; {basis}.",
            file=sys.stderr,
            flush=True,
        )
    if len(missing) > 1:
        devices = (
            default_devices() if device == "auto" else [str(resolve_device(device))]
        )
        train_all([w.config for w in missing], own, devices)
    runs = {
        name: [train(w.config, home(w.config), device=device) for w in group]
        for name, group in wanted.items()
    }
    for run in (run for group in runs.values() for run in group):
        run.model.to(resolve_device(device))  # where the chapter evaluates it
    return runs


def estimated_minutes(
    missing: list[Wanted], roots: list[Path], device: str
) -> tuple[float, str]:
    """How long training `missing` would take on `device`, as many at a time as
    `train_all` runs there (one per GPU, one per core on a CPU), and what the estimate
    rests on: the wall times recorded in finished runs of the same architecture and
    step count under `roots` that trained on the same kind of device, else one step
    timed now at the largest prompts (an upper bound) times the step count."""
    first = missing[0].config
    devices = default_devices() if device == "auto" else [str(resolve_device(device))]
    on_cpu = devices[0] == "cpu"
    slots = (os.cpu_count() or 1) if on_cpu else len(set(devices))
    paths = sorted({p for root in roots for p in root.glob("*/model.pt")})
    seconds = [
        payload["seconds"]
        for payload in map(checkpoint.read, paths)
        if (config := ExperimentConfig.from_dict(payload["config"])).model
        == first.model
        and config.train.steps == first.train.steps
        and payload.get("device", "").startswith("cpu") == on_cpu
    ]
    if seconds:
        each = float(np.mean(seconds))
        basis = f"finished runs of this architecture took {_duration(each)} each"
        basis += f" ({len(seconds)} runs, as their checkpoints record)"
    else:
        each = seconds_per_step(first, devices[0]) * first.train.steps
        basis = f"one step timed now at the largest prompts, times the {first.train.steps:,}"
        basis += f" steps, gives about {_duration(each)} each"
    total = math.ceil(len(missing) / slots) * each / 60
    where = f"up to {slots} at a time" if slots > 1 else "one at a time"
    return total, f"{basis}, so about {_duration(60 * total)} ({where} on {devices[0]})"


def refusal(
    missing: list[Wanted], basis: str, budget: float, folder: Path, published: Path
) -> str:
    """The error a run gets instead of a long training: what is missing, how long it
    would take, and the command that trains it (runnable from the chapter's folder)."""
    python = os.path.relpath(sys.executable)
    commands = []
    for kind in dict.fromkeys((w.pretraining, w.final_layernorm) for w in missing):
        seeds = " ".join(
            str(w.seed) for w in missing if (w.pretraining, w.final_layernorm) == kind
        )
        commands.append(
            f"{python} -m icl_core train-many --preset {missing[0].preset} "
            f"--pretraining {kind[0]} --seeds {seeds} --out {folder}"
            + ("" if kind[1] else " --no-final-layernorm")
        )
    return (
        f"not training {_listing(missing)}: {basis}, above "
        f"training_budget={budget:g} minutes. Train them first with\n    "
        + " && \\\n    ".join(commands)
        + "\nor raise -p training_budget, or choose training seeds whose checkpoints "
        f"exist (those in {published})."
    )


def _listing(missing: list[Wanted]) -> str:
    runs = ", ".join(f"{w.config.name} (seed {w.seed})" for w in missing)
    steps = "/".join(f"{s:,}" for s in sorted({w.config.train.steps for w in missing}))
    return f"{len(missing)} missing model(s), {runs}, {steps} steps each"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:,.0f} h"


def trained_seeds(
    preset: str,
    results: str | Path,
    device: str,
    seeds: list[int],
    run_folder: str | Path | None = None,
    training_budget: float = math.inf,
    pretraining: str = "standard",
    final_layernorm: bool = True,
) -> list[TrainedModel]:
    """The models of one pretraining distribution, one per training seed (without the
    final LayerNorm when `final_layernorm` is False), as `trained_models` finds them."""
    plan = {pretraining: seeds}
    where = (run_folder, training_budget)
    if final_layernorm:
        return trained_models(preset, results, device, plan, *where)[pretraining]
    (runs,) = trained_models(preset, results, device, {}, *where, plan).values()
    return runs


def set_aside(
    runs: list[TrainedModel], match_error: float = Thresholds().match_error
) -> dict[str, float]:
    """The in-distribution error (`evaluation.in_distribution_error`) of each of
    `runs` whose model did not learn the task, keyed by its training seed as JSON
    keys: a model whose median error at the last query is at least `match_error` has
    not learned what the chapters study."""
    errors = {
        r.config.train.seed: in_distribution_error(r.model, r.config.task) for r in runs
    }
    return {str(s): e for s, e in errors.items() if e >= match_error}


def learned_seeds(
    preset: str,
    results: str | Path,
    device: str,
    seeds: list[int],
    run_folder: str | Path | None = None,
    training_budget: float = math.inf,
    match_error: float = Thresholds().match_error,
) -> tuple[list[int], dict[str, float]]:
    """The standard model's training `seeds` whose model learned the task, and the
    others' in-distribution errors (`set_aside`): the chapters analyse the first and
    report the second apart, never averaging them in."""
    runs = trained_seeds(preset, results, device, seeds, run_folder, training_budget)
    unlearned = set_aside(runs, match_error)
    kept = [s for s in seeds if str(s) not in unlearned]
    if not kept:
        raise ValueError(
            f"seeds={seeds!r} is not allowed: no model among them learned the task "
            f"(in-distribution errors {unlearned}, each at least match_error="
            f"{match_error:g}); expected at least one seed whose model learned it"
        )
    return kept, unlearned
