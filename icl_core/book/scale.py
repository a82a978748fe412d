"""The Scale chapter's tables and quoted texts, from the presets' summaries
(`verdicts.scale`), so that the chapter holds only its prose and its figure."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..analysis.shift_sweeps import MODERATE_SHIFT, quantities_at_query
from ..core.presets import PRESETS
from ..core.results import Table, format_range, one_seed, read_results
from ..core.storage import read_json
from ..verdicts.claims import (
    BEFORE_CONTROLS,
    CLAIMS,
    EDGE,
    FAILS,
    HOLDS,
    Claim,
    Thresholds,
    Verdict,
)
from ..verdicts.scale import (
    FACTORS,
    UNCOMPARED,
    PresetSummary,
    attribution,
    chance_separation,
    measured_values,
    preset_summary,
    presets_with_results,
    scale_parts,
    separation_counts,
    trend,
    values_change,
    verdict_of,
)
from ..verdicts.scorecard import unlearned_seeds
from .scorecard import count_holding, listed


@dataclass(frozen=True)
class ScaleReport:
    """Every table of the Scale chapter as (header, rows), and `texts`: each glue name
    of the chapter with its text."""

    summaries: list[PresetSummary]
    quantities: Table
    verdicts: Table
    attribution: Table
    matched_query: Table  # no rows where the prompt-length pair lacks the record
    # presets where some seed did not learn the task: every seed, and those that did not
    learning: dict[str, tuple[list[int], list[str]]]
    texts: dict[str, str]


def scale_report(results: str | Path, wanted: list[str]) -> ScaleReport:
    """The report over the `wanted` presets that have results and a seed that learned
    the task, smallest first; those where no seed learned it are named apart."""
    records = {
        name: read_json(Path(results, name, "in_distribution.json"))
        for name in PRESETS
        if name in wanted and Path(results, name, "in_distribution.json").is_file()
    }
    unlearned = {name: unlearned_seeds(ind) for name, ind in records.items()}
    with_scorecard = presets_with_results(results, wanted)
    compared = [
        name
        for name, ind in records.items()
        if name in with_scorecard and len(unlearned[name]) < len(ind["seeds"])
    ]
    none_learned = {
        n: e for n, e in unlearned.items() if len(e) == len(records[n]["seeds"])
    }
    summaries = [preset_summary(results, name) for name in compared]
    presets = [f"`{s.preset}`" for s in summaries]
    matched, matched_texts = matched_query(results, summaries)
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
        matched_query=matched,
        learning={
            name: ([s["seed"] for s in records[name]["seeds"]], sorted(aside))
            for name, aside in unlearned.items()
            if aside
        },
        texts={
            **scale_texts(summaries, compared, none_learned),
            **matched_texts,
        },
    )


def _claims_then_parts() -> list[Claim]:
    """Each claim followed by its parts of `scale_parts` (1, 2, 3, 4, 4a, 4b, 5, ...)."""
    parts = scale_parts()
    return [x for c in CLAIMS for x in (c, *(p for p in parts if p.part_of == c.key))]


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
    data = read_results(Path(results, summary.preset), names)

    def at(name: str, seed: int) -> dict:
        index = [s["seed"] for s in data[name]["seeds"]].index(seed)
        return one_seed(data[name], index)

    per_seed = [
        quantities_at_query(*(at(n, seed) for n in names), query)
        for seed in summary.seeds
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
    return f"↳ {text}" if claim.part_of else text


def verdict_cell(verdict: Verdict) -> str:
    """'holds (5 of 5 seeds)', 'does not hold (1 of 5 seeds), on the edge' or 'not
    tested'."""
    if verdict.holds is None:
        return verdict.outcome
    plural = "s" if verdict.seeds > 1 else ""
    seeds = f"{verdict.seeds_holding} of {verdict.seeds} seed{plural}"
    return f"{verdict.status} ({seeds})" + (", on the edge" if verdict.on_edge else "")


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
        row("training seeds that learned the task (standard model)", learned),
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
        row("Spearman within a shift level", measured("within_shift_spearman", ".2f")),
        row("Spearman, prompt statistics partialled out",
            measured("partial_spearman", ".2f")),
        row("own model's error ÷ the best other's, largest (7a)",
            measured("own_error_ratio", ".2f", "×")),
        row("share of models whose own distribution scores highest (7b)",
            measured("own_highest_score_share", ".2f")),
        row("own-distribution advantage above layer 0 and untrained (7b)",
            measured("own_score_beyond_input", ".2f")),
    ]  # fmt: skip


def learned(summary: PresetSummary) -> str:
    """'3 of 5': the seeds that learned the task, of those trained."""
    return f"{len(summary.seeds)} of {len(summary.seeds) + len(summary.unlearned)}"


def training_time(summary: PresetSummary) -> str:
    """'86 min on cpu (2 threads)': the standard model's first seed."""
    return f"{summary.train_seconds / 60:.0f} min on {summary.train_device}"


def seeds_text(summary: PresetSummary) -> str:
    """'5 training seeds' or '3 training seeds that learned the task (2 set aside)'."""
    n = len(summary.seeds)
    text = f"{n} training seed{'s' if n > 1 else ''}"
    if summary.unlearned:
        text += f" that learned the task ({len(summary.unlearned)} set aside)"
    return text


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
    prompts' last query as well as at their own, each over its own seeds: the key
    quantity's seed mean and range in each, and how it moves (`values_change`);
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

    def values(table, quantity):  # every seed the preset judges
        return list(table[quantity])

    claims = {c.key: c for c in CLAIMS}
    rows, moves = [], []
    for quantity, (key, label, unit) in LAST_QUERY_ROWS.items():
        first, same, last = (
            values(t, quantity) for t in (before.quantities, matched, after.quantities)
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


def factors_flipping(
    summaries: list[PresetSummary], claims: tuple[Claim, ...]
) -> dict[str, list[str]]:
    """{each factor of `FACTORS` that alone flips some verdict: those claims' keys}."""
    flipping = {}
    for claim in claims:
        attributed = attribution(summaries, claim)
        for factor, _, _ in FACTORS:
            if attributed[factor].startswith("flips"):
                flipping.setdefault(factor, []).append(claim.key)
    return flipping


SUMMARY_SENTENCES = {
    "held": "Claims that hold: {first_held} at {first}, {last_held} at {last}.",
    "flips": "From {first} to {last}, over the seeds that learned the task, the verdicts "
    "on {claims} flip: they change, and the two presets' seed ranges of the key "
    "quantity do not overlap.",
    "differs": "The verdict on {claims} changes too, to {status} at {last}, with the seed "
    "ranges overlapping.",
    "differs, all seeds": "Claim 1, judged over every seed, those that did not learn "
    "the task included, changes too: it {status} at {last}, with the seed ranges "
    "overlapping.",
    "no flips": "From {first} to {last}, no verdict flips with the seeds' ranges of its "
    "key quantity apart.",
    HOLDS: "At {last}, {claims} {verb} without reservation.",
    BEFORE_CONTROLS: "At {last}, {claims} {verb} only before the controls that isolate "
    "the network.",
    FAILS: "At {last}, {claims} no longer {verb}.",
    "factor": "Changing {factor} alone flips {keys}.",
    "no factor": "No single factor flips a verdict on its own.",
    "alone": "Claims that hold at {first}: {first_held}; no other preset has results.",
}


def summary_text(summaries: list[PresetSummary]) -> str:
    """The chapter's opening box: what holds at either end, what flips between them
    and to which status, and which single factor flips a claim or a part, in sentences
    chosen by case."""
    first, last = summaries[0], summaries[-1]
    if len(summaries) == 1:
        return SUMMARY_SENTENCES["alone"].format(
            first=first.preset, first_held=count_holding(first.verdicts)
        )
    trends = claims_by_trend(summaries)
    flips = trends["flips"]
    ends = {"first": first.preset, "last": last.preset}
    sentences = [
        SUMMARY_SENTENCES["held"].format(
            first_held=count_holding(first.verdicts),
            last_held=count_holding(last.verdicts),
            **ends,
        ),
        SUMMARY_SENTENCES["flips" if flips else "no flips"].format(
            claims=_claims(flips), **ends
        ),
    ]
    statuses = {c.key: verdict_of(last, c).status for c in CLAIMS}
    for status in (HOLDS, BEFORE_CONTROLS, FAILS):
        keys = [k for k in flips if statuses[k] == status]
        if keys:
            verb = "hold" if len(keys) > 1 else "holds"
            sentences.append(
                SUMMARY_SENTENCES[status].format(
                    claims=_claims(keys), verb=verb, **ends
                )
            )
    sentences += [
        SUMMARY_SENTENCES["differs, all seeds" if k == "1" else "differs"].format(
            claims=_claims([k]), status=statuses[k], **ends
        )
        for k in trends["differs"]
    ]
    # the parts every preset judged (a results file from before a part has none)
    parts = [
        p
        for p in scale_parts()
        if all(any(v.key == p.key for v in s.parts) for s in summaries)
    ]
    flipping = factors_flipping(summaries, (*CLAIMS, *parts))
    sentences += [
        SUMMARY_SENTENCES["factor"].format(factor=factor, keys=_keys(keys))
        for factor, keys in flipping.items()
    ] or [SUMMARY_SENTENCES["no factor"]]
    return " ".join(sentences)


def _keys(keys: list[str]) -> str:
    """'claims 4 and 6 and part 5a': the claims, then the parts, among `keys`."""
    parts = [k for k in keys if k not in {c.key for c in CLAIMS}]
    claims = [k for k in keys if k not in parts]
    named = [_claims(claims)] if claims else []
    if parts:
        named.append(f"part{'s' if len(parts) > 1 else ''} {listed(parts)}")
    return " and ".join(named)


def _claims(keys) -> str:
    """'claim 1', 'claims 4 and 6' or 'none', so that a key never reads as a count."""
    keys = list(keys)
    if not keys:
        return "none"
    return f"claim{'s' if len(keys) > 1 else ''} {listed(keys)}"


def scale_texts(
    summaries: list[PresetSummary],
    compared: list[str],
    none_learned: dict[str, dict[str, float]],
) -> dict[str, str]:
    """The chapter's glued texts, by glue name; `none_learned`: the presets where no
    seed learned the task, with each seed's in-distribution error."""
    claims = (*CLAIMS, *scale_parts())
    threshold = Thresholds().match_error
    moved = {kind: _claims(c) for kind, c in claims_by_trend(summaries).items()}
    held_at = listed(f"{count_holding(s.verdicts)} at {s.preset}" for s in summaries)
    not_run = [name for name in ("small", "paper") if name not in compared]
    small = summaries[compared.index("small")] if "small" in compared else None
    unlearned = [
        f"{s.preset}, seed {seed} (median error {error:.2g} in distribution"
        + (
            f", within {EDGE:.0%} of the threshold"
            if error < threshold * (1 + EDGE)
            else ""
        )
        + ")"
        for s in summaries
        for seed, error in s.unlearned.items()
    ]
    share = [
        f"at {s.preset}, {learned(s)} seeds learned the task ({s.schedule})"
        for s in summaries
        if s.unlearned
    ]
    nowhere = [
        f"{name} (median errors {format_range(list(e.values()), '.2g')} in "
        "distribution)"
        for name, e in none_learned.items()
    ]
    flipped = "; ".join(
        f"{factor}: {_claims(keys)}"
        for factor, keys in factors_flipping(summaries, CLAIMS).items()
    )
    comparisons, expected, separations, sizes = separation_counts(summaries, claims)
    return {
        "scale_scales": listed(describe(s) for s in summaries),
        "scale_held": held_at,
        "scale_not_run": listed(not_run) if not_run else "none",
        "scale_small_training": training_time(small) if small else "not run",
        "scale_small_seeds": seeds_text(small) if small else "no results",
        **{f"scale_{kind}": claims for kind, claims in moved.items()},
        "scale_unlearned": listed(unlearned) if unlearned else "none",
        "scale_none_learned": listed(nowhere) if nowhere else "none",
        "scale_learned_share": "; ".join(share) or "every seed learned the task",
        "scale_match_error": str(Thresholds().match_error),
        "scale_flipped_by": flipped or "none",
        "scale_summary": summary_text(summaries),
        "scale_chance": (
            "; ".join(
                f"{chance_separation(n, m):.0%} of the time with {n} seeds against {m}"
                for n, m in sizes
            )
            if sizes
            else "n/a"
        ),
        "scale_comparisons": str(comparisons),
        "scale_expected": f"{expected:.1f}",
        "scale_separations": str(separations),
    }
