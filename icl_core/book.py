"""The book pipeline: execute every chapter with papermill, in order and in place, then build it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch
import yaml

from .presets import get_preset
from .storage import read_json, write_json
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


def execute(book_dir: str | Path, parameters: dict) -> dict[str, float]:
    """Run each chapter in place with `parameters`; return the seconds each took."""
    import papermill

    seconds = {}
    for notebook in chapters(book_dir):
        start = time.perf_counter()
        papermill.execute_notebook(notebook, notebook, parameters=parameters, cwd=notebook.parent,
                                   progress_bar=False, kernel_name="python3")
        _prepare_for_static_page(notebook)
        seconds[notebook.stem] = round(time.perf_counter() - start, 1)
        print(f"executed {notebook.name} in {seconds[notebook.stem]:.0f} s", flush=True)
    return seconds


def record_timings(path: Path, mode: str, parameters: dict, seconds: dict[str, float],
                   models_trained: int) -> None:
    """Keep the latest wall times of each kind of run ('retrain' or 'reuse') side by side."""
    recorded = read_json(path) if path.exists() else {}
    recorded[mode] = {"parameters": parameters, "seconds": seconds, "total": round(sum(seconds.values()), 1),
                      "models_trained": models_trained, "cpu_count": os.cpu_count(),
                      "threads": torch.get_num_threads(), "date": time.strftime("%Y-%m-%d")}
    write_json(path, recorded)


def _prepare_for_static_page(notebook: Path) -> None:
    """Tag papermill's injected cell `remove-cell` so the rendered page does not show it, and give it a
    fixed id (papermill draws a new one each run, which would change every notebook on every rebuild).
    Drop saved widget state: a static page cannot run the widgets' Python callbacks, and the state would
    make it load the widget manager's scripts for nothing."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags:
            cell.id = "injected-parameters"
            if "remove-cell" not in tags:
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
    before = set(Path(results, preset).glob("*/model.pt"))
    if retrain:
        for finished in before:
            finished.unlink()
        before = set()
    # Chapters run inside book_dir; a relative path keeps the committed notebooks free of local paths.
    relative = os.path.relpath(Path(results).resolve(), Path(book_dir).resolve())
    parameters = {"preset": preset, "device": device, "results": relative}
    seconds = execute(book_dir, parameters)
    trained = len(set(Path(results, preset).glob("*/model.pt")) - before)
    record_timings(Path(results, preset, "timings.json"), "retrain" if retrain else "reuse", parameters, seconds,
                   trained)
    shutil.rmtree(Path(book_dir) / "_build", ignore_errors=True)
    build(book_dir)
