"""The trained models a chapter analyses: found in the checkpoint cache under
`results/<preset>/`, or trained there first."""

from __future__ import annotations

from pathlib import Path

from ..core.presets import pretraining_config
from ..core.sweep import default_devices, run_sweep, sweep_jobs
from ..core.train import TrainedModel, resolve_device, run_dir, train


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
    runs = {
        name: [
            train(seeded_config(preset, name, s), root, device=device, progress=False)
            for s in values
        ]
        for name, values in seeds.items()
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
