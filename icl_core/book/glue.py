"""Putting numbers and figures into the book: myst-nb glue and small Markdown tables."""

from __future__ import annotations

import re
from typing import Any, Sequence

SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
EXPONENT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)e([+-]?)0*(\d+)\b")


def readable(text: str) -> str:
    """`text` with Python's exponent notation written as a reader writes it:
    '5.88e+03' as '5.88×10³', '7e-16' as '7×10⁻¹⁶'."""

    def power(m: re.Match) -> str:
        sign = "-" if m[2] == "-" else ""
        return f"{m[1]}×10{(sign + m[3]).translate(SUPERSCRIPTS)}"

    return EXPONENT.sub(power, text)


def as_text(value: Any, fmt: str = "") -> str:
    """`value` as a plain string (never a NumPy scalar repr), through `fmt` if given."""
    return format(float(value), fmt) if fmt else str(value)


def glue_texts(texts: dict[str, str]) -> None:
    """Glue every text of a chapter's module (`book/<chapter>.py`), by glue name."""
    from myst_nb import glue

    for name, text in texts.items():
        glue(name, readable(text), display=False)


def glue_figure(name: str, fig, raster: bool = False) -> None:
    """Glue a figure for a `{glue:figure}` block; a live notebook still shows it below
    its cell. `raster`: as a PNG, which other pages can paste too (`{glue}` with
    `:doc:`): myst-nb pastes figures across pages only as raster images."""
    from myst_nb import glue

    if raster:
        import io

        from IPython.display import Image

        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=150)
        fig = Image(png.getvalue())
    glue(name, fig, display=False)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]):
    """An IPython Markdown table (rendered as a real table in the book); a `|` inside a
    cell is escaped so that it cannot split the cell."""
    from IPython.display import Markdown

    def line(cells) -> str:
        cells = (readable(str(c)).replace("|", "\\|") for c in cells)
        return "| " + " | ".join(cells) + " |"

    lines = [line(headers), "|" + "---|" * len(headers)]
    lines += [line(row) for row in rows]
    return Markdown("\n".join(lines))


def glue_markdown(name: str, markdown) -> None:
    """Glue an IPython Markdown object (a table) for a page's `{glue:md}` directive,
    which can place it inside a dropdown."""
    from myst_nb import glue

    glue(name, markdown, display=False)
