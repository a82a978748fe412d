"""The book as a whole: every chapter executes at the smoke preset and the book builds
cleanly."""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from icl_core.book.parameters import declared
from icl_core.book.pipeline import ChapterError, build, chapters, execute

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def book_copy(tmp_path):
    book = tmp_path / "book"
    # links become files
    shutil.copytree(ROOT / "book", book, ignore=shutil.ignore_patterns("_build"))
    return book


def test_table_of_contents_lists_every_chapter_notebook():
    listed = {p.name for p in chapters(ROOT / "book")}
    assert listed == {p.name for p in (ROOT / "book").glob("*.ipynb")}


def _tiny_book(folder, after: dict[str, list[str]], source: str, parameters="log = ''"):
    """A book of one-cell chapters, each running `source` (with `name` set), waiting as
    `after` says."""
    folder.mkdir()
    (folder / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n"
        + "".join(f"  - file: {name}\n" for name in after)
    )
    for name, prerequisites in after.items():
        nb = nbformat.v4.new_notebook(
            metadata={
                "kernelspec": {
                    "name": "python3",
                    "language": "python",
                    "display_name": "Python 3",
                },
                "icl_core": {"after": prerequisites},
            }
        )
        nb.cells = [
            nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}),
            nbformat.v4.new_code_cell(f"name = {name!r}\n{source}"),
        ]
        nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


def test_chapters_run_side_by_side_but_never_before_the_chapters_they_read(tmp_path):
    log = tmp_path / "log.txt"
    after = {"first": [], "a": ["first"], "b": ["first"], "last": ["a", "b"]}
    book = _tiny_book(
        tmp_path / "book",
        after,
        "import os, time\n"
        "open(log, 'a').write(f'start {name} {os.environ[\"OMP_NUM_THREADS\"]}\\n')\n"
        "time.sleep(1)\nopen(log, 'a').write(f'end {name}\\n')",
    )
    seconds = execute(book, {"log": str(log)}, jobs=2)
    assert list(seconds) == list(after)
    events = log.read_text().split("\n")[:-1]
    position = {
        event.rsplit(" ", 1)[0] if event.startswith("start") else event: i
        for i, event in enumerate(events)
    }
    for name, prerequisites in after.items():
        for prerequisite in prerequisites:
            assert position[f"end {prerequisite}"] < position[f"start {name}"], events
    threads = {
        event.split()[1]: int(event.split()[2])
        for event in events
        if event.startswith("start")
    }
    cores = os.cpu_count() or 1
    assert threads["first"] == cores and threads["a"] == threads["b"] == max(
        1, cores // 2
    )


def test_a_chapter_that_reports_timings_reports_the_run_that_built_it(
    tmp_path, monkeypatch
):
    import icl_core.book.pipeline

    seen = tmp_path / "seen.json"
    book = _tiny_book(
        tmp_path / "book",
        {"work": [], "report": []},
        "import json, pathlib\n"
        f"path = pathlib.Path(results, preset, 'timings.json')\n"
        f"timings = json.loads(path.read_text()) if path.exists() else {{}}\n"
        f"pathlib.Path({str(seen)!r}).write_text(json.dumps(timings))",
        parameters="preset = device = results = ''",
    )
    report = nbformat.read(book / "report.ipynb", as_version=4)
    report.metadata["icl_core"]["reports_timings"] = True
    nbformat.write(report, book / "report.ipynb")
    monkeypatch.setattr(icl_core.book.pipeline, "build", lambda book_dir: None)
    icl_core.book.pipeline.make_book(
        "smoke", "cpu", False, book, tmp_path / "results", jobs=2
    )
    recorded = json.loads((tmp_path / "results" / "smoke" / "timings.json").read_text())
    assert json.loads(seen.read_text()) == recorded
    assert set(recorded["reuse"]["seconds"]) == {"work", "report"}


def test_a_run_into_another_folder_leaves_the_book_alone_and_passes_seeds_on(
    tmp_path, monkeypatch
):
    import icl_core.book.pipeline

    book = _tiny_book(
        tmp_path / "book",
        {"work": []},
        "import json\nprint(json.dumps({'preset': preset, 'seeds': seeds}))",
        parameters="preset = device = results = ''\nseeds = [0, 1, 2]",
    )
    published = (book / "work.ipynb").read_bytes()
    monkeypatch.setattr(
        icl_core.book.pipeline, "build", lambda book_dir: pytest.fail("built the book")
    )
    out = tmp_path / "executed"
    icl_core.book.pipeline.make_book(
        "smoke",
        "cpu",
        False,
        book,
        tmp_path / "results",
        jobs=1,
        chapter_parameters={"seeds": [4]},
        out=out,
    )
    assert (book / "work.ipynb").read_bytes() == published
    executed = nbformat.read(out / "work.ipynb", as_version=4)
    printed = json.loads(executed.cells[-1].outputs[0]["text"])
    assert printed == {"preset": "smoke", "seeds": [4]}
    assert (tmp_path / "results" / "smoke" / "timings.json").exists()
    with pytest.raises(ValueError, match=r"seeds=\[-1\]"):
        icl_core.book.pipeline.make_book(
            "smoke", "cpu", False, book, chapter_parameters={"seeds": [-1]}, out=out
        )


def test_a_failing_chapter_is_named_and_a_missing_prerequisite_is_refused(tmp_path):
    book = _tiny_book(
        tmp_path / "book", {"broken": []}, "raise RuntimeError('on purpose')"
    )
    with pytest.raises(ChapterError, match="broken.ipynb failed"):
        execute(book, {}, jobs=2)
    book = _tiny_book(tmp_path / "other", {"lonely": ["nowhere"]}, "pass")
    with pytest.raises(ValueError, match="nowhere"):
        execute(book, {})


def test_every_chapter_validates_its_parameters(book_copy):
    papermill = pytest.importorskip("papermill")
    for notebook in chapters(book_copy):
        with pytest.raises(papermill.PapermillExecutionError, match="preset='gpu'"):
            papermill.execute_notebook(
                notebook,
                book_copy / "bad.ipynb",
                parameters={"preset": "gpu"},
                cwd=book_copy,
                progress_bar=False,
                kernel_name="python3",
            )


def _papermill(book: Path, chapter: str, *parameters: str):
    """README's rerun: papermill's command line in the book's folder, logging the
    chapter's output to the terminal."""
    command = [str(Path(sys.executable).with_name("papermill")), f"{chapter}.ipynb"]
    command += ["out.ipynb", "--log-output", "--no-progress-bar"]
    for pair in zip(parameters[::2], parameters[1::2]):
        command += ["-p", *pair]
    return subprocess.run(command, cwd=book, capture_output=True, text=True)


def test_a_rerun_writes_into_its_run_folder_and_leaves_the_published_results(
    book_copy, tmp_path
):
    from icl_core.book.runs import trained_seeds
    from icl_core.core.results import read_results

    published = tmp_path / "results"
    trained_seeds("smoke", published, "cpu", [0])
    (published / "smoke" / "distribution_shift.json").write_text("published")
    (published / "smoke" / "shift_x_mean.svg").write_text("published")
    before = {p: p.read_bytes() for p in published.rglob("*") if p.is_file()}
    shifts = "[0, 2, 4]"
    done = _papermill(
        book_copy, "distribution_shift", "preset", "smoke", "results", str(published),
        "seeds", "[0]", "n_prompts", "50", "shifts", shifts,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "writes its results files, figures and any models it trains into" in (
        done.stderr + done.stdout
    )
    after = {p: p.read_bytes() for p in published.rglob("*") if p.is_file()}
    assert after == before  # nothing written, nothing trained there
    own = tmp_path / "runs" / "smoke"  # "../runs" from the book's folder
    assert (own / "shift_x_mean.svg").exists() and not list(own.rglob("model.pt"))
    rerun = read_results(own, ["distribution_shift"])["distribution_shift"]
    assert rerun["shifts"] == [0, 2, 4]
    assert all(k.startswith("../results/smoke/") for k in rerun["checkpoints"])


def test_bad_parameters_are_refused_by_name_before_any_work(book_copy, tmp_path):
    misspelt = _papermill(book_copy, "distribution_shift", "n_promts", "5000")
    assert misspelt.returncode and "did you mean 'n_prompts'?" in misspelt.stderr
    no_zero = _papermill(book_copy, "distribution_shift", "shifts", "[1, 2]")
    assert no_zero.returncode
    assert "shifts=[1, 2] is not allowed; expected a list that starts with 0" in (
        no_zero.stderr
    )
    unordered = _papermill(book_copy, "singular_values", "shifts", "[0, 4, 2]")
    assert unordered.returncode and "in increasing order" in unordered.stderr
    assert not (tmp_path / "runs").exists()  # refused before anything was written


def test_a_rerun_above_its_training_budget_stops_and_says_how_to_train(
    book_copy, tmp_path
):
    done = _papermill(
        book_copy, "in_distribution", "preset", "smoke", "training_budget", "0"
    )
    assert done.returncode
    said = done.stderr  # the terminal, with README's command
    assert "not training 5 missing model(s)" in said
    command = (
        "-m icl_core train-many --preset smoke --pretraining standard --seeds 0 1 2 3 4"
    )
    assert command in said
    assert not list(tmp_path.rglob("*.pt"))  # nothing trained, not even begun


def test_only_the_book_pipeline_publishes(tmp_path, monkeypatch, capsys):
    from icl_core.book.parameters import PUBLISH, PUBLISHED, open_chapter

    def opened(**given):
        namespace = {"preset": "smoke", "device": "cpu", "training_budget": 10, **given}
        open_chapter(namespace)
        return namespace

    monkeypatch.delenv(PUBLISH, raising=False)
    with pytest.raises(ValueError, match=r"run_folder=.*\(only make book"):
        opened(results=str(PUBLISHED), run_folder=str(PUBLISHED))
    runs = str(tmp_path / "runs")
    rerun = opened(results=str(tmp_path / "r"), run_folder=runs)
    assert rerun["run_folder"] == runs and rerun["training_budget"] == 10
    assert "never writes there" in capsys.readouterr().out
    monkeypatch.setenv(PUBLISH, "1")
    book = opened(results=str(tmp_path / "r"), run_folder="../runs")
    assert book["run_folder"] == str(tmp_path / "r")
    assert book["training_budget"] == math.inf
    assert "this run publishes" in capsys.readouterr().out
    # what the published chapters carry cannot publish when their cells run again
    for notebook in chapters(ROOT / "book"):
        for cell in nbformat.read(notebook, as_version=4).cells:
            if "injected-parameters" in cell.metadata.get("tags", []):
                assert not {"run_folder", "training_budget"} & declared(cell.source)


def test_the_pipeline_refuses_a_parameter_no_chapter_it_runs_takes(tmp_path):
    book = _tiny_book(tmp_path / "book", {"work": []}, "pass", "seeds = [0]")
    with pytest.raises(ValueError, match="parameter='pretraining_seeds'"):
        execute(book, {"seeds": [1], "pretraining_seeds": [1]})


@pytest.mark.book
def test_every_chapter_runs_at_smoke_and_the_book_builds_without_warnings(
    book_copy, tmp_path
):
    results = tmp_path / "results"
    seeds = [0, 1]
    seconds = execute(
        book_copy,
        {
            "preset": "smoke",
            "device": "cpu",
            "results": str(results),
            "seeds": seeds,
            "pretraining_seeds": seeds,
            "bound_free_seeds": seeds,
        },
        jobs=2,
    )
    assert set(seconds) == {p.stem for p in chapters(book_copy)}
    # the standard model's chapters analyse only the seeds that learned the task
    ind = json.loads((results / "smoke" / "in_distribution.json").read_text())
    learned = [s for s in seeds if str(s) not in ind["unlearned_seeds"]]
    expected = {
        "in_distribution": seeds,
        "distribution_shift": learned,
        "spectral": learned,
        "pretraining": seeds,
    }
    for name, kept in expected.items():
        data = json.loads((results / "smoke" / f"{name}.json").read_text())
        assert [s["seed"] for s in data["seeds"]] == kept and len(
            data["checkpoints"]
        ) >= len(kept), name
    shift = json.loads((results / "smoke" / "distribution_shift.json").read_text())
    assert set(shift["seeds"][0]) >= {
        "seed",
        "checkpoint",
        "transformer_error",
        "transformer_accuracy",
    }
    per_seed_median = [s["transformer_error"]["median"][-1] for s in shift["seeds"]]
    assert (
        abs(
            shift["transformer_error"]["median"][-1]
            - sum(per_seed_median) / len(learned)
        )
        < 1e-12
    )
    claims = json.loads((results / "smoke" / "scorecard.json").read_text())["claims"]
    assert [c["key"] for c in claims] == ["1", "2", "3", "4", "5", "6", "7a", "7b"]
    assert claims[0]["seeds"] == len(seeds)  # claim 1 counts every seed
    assert {c["seeds"] for c in claims[1:6]} <= {len(learned), 0}
    # a rebuild leaves unchanged notebooks unchanged
    for notebook in chapters(book_copy):
        injected = [
            c
            for c in json.loads(notebook.read_text())["cells"]
            if "injected-parameters" in c["metadata"].get("tags", [])
        ]
        assert [c["id"] for c in injected] == ["injected-parameters"]
    build(book_copy)  # -W -n --keep-going: any warning fails
    html = book_copy / "_build" / "html"
    for notebook in chapters(book_copy):
        page = (html / f"{notebook.stem}.html").read_text()
        assert "injected-parameters" not in page
        assert "smoke" in page  # the page says which preset its figures come from
        # it can be opened live: Binder, Colab, and Thebe in the page
        for launch in ("mybinder.org/v2/gh/", "colab.research.google.com/github/"):
            assert f"{launch}icl-replication/" in page, (notebook.stem, launch)
        assert "btn-launch-thebe" in page, notebook.stem
        assert "cdn.jsdelivr.net/npm/mathjax" not in page, notebook.stem
    intro = (
        html / "intro.html"
    ).read_text()  # it has math: MathJax comes with the book
    assert 'src="_static/mathjax/tex-chtml.js' in intro


def test_the_preset_table_matches_the_presets():
    from icl_core.core.presets import PRESETS

    page = (ROOT / "book" / "reproduce.md").read_text()
    table = page[page.index("| preset | $d$ |") :].split("\n\n")[0]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| `"):
            rows[cells[0].strip("`")] = cells[1:5]
    assert set(rows) == set(PRESETS)
    for name, cfg in PRESETS.items():
        m = cfg.model
        assert rows[name] == [
            str(m.n_dims),
            str(m.n_points),
            f"{m.n_layer} × {m.n_head} × {m.n_embd}",
            f"{cfg.train.steps:,}",
        ], name
