"""The chapters' papermill parameters: one table of every parameter a chapter may take,
with what it allows, checked before any work starts."""

from __future__ import annotations

import ast
import difflib
import json
import math
import os
from pathlib import Path
from typing import Any, Callable, NamedTuple

from ..core.config import check, finite_number
from ..core.presets import PRESETS, VARIANTS
from ..core.samplers import SHIFT_FAMILIES


class Kind(NamedTuple):
    """What a parameter allows: a test, and the words an error names it with."""

    ok: Callable[[Any], bool]
    allowed: str


def _number(ok: Callable[[Any], bool], allowed: str) -> Kind:
    return Kind(lambda v: finite_number(v) and ok(v), allowed)


def _numbers(ok: Callable[[Any], bool], allowed: str, increasing=False) -> Kind:
    """A non-empty list of finite numbers passing `ok`; shift sizes, plotted along
    their axis, in increasing order."""

    def valid(v: Any) -> bool:
        return (
            isinstance(v, (list, tuple))
            and len(v) > 0
            and all(finite_number(x) and ok(x) for x in v)
            and (not increasing or all(a < b for a, b in zip(v, v[1:])))
        )

    order = " in increasing order" if increasing else ""
    return Kind(valid, f"a non-empty list of {allowed}{order}")


def _one_of(names) -> Kind:
    return Kind(lambda v: v in names, f"one of {', '.join(names)}")


def _some_of(names) -> Kind:
    return Kind(
        lambda v: isinstance(v, (list, tuple)) and len(v) > 0 and set(v) <= set(names),
        f"a non-empty list drawn from {', '.join(names)}",
    )


def _seeds(empty: bool) -> Kind:
    def valid(v: Any) -> bool:
        return (
            isinstance(v, (list, tuple))
            and (empty or len(v) > 0)
            and len(set(v)) == len(v)
            and all(SEED.ok(s) for s in v)
        )

    some = "possibly empty" if empty else "non-empty"
    return Kind(valid, f"a {some} list of distinct integers >= 0, e.g. [0, 1, 2]")


COUNT = _number(lambda v: isinstance(v, int) and v > 0, "a positive integer")
SEED = _number(lambda v: isinstance(v, int) and v >= 0, "an integer >= 0")
POSITIVE = _number(lambda v: v > 0, "a number > 0")
SHARE = _number(lambda v: 0 < v <= 1, "a number in (0, 1]")
SWEEP = _numbers(lambda x: True, "finite numbers", increasing=True)
SCALES = _numbers(lambda x: x > 0, "numbers > 0", increasing=True)
FOLDER = Kind(lambda v: isinstance(v, str) and len(v) > 0, "a folder path")
FLAG = Kind(lambda v: isinstance(v, bool), "True or False")
PARAMETERS: dict[str, Kind] = {
    "preset": _one_of(PRESETS),
    "device": Kind(
        lambda v: isinstance(v, str)
        and (v in ("auto", "cpu", "cuda") or v.startswith("cuda:")),
        "'auto', 'cpu', 'cuda' or 'cuda:N'",
    ),
    "seed": SEED,
    "seeds": _seeds(empty=False),
    "pretraining_seeds": _seeds(empty=False),
    "bound_free_seeds": _seeds(empty=True),
    "results": FOLDER,
    "run_folder": FOLDER,
    "training_budget": Kind(
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0,
        "a number of minutes >= 0 (0: train nothing; inf: no limit)",
    ),
    "n_prompts": COUNT,
    "n_bootstrap": COUNT,
    "heatmap_prompts": COUNT,
    "reference_prompts": COUNT,
    "n_random": COUNT,
    "n_queries": COUNT,
    "probe_prompts": COUNT,
    "gd_steps": COUNT,
    "tolerance": POSITIVE,
    "shrinkage_tolerance": POSITIVE,
    "edit_gain": POSITIVE,
    "remedy_shift": POSITIVE,
    "remedy_growth": _number(lambda v: v >= 1, "a number >= 1"),
    "remedy_cost": _number(lambda v: v >= 1, "a number >= 1"),
    "removed_at": _numbers(lambda x: x > 0, "numbers > 0", increasing=True),
    "battery_prompts": COUNT,
    "fit_prompts": COUNT,
    "neighbours": COUNT,
    "failure_factor": _number(lambda v: v > 1, "a number > 1"),
    "detector_margin": _number(lambda v: 0 <= v < 0.5, "a number in [0, 0.5)"),
    "training_range": POSITIVE,
    "match_error": POSITIVE,
    "seed_share": SHARE,
    "alignment_drop": SHARE,
    "collapse_ratio": SHARE,
    "shared_alignment": SHARE,
    "bound_share": SHARE,
    "invariance_factor": _number(lambda v: v > 1, "a number > 1"),
    "correlation": _number(lambda v: -1 <= v <= 1, "a number in [-1, 1]"),
    "input_margin": _number(lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "heatmap_shift": _number(lambda v: True, "a finite number"),
    "layer": _number(
        lambda v: isinstance(v, int), "an integer layer index (-1 = last)"
    ),
    "tolerances": _numbers(lambda x: x > 0, "numbers > 0"),
    "ridge_alphas": _numbers(lambda x: x > 0, "numbers > 0"),
    "gd_step_counts": _numbers(COUNT.ok, "positive integers"),
    "score_thresholds": _numbers(lambda x: 0 <= x <= 1, "numbers in [0, 1]"),
    "shifts": SWEEP,
    "example_shifts": SWEEP,
    "other_shifts": SWEEP,
    "coverage_shifts": SWEEP,
    "w_means": SWEEP,
    "x_scales": SCALES,
    "w_scales": SCALES,
    "family": _one_of(SHIFT_FAMILIES),
    "other_family": _one_of(SHIFT_FAMILIES),
    "families": _some_of(SHIFT_FAMILIES),
    "presets": _some_of(PRESETS),
    "pretraining": _some_of(VARIANTS),
    "pretraining_available": Kind(
        lambda v: _some_of(VARIANTS).ok(v) and "standard" in v,
        f"a list drawn from {', '.join(VARIANTS)} that includes 'standard'",
    ),
    "center": FLAG,
}


def parsed(value: Any) -> Any:
    """A list parameter as given on papermill's command line (`-p seeds "[0, 1]"`
    arrives as a string)."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value  # left for check_parameters to name
    return value


def check_parameters(**parameters: Any) -> None:
    """Stop a chapter early on a bad papermill parameter, naming it and what is
    allowed."""
    for name, value in parameters.items():
        check(name in PARAMETERS, "parameter", name, f"one of {', '.join(PARAMETERS)}")
        ok, allowed = PARAMETERS[name]
        check(ok(value), name, value, allowed)


def declared(source: str) -> set[str]:
    """The names a parameters cell assigns (`a = b = 1` and `a: int = 1` declare)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        targets = node.targets if isinstance(node, ast.Assign) else []
        targets += [node.target] if isinstance(node, ast.AnnAssign) else []
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _check_declared(namespace: dict[str, Any]) -> None:
    """Papermill passes any name it is given into a chapter, with only a warning, so
    a misspelt parameter would leave its default in place unnoticed. The names it
    injected (its cell `# Parameters`, which papermill runs right after the chapter's
    parameters cell) must be the chapter's own. Where the cell before it is not a
    parameters cell (every chapter's declares `preset`), as when someone runs the
    injected cell alone in Jupyter, there is nothing to check against."""
    history = namespace.get("_ih", [])  # the cells run so far, in order
    injected = [k for k, cell in enumerate(history) if cell.startswith("# Parameters")]
    if not injected or "preset" not in (own := declared(history[injected[-1] - 1])):
        return
    own |= {"PAPERMILL_INPUT_PATH", "PAPERMILL_OUTPUT_PATH"}  # --inject-paths
    if "pretraining" in own:  # the book's --pretraining, see below
        own.add("pretraining_available")
    for name in sorted(declared(history[injected[-1]]) - own):
        close = difflib.get_close_matches(name, own, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "."
        shown = sorted(n for n in own if n.islower() and n != "pretraining_available")
        raise ValueError(
            f"parameter {name!r} is not one of this chapter's{hint} It takes "
            f"{', '.join(shown)}."
        )


def open_chapter(
    namespace: dict[str, Any],
    includes: dict[str, Any] | None = None,
    first: dict[str, Any] | None = None,
) -> None:
    """A chapter's opening, run in one hidden cell as `open_chapter(globals())`: every
    parameter papermill passed must be one the chapter declares; every chapter
    parameter in `namespace` parsed (a list given on papermill's command line arrives
    as a string) and checked, naming a bad one and what it allows; a list parameter
    named in `includes` must hold that value, one named in `first` must start with it;
    where the run writes is said; the book's figure style set."""
    from .plotting import use_book_style

    _check_declared(namespace)
    given = {name: parsed(namespace[name]) for name in PARAMETERS if name in namespace}
    check_parameters(**given)
    for name, value in (includes or {}).items():
        check(
            value in given[name], name, given[name], f"a list that includes {value!r}"
        )
    for name, value in (first or {}).items():
        check(
            given[name][0] == value,
            name,
            given[name],
            f"a list that starts with {value!r} (the chapter compares with it)",
        )
    # the book's --pretraining: a chapter compares its own among those given
    available = given.pop("pretraining_available", None)
    if available is not None and "pretraining" in given:
        given["pretraining"] = [p for p in given["pretraining"] if p in available]
    if "run_folder" in given:
        _where_to_write(given)
    namespace.update(given)
    use_book_style()


# set by the book pipeline alone (`make book`, `make small`, `make variants`): this run
# publishes, writing into `results`, and trains whatever it needs
PUBLISH = "ICL_CORE_PUBLISH"
PUBLISHED = Path(__file__).resolve().parents[2] / "results"  # the tracked results


def _where_to_write(given: dict[str, Any]) -> None:
    """A chapter run by the book pipeline writes into `results` with no training
    budget; any other run writes into `run_folder`, which may not be the published
    results. Either way the run's first words say where it writes, so that a rerun
    never leaves the reader guessing what it replaced."""
    results, run_folder = given["results"], given["run_folder"]
    if os.environ.get(PUBLISH) == "1":
        given |= {"run_folder": results, "training_budget": math.inf}
        print(f"icl_core: this run publishes: it writes into {results}.", flush=True)
    else:
        check(
            Path(run_folder).resolve() != PUBLISHED,
            "run_folder",
            run_folder,
            "a folder other than the published results (only make book, make small "
            "and make variants write there), e.g. '../runs'",
        )
        print(
            f"icl_core: this run writes its results files, figures and any models it "
            f"trains into {Path(run_folder).resolve()}; it reads models and other "
            f"chapters' results from {results} and never writes there.",
            flush=True,
        )
    Path(given["run_folder"], given["preset"]).mkdir(parents=True, exist_ok=True)
