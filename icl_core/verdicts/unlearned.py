"""Training seeds that did not learn the task: which verdicts and comparisons across
a factor they alone decide, so a reader can see every verdict with them and without."""

from __future__ import annotations

from .attribution import (
    FACTORS,
    attribution,
    chance_separation,
    change,
    seeds_of,
)
from .claims import Claim
from .scale import PresetSummary, row_heading, verdict_cell, verdict_of


def flipped_by(
    summaries: list[PresetSummary], claims: tuple[Claim, ...], match_error: float
) -> list[str]:
    """'1 (depth and width)' for each claim whose verdict one factor of `FACTORS` flips,
    naming every such factor, and marking a flip whose failing side fails only
    through seeds that did not learn the task (`fails_through_unlearned`)."""
    by_name = {s.preset: s for s in summaries}
    flipped = []
    for claim in claims:
        attributed = attribution(summaries, claim)
        factors = []
        for factor, a, b in FACTORS:
            if not attributed[factor].startswith("flips"):
                continue
            failing = [
                by_name[p]
                for p in (a, b)
                if verdict_of(by_name[p], claim).holds is False
            ]
            carried = any(
                fails_through_unlearned(s, claim, match_error) for s in failing
            )
            factors.append(
                f"{factor}, where a seed that did not learn the task makes it fail"
                if carried
                else factor
            )
        if factors:
            flipped.append(f"{claim.key} ({'; '.join(factors)})")
    return flipped


def unlearned_seeds(summary: PresetSummary, match_error: float) -> list[int]:
    """The training seeds whose model does not match least squares in distribution
    (claim 1's criterion fails for that seed): every other verdict at such a seed is
    about a model that has not learned the task."""
    errors = summary.quantities["in_distribution_error"]
    return [seed for seed, e in zip(summary.seeds, errors) if e >= match_error]


def held_by_learned_seeds(
    summary: PresetSummary, claim: Claim, match_error: float
) -> tuple[int, int]:
    """(seeds holding, seeds) of the claim's own criterion over the seeds that learned
    the task (`unlearned_seeds` set aside): whether a split verdict splits along them."""
    unlearned = set(unlearned_seeds(summary, match_error))
    kept = [
        holds
        for seed, holds in zip(seeds_of(summary, claim), summary.seed_holds[claim.key])
        if seed not in unlearned and holds is not None
    ]
    return sum(kept), len(kept)


def learned_seed_table(
    summaries: list[PresetSummary], claims: tuple[Claim, ...], match_error: float
) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a table that sets, at every preset with seeds that did
    not learn the task, each claim's verdict beside its seed count without them, and
    how its key quantity moves across each factor pair that ends at such a preset, with
    and without them (`change`)."""
    by_name = {s.preset: s for s in summaries}
    split = [s for s in summaries if unlearned_seeds(s, match_error)]
    if not split:
        return ["claim"], []
    pairs = [
        (by_name[a], by_name[b])
        for _, a, b in FACTORS
        if a in by_name and b in by_name and {a, b} & {s.preset for s in split}
    ]
    header = ["claim"]
    for s in split:
        header += [f"`{s.preset}`, all seeds", f"`{s.preset}`, seeds that learned"]
    for a, b in pairs:
        arrow = f"`{a.preset}` → `{b.preset}`"
        header += [f"{arrow}, all seeds", f"{arrow}, seeds that learned"]

    def cells(s, claim):
        holding, seeds = held_by_learned_seeds(s, claim, match_error)
        learned = f"{holding} of {seeds} hold" if seeds else "not tested"
        return [verdict_cell(verdict_of(s, claim)), learned]

    def moves(a, b, claim):
        unlearned = tuple(unlearned_seeds(s, match_error) for s in (a, b))
        return [change(a, b, claim), change(a, b, claim, unlearned)]

    rows = [
        [
            row_heading(split[0], c),
            *(x for s in split for x in cells(s, c)),
            *(x for a, b in pairs for x in moves(a, b, c)),
        ]
        for c in sorted(claims, key=lambda c: (c.key[0], c.key))
    ]
    return header, rows


def unlearned_moves(
    summaries: list[PresetSummary], claims: tuple[Claim, ...], match_error: float
) -> list[str]:
    """For each factor pair ending at a preset with seeds that did not learn the task,
    the claims whose key quantity moves differently without those seeds, grouped:
    'across depth and width, strengthens without the seeds and shows no clear change
    with them: 1, 4, 6 (2 seeds a side without them, which separate by chance 33% of
    the time)'."""
    by_name = {s.preset: s for s in summaries}
    moves = []
    for factor, a, b in FACTORS:
        if a not in by_name or b not in by_name:
            continue
        pair = (by_name[a], by_name[b])
        unlearned = tuple(unlearned_seeds(s, match_error) for s in pair)
        if not any(unlearned):
            continue
        groups: dict[tuple[str, str], list[str]] = {}
        for claim in claims:
            with_seeds = change(*pair, claim)
            without = change(*pair, claim, unlearned)
            if with_seeds != without:
                groups.setdefault((without, with_seeds), []).append(claim.key)
        kept = set(pair[0].seeds) & set(pair[1].seeds) - {*unlearned[0], *unlearned[1]}
        chance = chance_separation(len(kept), len(kept)) if kept else 1.0
        for (without, with_seeds), keys in groups.items():
            moves.append(
                f"across {factor}, {without} without the seeds and {with_seeds} with "
                f"them: {', '.join(keys)} ({len(kept)} seeds a side without them, "
                f"which separate by chance {chance:.0%} of the time)"
            )
    return moves


def fails_through_unlearned(
    summary: PresetSummary, claim: Claim, match_error: float
) -> bool:
    """Whether a claim fails at a preset although its own criterion holds in every seed
    there that learned the task."""
    holding, seeds = held_by_learned_seeds(summary, claim, match_error)
    return (
        verdict_of(summary, claim).holds is False
        and bool(unlearned_seeds(summary, match_error))
        and seeds > 0
        and holding == seeds
    )


def carried_by_unlearned(
    summaries: list[PresetSummary], claims: tuple[Claim, ...], match_error: float
) -> list[str]:
    """'4 at small' for each claim that fails at a preset only through its seeds that
    did not learn the task (`fails_through_unlearned`)."""
    return [
        f"{claim.key} at {s.preset}"
        for s in summaries
        for claim in claims
        if fails_through_unlearned(s, claim, match_error)
    ]
