"""The trained models a chapter analyses: found in the checkpoint cache under
`results/<preset>/`, or trained there first."""

from __future__ import annotations

from pathlib import Path

from ..core.presets import run_config
from ..core.sweep import default_devices, train_all
from ..core.train import TrainedModel, resolve_device, run_dir, train


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
    configs = {
        name: [run_config(preset, name, s) for s in values]
        for name, values in seeds.items()
    }
    missing = [
        config
        for group in configs.values()
        for config in group
        if not (run_dir(config, root) / "model.pt").exists()
    ]
    if len(missing) > 1:
        devices = (
            default_devices() if device == "auto" else [str(resolve_device(device))]
        )
        train_all(missing, root, devices)
    runs = {
        name: [train(c, root, device=device, progress=False) for c in group]
        for name, group in configs.items()
    }
    for run in (run for group in runs.values() for run in group):
        run.model.to(resolve_device(device))  # where the chapter evaluates it
    return runs


def trained_seeds(
    preset: str,
    results: str | Path,
    device: str,
    seeds: list[int],
    pretraining: str = "standard",
) -> list[TrainedModel]:
    """The models of one pretraining distribution, one per training seed."""
    return trained_models(preset, results, device, {pretraining: seeds})[pretraining]
