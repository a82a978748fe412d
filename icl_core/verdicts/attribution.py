"""Which factor of scale moves each verdict: two presets that differ in one factor
(`FACTORS`) compared claim by claim over the training seeds both have, a flip counted
only where the verdict changes and the seed ranges of its key quantity separate."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .claims import CLAIMS, Claim, Thresholds
from .scale import PresetSummary, verdict_of

# the factor each pair of presets varies, everything else held fixed but the curriculum
# fields the label names (the d pair's shorter stages; at d = 10, small's curriculum,
# which starts later and is stretched over the longer run)
FACTORS = (
    ("prompt length", "cpu", "cpu-p21"),
    ("d with shorter stages", "cpu-p21", "cpu-d10"),
    ("training length at d = 5", "cpu", "cpu-16k"),
    ("training length and curriculum at d = 10", "cpu-d10", "small-4x64"),
    ("depth and width", "small-4x64", "small"),
)


def seeds_of(summary: PresetSummary, claim: Claim) -> list[int]:
    """The training seeds a claim is judged over at a preset (claim 7: those of the
    other pretraining distributions)."""
    return (
        summary.pretraining_seeds if claim.results == "pretraining" else summary.seeds
    )


def key_values(
    summary: PresetSummary, claim: Claim, exclude: Sequence[int] = ()
) -> dict[int, float]:
    """The claim's key quantity at each of its training seeds (`seeds_of`), leaving
    out unmeasured seeds and `exclude`."""
    return {
        seed: float(value)
        for seed, value in zip(
            seeds_of(summary, claim), summary.quantities[claim.quantity]
        )
        if value is not None and seed not in exclude
    }


# the scorecard's seed rule: a verdict holds in at least this share of its seeds
SEED_SHARE = 0.8


def compared_seeds(
    before: PresetSummary,
    after: PresetSummary,
    claim: Claim,
    exclude: tuple[Sequence[int], Sequence[int]] = ((), ()),
) -> list[int]:
    """The training seeds two presets are compared over: those both measured the claim
    at, `exclude` set aside at each."""
    first, last = (key_values(s, claim, x) for s, x in zip((before, after), exclude))
    return sorted(first.keys() & last.keys())


def outcome_over(summary: PresetSummary, claim: Claim, seeds: Sequence[int]) -> str:
    """The claim's verdict over some of its seeds: the scorecard's own where they are
    all of them, else its rule re-applied to them (the key quantity's mean meets the
    criterion and each seed's own criterion holds in `SEED_SHARE` of them)."""
    values = key_values(summary, claim)
    if set(seeds) == set(values):
        return verdict_of(summary, claim).outcome
    own = seeds_of(summary, claim)
    holds = [h for seed, h in zip(own, summary.seed_holds[claim.key]) if seed in seeds]
    mean = {claim.quantity: float(np.mean([values[seed] for seed in seeds]))}
    kept = claim.key_condition.holds(mean, Thresholds())
    return "yes" if kept and sum(holds) >= SEED_SHARE * len(holds) else "no"


def quantity_change(
    before: PresetSummary, after: PresetSummary, claim: Claim, seeds: Sequence[int]
) -> str:
    """How the key quantity moves between two presets over `seeds`: 'no clear change'
    when the two seed ranges overlap, else 'strengthens' towards the side where the
    claim holds or 'weakens'."""
    first, last = ([key_values(s, claim)[k] for k in seeds] for s in (before, after))
    return values_change(first, last, claim)


def values_change(first: Sequence[float], last: Sequence[float], claim: Claim) -> str:
    """`quantity_change` on two lists of seed values of the claim's key quantity."""
    if max(first) >= min(last) and max(last) >= min(first):  # seed ranges overlap
        return "no clear change"
    toward = (np.mean(last) > np.mean(first)) == (claim.key_condition.op in (">", ">="))
    return "strengthens" if toward else "weakens"


def change(
    before: PresetSummary,
    after: PresetSummary,
    claim: Claim,
    exclude: tuple[Sequence[int], Sequence[int]] = ((), ()),
) -> str:
    """How a claim moves from one preset to another over the seeds both have
    (`compared_seeds`), each verdict judged over those seeds (`outcome_over`): 'flips
    (no → yes)' when the verdict changes and the seed ranges of its key quantity
    separate (`quantity_change`); 'verdict differs, ranges overlap (no → yes)' when it
    changes without them, so that one seed's own verdict decides it; else the
    quantity's change with the verdict at both. 'not tested' where either preset could
    not test the claim, 'one seed: not compared' where they share fewer than two."""
    if any(verdict_of(s, claim).holds is None for s in (before, after)):
        return "not tested"
    seeds = compared_seeds(before, after, claim, exclude)
    if len(seeds) < 2:
        return "one seed: not compared"
    outcomes = [outcome_over(s, claim, seeds) for s in (before, after)]
    moved = quantity_change(before, after, claim, seeds)
    if outcomes[0] != outcomes[1]:
        kind = (
            "verdict differs, ranges overlap" if moved == "no clear change" else "flips"
        )
        return f"{kind} ({outcomes[0]} → {outcomes[1]})"
    return f"{moved} ({outcomes[1]} at both)"


def chance_separation(n_before: int, n_after: int) -> float:
    """The chance that the seed ranges of two presets separate when all their seeds'
    values come from one distribution: 2 of the C(n + m, n) orderings."""
    return 2 / math.comb(n_before + n_after, n_before)


def trend(summaries: list[PresetSummary], claim: Claim) -> str:
    """How a claim moves from the smallest to the largest preset that tested it
    (`change`)."""
    tested = [s for s in summaries if verdict_of(s, claim).holds is not None]
    if len(tested) < 2:
        return "tested at one scale" if tested else "not tested"
    return change(tested[0], tested[-1], claim)


def attribution(summaries: list[PresetSummary], claim: Claim) -> dict[str, str]:
    """For each of `FACTORS`, how the claim moves when only that factor changes ('not
    run' where either preset lacks results)."""
    by_name = {s.preset: s for s in summaries}
    return {
        factor: change(by_name[a], by_name[b], claim)
        if a in by_name and b in by_name
        else "not run"
        for factor, a, b in FACTORS
    }


# the outcomes of `change` and `attribution` that compare nothing
UNCOMPARED = ("not tested", "not run", "one seed")


def moved_by(attributed: dict[str, str]) -> str:
    """The factors that flip a claim's verdict, else those that move its quantity
    beyond the seed ranges, else 'no clear change' ('not tested' where no pair
    tested it, 'one seed: not compared' where the only pairs that did have one seed)."""
    if all(c.startswith(UNCOMPARED) for c in attributed.values()):
        one = any(c.startswith("one seed") for c in attributed.values())
        return "one seed: not compared" if one else "not tested"
    for kinds in (("flips",), ("strengthens", "weakens")):
        factors = [f for f, c in attributed.items() if c.startswith(kinds)]
        if factors:
            return "; ".join(f"{f}: {attributed[f].split(' (')[0]}" for f in factors)
    return "no clear change"


def separation_counts(
    summaries: list[PresetSummary], claims: tuple[Claim, ...]
) -> tuple[int, float, int]:
    """Over every factor pair with results and every claim it compares: the number of
    comparisons, the separations of seed ranges expected by chance alone
    (`chance_separation`), and those observed."""
    by_name = {s.preset: s for s in summaries}
    comparisons, expected, observed = 0, 0.0, 0
    for factor, a, b in FACTORS:
        if a not in by_name or b not in by_name:
            continue
        for claim in claims:
            moved = change(by_name[a], by_name[b], claim)
            if moved.startswith(UNCOMPARED):
                continue
            n = len(compared_seeds(by_name[a], by_name[b], claim))
            comparisons += 1
            expected += chance_separation(n, n)
            observed += moved.startswith(("flips", "strengthens", "weakens"))
    return comparisons, expected, observed


def shared_seeds(summaries: list[PresetSummary]) -> list[int]:
    """The number of training seeds of the standard model each pair of `FACTORS` with
    results shares."""
    by_name = {s.preset: s for s in summaries}
    return [
        len(set(by_name[a].seeds) & set(by_name[b].seeds))
        for _, a, b in FACTORS
        if a in by_name and b in by_name
    ]


# the kinds of move `change` names, each by the start of its text
TRENDS = {
    "flips": "flips",
    "differs": "verdict differs",
    "strengthens": "strengthens",
    "weakens": "weakens",
}


def claims_by_trend(summaries: list[PresetSummary]):
    """{each kind of `TRENDS`: the numbers of claims 1-7 that move so from the smallest
    preset to the largest}."""
    trends = {c.key: trend(summaries, c) for c in CLAIMS}
    return {
        kind: [str(claim) for claim, t in trends.items() if t.startswith(start)]
        for kind, start in TRENDS.items()
    }
