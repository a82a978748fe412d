"""Train several configurations as independent jobs, several at a time.

Each job is `python -m icl_core train …` in its own process; the checkpoint cache makes
finished jobs free, so an interrupted sweep is simply run again. On a CPU, small models
train faster as several one-thread processes side by side than one after another with
every core each (`make bench` measures it), so a CPU gets one job per core; a GPU gets
one job at a time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from itertools import product

import torch

from .config import check
from .presets import PRETRAINING, get_preset


def sweep_jobs(
    preset: str, pretraining: list[str], seeds: list[int], out: str
) -> list[list[str]]:
    get_preset(preset)
    for name in pretraining:
        check(
            name in PRETRAINING, "pretraining", name, f"one of {', '.join(PRETRAINING)}"
        )
    return [
        [
            sys.executable,
            "-m",
            "icl_core",
            "train",
            "--preset",
            preset,
            "--pretraining",
            name,
            "--seed",
            str(seed),
            "--out",
            out,
        ]
        for name, seed in product(pretraining, seeds)
    ]


def default_devices() -> list[str]:
    return [f"cuda:{i}" for i in range(torch.cuda.device_count())] or ["cpu"]


def run_sweep(
    jobs: list[list[str]], devices: list[str] | None = None, cpu_jobs: int | None = None
) -> list[int]:
    """Run `jobs`, one at a time per GPU and `cpu_jobs` at a time (default: one per
    core) on the CPU, the cores split evenly between them; return the exit codes in
    job order."""
    devices = devices or default_devices()
    cores = os.cpu_count() or 1
    cpu_jobs = cpu_jobs or cores
    check(
        isinstance(cpu_jobs, int) and cpu_jobs > 0,
        "cpu_jobs",
        cpu_jobs,
        "a positive integer",
    )
    slots = [
        (d, k)
        for d in dict.fromkeys(devices)
        for k in range(cpu_jobs if d == "cpu" else 1)
    ]
    threads = str(max(1, cores // min(cpu_jobs, max(len(jobs), 1))))
    pending, running, codes = list(enumerate(jobs)), {}, [0] * len(jobs)
    while pending or running:
        for slot in [s for s in slots if s not in running and pending]:
            index, job = pending.pop(0)
            env = (
                {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
                if slot[0] == "cpu"
                else None
            )
            running[slot] = (
                index,
                subprocess.Popen(job + ["--device", slot[0]], env=env),
            )
        for slot, (index, proc) in list(running.items()):
            if proc.poll() is not None:
                codes[index] = proc.returncode
                del running[slot]
        time.sleep(0.2)
    return codes
