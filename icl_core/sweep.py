"""Train several configurations as independent jobs, one at a time per available device.

Each job is `python -m icl_core train …` in its own process; the checkpoint cache makes finished jobs
free, so an interrupted sweep is simply run again.
"""
from __future__ import annotations

import subprocess
import sys
import time
from itertools import product

import torch

from .config import check
from .presets import PRETRAINING, get_preset


def sweep_jobs(preset: str, pretraining: list[str], seeds: list[int], out: str) -> list[list[str]]:
    get_preset(preset)
    for name in pretraining:
        check(name in PRETRAINING, "pretraining", name, f"one of {', '.join(PRETRAINING)}")
    return [[sys.executable, "-m", "icl_core", "train", "--preset", preset, "--pretraining", name,
             "--seed", str(seed), "--out", out] for name, seed in product(pretraining, seeds)]


def run_sweep(jobs: list[list[str]], devices: list[str] | None = None) -> list[int]:
    """Run `jobs` with at most one per device at a time; return their exit codes in order."""
    if devices is None:
        devices = [f"cuda:{i}" for i in range(torch.cuda.device_count())] or ["cpu"]
    pending, running, codes = list(enumerate(jobs)), {}, [0] * len(jobs)
    while pending or running:
        for device in [d for d in devices if d not in running and pending]:
            index, job = pending.pop(0)
            running[device] = (index, subprocess.Popen(job + ["--device", device]))
        for device, (index, proc) in list(running.items()):
            if proc.poll() is not None:
                codes[index] = proc.returncode
                del running[device]
        time.sleep(0.2)
    return codes
