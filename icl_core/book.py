"""The book pipeline: execute every chapter with papermill, in order and in place, then build it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from .presets import get_preset
from .storage import write_json
from .train import resolve_device


def chapters(book_dir: str | Path) -> list[Path]:
    """The notebooks listed in the table of contents, in reading order."""
    book_dir = Path(book_dir)
    toc = yaml.safe_load((book_dir / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("chapters", []) + entry.get("sections", []))

    walk(toc.get("parts", []) + toc.get("chapters", []))
    return [book_dir / f"{name}.ipynb" for name in files if (book_dir / f"{name}.ipynb").exists()]


def execute(book_dir: str | Path, parameters: dict, timings: str | Path | None = None) -> dict[str, float]:
    """Run each chapter in place with `parameters`; return (and optionally save) seconds per chapter."""
    import papermill

    seconds = {}
    for notebook in chapters(book_dir):
        start = time.perf_counter()
        papermill.execute_notebook(notebook, notebook, parameters=parameters, cwd=notebook.parent,
                                   progress_bar=False, kernel_name="python3")
        _hide_injected_parameters(notebook)
        seconds[notebook.stem] = round(time.perf_counter() - start, 1)
        print(f"executed {notebook.name} in {seconds[notebook.stem]:.0f} s", flush=True)
    if timings is not None:
        write_json(timings, {"parameters": parameters, "seconds": seconds, "total": sum(seconds.values())})
    return seconds


def _hide_injected_parameters(notebook: Path) -> None:
    """Tag papermill's injected cell `remove-cell` so the rendered page does not show it."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    nbformat.write(nb, notebook)


def build(book_dir: str | Path, strict: bool = True) -> None:
    """`jupyter-book build` with execution off (the notebooks already carry their outputs)."""
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(book_dir)]
    subprocess.run(command + (["-W", "-n", "--keep-going"] if strict else []), check=True)


def make_book(preset: str, device: str, retrain: bool, book_dir: str | Path = "book",
              results: str | Path = "results") -> None:
    get_preset(preset)
    resolve_device(device)
    if retrain:
        for finished in Path(results, preset).glob("*/model.pt"):
            finished.unlink()
    # Chapters run inside book_dir; a relative path keeps the committed notebooks free of local paths.
    relative = os.path.relpath(Path(results).resolve(), Path(book_dir).resolve())
    execute(book_dir, {"preset": preset, "device": device, "results": relative},
            timings=Path(results, preset, "timings.json"))
    shutil.rmtree(Path(book_dir) / "_build", ignore_errors=True)
    build(book_dir)
