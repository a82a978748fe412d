"""Code formatted to the column: ruff's formatter and linter over the library, tests,
benchmarks and chapters, with the chapters (what readers see) held to 88 columns."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).with_name("ruff")


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(RUFF), *args], cwd=ROOT, capture_output=True, text=True)


def test_the_code_is_formatted():
    done = ruff("format", "--check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_code_passes_the_linter():
    done = ruff("check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_chapter_line_is_wider_than_the_column():
    done = ruff(
        "check",
        "book",
        "--select",
        "E501",
        "--config",
        "lint.pycodestyle.max-line-length=88",
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_name_a_chapter_imports_from_the_library_exists():
    """Catches a chapter left behind by a move in the library without executing it."""
    import ast
    import importlib

    import nbformat

    missing = []
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            for node in ast.walk(ast.parse(python_of(cell.source))):
                if isinstance(node, ast.ImportFrom) and node.module.startswith(
                    "icl_core"
                ):
                    module = importlib.import_module(node.module)
                    missing += [
                        f"{path.name}: {node.module}.{alias.name}"
                        for alias in node.names
                        if not hasattr(module, alias.name)
                        and not _is_module(f"{node.module}.{alias.name}")
                    ]
    assert not missing, missing


def _is_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def python_of(source: str) -> str:
    """A cell's source with IPython's escapes (`!cmd`, `%magic`) made Python."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def test_every_chapter_fetches_the_library_on_colab_with_the_same_cell():
    """The Colab cell cannot import the library it fetches, so it is pasted: one text,
    the same in every chapter."""
    import nbformat

    cells = {
        path.name: [
            c.source
            for c in nbformat.read(path, as_version=4).cells
            if c.cell_type == "code" and "google.colab" in c.source
        ]
        for path in sorted((ROOT / "book").glob("*.ipynb"))
    }
    assert all(len(found) == 1 for found in cells.values()), cells
    assert len({found[0] for found in cells.values()}) == 1
