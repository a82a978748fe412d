"""The scorecard and the findings: the paper's seven claims (`claims.CLAIMS`) and this
book's own findings (`claims.FINDINGS`), judged from the numbers the chapters saved.

Each criterion is this book's operationalisation of a claim; its thresholds are
parameters so that a reader can see how the verdict moves with them. Every claim is
judged on the across-seed mean of each quantity and on every training seed alone; it
holds overall when it holds for the mean and in at least `Thresholds.seed_share` of the
seeds."""

from __future__ import annotations

from pathlib import Path

from ..core.results import judged_checkpoints, read_results, write_verdicts
from .claims import CLAIMS, FINDINGS, Claim, Thresholds, Verdict, judge_all, parts_of

STANDARD_MODEL_RESULTS = ("in_distribution", "distribution_shift", "spectral")
RESULTS = (*STANDARD_MODEL_RESULTS, "pretraining")
FINDINGS_RESULTS = ("signature_intervention", "garg_battery", "coverage")


def scorecard(folder: str | Path, t: Thresholds = Thresholds()) -> list[Verdict]:
    """Judge every claim from the results in `folder`, refusing results from different
    checkpoints."""
    data = read_results(folder, RESULTS, same_models=STANDARD_MODEL_RESULTS)
    return judge_all(CLAIMS, data, t)


def findings(folder: str | Path, t: Thresholds = Thresholds()) -> list[Verdict]:
    """Judge every finding from the results in `folder`, refusing results computed
    from checkpoints that have changed since."""
    return judge_all(FINDINGS, read_results(folder, FINDINGS_RESULTS), t)


def judged_parts(
    folder: str | Path, claims: tuple[Claim, ...] = CLAIMS, t: Thresholds = Thresholds()
) -> list[Verdict]:
    """The parts of `claims` re-judged within the bound, on the control family, without
    the bound and in normalised error (`claims.CHECKS`), from the results they read."""
    checks = parts_of(claims)
    names = dict.fromkeys(c.results for c in checks)
    return judge_all(checks, read_results(folder, names), t)


# the results each kind of verdict file judges
JUDGED = {"claims": RESULTS, "findings": FINDINGS_RESULTS}


def write_judged(
    path: str | Path,
    kind: str,
    verdicts: list[Verdict],
    t: Thresholds,
    parts=(),
    judged: str | Path | None = None,
) -> None:
    """`scorecard.json` (`kind` "claims") or `findings.json` ("findings"), with the
    checkpoints the results it judged (in the folder `judged`, by default its own) were
    computed from; `parts`, the verdicts' re-judged parts, under "parts"."""
    if kind not in JUDGED:
        raise ValueError(
            f"kind={kind!r} is not allowed; expected one of {list(JUDGED)}"
        )
    names = JUDGED[kind] + (("output_range",) if parts else ())
    used = judged_checkpoints(judged or Path(path).parent, names, path)
    write_verdicts(path, verdicts, t.seed_share, kind, used, parts)
