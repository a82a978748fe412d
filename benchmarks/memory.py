"""Peak memory that training icl_core's model needs, measured in a fresh process so that
nothing else the benchmark has allocated counts towards it."""

from __future__ import annotations

import multiprocessing
import re
from pathlib import Path

import torch
from steps import full_prompt_batches, make_step

from icl_core import InContextRegressor, get_preset
from icl_core.core.train import make_optimizer


def step_memory_in_fresh_process(preset: str, device: torch.device) -> int:
    """`step_memory`, run in a spawned process so that its peak is this step's."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(step_memory, (preset, str(device)))


def step_memory(preset: str, device_name: str) -> int:
    """Peak bytes that training icl_core's model at the preset's full prompt length
    adds to a process.

    CUDA's allocator statistics on a GPU; on a CPU the growth of this fresh
    process's peak resident set."""
    device = torch.device(device_name)
    config = get_preset(preset)
    before = peak_resident_bytes()
    model = InContextRegressor(config.model).to(device)
    _, batches = full_prompt_batches(config, device, 1)
    step = make_step(
        model,
        make_optimizer(model, 1e-4),
        batches,
        device,
        autocast=device.type == "cuda",
    )
    for i in range(2):  # the second step holds Adam's state as well
        step(i)
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device)
    return peak_resident_bytes() - before


def peak_resident_bytes() -> int:
    """This process's peak resident set (Linux's VmHWM, which unlike ru_maxrss starts
    afresh at exec)."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024
