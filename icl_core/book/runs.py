"""The trained models a chapter analyses: found in the checkpoint cache under
`results/<preset>/`, or trained there first."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np

from ..core import checkpoint
from ..core.config import ExperimentConfig
from ..core.presets import run_config
from ..core.sweep import default_devices, train_all
from ..core.train import TrainedModel, resolve_device, run_dir, train

FREE = ", no final LayerNorm"  # the key suffix of models trained without it


def trained_models(
    preset: str,
    results: str | Path,
    device: str = "auto",
    seeds: dict[str, list[int]] | None = None,
    train_missing: bool = True,
    without_final_layernorm: dict[str, list[int]] | None = None,
) -> dict[str, list[TrainedModel]]:
    """Every model of `seeds` ({pretraining distribution: training seeds}) and of
    `without_final_layernorm` (the same, for models trained without the final
    LayerNorm, keyed `<distribution>, no final LayerNorm`), from the cache or trained
    now.

    Missing models train as one concurrent sweep (one one-thread job per core on a
    CPU, which `make bench` measures faster than one job at a time), then all are
    read from the cache. With `train_missing` False, missing models are an error that
    names them instead."""
    seeds = {"standard": [0]} if seeds is None else seeds
    root = Path(results) / preset
    configs = {
        name: [run_config(preset, name, s) for s in values]
        for name, values in seeds.items()
    }
    configs |= {
        name + FREE: [
            run_config(preset, name, s, final_layernorm=False) for s in values
        ]
        for name, values in (without_final_layernorm or {}).items()
    }
    missing = [
        config
        for group in configs.values()
        for config in group
        if not (run_dir(config, root) / "model.pt").exists()
    ]
    if missing and not train_missing:
        names = ", ".join(str(run_dir(c, root)) for c in missing)
        raise ValueError(
            f"train_missing=False and these checkpoints are missing: {names}; expected "
            "training seeds whose checkpoints exist, or train_missing=True to train them"
        )
    if missing:
        print(training_notice(missing, root), file=sys.stderr, flush=True)
    if len(missing) > 1:
        devices = (
            default_devices() if device == "auto" else [str(resolve_device(device))]
        )
        train_all(missing, root, devices)
    runs = {
        name: [train(c, root, device=device) for c in group]
        for name, group in configs.items()
    }
    for run in (run for group in runs.values() for run in group):
        run.model.to(resolve_device(device))  # where the chapter evaluates it
    return runs


def training_notice(missing: list[ExperimentConfig], root: Path) -> str:
    """Said before a chapter trains, where papermill shows it: which runs, their steps,
    the time finished runs of the same model took on this machine, and how to avoid
    training (a chapter that trains for an hour should not look like one that hangs)."""
    runs = ", ".join(f"{c.name} (seed {c.train.seed})" for c in missing)
    steps = "/".join(f"{s:,}" for s in sorted({c.train.steps for c in missing}))
    first = missing[0]
    payloads = map(checkpoint.read, sorted(Path(root).glob("*/model.pt")))
    seconds = [
        payload["seconds"]
        for payload in payloads
        if (config := ExperimentConfig.from_dict(payload["config"])).model
        == first.model
        and config.train.steps == first.train.steps
    ]
    if seconds:
        rounds = math.ceil(len(missing) / (os.cpu_count() or 1))
        each, total = np.mean(seconds), rounds * np.mean(seconds)
        estimate = (
            f"finished runs of this model took {_duration(each)} each here "
            f"({len(seconds)} runs), so about {_duration(total)} side by side"
        )
    else:
        estimate = "no finished run of this model here to estimate the time from"
    return (
        f"icl_core: training {len(missing)} model(s) missing from {root}: {runs}; "
        f"{steps} steps each; {estimate}. To avoid it, choose training seeds whose "
        f'checkpoints exist (the models in {root}, e.g. -p seeds "[0]").'
    )


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def trained_seeds(
    preset: str,
    results: str | Path,
    device: str,
    seeds: list[int],
    pretraining: str = "standard",
    train_missing: bool = True,
    final_layernorm: bool = True,
) -> list[TrainedModel]:
    """The models of one pretraining distribution, one per training seed (without the
    final LayerNorm when `final_layernorm` is False)."""
    plan = {pretraining: seeds}
    if final_layernorm:
        return trained_models(preset, results, device, plan, train_missing)[pretraining]
    runs = trained_models(preset, results, device, {}, train_missing, plan)
    return runs[pretraining + FREE]
