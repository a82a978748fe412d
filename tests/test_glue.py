"""Every number a page quotes is there to quote: each `{glue:...}` reference in a
chapter's prose, or in the pages that quote chapters, names a value that the committed,
executed notebook glued."""

import re
from pathlib import Path

import nbformat

BOOK = Path(__file__).resolve().parents[1] / "book"
REFERENCE = re.compile(r"\{glue(?::\w+)?\}`([^`]+)`")
FIGURE = re.compile(r"```\{glue(?::figure)?\} (\S+)")


def glued(path: Path) -> set[str]:
    notebook = nbformat.read(path, as_version=4)
    return {
        output["metadata"]["scrapbook"]["name"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("metadata", {}).get("scrapbook")
    }


def references(text: str) -> list[str]:
    """Each referenced glue name as `notebook::name` or `name` (a format suffix
    `:s` or `:.2f` dropped)."""
    names = REFERENCE.findall(text) + FIGURE.findall(text)
    return [re.sub(r":[^:]*$", "", n) if n.count(":") % 2 else n for n in names]


def test_every_glue_reference_names_a_value_its_notebook_glued():
    missing = []
    for path in sorted(BOOK.glob("*.ipynb")):
        prose = "\n".join(
            c.source
            for c in nbformat.read(path, as_version=4).cells
            if c.cell_type == "markdown"
        )
        own = glued(path)
        missing += [f"{path.name}: {n}" for n in references(prose) if n not in own]
    for page in sorted(BOOK.glob("*.md")):
        for name in references(page.read_text()):
            notebook, _, key = name.partition("::")
            if key and key not in glued(BOOK / notebook):
                missing.append(f"{page.name}: {name}")
    assert not missing, missing
