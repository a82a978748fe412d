"""Results files: the layout every `results/<preset>/*.json` shares, which each analysis
module writes its own file through (`write_chapter_file`) and the verdicts read back.

A chapter computes one dict of values per training seed (the same keys for every
seed). Its file keeps those dicts under `"seeds"`, each with its training seed and
checkpoint, and at the top level under the same keys their across-seed mean, then the
chapter's settings; under `"checkpoints"` the SHA-256 of every checkpoint the numbers
came from, keyed by path relative to the results root. Readers that combine files (the
verdicts) read them through `read_results`, which refuses a file computed from a
checkpoint that has changed since, and files that disagree about which models they
summarise. Verdicts are written in one form too (`write_verdicts`)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .storage import read_json, write_json


class StaleResultsError(ValueError):
    """Results files that were not all computed from the checkpoints now on disk."""


def seed_range(values: Sequence[float]) -> tuple[float, float, float]:
    """(mean, min, max) over seeds."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.min()), float(values.max())


# a table as the chapters show it: its header and its rows of cells
Table = tuple[list[str], list[list[str]]]


def format_range(values: Sequence[float], fmt: str = ".2f") -> str:
    """'0.88 [0.85, 0.91]': the mean over seeds with the seed range; one seed prints
    alone."""
    mean, low, high = seed_range(values)
    if len(np.atleast_1d(values)) == 1:
        return format(mean, fmt)
    return f"{mean:{fmt}} [{low:{fmt}}, {high:{fmt}}]"


def mean_over_seeds(per_seed: Sequence[Any]) -> Any:
    """The across-seed mean of values with one structure: numbers and (nested) lists
    elementwise, dicts key by key (a key over the seeds that have it, None counting as
    not having it); booleans become
    the share of seeds where they hold; other values must agree."""
    per_seed = [values for values in per_seed if values is not None]
    if not per_seed:
        return None
    first = per_seed[0]
    if isinstance(first, dict):
        keys = dict.fromkeys(key for values in per_seed for key in values)
        return {
            key: mean_over_seeds([values.get(key) for values in per_seed])
            for key in keys
        }
    try:
        return np.mean(np.asarray(per_seed, dtype=float), axis=0)
    except (TypeError, ValueError):
        if any(value != first for value in per_seed):
            raise ValueError(
                f"seeds disagree on a value that cannot be averaged: {per_seed!r}"
            )
        return first


def one_seed(results: dict, index: int) -> dict:
    """A results file as if computed from its `index`-th seed alone."""
    return {**results, **results["seeds"][index]}


def content_hash(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def _relative(path: str | Path, results: str | Path) -> str:
    """`path` as seen from the results root a file is written under: inside it for a
    published file, through `..` for a rerun's file that read published models."""
    return Path(
        os.path.relpath(Path(path).resolve(), Path(results).resolve())
    ).as_posix()


def rebased(
    checkpoints: dict[str, str], read_root: str | Path, write_root: str | Path
) -> dict[str, str]:
    """A `checkpoints` record read from files under one results root, keyed for a file
    written under another (a rerun's verdicts on the published results)."""
    return {
        _relative(Path(read_root, k), write_root): v for k, v in checkpoints.items()
    }


def judged_checkpoints(
    judged: str | Path, names: Iterable[str], written: str | Path
) -> dict[str, str]:
    """The checkpoints that the results files `names` in the folder `judged` rest on
    (read through `read_results`, so refused when stale), keyed for the verdicts file
    `written`, which may lie under another results root."""
    used = checkpoints_of(read_results(judged, names))
    return rebased(used, Path(judged).parent, Path(written).parent.parent)


def checkpoint_record(
    paths: Iterable[str | Path], results: str | Path
) -> dict[str, str]:
    """The `checkpoints` entry of a results file: each path relative to `results`, with
    its hash."""
    return {_relative(p, results): content_hash(p) for p in paths}


def write_results(
    path: str | Path,
    runs: Sequence,
    per_seed: Sequence[dict],
    results: str | Path,
    **shared: Any,
) -> None:
    """Write a chapter's results: the across-seed mean of `per_seed` at the top level,
    then `shared` (settings, and summary values that are not a mean, which take the
    place of the mean under their key), each seed's own values with its checkpoint
    under `"seeds"`, and the hash of every checkpoint used.

    `runs[i]` is seed i's trained model, or its list of models when a seed spans
    several (one per pretraining distribution)."""
    groups = [list(r) if isinstance(r, (list, tuple)) else [r] for r in runs]
    paths = [[_relative(run.path, results) for run in group] for group in groups]
    write_json(
        path,
        {
            **mean_over_seeds(
                [{k: v for k, v in s.items() if k not in shared} for s in per_seed]
            ),
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


def write_chapter_file(
    results: str | Path, preset: str, name: str, runs, per_seed, **settings
) -> None:
    """`results/<preset>/<name>.json` through `write_results`."""
    path = f"{results}/{preset}/{name}.json"
    write_results(path, runs, per_seed, results, **settings)


def shift_ends(shifts: list[float], source: str) -> list[int]:
    """Indices of c = 0 and of the largest c, the two ends every shift criterion
    compares."""
    if 0 not in shifts:
        raise ValueError(
            f"shifts={shifts!r} in {source} is not allowed; expected a sweep that "
            "includes c = 0"
        )
    return [shifts.index(0), shifts.index(max(shifts))]


def read_results(
    folder: str | Path,
    names: Iterable[str],
    same_models: Iterable[str] = (),
    results: str | Path | None = None,
) -> dict[str, dict[str, Any]]:
    """Read `folder/<name>.json` for each name, checking provenance.

    Refused, naming the files: a file without a `checkpoints` record; a recorded
    checkpoint that is missing or whose content changed since (a stale file, and so two
    files can never combine two versions of one checkpoint); files among `same_models`
    that summarise different sets of checkpoints."""
    folder = Path(folder)
    results = Path(results) if results is not None else folder.parent
    loaded = {}
    for name in names:
        path = folder / f"{name}.json"
        data = read_json(path)
        if not isinstance(data.get("checkpoints"), dict):
            raise StaleResultsError(
                f"{path} records no checkpoints it was computed from; rerun its chapter"
            )
        for checkpoint, recorded in data["checkpoints"].items():
            on_disk = results / checkpoint
            if not on_disk.is_file() or content_hash(on_disk) != recorded:
                state = (
                    "no longer exists" if not on_disk.is_file() else "has changed since"
                )
                raise StaleResultsError(
                    f"{path} is stale: it was computed from {on_disk}, which {state}; "
                    "rerun its chapter"
                )
        loaded[name] = data
    groups = {name: set(loaded[name]["checkpoints"]) for name in same_models}
    if len(set(map(frozenset, groups.values()))) > 1:
        listing = "; ".join(
            f"{folder / name}.json: {sorted(models)}" for name, models in groups.items()
        )
        raise StaleResultsError(
            f"these results summarise different checkpoints ({listing}); rerun the "
            "chapters with the same seeds"
        )
    return loaded


def checkpoints_of(data: dict[str, dict]) -> dict[str, str]:
    """Every checkpoint the files read by `read_results` rest on."""
    return {k: v for d in data.values() for k, v in d["checkpoints"].items()}


def write_verdicts(
    path: str | Path,
    verdicts: Sequence,
    rule: str,
    key: str,
    checkpoints: dict,
    parts: Sequence = (),
    unlearned: dict | None = None,
) -> None:
    """Judged verdicts (`claims` of the scorecard, `findings`): the `rule`, one entry
    per verdict under `key` (its text under the singular of `key`), the verdicts'
    re-judged `parts` (if any) under "parts", the training seeds set aside (`unlearned`:
    their rule and the seeds with their in-distribution errors), and the checkpoints
    they rest on."""

    def entries(values) -> list[dict]:
        return [
            {
                key[:-1] if k == "claim" else k: value
                for k, value in dataclasses.asdict(v).items()
            }
            for v in values
        ]

    write_json(
        path,
        {
            "rule": rule,
            "unlearned_seeds": unlearned or {},
            key: entries(verdicts),
            **({"parts": entries(parts)} if parts else {}),
            "checkpoints": checkpoints,
        },
    )


def write_timings(
    path: Path,
    mode: str,
    parameters: dict,
    seconds: dict[str, float],
    total: float,
    jobs: int,
    models_trained: int,
) -> None:
    """Keep the latest wall times of each kind of run ('retrain' or 'reuse') side by
    side: each chapter's, and the whole run's (less than their sum when chapters ran
    side by side)."""
    recorded = read_json(path) if path.exists() else {}
    recorded[mode] = {
        "parameters": parameters,
        "seconds": seconds,
        "total": round(total, 1),
        "jobs": jobs,
        "models_trained": models_trained,
        "cpu_count": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
    }
    write_json(path, recorded)


def read_record(path: str | Path) -> dict[str, Any]:
    """A record of how the book was built (`timings.json`, `benchmarks.json`), or an
    empty one where it has not been measured."""
    return read_json(path) if Path(path).exists() else {}
