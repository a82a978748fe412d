"""The Scale chapter's tables and quoted texts, and `scale.json`, from the presets'
summaries, so that the chapter holds only its prose and its figure."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from ..core.results import Table, format_range, rebased
from ..core.storage import write_json
from .attribution import (
    FACTORS,
    attribution,
    chance_separation,
    change,
    claims_by_trend,
    moved_by,
    separation_counts,
    shared_seeds,
    trend,
    values_change,
)
from .claims import CLAIMS, Claim, Thresholds, count_holding
from .scale import (
    PresetSummary,
    describe,
    preset_summary,
    presets_with_results,
    quantities_at,
    quantity_rows,
    row_heading,
    scale_parts,
    seeds_text,
    training_time,
    verdict_cell,
    verdict_of,
)
from .unlearned import (
    carried_by_unlearned,
    flipped_by,
    learned_seed_table,
    unlearned_moves,
    unlearned_seeds,
)


@dataclass(frozen=True)
class ScaleReport:
    """Every table of the Scale chapter as (header, rows), and `texts`: each glue name
    of the chapter with its text."""

    summaries: list[PresetSummary]
    quantities: Table
    verdicts: Table
    attribution: Table
    learned_seeds: Table  # no rows where every seed learned the task
    matched_query: Table  # no rows where the prompt-length pair lacks the record
    stage_pairs: Table  # no rows where a preset of `STAGE_PAIRS` lacks results
    texts: dict[str, str]


def scale_report(results: str | Path, wanted: list[str]) -> ScaleReport:
    """The report over the `wanted` presets that have results, smallest first."""
    compared = presets_with_results(results, wanted)
    summaries = [preset_summary(results, name) for name in compared]
    presets = [f"`{s.preset}`" for s in summaries]
    claims = (*CLAIMS, *scale_parts())
    match_error = Thresholds().match_error
    matched, matched_texts = matched_query(results, summaries)
    stages, stage_texts = stage_pairs(results, summaries)
    return ScaleReport(
        summaries=summaries,
        quantities=(["", *presets], quantity_rows(summaries)),
        verdicts=(
            ["claim", *presets, "smallest → largest"],
            [verdict_row(summaries, c) for c in _claims_then_parts()],
        ),
        attribution=(
            ["claim", *(f"{f}: `{a}` → `{b}`" for f, a, b in FACTORS), "moved by"],
            [attribution_row(summaries, c) for c in _claims_then_parts()],
        ),
        learned_seeds=learned_seed_table(summaries, claims, match_error),
        matched_query=matched,
        stage_pairs=stages,
        texts={
            **scale_texts(summaries, compared),
            **matched_texts,
            **stage_texts,
        },
    )


def _claims_then_parts() -> list[Claim]:
    """Each claim followed by its parts of `scale_parts` (1, 2, 3, 4, 4a, 4b, 5, ...)."""
    parts = scale_parts()
    return [x for c in CLAIMS for x in (c, *(p for p in parts if p.key[0] == c.key))]


def verdict_row(summaries: list[PresetSummary], claim: Claim) -> list[str]:
    """The claim's verdict at every preset and its move from the smallest preset that
    tested it to the largest."""
    return [
        row_heading(summaries[0], claim),
        *(verdict_cell(verdict_of(s, claim)) for s in summaries),
        trend(summaries, claim),
    ]


def attribution_row(summaries: list[PresetSummary], claim: Claim) -> list[str]:
    """How the claim moves across each factor pair, and the factors that move it."""
    attributed = attribution(summaries, claim)
    return [
        row_heading(summaries[0], claim),
        *attributed.values(),
        moved_by(attributed),
    ]


# the pair that changes the prompt length
LENGTH_PAIR = next(f for f in FACTORS if f[0] == "prompt length")
# the quantities read at the last query: the claim each belongs to, its label and unit
# (claim 3's numerator, to tell a move of the failure from one of its denominator)
LAST_QUERY_ROWS = {
    "in_distribution_error": ("1", "median error in distribution", ""),
    "error_growth_largest": ("3", "error growth, c = 0 → largest c", "×"),
    "transformer_error_largest": ("3", "its numerator: median error, largest c", ""),
}


def matched_query(
    results: str | Path, summaries: list[PresetSummary]
) -> tuple[Table, dict[str, str]]:
    """Claims 1 and 3 across `LENGTH_PAIR`, the longer prompts read at the shorter
    prompts' last query as well as at their own, over the seeds both presets have: the
    key quantity's seed mean and range in each, and how it moves (`values_change`);
    and the text that quotes the moves. No rows where the pair lacks the record."""
    by_name = {s.preset: s for s in summaries}
    _, a, b = LENGTH_PAIR
    unrecorded = (["claim"], []), {"scale_matched_query": "not recorded"}
    if a not in by_name or b not in by_name:
        return unrecorded
    before, after = by_name[a], by_name[b]
    query = before.n_points
    header = [
        "claim",
        f"`{a}`, query {query} (its last)",
        f"`{b}`, query {query}",
        f"`{b}`, query {after.n_points} (its last)",
        "at the same query",
        "each at its last",
    ]
    matched = quantities_at(results, after, query)
    seeds = sorted(set(before.seeds) & set(after.seeds))

    def values(summary, table, quantity):
        return [table[quantity][summary.seeds.index(k)] for k in seeds]

    claims = {c.key: c for c in CLAIMS}
    rows, moves = [], []
    for quantity, (key, label, unit) in LAST_QUERY_ROWS.items():
        first, same, last = (
            values(s, t, quantity)
            for s, t in (
                (before, before.quantities),
                (after, matched),
                (after, after.quantities),
            )
        )
        if None in same:  # a results file from before the per-query record
            return unrecorded
        at_same, at_last = (values_change(first, v, claims[key]) for v in (same, last))
        rows.append(
            [
                f"{key}. {label}",
                *(format_range(v, ".3g") + unit for v in (first, same, last)),
                at_same,
                at_last,
            ]
        )
        moves.append(
            f"{label} (claim {key}): {at_same} at the same query ({at_last}, each at "
            "its last)"
        )
    return (header, rows), {"scale_matched_query": "; ".join(moves)}


# d at fixed curriculum stages, and the stages' length at d = 10: kept out of the main
# tables, as the models of the middle preset did not learn the task in their steps
STAGE_PAIRS = (
    ("d at `cpu-p21`'s stages", "cpu-p21", "cpu-p21-d10"),
    ("shorter stages at d = 10", "cpu-p21-d10", "cpu-d10"),
)


def stage_pairs(
    results: str | Path, summaries: list[PresetSummary]
) -> tuple[Table, dict[str, str]]:
    """How every claim and part moves across `STAGE_PAIRS` (`change`), and the texts
    that quote them: the middle preset's in-distribution error and the claims each pair
    flips. No rows where a preset of the pairs lacks results; presets among `summaries`
    are not read again."""
    names = list(dict.fromkeys(p for _, a, b in STAGE_PAIRS for p in (a, b)))
    if presets_with_results(results, names) != names:
        flips = [f"scale_stages_flips_{k}" for k in range(len(STAGE_PAIRS))]
        keys = ["scale_stages_error", *flips]
        return (["claim"], []), dict.fromkeys(keys, "not run")
    read = {s.preset: s for s in summaries}
    by_name = {n: read.get(n) or preset_summary(results, n) for n in names}
    claims = [c for c in _claims_then_parts() if c.results != "pretraining"]
    moves = {
        factor: {c.key: change(by_name[a], by_name[b], c) for c in claims}
        for factor, a, b in STAGE_PAIRS
    }
    rows = [
        [
            row_heading(by_name[names[0]], c),
            *(moves[f][c.key] for f, _, _ in STAGE_PAIRS),
        ]
        for c in claims
    ]
    header = ["claim", *(f"{f}: `{a}` → `{b}`" for f, a, b in STAGE_PAIRS)]
    texts = {
        "scale_stages_error": format_range(
            by_name[names[1]].quantities["in_distribution_error"], ".2g"
        ),
        **{
            f"scale_stages_flips_{k}": ", ".join(
                key for key, m in moves[f].items() if m.startswith("flips")
            )
            or "none"
            for k, (f, _, _) in enumerate(STAGE_PAIRS)
        },
    }
    return (header, rows), texts


def _listing(items) -> str:
    """'a, b and c'."""
    items = list(items)
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else items[0]


def scale_texts(summaries: list[PresetSummary], compared: list[str]) -> dict[str, str]:
    """The chapter's glued texts, by glue name."""
    claims = (*CLAIMS, *scale_parts())
    match_error = Thresholds().match_error
    moved = {
        kind: ", ".join(c) or "none" for kind, c in claims_by_trend(summaries).items()
    }
    held_at = _listing(f"{count_holding(s.verdicts)} at {s.preset}" for s in summaries)
    not_run = [name for name in ("small", "paper") if name not in compared]
    small = summaries[compared.index("small")] if "small" in compared else None
    unlearned = [
        f"{s.preset}, seed {seed} (median error {error:.2g} in distribution)"
        for s in summaries
        for seed, error in zip(s.seeds, s.quantities["in_distribution_error"])
        if seed in unlearned_seeds(s, match_error)
    ]
    carried = carried_by_unlearned(summaries, claims, match_error)
    flipped = "; ".join(flipped_by(summaries, CLAIMS, match_error)) or "none"
    shared = sorted(set(shared_seeds(summaries)))
    comparisons, expected, separations = separation_counts(summaries, claims)
    return {
        "scale_scales": _listing(describe(s) for s in summaries),
        "scale_held": held_at,
        "scale_not_run": _listing(not_run) if not_run else "none",
        "scale_small_training": training_time(small) if small else "not run",
        "scale_small_seeds": seeds_text(small) if small else "no results",
        **{f"scale_{kind}": claims for kind, claims in moved.items()},
        "scale_unlearned": _listing(unlearned) if unlearned else "none",
        "scale_match_error": str(match_error),
        "scale_carried_by_unlearned": _listing(carried) if carried else "none",
        "scale_flipped_by": flipped,
        "scale_summary": (
            f"Claims holding: {held_at}. From the smallest preset to the largest (every "
            f"factor at once), of claims 1-7 those that flip: {moved['flips']}; whose "
            f"verdict changes within overlapping seed ranges: {moved['differs']}; that "
            f"strengthen: {moved['strengthens']}; that weaken: {moved['weakens']}. "
            f"Flipped by a single factor: {flipped}."
        ),
        "scale_shared_seeds": _listing(str(n) for n in shared) if shared else "none",
        "scale_chance": (
            f"{chance_separation(min(shared), min(shared)):.0%}" if shared else "n/a"
        ),
        "scale_hidden_by_unlearned": (
            "; ".join(unlearned_moves(summaries, claims, match_error)) or "none"
        ),
        "scale_comparisons": str(comparisons),
        "scale_expected": f"{expected:.1f}",
        "scale_separations": str(separations),
        "scale_learned_elsewhere": str(
            sum(len(s.seeds) for s in summaries if not unlearned_seeds(s, match_error))
        ),
    }


def write_scale(
    path: str | Path, summaries: list[PresetSummary], results: str | Path
) -> None:
    """`scale.json`: every compared preset's scale, quantities per seed, verdicts and
    the checkpoints they rest on (read under `results`)."""
    write_json(
        path,
        {
            "presets": [s.preset for s in summaries],
            "by_preset": {
                s.preset: {
                    "n_parameters": s.n_parameters,
                    "n_dims": s.n_dims,
                    "n_points": s.n_points,
                    "architecture": s.architecture,
                    "steps": s.steps,
                    "train_seconds": s.train_seconds,
                    "train_device": s.train_device,
                    "seeds": s.seeds,
                    "pretraining_seeds": s.pretraining_seeds,
                    "pretraining": s.pretraining,
                    "quantities": s.quantities,
                    "seed_holds": s.seed_holds,
                    "verdicts": [dataclasses.asdict(v) for v in s.verdicts],
                    "parts": [dataclasses.asdict(v) for v in s.parts],
                }
                for s in summaries
            },
            "attribution": {
                "factors": [list(f) for f in FACTORS],
                "claims": {
                    claim.key: attribution(summaries, claim)
                    for claim in (*CLAIMS, *scale_parts())
                },
            },
            "checkpoints": rebased(
                {k: v for s in summaries for k, v in s.checkpoints.items()},
                results,
                Path(path).parent,
            ),
        },
    )
