"""Whether two CPU training runs go faster side by side than one after the other: the
choice `icl_core.core.train.train_all` makes on a CPU, measured on whole training runs."""

from __future__ import annotations

import multiprocessing
import os
import statistics
import tempfile
import time

import torch

from icl_core import ExperimentConfig, get_preset, train
from icl_core.core.curriculum import stage_starts


def train_in_fresh_process(config_dict: dict, out: str, threads: int) -> float:
    """Seconds to train a config from scratch with `threads` threads (run in a spawned
    process)."""
    torch.set_num_threads(threads)
    start = time.perf_counter()
    train(
        ExperimentConfig.from_dict(config_dict),
        out,
        device="cpu",
        resume=False,
        progress=False,
    )
    return time.perf_counter() - start


def shortened_runs(preset: str, steps: int) -> tuple[int, list[dict]]:
    """Two seeds of the preset cut to `steps` steps with every curriculum stage kept,
    and the curriculum interval that keeps them."""
    base = get_preset(preset)
    interval = max(
        1, steps // (len(stage_starts(base.curriculum, base.train.steps)) + 1)
    )
    configs = [
        base.with_changes(
            curriculum={"interval": interval}, train={"steps": steps, "seed": s}
        ).to_dict()
        for s in (101, 102)
    ]
    return interval, configs


def wall_seconds(mode: str, configs: list[dict], cores: int) -> float:
    """Seconds to train `configs` side by side with half the cores each, or one after
    the other with every core each, each in a spawned process."""
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        if mode == "side_by_side":
            with context.Pool(2) as pool:
                pool.starmap(
                    train_in_fresh_process,
                    [(c, out, max(1, cores // 2)) for c in configs],
                )
        else:
            for config in configs:
                with context.Pool(1) as pool:
                    pool.apply(train_in_fresh_process, (config, out, cores))
        return time.perf_counter() - start


def concurrent_training(preset: str, steps: int, repeats: int) -> dict:
    """Two training runs side by side with one thread each against the same two one
    after the other with every core each: the choice `icl_core.core.train.train_all` makes on a
    CPU. The runs pass through the preset's whole curriculum, shortened to `steps`
    steps; wall time includes starting each process."""
    cores = os.cpu_count() or 1
    interval, configs = shortened_runs(preset, steps)
    seconds = {"one_after_the_other": [], "side_by_side": []}
    for repeat in range(repeats):
        order = (
            ("one_after_the_other", "side_by_side")
            if repeat % 2 == 0
            else ("side_by_side", "one_after_the_other")
        )
        for mode in order:
            seconds[mode].append(wall_seconds(mode, configs, cores))
    medians = {mode: statistics.median(v) for mode, v in seconds.items()}
    speedup = medians["one_after_the_other"] / medians["side_by_side"]
    print(
        f"{preset:6s}   two training runs side by side: {speedup:.2f}x faster than one "
        f"after the other ({medians['side_by_side']:.1f} s against "
        f"{medians['one_after_the_other']:.1f} s, {cores} cores)"
    )
    return {
        "preset": preset,
        "steps": steps,
        "curriculum_interval": interval,
        "cores": cores,
        "seconds": seconds,
        "median_seconds": medians,
        "speedup": speedup,
    }
