"""The verdicts of "Beyond the paper": this book's own findings (`claims.FINDINGS`),
judged in the scorecard's form from the results its chapters saved."""

from __future__ import annotations

from pathlib import Path

from ..core.results import judged_checkpoints, read_results, write_verdicts
from .claims import FINDINGS, Thresholds, Verdict, judge_all

RESULTS = ("signature_intervention", "garg_battery", "coverage")


def findings(
    folder: str | Path, t: Thresholds = Thresholds(), seed_share: float = 0.8
) -> list[Verdict]:
    """Judge every finding from the results in `folder`, refusing results computed
    from checkpoints that have changed since."""
    return judge_all(FINDINGS, read_results(folder, RESULTS), t, seed_share)


def write_findings(
    path: str | Path,
    verdicts: list[Verdict],
    seed_share: float,
    parts=(),
    judged: str | Path | None = None,
):
    """`findings.json` in the scorecard's form (the results it judged in the folder
    `judged`, by default its own), with the findings' re-judged `parts` under
    "parts"."""
    names = RESULTS + (("output_range",) if parts else ())
    used = judged_checkpoints(judged or Path(path).parent, names, path)
    write_verdicts(path, verdicts, seed_share, "findings", used, parts)
