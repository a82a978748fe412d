"""The scorecard and the findings: the paper's seven claims (`claims.CLAIMS`) and this
book's own findings (`findings.FINDINGS`), judged from the numbers the chapters saved.

Each criterion is this book's operationalisation of a claim; its thresholds are
parameters so that a reader can see how the verdict moves with them. Every claim is
judged on the across-seed mean of each quantity and on every training seed alone; it
holds overall when it holds for the mean and in at least `Thresholds.seed_share` of the
seeds."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..analysis import (
    battery,
    coverage,
    evaluation,
    input_controls,
    interventions,
    output_range,
    shift_sweeps,
)
from ..core.results import (
    format_range,
    judged_checkpoints,
    one_seed,
    read_results,
    write_verdicts,
)
from .claims import CLAIM_PARTS, CLAIMS, Claim, Thresholds, Verdict
from .findings import FINDING_PARTS, FINDINGS

STANDARD_MODEL_RESULTS = ("in_distribution", "distribution_shift", "spectral")
RESULTS = (*STANDARD_MODEL_RESULTS, "pretraining")
FINDINGS_RESULTS = ("signature_intervention", "garg_battery", "coverage")
# every part of every claim and finding, each judged like a claim
PARTS = (*CLAIM_PARTS, *FINDING_PARTS)


def judge(
    claim: Claim,
    mean: dict[str, Any],
    per_seed: Sequence[dict[str, Any]],
    t: Thresholds,
) -> Verdict:
    """A claim's verdict: it holds when it holds on the `mean` quantities (or, for a
    `mean_of_seeds` claim, on the mean of the per-seed key quantity) and in at least
    `t.seed_share` of the seeds."""
    heading, values = claim.heading(t), dataclasses.asdict(t)
    if mean.get(claim.quantity) is None:
        criterion = claim.criterion.format(**{**mean, **values})
        untested = claim.untested.format(**mean)
        return Verdict(heading, untested, criterion, None, 0, 0, claim.key)
    per_seed = [q for q in per_seed if q.get(claim.quantity) is not None]
    seeds = [bool(claim.holds(q, t)) for q in per_seed]
    if claim.mean_of_seeds:
        mean = {
            k: float(np.mean([q[k] for q in per_seed]))
            for k, v in per_seed[0].items()
            if isinstance(v, (int, float))
        }
        key = [q[claim.quantity] for q in per_seed]
        measured = f"{format_range(key, claim.fmt)}{claim.unit}"
    else:
        measured = claim.measured.format(**mean)
    return Verdict(
        heading,
        measured,
        claim.criterion.format(**{**mean, **values}),
        bool(claim.holds(mean, t) and sum(seeds) >= t.seed_share * len(seeds)),
        sum(seeds),
        len(seeds),
        claim.key,
    )


def parts_of(claims: tuple[Claim, ...]) -> tuple[Claim, ...]:
    """The parts (`PARTS`) that re-judge some of `claims`."""
    keys = {c.key for c in claims}
    return tuple(c for c in PARTS if c.key[:-1] in keys)


def quantities(results: dict[str, dict], t: Thresholds = Thresholds()) -> dict:
    """Every quantity a claim or finding reads, from whichever results files `results`
    holds by name (the across-seed means, or one seed's through `one_seed`)."""
    readers = {
        "in_distribution": evaluation.in_distribution_quantities,
        "distribution_shift": shift_sweeps.distribution_shift_quantities,
        "spectral": input_controls.spectral_quantities,
        "pretraining": shift_sweeps.pretraining_quantities,
        "signature_intervention": interventions.signature_intervention_quantities,
        "garg_battery": lambda data: battery.garg_battery_quantities(
            data, t.bound_share
        ),
        "coverage": lambda data: coverage.coverage_quantities(
            data, t.training_range, t.invariance_factor
        ),
        "output_range": lambda data: output_range.output_range_quantities(
            data, t.bound_share, t.training_range, t.invariance_factor
        ),
    }
    q: dict[str, Any] = {}
    for name, data in results.items():
        if name in readers:
            q.update(readers[name](data))
    return q


def judge_all(
    claims: tuple[Claim, ...], data: dict[str, dict], t: Thresholds
) -> list[Verdict]:
    """Each claim judged on the quantities of the results `data` and on those of every
    training seed of the file it reads."""
    mean = quantities(data, t)
    verdicts = []
    for claim in claims:
        source = data[claim.results]
        per_seed = [
            quantities({**data, claim.results: one_seed(source, i)}, t)
            for i in range(len(source["seeds"]))
        ]
        verdicts.append(judge(claim, mean, per_seed, t))
    return verdicts


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
    the bound and in normalised error (`scorecard.PARTS`), from the results they read."""
    chosen = parts_of(claims)
    names = dict.fromkeys(c.results for c in chosen)
    return judge_all(chosen, read_results(folder, names), t)


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
