"""Results over several training seeds: each seed's values, their mean and range, and
the JSON holding both.

A chapter computes one dict of values per trained model (same keys for every seed).
The results file keeps those dicts under `"seeds"` and, at the top level under the
same keys, their across-seed mean, so a reader of the top level sees the summary and
a reader of `"seeds"` sees the spread."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .provenance import checkpoint_record
from .storage import write_json


def seed_range(values: Sequence[float]) -> tuple[float, float, float]:
    """(mean, min, max) over seeds."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.min()), float(values.max())


def format_range(values: Sequence[float], fmt: str = ".2f") -> str:
    """'0.88 [0.85, 0.91]': the mean over seeds with the seed range; one seed prints
    alone."""
    mean, low, high = seed_range(values)
    if len(np.atleast_1d(values)) == 1:
        return format(mean, fmt)
    return f"{mean:{fmt}} [{low:{fmt}}, {high:{fmt}}]"


def mean_over_seeds(per_seed: Sequence[Any]) -> Any:
    """The across-seed mean of values with one structure: numbers and (nested) lists
    elementwise, dicts key by key; booleans become the share of seeds where they hold;
    other values must agree."""
    first = per_seed[0]
    if isinstance(first, dict):
        return {
            key: mean_over_seeds([values[key] for values in per_seed]) for key in first
        }
    try:
        return np.mean(np.asarray(per_seed, dtype=float), axis=0)
    except (TypeError, ValueError):
        if any(value != first for value in per_seed):
            raise ValueError(
                f"seeds disagree on a value that cannot be averaged: {per_seed!r}"
            )
        return first


def save_seed_results(
    path: str | Path,
    runs: Sequence,
    per_seed: Sequence[dict],
    results: str | Path,
    **shared: Any,
) -> None:
    """Write a chapter's results: the across-seed mean of `per_seed` at the top level,
    then `shared` (settings, and summary values that are not a mean, which take
    precedence), each seed's own values with its checkpoint under `"seeds"`, and the
    hash of every checkpoint used.

    `runs[i]` is seed i's trained model, or its list of models when a seed spans
    several (one per pretraining distribution)."""
    groups = [list(r) if isinstance(r, (list, tuple)) else [r] for r in runs]
    paths = [[_relative(run.path, results) for run in group] for group in groups]
    write_json(
        path,
        {
            **mean_over_seeds(per_seed),
            **shared,
            "checkpoint": paths[0][0],
            "checkpoints": checkpoint_record(
                [run.path for group in groups for run in group], results
            ),
            "seeds": [
                {
                    "seed": group[0].config.train.seed,
                    "checkpoint": p[0] if len(p) == 1 else p,
                    **values,
                }
                for group, p, values in zip(groups, paths, per_seed)
            ],
        },
    )


def _relative(path: str | Path, results: str | Path) -> str:
    return Path(path).resolve().relative_to(Path(results).resolve()).as_posix()
