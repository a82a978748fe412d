"""The chapters' papermill parameters: one table of every parameter a chapter may take,
with what it allows, checked before any work starts."""

from __future__ import annotations

import json
import math
from typing import Any, Callable

from ..core.config import check
from ..core.presets import PRESETS, PRETRAINING
from ..core.samplers import SHIFT_FAMILIES


def _positive_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def _seed_list(v: Any) -> bool:
    return (
        isinstance(v, (list, tuple))
        and len(v) > 0
        and len(set(v)) == len(v)
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in v)
    )


def _numbers(v: Any) -> bool:
    return (
        isinstance(v, (list, tuple))
        and len(v) > 0
        and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
            for x in v
        )
    )


_POSITIVE = (lambda v: isinstance(v, (int, float)) and v > 0, "a number > 0")
_SHARE = (lambda v: isinstance(v, (int, float)) and 0 < v <= 1, "a number in (0, 1]")
_SEED_LIST = (_seed_list, "a non-empty list of distinct integers >= 0, e.g. [0, 1, 2]")
PARAMETERS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "preset": (lambda v: v in PRESETS, f"one of {', '.join(PRESETS)}"),
    "device": (
        lambda v: isinstance(v, str)
        and (v in ("auto", "cpu", "cuda") or v.startswith("cuda:")),
        "'auto', 'cpu', 'cuda' or 'cuda:N'",
    ),
    "seed": (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "an integer >= 0",
    ),
    "seeds": _SEED_LIST,
    "pretraining_seeds": _SEED_LIST,
    "seed_share": (
        lambda v: isinstance(v, (int, float))
        and not isinstance(v, bool)
        and 0 < v <= 1,
        "a number in (0, 1]",
    ),
    "results": (lambda v: isinstance(v, str) and len(v) > 0, "a folder path"),
    "n_prompts": (_positive_int, "a positive integer"),
    "n_bootstrap": (_positive_int, "a positive integer"),
    "tolerance": _POSITIVE,
    "invariance_factor": (
        lambda v: isinstance(v, (int, float)) and v > 1,
        "a number > 1",
    ),
    "correlation": (
        lambda v: isinstance(v, (int, float)) and -1 <= v <= 1,
        "a number in [-1, 1]",
    ),
    "alignment_drop": _SHARE,
    "training_range": _POSITIVE,
    "match_error": _POSITIVE,
    "collapse_ratio": _SHARE,
    "shared_alignment": _SHARE,
    "tolerances": (
        lambda v: _numbers(v) and min(v) > 0,
        "a non-empty list of numbers > 0",
    ),
    "shifts": (_numbers, "a non-empty list of finite numbers"),
    "example_shifts": (_numbers, "a non-empty list of finite numbers"),
    "x_scales": (
        lambda v: _numbers(v) and min(v) > 0,
        "a non-empty list of numbers > 0",
    ),
    "w_means": (_numbers, "a non-empty list of finite numbers"),
    "w_scales": (
        lambda v: _numbers(v) and min(v) > 0,
        "a non-empty list of numbers > 0",
    ),
    "family": (lambda v: v in SHIFT_FAMILIES, f"one of {', '.join(SHIFT_FAMILIES)}"),
    "families": (
        lambda v: isinstance(v, (list, tuple))
        and len(v) > 0
        and set(v) <= set(SHIFT_FAMILIES),
        f"a non-empty list drawn from {', '.join(SHIFT_FAMILIES)}",
    ),
    "presets": (
        lambda v: isinstance(v, (list, tuple))
        and len(v) > 0
        and set(v) <= set(PRESETS),
        f"a non-empty list drawn from {', '.join(PRESETS)}",
    ),
    "pretraining": (
        lambda v: isinstance(v, (list, tuple))
        and len(v) > 0
        and set(v) <= set(PRETRAINING),
        f"a non-empty list drawn from {', '.join(PRETRAINING)}",
    ),
    "pretraining_available": (
        lambda v: isinstance(v, (list, tuple))
        and "standard" in v
        and set(v) <= set(PRETRAINING),
        f"a list drawn from {', '.join(PRETRAINING)} that includes 'standard'",
    ),
    "layer": (
        lambda v: isinstance(v, int) and not isinstance(v, bool),
        "an integer layer index (-1 = last)",
    ),
    "center": (lambda v: isinstance(v, bool), "True or False"),
    "train_missing": (lambda v: isinstance(v, bool), "True or False"),
    "other_family": (
        lambda v: v in SHIFT_FAMILIES,
        f"one of {', '.join(SHIFT_FAMILIES)}",
    ),
    "other_shifts": (_numbers, "a non-empty list of finite numbers"),
    "heatmap_prompts": (_positive_int, "a positive integer"),
    "heatmap_shift": (lambda v: _numbers([v]), "a finite number"),
    "reference_prompts": (_positive_int, "a positive integer"),
    "n_random": (_positive_int, "a positive integer"),
    "gd_steps": (_positive_int, "a positive integer"),
    "gd_step_counts": (
        lambda v: isinstance(v, (list, tuple))
        and len(v) > 0
        and all(map(_positive_int, v)),
        "a non-empty list of positive integers",
    ),
    "ridge_alphas": (
        lambda v: _numbers(v) and min(v) > 0,
        "a non-empty list of numbers > 0",
    ),
    "bound_free_seeds": (
        lambda v: v == [] or _seed_list(v),
        "a list of distinct integers >= 0, possibly empty, e.g. [0, 1, 2]",
    ),
    "coverage_shifts": (_numbers, "a non-empty list of finite numbers"),
    "bound_share": _SHARE,
    "input_margin": (
        lambda v: isinstance(v, (int, float))
        and not isinstance(v, bool)
        and 0 <= v < 1,
        "a number in [0, 1)",
    ),
    "score_thresholds": (
        lambda v: _numbers(v) and all(0 <= x <= 1 for x in v),
        "a non-empty list of numbers in [0, 1]",
    ),
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


def open_chapter(
    namespace: dict[str, Any], includes: dict[str, Any] | None = None
) -> None:
    """A chapter's opening, run in one hidden cell as `open_chapter(globals())`: every
    chapter parameter in `namespace` parsed (a list given on papermill's command line
    arrives as a string) and checked, naming a bad one and what it allows; a list
    parameter named in `includes` must hold that value; the book's figure style set."""
    from .plotting import use_book_style

    given = {name: parsed(namespace[name]) for name in PARAMETERS if name in namespace}
    check_parameters(**given)
    for name, value in (includes or {}).items():
        check(
            value in given[name], name, given[name], f"a list that includes {value!r}"
        )
    # the book's --pretraining: a chapter compares its own among those given
    available = given.pop("pretraining_available", None)
    if available is not None and "pretraining" in given:
        given["pretraining"] = [p for p in given["pretraining"] if p in available]
    namespace.update(given)
    use_book_style()
