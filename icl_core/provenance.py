"""Which checkpoints a results file was computed from, so that files from different
models never mix.

Every results JSON records `checkpoints`: {checkpoint path relative to the results
root: its content hash}. A reader that combines several files (the scorecard, the
Scale chapter) reads them through `read_consistent`, which refuses a file computed
from a checkpoint that has since changed and files that disagree about a checkpoint
or about which checkpoints they summarise."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Iterable

from .storage import read_json


class StaleResultsError(ValueError):
    """Results files that were not all computed from the checkpoints now on disk."""


def content_hash(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def checkpoint_record(
    paths: Iterable[str | Path], results: str | Path
) -> dict[str, str]:
    """The `checkpoints` entry of a results file: each path relative to `results`, with
    its hash."""
    return {
        Path(p).resolve().relative_to(Path(results).resolve()).as_posix(): content_hash(
            p
        )
        for p in paths
    }


def checkpoint_hashes(data: dict[str, Any]) -> dict[str, str] | None:
    """A results file's record of its checkpoints, {path: hash}: under `checkpoints`,
    or under `checkpoint_hashes` where `checkpoints` lists paths (coverage.json)."""
    record = data.get("checkpoints")
    return record if isinstance(record, dict) else data.get("checkpoint_hashes")


def read_consistent(
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
        record = checkpoint_hashes(data)
        if record is None:
            raise StaleResultsError(
                f"{path} records no checkpoints it was computed from; rerun its chapter"
            )
        for checkpoint, recorded in record.items():
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
    groups = {name: set(checkpoint_hashes(loaded[name])) for name in same_models}
    if len(set(map(frozenset, groups.values()))) > 1:
        listing = "; ".join(
            f"{folder / name}.json: {sorted(models)}" for name, models in groups.items()
        )
        raise StaleResultsError(
            f"these results summarise different checkpoints ({listing}); rerun the "
            "chapters with the same seeds"
        )
    return loaded
