"""How the benchmark measures: steps per second of training-step callables, raced
against each other, and the FLOPs of a step against the machine's measured peak."""

from __future__ import annotations

import time

import torch
from torch.utils.flop_counter import FlopCounterMode


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_peak(device: torch.device, size: int = 2048, repeats: int = 10) -> float:
    """Measured float32 matrix-multiply FLOP/s: the ceiling for achieved throughput."""
    a, b = (
        torch.randn(size, size, device=device),
        torch.randn(size, size, device=device),
    )
    for _ in range(2):
        a @ b
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def timed(step, steps: int, device) -> float:
    sync(device)
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    sync(device)
    return steps / (time.perf_counter() - start)


def race(runners: dict, steps: int, repeats: int, device) -> dict:
    """Steps per second of each runner, alternating them so that drifts in machine load
    hit all alike."""
    for run in runners.values():  # warm-up
        timed(run, max(2, steps // 5), device)
    rates = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            rates[name].append(timed(run, steps, device))
    return rates


def step_flops(model, xs, ys) -> int:
    with FlopCounterMode(display=False) as counter:
        (model(xs, ys) - ys).pow(2).mean().backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()
