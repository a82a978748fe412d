"""Every number a page quotes is there to quote: each `{glue:...}` reference in a
chapter's prose, or in the pages that quote chapters, names a value that the committed,
executed notebook glued."""

import re
from pathlib import Path

import nbformat

BOOK = Path(__file__).resolve().parents[1] / "book"
REFERENCE = re.compile(r"\{glue(?::\w+)?\}`([^`]+)`")
# a pasted figure, with the notebook it comes from where it is another page's
FIGURE = re.compile(r"```\{glue(?::figure)?\} (\S+)(?:\n:doc: (\S+))?")


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
    figures = [f"{doc}::{name}" if doc else name for name, doc in FIGURE.findall(text)]
    names = REFERENCE.findall(text) + figures
    return [re.sub(r":[^:]*$", "", n) if n.count(":") % 2 else n for n in names]


def test_every_glue_reference_names_a_value_its_notebook_glued():
    missing = []
    for path in sorted(BOOK.glob("*.ipynb")):
        prose = "\n".join(
            c.source
            for c in nbformat.read(path, as_version=4).cells
            if c.cell_type == "markdown"
        )
        for name in references(prose):
            notebook, _, key = name.rpartition("::")
            if key not in glued(BOOK / notebook if notebook else path):
                missing.append(f"{path.name}: {name}")
    for page in sorted(BOOK.glob("*.md")):
        for name in references(page.read_text()):
            notebook, _, key = name.partition("::")
            if key and key not in glued(BOOK / notebook):
                missing.append(f"{page.name}: {name}")
    assert not missing, missing


def test_exponents_are_written_as_a_reader_writes_them():
    from icl_core.book.glue import readable

    assert readable("×5.88e+03 [4.79e+03, 7e-16]") == "×5.88×10³ [4.79×10³, 7×10⁻¹⁶]"
    assert readable("cpu-16k, layer 4, 1.2e-05,") == "cpu-16k, layer 4, 1.2×10⁻⁵,"
