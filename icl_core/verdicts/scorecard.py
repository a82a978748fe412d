"""The scorecard: the paper's seven claims (`claims.CLAIMS`), judged from the numbers
the chapters saved.

Each criterion is this book's operationalisation of a claim; its thresholds are
parameters so that a reader can see how the verdict moves with them. Every claim is
judged on the across-seed mean of each quantity and on every training seed alone; it
holds overall when it holds for the mean and in at least `seed_share` of the seeds."""

from __future__ import annotations

from pathlib import Path

from ..core.results import judged_checkpoints, read_results, write_verdicts
from .claims import CLAIMS, Claim, Thresholds, Verdict, judge_all, parts_of

STANDARD_MODEL_RESULTS = ("in_distribution", "distribution_shift", "spectral")
RESULTS = (*STANDARD_MODEL_RESULTS, "pretraining")


def scorecard(
    folder: str | Path, t: Thresholds = Thresholds(), seed_share: float = 0.8
) -> list[Verdict]:
    """Judge every claim from the results in `folder`, refusing results from different
    checkpoints."""
    data = read_results(folder, RESULTS, same_models=STANDARD_MODEL_RESULTS)
    return judge_all(CLAIMS, data, t, seed_share)


def judged_parts(
    folder: str | Path,
    claims: tuple[Claim, ...] = CLAIMS,
    t: Thresholds = Thresholds(),
    seed_share: float = 0.8,
) -> list[Verdict]:
    """The parts of `claims` re-judged within the bound, on the control family, without
    the bound and in normalised error (`claims.CHECKS`), from the results they read."""
    checks = parts_of(claims)
    names = dict.fromkeys(c.results for c in checks)
    return judge_all(checks, read_results(folder, names), t, seed_share)


def write_scorecard(
    path: str | Path,
    verdicts: list[Verdict],
    seed_share: float,
    parts=(),
    judged: str | Path | None = None,
) -> None:
    """`scorecard.json`, with the checkpoints the results it judged (in the folder
    `judged`, by default its own) were computed from; `parts`, the claims' re-judged
    parts, under "parts"."""
    names = RESULTS + (("output_range",) if parts else ())
    used = judged_checkpoints(judged or Path(path).parent, names, path)
    write_verdicts(path, verdicts, seed_share, "claims", used, parts)
