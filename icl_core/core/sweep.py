"""Train several configurations, each in a fresh process, several at a time
(`jobs.run_side_by_side`). The checkpoint cache makes finished runs free, so an
interrupted sweep is simply run again."""

from __future__ import annotations

import multiprocessing
import os
from functools import partial
from pathlib import Path

import torch

from .config import ExperimentConfig
from .jobs import Job, run_side_by_side
from .train import train


def default_devices() -> list[str]:
    return [f"cuda:{i}" for i in range(torch.cuda.device_count())] or ["cpu"]


def _train(config: dict, root: str, device: str, threads: int) -> None:
    torch.set_num_threads(threads)
    train(ExperimentConfig.from_dict(config), root, device=device)


def train_in_fresh_process(
    config: ExperimentConfig, root: str | Path, device: str, threads: int
) -> int:
    """Train `config` under `root` in a new process using `threads` CPU threads (its
    own torch, so runs side by side do not share a thread pool); its exit code."""
    process = multiprocessing.get_context("spawn").Process(
        target=_train, args=(config.to_dict(), str(root), device, threads)
    )
    process.start()
    process.join()
    return process.exitcode


def train_all(
    configs: list[ExperimentConfig],
    root: str | Path,
    devices: list[str] | None = None,
    cpu_jobs: int | None = None,
) -> None:
    """Train every config under `root`: one at a time per GPU and `cpu_jobs` at a time
    (default: one per core) on the CPU. Raise naming the runs that failed."""
    devices = devices or default_devices()
    per_cpu = cpu_jobs or os.cpu_count() or 1
    slots = [
        d for d in dict.fromkeys(devices) for _ in range(per_cpu if d == "cpu" else 1)
    ]
    jobs = [
        Job(f"{c.name}, seed {c.train.seed}", partial(train_in_fresh_process, c, root))
        for c in configs
    ]
    codes = run_side_by_side(jobs, slots)
    failed = [name for name, code in codes.items() if code]
    if failed:
        raise RuntimeError(f"training failed for: {'; '.join(failed)}")
