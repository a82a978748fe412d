"""The scorecard's and the findings' chapters: their verdicts' table, and each text
the chapters quote, chosen here from the verdicts (`verdicts.scorecard`)."""

from __future__ import annotations

from typing import Sequence

from ..verdicts.claims import Verdict
from ..verdicts.scorecard import PARTS
from .glue import as_text

OUTCOME_TEXTS = {True: "holds", False: "does not hold", None: "not tested"}


def scorecard_texts(
    verdicts: Sequence[Verdict],
    parts: Sequence[Verdict],
    preset: str,
    seed_share: float,
) -> dict[str, str]:
    """The scorecard chapter's glued texts, by glue name."""
    titles = {c.key: c.title for c in PARTS}
    mechanism = [v for v in parts if v.key[0] in "456"]  # the spectral claims' parts
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
        "sc_seed_share": as_text(seed_share, ".0%"),
        "sc_failed": ", ".join(failed) or "none",
        "sc_split": ", ".join(split) or "none",
        **{
            f"sc_claim_{number}": OUTCOME_TEXTS[v.holds]
            for number, v in enumerate(verdicts, start=1)
        },
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
        "bf_failed": ", ".join(failed) if failed else "none",
    }


def rests_on_bound(parts: Sequence[Verdict], verdicts: Sequence[Verdict] = ()) -> str:
    """One sentence per claim re-judged in `parts` (verdicts of `scorecard.PARTS`): the
    parts it holds in and, for those it fails, what the verdict needs there; with the
    claims' own `verdicts`, a claim that fails as stated but holds in some part is said
    to fail on the explanation that part rules out."""
    explained = {c.key: c.explanation for c in PARTS}
    main = {v.key: v.holds for v in verdicts}
    sentences = []
    for key in dict.fromkeys(v.key[:-1] for v in parts):
        mine = [v for v in parts if v.key[:-1] == key]
        group = {explained[v.key]: v.holds for v in mine}
        name = f"Claim {key}" if key.isdigit() else f"Finding {key}"
        # a part some seeds pass and most do not is split, not failed
        split = {
            explained[v.key]: f"{v.seeds_holding} of {v.seeds}"
            for v in mine
            if v.holds is False and v.seeds_holding > 0
        }
        held = [e for e, h in group.items() if h is True]
        failed = [e for e, h in group.items() if h is False and e not in split]
        if not held and not failed and not split:
            sentences.append(f"{name} was not re-measured at this preset.")
            continue
        if main.get(key) is False:
            text = f"{name} does not hold as stated"
            if held:
                reasons = ", ".join(e.fails_on for e in held)
                text += f", but holds {_titles(held)}: its failure rests on {reasons}"
        else:
            text = f"{name} holds {_titles(held)}" if held else name
            if failed:
                reasons = ", ".join(e.rests_on for e in failed)
                text += " but not " if held else " does not hold "
                text += f"{_titles(failed)}: there the verdict needs {reasons}"
        if split:
            text += ":" if text == name else ";"
            text += " the seeds split " + ", ".join(
                f"{e.title} ({n} seeds hold)" for e, n in split.items()
            )
        untested = [e for e, h in group.items() if h is None]
        if untested:
            text += f" (not measured {_titles(untested)})"
        sentences.append(text + ".")
    return " ".join(sentences)


def _titles(explanations) -> str:
    return ", ".join(e.title for e in explanations)


def count_holding(verdicts: Sequence[Verdict]) -> str:
    """'4 of 7', or '4 of 6 tested' when some verdicts could not be tested."""
    tested = [v for v in verdicts if v.holds is not None]
    total = f"{len(tested)} tested" if len(tested) < len(verdicts) else len(verdicts)
    return f"{sum(v.holds for v in tested)} of {total}"
