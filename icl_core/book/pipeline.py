"""The book pipeline: execute every chapter with papermill, in order and in place, then
build it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from ..core.config import check
from ..core.jobs import Job, run_side_by_side
from ..core.results import write_timings
from ..core.train import resolve_device
from .parameters import PUBLISH, check_parameters, declared


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
    return [
        book_dir / f"{name}.ipynb"
        for name in files
        if (book_dir / f"{name}.ipynb").exists()
    ]


def _metadata(notebook: Path) -> dict:
    """A chapter's instructions to the pipeline, its notebook metadata `icl_core`: `after`
    (the chapters whose results it reads) and `reports_timings` (run it again once this
    run's wall times are recorded, so that it reports them)."""
    import nbformat

    return nbformat.read(notebook, as_version=4).metadata.get("icl_core", {})


def accepted(notebook: Path) -> set[str]:
    """The parameters a chapter takes: those its parameters cell declares (a chapter
    refuses any other), and the book's `--pretraining` where it compares models."""
    import nbformat

    cells = nbformat.read(notebook, as_version=4).cells
    tagged = [c.source for c in cells if "parameters" in c.metadata.get("tags", [])]
    names = declared(tagged[0]) if tagged else set()  # papermill's: the first
    return names | ({"pretraining_available"} if "pretraining" in names else set())


def prerequisites(notebook: Path) -> list[str]:
    """The chapters a chapter reads the results of: it starts only once they have
    finished."""
    return _metadata(notebook).get("after", [])


def execute(
    book_dir: str | Path,
    parameters: dict,
    jobs: int = 1,
    out: Path | None = None,
    only: list[str] | None = None,
) -> dict[str, float]:
    """Run each chapter (or those named in `only`) with `parameters`, in place or into
    the folder `out`, up to `jobs` side by side (each waits for those of its
    `prerequisites` that run); return the seconds each took. Chapters running side by
    side share the cores between them, one kernel's threads each, which on CPU beats
    one chapter at a time on every core."""
    notebooks = chapters(book_dir)
    names = [nb.stem for nb in notebooks]
    for name in only or []:
        check(
            name in names, "chapters", name, f"chapters of the book: {', '.join(names)}"
        )
    notebooks = [nb for nb in notebooks if only is None or nb.stem in only]
    running = {nb.stem for nb in notebooks}
    taken = set().union(*map(accepted, notebooks))
    for name in parameters:
        check(
            name in taken,
            "parameter",
            name,
            f"one that a chapter run takes: {', '.join(sorted(taken))}",
        )

    def chapter(notebook: Path) -> Job:
        def run(_device: str, threads: int) -> float:
            seconds = _run_chapter(notebook, parameters, threads, out)
            print(f"executed {notebook.name} in {seconds:.0f} s", flush=True)
            return seconds

        # a prerequisite left out by `only` is not waited for; one missing from the
        # book is refused by `run_side_by_side`
        after = tuple(
            p for p in prerequisites(notebook) if only is None or p in running
        )
        return Job(notebook.stem, run, after)

    return run_side_by_side([chapter(nb) for nb in notebooks], ["cpu"] * max(1, jobs))


def _run_chapter(
    notebook: Path, parameters: dict, threads: int, out: Path | None = None
) -> float:
    """Execute one chapter, in place or into the folder `out`, in a papermill process
    whose kernel uses `threads` threads (it runs in the book's folder either way)."""
    start = time.perf_counter()
    output = notebook if out is None else Path(out).resolve() / notebook.name
    own = accepted(notebook)
    parameters = {k: v for k, v in parameters.items() if k in own}
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        PUBLISH: "1",  # the one path that writes the published results
    }
    command = [
        sys.executable,
        "-m",
        "papermill",
        str(notebook),
        str(output),
        "--cwd",
        str(notebook.parent),
        "--kernel",
        "python3",
        "--no-progress-bar",
        "--log-level",
        "WARNING",
        "-y",
        yaml.safe_dump(parameters),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise ChapterError(f"{notebook.name} failed:\n{done.stderr[-4000:]}")
    _prepare_for_static_page(output)
    return round(time.perf_counter() - start, 1)


class ChapterError(RuntimeError):
    """A chapter's execution raised; the message carries the end of papermill's report."""


def _prepare_for_static_page(notebook: Path) -> None:
    """Tag papermill's injected cell `remove-cell` so the rendered page does not show
    it, and give it a fixed id (papermill draws a new one each run, which would
    change every notebook on every rebuild). Drop saved widget state: a static page
    cannot run the widgets' Python callbacks, and the state would make it load the
    widget manager's scripts for nothing."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags:
            cell.id = "injected-parameters"
            cell.source = cell.source.rstrip("\n")  # as the formatter leaves every cell
            if "remove-cell" not in tags:
                tags.append("remove-cell")
    nbformat.write(nb, notebook)


def build(book_dir: str | Path, strict: bool = True) -> None:
    """`jupyter-book build` with execution off (the notebooks already carry their
    outputs)."""
    command = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(book_dir),
    ]
    subprocess.run(
        command + (["-W", "-n", "--keep-going"] if strict else []), check=True
    )


def make_book(
    preset: str,
    device: str,
    retrain: bool,
    book_dir: str | Path = "book",
    results: str | Path = "results",
    jobs: int | None = None,
    chapter_parameters: dict | None = None,
    out: str | Path | None = None,
    only: list[str] | None = None,
) -> None:
    """Execute every chapter (by default side by side on a CPU, one at a time on a GPU),
    record the wall times, build the book.

    `chapter_parameters` reach every chapter beside the preset (e.g. fewer training
    seeds at a preset too large for five). With `out`, the executed chapters go to
    that folder and no book is built: the published chapters stay as they are. With
    `only`, just the chapters named, and nothing more: no wall times recorded (the
    record is of whole runs), no book built."""
    check_parameters(preset=preset, **(chapter_parameters or {}))
    if jobs is None:
        jobs = (os.cpu_count() or 1) if resolve_device(device).type == "cpu" else 1
    if jobs < 1:
        raise ValueError(
            f"jobs={jobs!r} is not allowed; expected a whole number of chapters, at least 1"
        )
    before = set(Path(results, preset).glob("*/model.pt"))
    if retrain:
        for finished in before:
            finished.unlink()
        before = set()
    # Chapters run inside book_dir; a relative path keeps the committed notebooks free
    # of local paths.
    relative = os.path.relpath(Path(results).resolve(), Path(book_dir).resolve())
    parameters = {
        "preset": preset,
        "device": device,
        "results": relative,
        **(chapter_parameters or {}),
    }
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    seconds = execute(book_dir, parameters, jobs, out, only)
    total = time.perf_counter() - start
    if only is not None:
        return
    trained = len(set(Path(results, preset).glob("*/model.pt")) - before)
    write_timings(
        Path(results, preset, "timings.json"),
        "retrain" if retrain else "reuse",
        parameters,
        seconds,
        total,
        jobs,
        trained,
    )
    for notebook in chapters(book_dir):  # now that this run's wall times are on record
        if _metadata(notebook).get("reports_timings"):
            _run_chapter(notebook, parameters, os.cpu_count() or 1, out)
    if out is not None:
        return
    shutil.rmtree(Path(book_dir) / "_build", ignore_errors=True)
    build(book_dir)
