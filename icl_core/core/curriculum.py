"""Garg et al.'s curriculum as a pure function of the step, so a resumed run needs no
extra state."""

from __future__ import annotations

from .config import CurriculumConfig


def _grown(start: int, inc: int, end: int, step: int, interval: int) -> int:
    return min(start + inc * (step // interval), end)


def curriculum_at(cfg: CurriculumConfig, step: int) -> tuple[int, int]:
    """(active dimensions, points per prompt) at training step `step` (counted from 0)."""
    return (
        _grown(cfg.dims_start, cfg.dims_inc, cfg.dims_end, step, cfg.interval),
        _grown(cfg.points_start, cfg.points_inc, cfg.points_end, step, cfg.interval),
    )


def stage_starts(cfg: CurriculumConfig, steps: int) -> list[int]:
    """The steps at which the curriculum changes, for marking stages on loss curves."""
    return [
        s
        for s in range(cfg.interval, steps, cfg.interval)
        if curriculum_at(cfg, s) != curriculum_at(cfg, s - 1)
    ]
