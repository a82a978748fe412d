"""The chapter "Distribution shift": its tables, and each text it quotes, from the
errors along the mean shift and the other shift families."""

from __future__ import annotations

import numpy as np

from ..analysis.metrics import accuracy_curve
from ..analysis.output_range import QUOTED_SHIFTS
from ..core.results import Table, format_range
from .glue import as_text

# the other shift families, as the chapter's glue names spell them
OTHER_NAMES = {"x_scale": "xscale", "w_mean": "wmean", "w_scale": "wscale"}


def shift_table(
    median: dict[str, np.ndarray], acc: dict[str, np.ndarray], shifts: list[float]
) -> Table:
    """Per shift: the transformer's median error and accuracy, and least squares'."""
    return (
        ["c", "transformer: median error", "accuracy (%)", "OLS: median error"],
        [
            [
                c,
                format_range(median["transformer"][:, i], ".3g"),
                format_range(100 * acc["transformer"][:, i], ".0f"),
                f"{median['ols'][0, i]:.1g}",
            ]
            for i, c in enumerate(shifts)
        ],
    )


def tolerance_table(per_shift: dict, tolerances) -> Table:
    """The accuracy at the two quoted shifts at every tolerance."""
    return (
        ["tolerance", "accuracy at c = 4 (%)", "accuracy at c = 13 (%)"],
        [
            [
                t,
                *[
                    format_range(
                        [
                            100 * (e[:, -1] < t).mean()
                            for e in per_shift[c]["transformer"]
                        ],
                        ".0f",
                    )
                    for c in QUOTED_SHIFTS
                ],
            ]
            for t in tolerances
        ],
    )


def texts(
    median: dict[str, np.ndarray],
    acc: dict[str, np.ndarray],
    other_acc: dict[str, np.ndarray],
    per_shift: dict,
    others: dict[str, list[float]],
    preset: str,
    n_prompts: int,
    tolerance: float,
    shifts: list[float],
) -> dict[str, str]:
    """Every text the chapter quotes, by glue name. `median`, `acc`: method -> (seeds,
    shifts) along the mean shift; `other_acc`: the transformer's accuracy along each
    other family of `others`; `per_shift`: the errors at every evaluated shift."""
    n_seeds = len(acc["transformer"])
    onset = [
        next((c for c, a in zip(shifts, row) if a < row[0] / 2), np.nan)
        for row in acc["transformer"]
    ]
    grid = np.logspace(-4, 4, 81)
    at_4, at_13 = (per_shift[c]["transformer"][:, :, -1] for c in QUOTED_SHIFTS)
    reversed_somewhere = any(
        (accuracy_curve(a13, grid) > accuracy_curve(a4, grid)).any()
        for a4, a13 in zip(at_4, at_13)
    )
    return {
        "shift_preset": preset,
        "shift_n_prompts": as_text(n_prompts),
        "shift_n_seeds": as_text(n_seeds),
        "shift_tolerance": as_text(tolerance),
        "shift_max": as_text(max(shifts)),
        "shift_onset": format_range(onset, "g")
        if not np.isnan(onset).any()
        else "never (within the sweep) for some seeds",
        "shift_tf_acc_0": format_range(100 * acc["transformer"][:, 0], ".0f"),
        "shift_tf_acc_max": format_range(100 * acc["transformer"][:, -1], ".0f"),
        "shift_ols_acc_min": as_text(acc["ols"].min(), ".0%"),
        "shift_tf_err_0": format_range(median["transformer"][:, 0], ".2g"),
        "shift_tf_err_max": format_range(median["transformer"][:, -1], ".3g"),
        "shift_ols_err_max": as_text(median["ols"].max(), ".1g"),
        "shift_gd_err_0": as_text(median["gd"][0, 0], ".2g"),
        "shift_gd_err_max": as_text(median["gd"][0, -1], ".3g"),
        "shift_ridge_err_max": as_text(median["ridge"][0, -1], ".2g"),
        "shift_quoted_reproducible": "some tolerance"
        if reversed_somewhere
        else "no tolerance",
        **{
            f"shift_{OTHER_NAMES[f]}_acc_max": format_range(
                100 * other_acc[f][:, -1], ".0f"
            )
            for f in others
        },
        **{f"shift_{OTHER_NAMES[f]}_max": as_text(max(v)) for f, v in others.items()},
    }
