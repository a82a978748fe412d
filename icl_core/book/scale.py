"""The Scale chapter's tables and quoted texts, from the presets' summaries
(`verdicts.scale`), so that the chapter holds only its prose and its figure."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..analysis.shift_sweeps import MODERATE_SHIFT, quantities_at_query
from ..core.results import Table, format_range, one_seed, read_results
from ..verdicts.claims import CLAIMS, Claim, Thresholds, Verdict
from ..verdicts.scale import (
    FACTORS,
    UNCOMPARED,
    PresetSummary,
    attribution,
    chance_separation,
    change,
    fails_through_unlearned,
    held_by_learned_seeds,
    measured_values,
    preset_summary,
    presets_with_results,
    scale_parts,
    separation_counts,
    shared_seeds,
    trend,
    unlearned_seeds,
    values_change,
    verdict_of,
)
from .scorecard import count_holding


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


def quantities_at(
    results: str | Path, summary: PresetSummary, query: int
) -> dict[str, list[float | None]]:
    """Claim 1's and claim 3's key quantities per training seed of the standard model,
    read at query `query` instead of each prompt's last
    (`shift_sweeps.quantities_at_query`)."""
    names = ("in_distribution", "distribution_shift")
    data = read_results(Path(results, summary.preset), names, same_models=names)
    per_seed = [
        quantities_at_query(*(one_seed(data[n], i) for n in names), query)
        for i in range(len(summary.seeds))
    ]
    return {k: [q[k] for q in per_seed] for k in per_seed[0]}


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


def row_heading(summary: PresetSummary, claim: Claim) -> str:
    """The claim's row heading in the tables; a part (4a) marked ↳ under its claim."""
    text = verdict_of(summary, claim).claim
    return f"↳ {text}" if claim.key[-1].isalpha() else text


def verdict_cell(verdict: Verdict) -> str:
    """'yes (5 of 5 seeds)', 'no (1 of 5 seeds)' or 'not tested'."""
    if verdict.holds is None:
        return verdict.outcome
    plural = "s" if verdict.seeds > 1 else ""
    return (
        f"{verdict.outcome} ({verdict.seeds_holding} of {verdict.seeds} seed{plural})"
    )


def quantity_rows(summaries: list[PresetSummary]) -> list[list[str]]:
    """The side-by-side table: one row per quantity, one column per preset, each cell
    the seed mean with the seed range."""

    def row(label, cell):
        return [label, *(cell(s) for s in summaries)]

    def measured(key, fmt=".3g", unit=""):
        def cell(s):
            values = measured_values(s, key)
            return format_range(values, fmt) + unit if values else "not tested"

        return cell

    return [
        row("parameters", lambda s: f"{s.n_parameters:,}"),
        row("d, points", lambda s: f"{s.n_dims}, {s.n_points}"),
        row("layers × heads × width", lambda s: s.architecture),
        row("training steps", lambda s: f"{s.steps:,}"),
        row("training wall time, one model (machine load varied)", training_time),
        row("training seeds (standard model)", lambda s: str(len(s.seeds))),
        row("pretraining distributions (claim 7)", lambda s: str(len(s.pretraining))),
        row("in-distribution error, last query", measured("in_distribution_error")),
        row(f"error growth, c = {MODERATE_SHIFT} vs c = 0",
            measured(f"error_growth_{MODERATE_SHIFT}", unit="×")),
        row("error growth, largest c vs c = 0", measured("error_growth_largest", unit="×")),
        row("median error at largest c, last query", measured("transformer_error_largest")),
        row("accuracy at c = 0", measured("accuracy_0", ".0%")),
        row("accuracy at largest c", measured("accuracy_largest", ".0%")),
        row("accuracy kept, largest c ÷ c = 0", measured("accuracy_kept", ".2f")),
        row("signature score at c = 0", measured("signature_in_distribution", ".2f")),
        row("signature score at largest c", measured("signature_largest", ".2f")),
        row("score drop, c = 0 → largest c", measured("signature_drop", ".2f")),
        row("Spearman, signature vs low loss", measured("spearman", ".2f")),
        row("σ1 growth, largest c vs c = 0", measured("sigma1_growth", unit="×")),
        row("signature score, c = 0, above layer 0 and untrained",
            measured("signature_beyond_input", ".2f")),
        row("signature score, c = 0, centred", measured("signature_centred", ".2f")),
        row("score drop, above layer 0 and untrained", measured("drop_beyond_input", ".2f")),
        row("σ1 growth ÷ layer 0's or untrained's",
            measured("sigma1_growth_beyond_input", ".2f", "×")),
        row("centred score drop, above layer 0 and untrained",
            measured("centred_drop_beyond_input", ".2f")),
        row("Spearman within a shift level", measured("within_shift_spearman", ".2f")),
        row("Spearman, prompt statistics partialled out",
            measured("partial_spearman", ".2f")),
        row("own-distribution wins (claim 7)", measured("own_distribution_wins", ".2f")),
    ]  # fmt: skip


def training_time(summary: PresetSummary) -> str:
    """'86 min on cpu (2 threads)': the standard model's first seed."""
    return f"{summary.train_seconds / 60:.0f} min on {summary.train_device}"


def seeds_text(summary: PresetSummary) -> str:
    """'5 training seeds' or '1 training seed'."""
    n = len(summary.seeds)
    return f"{n} training seed{'s' if n > 1 else ''}"


def describe(summary: PresetSummary) -> str:
    """'cpu (201,921 parameters, d = 5, 5 training seeds)'."""
    return (
        f"{summary.preset} ({summary.n_parameters:,} parameters, d = "
        f"{summary.n_dims}, {seeds_text(summary)})"
    )


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
