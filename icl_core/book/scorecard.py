"""The scorecard's and the findings' chapters: their verdicts' table, and each text
the chapters quote, chosen here from the verdicts (`verdicts.scorecard`)."""

from __future__ import annotations

from typing import Iterable, Sequence

from ..verdicts.claims import BEFORE_CONTROLS, HOLDS, Thresholds, Verdict
from ..verdicts.scorecard import PARTS
from .glue import as_text, markdown_table

OUTCOME_TEXTS = {True: "holds", False: "does not hold", None: "not tested"}
PART_OF = {c.key: c.part_of for c in PARTS}


def margin_cell(v: Verdict) -> str:
    """'+34%', '+7%, on the edge', with why a verdict that passes its key threshold
    fails, and the verdict at each threshold of `THRESHOLD_RANGE` where it differs."""
    if not v.margin:
        return "–"
    if not v.holds_at:  # a share that must be complete has no margin to speak of
        if v.holds is False and v.margin["mean"] >= 0:
            return (
                "none (a share that must be complete); the seed mean is, too few seeds"
            )
        return "none (a share that must be complete)"
    text = margin_text(v.margin["mean"]) + (", on the edge" if v.on_edge else "")
    if v.holds is False and v.margin["mean"] > 0:
        seeds_fail = v.seeds_holding < Thresholds().seed_share * v.seeds
        text += "; too few seeds" if seeds_fail else "; fails a further condition"
    for scale, holds in v.holds_at.items():
        if holds != v.holds:
            text += f"; {OUTCOME_TEXTS[holds]} at ×{float(scale):g} the threshold"
    return text


def margin_text(margin: float) -> str:
    """'+34%', or '×58 the threshold' for a quantity beyond twice its threshold."""
    return f"×{1 + margin:.3g} the threshold" if margin > 1 else f"{margin:+.0%}"


def control_notes(v: Verdict) -> list[str]:
    """What a verdict's parts add to it: '2a not', '2a not, on the edge', '5a, 5b
    not; 5b on the edge', '2c not measured'."""
    notes = [f"{', '.join(v.failed_controls)} not"] if v.failed_controls else []
    edge = tuple(v.controls_on_edge)
    if edge and edge == tuple(v.failed_controls):
        notes = [f"{notes[0]}, on the edge"]
    elif edge:
        notes.append(f"{', '.join(edge)} on the edge")
    if v.untested_controls and v.holds is not None:
        notes.append(f"{', '.join(v.untested_controls)} not measured")
    return notes


def verdict_cell(v: Verdict) -> str:
    """The status in bold, with what its parts add (`control_notes`)."""
    notes = control_notes(v)
    return f"**{v.status}**" + (f" ({'; '.join(notes)})" if notes else "")


def verdict_table(verdicts: Sequence[Verdict], kind: str):
    """The scorecard's table: one row per verdict, naming in its verdict cell the parts
    that failed or could not be measured."""
    return markdown_table(headers(kind), [_row(v) for v in verdicts])


def parts_table(verdicts: Sequence[Verdict], parts: Sequence[Verdict], kind: str):
    """The re-judged parts (`scorecard.PARTS`), in the order of the verdicts they
    re-measure."""
    rows = [_row(p) for v in verdicts for p in parts if PART_OF[p.key] == v.key]
    return markdown_table(headers(f"part of the {kind}"), rows)


def headers(kind: str) -> list[str]:
    """The table's column headings, the first naming what its rows judge."""
    return [kind, "measured (seed mean)", "criterion", "seeds", "margin", "verdict"]


def _row(v: Verdict) -> list:
    return [
        v.claim,
        v.measured,
        v.criterion,
        f"{v.seeds_holding} of {v.seeds}",
        margin_cell(v),
        verdict_cell(v),
    ]


def scorecard_texts(
    verdicts: Sequence[Verdict],
    parts: Sequence[Verdict],
    preset: str,
    seed_share: float,
    unlearned: dict[str, float],
) -> dict[str, str]:
    """The scorecard chapter's glued texts, by glue name; `unlearned`: the seeds set
    aside, with their in-distribution errors."""
    titles = {c.key: c.title for c in PARTS}
    mechanism = [v for v in parts if PART_OF[v.key] in ("4", "5", "6", "7b")]
    failed = [
        f"claim {v.key} (holds in {v.seeds_holding} of {v.seeds} seeds)"
        for v in verdicts
        if v.holds is False
    ]
    split = [
        f"claim {v.key} ({v.seeds_holding} of {v.seeds})"
        for v in verdicts
        if 0 < v.seeds_holding < v.seeds
    ]
    return {
        "sc_preset": preset,
        "sc_parts": rests_on_bound(parts, verdicts),
        "sc_mechanism": ", ".join(
            f"{v.key} ({titles[v.key]})" for v in mechanism if v.holds
        )
        or "none",
        "sc_mechanism_failed": ", ".join(
            f"{v.key} ({titles[v.key]})" for v in mechanism if v.holds is False
        )
        or "none",
        "sc_held": count_holding(verdicts),
        "sc_before_controls": before_controls(verdicts),
        "sc_on_edge": on_edge(verdicts, parts),
        "sc_unlearned": unlearned_text(unlearned),
        "sc_seed_share": as_text(seed_share, ".0%"),
        "sc_failed": ", ".join(failed) or "none",
        "sc_split": ", ".join(split) or "none",
        **{f"sc_claim_{v.key}": v.status for v in verdicts},
    }


def findings_texts(
    verdicts: Sequence[Verdict], parts: Sequence[Verdict], preset: str
) -> dict[str, str]:
    """The findings chapter's glued texts, by glue name."""
    failed = [v.key for v in verdicts if v.holds is False]
    return {
        "bf_preset": preset,
        "bf_parts": rests_on_bound(parts, verdicts),
        "bf_held": count_holding(verdicts),
        "bf_before_controls": before_controls(verdicts),
        "bf_on_edge": on_edge(verdicts, parts),
        "bf_failed": ", ".join(failed) if failed else "none",
        **{f"bf_finding_{v.key}": v.status for v in verdicts},
    }


def before_controls(verdicts: Sequence[Verdict]) -> str:
    """'2 (2a not), 5 (5a, 5b not)': the verdicts that hold only before their
    controls, with the parts that fail."""
    held = [
        f"{v.key} ({'; '.join(control_notes(v))})"
        for v in verdicts
        if v.status == BEFORE_CONTROLS
    ]
    return ", ".join(held) or "none"


def on_edge(verdicts: Sequence[Verdict], parts: Sequence[Verdict]) -> str:
    """'2a (−1%), 3a (+9%)': the verdicts and parts whose seed mean lies within the
    edge of its threshold, with its margin."""
    edge = [
        f"{v.key} ({v.margin['mean']:+.0%})" for v in (*verdicts, *parts) if v.on_edge
    ]
    return ", ".join(edge) or "none"


def unlearned_text(unlearned: dict[str, float]) -> str:
    """'seed 1 (median error 0.20 in distribution)' for each seed set aside."""
    seeds = [
        f"seed {s} (median error {e:.2g} in distribution)" for s, e in unlearned.items()
    ]
    return ", ".join(seeds) or "none"


PART_SENTENCES = {
    "not measured": "{name} was not re-measured at this preset.",
    "survives": "{name} survives every control measured here: it holds {held}.",
    "holds in": "{name} holds {held}.",
    "partly": "{name} holds {held}, and fails {failed}, where its verdict needs {needs}.",
    "fails every": "{name} fails {failed}: its verdict needs {needs}.",
    "rescued": "{name} does not hold as stated, yet holds {held}: its failure rests "
    "on {rests}.",
    "fails": "{name} does not hold as stated.",
    "split": "{part}, the seed mean passes but only {n} of {m} seeds do, too few for "
    "that part to hold.",
    "split only": "{name}'s seeds split in every part measured here.",
    "untested": "{name} is not measured {untested} at this preset.",
}


def listed(items: Iterable[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _mean_passes(v: Verdict) -> bool:
    return bool(v.margin) and v.margin["mean"] > 0 and v.seeds_holding > 0


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def rests_on_bound(parts: Sequence[Verdict], verdicts: Sequence[Verdict] = ()) -> str:
    """A few whole sentences per claim re-judged in `parts` (verdicts of
    `scorecard.PARTS`), chosen by case from `PART_SENTENCES`: the parts it holds in
    and, for those it fails, what the verdict needs there; with the claims' own
    `verdicts`, a claim that fails as stated but holds in some part is said to fail on
    the explanation that part rules out. A part whose seed mean passes while too few
    seeds do is said to split, not to fail."""
    explained = {c.key: c.explanation for c in PARTS}
    main = {v.key: v.holds for v in verdicts}
    sentences = []
    for key in dict.fromkeys(PART_OF[v.key] for v in parts):
        mine = [v for v in parts if PART_OF[v.key] == key]
        name = f"Claim {key}" if key[0].isdigit() else f"Finding {key}"
        held = [explained[v.key] for v in mine if v.holds is True]
        # a part whose seed mean passes but whose seeds mostly do not is split
        split = [v for v in mine if v.holds is False and _mean_passes(v)]
        failed = [
            explained[v.key] for v in mine if v.holds is False and not _mean_passes(v)
        ]
        untested = [explained[v.key].title for v in mine if v.holds is None]
        if not held and not failed and not split:
            sentences.append(PART_SENTENCES["not measured"].format(name=name))
            continue
        if main.get(key) is False:
            case = "rescued" if held else "fails"
        elif failed:
            case = "partly" if held else "fails every"
        else:
            case = ("holds in" if split else "survives") if held else "split only"
        sentences.append(
            PART_SENTENCES[case].format(
                name=name,
                held=listed([e.title for e in held] or [""]),
                failed=listed([e.title for e in failed] or [""]),
                needs=listed([e.rests_on for e in failed] or [""]),
                rests=listed([e.fails_on for e in held] or [""]),
            )
        )
        sentences += [
            PART_SENTENCES["split"].format(
                part=capitalised(explained[v.key].title), n=v.seeds_holding, m=v.seeds
            )
            for v in split
        ]
        if untested:
            sentences.append(
                PART_SENTENCES["untested"].format(name=name, untested=listed(untested))
            )
    return " ".join(sentences)


def count_holding(verdicts: Sequence[Verdict]) -> str:
    """'1 of 8' (the verdicts that hold), or '1 of 7 tested' when some could not be
    tested, saying how many of those that hold rest on a control that could not be
    measured: '3 of 8 (2 of them with a control not measured)'."""
    tested = [v for v in verdicts if v.holds is not None]
    total = f"{len(tested)} tested" if len(tested) < len(verdicts) else len(verdicts)
    holding = [v for v in tested if v.status == HOLDS]
    partly = sum(bool(v.untested_controls) for v in holding)
    text = f"{len(holding)} of {total}"
    return text + (f" ({partly} of them with a control not measured)" if partly else "")
