"""Putting numbers and figures into the book: myst-nb glue and small Markdown tables."""

from __future__ import annotations

from typing import Any, Sequence


def as_text(value: Any, fmt: str = "") -> str:
    """`value` as a plain string (never a NumPy scalar repr), through `fmt` if given."""
    return format(float(value), fmt) if fmt else str(value)


def glue_texts(texts: dict[str, str]) -> None:
    """Glue every text of a chapter's module (`book/<chapter>.py`), by glue name."""
    from myst_nb import glue

    for name, text in texts.items():
        glue(name, text, display=False)


def glue_figure(name: str, fig) -> None:
    """Glue a figure for a `{glue:figure}` block; a live notebook still shows it below
    its cell."""
    from myst_nb import glue

    glue(name, fig, display=False)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]):
    """An IPython Markdown table (rendered as a real table in the book); a `|` inside a
    cell is escaped so that it cannot split the cell."""
    from IPython.display import Markdown

    def line(cells) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    lines = [line(headers), "|" + "---|" * len(headers)]
    lines += [line(row) for row in rows]
    return Markdown("\n".join(lines))


def verdict_table(verdicts, parts, kind: str, preset: str):
    """The scorecard's table: one row per verdict, each followed by the rows of its
    re-judged parts (`scorecard.PARTS`), marked ↳."""

    def row(v, part: bool) -> list:
        return [
            f"↳ {v.claim}" if part else v.claim,
            v.measured,
            v.criterion,
            f"{v.seeds_holding} of {v.seeds}",
            f"**{v.outcome}**",
        ]

    rows = []
    for v in verdicts:
        rows.append(row(v, False))
        rows += [row(p, True) for p in parts if p.key[:-1] == v.key]
    headers = [kind, "measured (seed mean)", "criterion", "seeds", f"holds at {preset}"]
    return markdown_table(headers, rows)
