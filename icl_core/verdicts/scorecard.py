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
    detection,
    evaluation,
    input_controls,
    interventions,
    output_range,
    shift_sweeps,
)
from ..core.results import (
    StaleResultsError,
    format_range,
    judged_checkpoints,
    one_seed,
    read_results,
    write_verdicts,
)
from .claims import (
    BEFORE_CONTROLS,
    CLAIM_PARTS,
    CLAIMS,
    EDGE,
    FAILS,
    HOLDS,
    THRESHOLD_RANGE,
    Claim,
    Thresholds,
    Verdict,
)
from .findings import FINDING_PARTS, FINDINGS

STANDARD_MODEL_RESULTS = ("in_distribution", "distribution_shift", "spectral")
RESULTS = (*STANDARD_MODEL_RESULTS, "pretraining")
FINDINGS_RESULTS = ("signature_intervention", "garg_battery", "coverage", "detection")
# every part of every claim and finding, each judged like a claim
PARTS = (*CLAIM_PARTS, *FINDING_PARTS)


def judge(
    claim: Claim,
    mean: dict[str, Any],
    per_seed: Sequence[dict[str, Any]],
    t: Thresholds,
) -> Verdict:
    """A claim's verdict: it holds when it holds on the `mean` quantities (or, for a
    `mean_of_seeds` claim, on the mean of the per-seed quantities) and in at least
    `t.seed_share` of the seeds; with its margin from the threshold and its verdict at
    the thresholds of `THRESHOLD_RANGE`."""
    heading, values = claim.heading(t), dataclasses.asdict(t)
    if mean.get(claim.quantity) is None:
        criterion = claim.criterion.format(**{**mean, **values})
        untested = claim.untested.format(**mean)
        return Verdict(heading, untested, criterion, None, 0, 0, claim.key)
    per_seed = [q for q in per_seed if q.get(claim.quantity) is not None]
    if claim.mean_of_seeds:
        mean = {
            k: float(np.mean([q[k] for q in per_seed]))
            for k, v in per_seed[0].items()
            if isinstance(v, (int, float))
        }
        key = [q[claim.quantity] for q in per_seed]
        measured = f"{claim.unit}{format_range(key, claim.fmt)}"  # ×0.88 [0.82, 0.97]
        if claim.measured:
            measured += "; " + claim.measured.format(**mean)
    else:
        measured = claim.measured.format(**mean)

    def overall(scale: float) -> tuple[bool, int]:
        seeds = sum(bool(claim.holds(q, t, scale)) for q in per_seed)
        kept = claim.holds(mean, t, scale) and seeds >= t.seed_share * len(per_seed)
        return bool(kept), seeds

    holds, holding = overall(1.0)
    margin = claim.key_condition.margin
    return Verdict(
        heading,
        measured,
        claim.criterion.format(**{**mean, **values}),
        holds,
        holding,
        len(per_seed),
        claim.key,
        status=HOLDS if holds else FAILS,
        margin={
            "mean": margin(mean[claim.quantity], t),
            "seeds": [margin(q[claim.quantity], t) for q in per_seed],
        },
        on_edge=claim.graded and abs(margin(mean[claim.quantity], t)) < EDGE,
        holds_at={f"{s:g}": overall(s)[0] for s in THRESHOLD_RANGE if claim.graded},
    )


def with_controls(verdicts: list[Verdict], parts: list[Verdict]) -> list[Verdict]:
    """The verdicts with their status set by their `parts`: one that holds while a
    part of it fails holds only before its controls, naming those parts and those of
    them on the edge; each names the parts its preset could not measure."""
    owner = {c.key: c.part_of for c in PARTS}
    out = []
    for v in verdicts:
        own = [p for p in parts if owner[p.key] == v.key]
        failed = [p for p in own if p.holds is False]
        untested = tuple(p.key for p in own if p.holds is None)
        v = dataclasses.replace(v, untested_controls=untested)
        if v.holds and failed:
            v = dataclasses.replace(
                v,
                status=BEFORE_CONTROLS,
                failed_controls=tuple(p.key for p in failed),
                controls_on_edge=tuple(p.key for p in failed if p.on_edge),
            )
        out.append(v)
    return out


def parts_of(claims: tuple[Claim, ...]) -> tuple[Claim, ...]:
    """The parts (`PARTS`) that re-judge some of `claims`."""
    keys = {c.key for c in claims}
    return tuple(c for c in PARTS if c.part_of in keys)


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
        "detection": detection.detection_quantities,
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


# the standard model's results that analyse only the training seeds that learned the
# task (`book.runs.learned_seeds`); in_distribution.json keeps every seed, for claim 1
LEARNED_ONLY = (
    "distribution_shift",
    "spectral",
    "output_range",
    "signature_intervention",
    "garg_battery",
    "detection",
)


def unlearned_seeds(ind: dict, t: Thresholds = Thresholds()) -> dict[str, float]:
    """The standard model's training seeds (as JSON keys) that did not learn the task,
    with their in-distribution median error at the last query: at least claim 1's
    `match_error`, the one rule every chapter sets such seeds aside by."""
    errors = {
        str(s["seed"]): s["error_median"]["transformer"][-1] for s in ind["seeds"]
    }
    return {seed: e for seed, e in errors.items() if e >= t.match_error}


def read_judged(
    folder: str | Path, names, t: Thresholds = Thresholds()
) -> dict[str, dict]:
    """The results `names` and in_distribution.json in `folder`, refusing stale ones,
    standard-model results that summarise different checkpoints, and any that average
    in a seed that did not learn the task (`unlearned_seeds`)."""
    names = dict.fromkeys(("in_distribution", *names))
    same = [n for n in STANDARD_MODEL_RESULTS if n in names and n != "in_distribution"]
    data = read_results(folder, names, same_models=same)
    aside = unlearned_seeds(data["in_distribution"], t)
    for name in (n for n in LEARNED_ONLY if n in data):
        mixed = sorted(aside.keys() & {str(s["seed"]) for s in data[name]["seeds"]})
        if mixed:
            raise StaleResultsError(
                f"{Path(folder, name)}.json averages in training seeds {mixed}, whose "
                f"models did not learn the task (in-distribution error ≥ "
                f"match_error={t.match_error:g}); rerun its chapter, which sets them "
                "aside"
            )
    return data


def scorecard(folder: str | Path, t: Thresholds = Thresholds()) -> list[Verdict]:
    """Judge every claim from the results in `folder`, each with its status under its
    parts (`with_controls`)."""
    verdicts = judge_all(CLAIMS, read_judged(folder, RESULTS, t), t)
    return with_controls(verdicts, judged_parts(folder, CLAIMS, t))


def findings(folder: str | Path, t: Thresholds = Thresholds()) -> list[Verdict]:
    """Judge every finding from the results in `folder`, each with its status under
    its parts."""
    verdicts = judge_all(FINDINGS, read_judged(folder, FINDINGS_RESULTS, t), t)
    return with_controls(verdicts, judged_parts(folder, FINDINGS, t))


def judged_parts(
    folder: str | Path, claims: tuple[Claim, ...] = CLAIMS, t: Thresholds = Thresholds()
) -> list[Verdict]:
    """The parts of `claims` re-judged within the bound, on the control family, without
    the bound, in normalised error and beyond the input (`scorecard.PARTS`), from the
    results they read; a part whose results file does not exist is not tested."""
    chosen = parts_of(claims)
    names = [
        n
        for n in dict.fromkeys(c.results for c in chosen)
        if Path(folder, f"{n}.json").is_file()
    ]
    judged = judge_all(
        tuple(c for c in chosen if c.results in names), read_judged(folder, names, t), t
    )
    by_key = {v.key: v for v in judged}
    return [
        by_key.get(c.key)
        or Verdict(
            c.heading(t), f"{c.results}.json not measured", "", None, 0, 0, c.key
        )
        for c in chosen
    ]


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
    computed from and the training seeds set aside as not having learned the task;
    `parts`, the verdicts' re-judged parts, under "parts"."""
    if kind not in JUDGED:
        raise ValueError(
            f"kind={kind!r} is not allowed; expected one of {list(JUDGED)}"
        )
    folder = judged or Path(path).parent
    names = JUDGED[kind] + (("output_range",) if parts else ())
    used = judged_checkpoints(folder, names, path)
    ind = read_results(folder, ["in_distribution"])["in_distribution"]
    rule = (
        f"holds for the across-seed mean and in at least {t.seed_share:.0%} of seeds; "
        f"'{BEFORE_CONTROLS}' where it holds and a part of it does not; on the edge "
        f"where the mean lies within {EDGE:.0%} of its threshold"
    )
    unlearned = {
        "rule": f"in-distribution median error at the last query ≥ {t.match_error:g}: "
        "set aside by every chapter of the standard model, judged in claim 1 alone",
        "seeds": unlearned_seeds(ind, t),
    }
    write_verdicts(path, verdicts, rule, kind, used, parts, unlearned)
