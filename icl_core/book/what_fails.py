"""The chapter "What fails under the shift": its tables, and each text it quotes, from
what `analysis.output_range.measure_output_range` measured and the verdicts on claims
2 and 3's parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..analysis.coverage import invariant_range
from ..analysis.evaluation import TRIVIAL
from ..analysis.output_range import OutputRange, gd_fixed_key
from ..core.results import Table, format_range
from ..verdicts.claims import Verdict
from .glue import as_text
from .scorecard import rests_on_bound


@dataclass(frozen=True)
class Settings:
    """The chapter's parameters that its texts and tables quote."""

    preset: str
    n_prompts: int
    shifts: list[float]
    x_scales: list[float]
    w_means: list[float]
    w_scales: list[float]
    coverage_shifts: list[float]
    gd_step_counts: list[int]
    bound_share: float
    invariance_factor: float
    seed_share: float
    tolerance: float
    grid: Sequence[float]


def medians(measured: OutputRange) -> dict[str, np.ndarray]:
    """The median error over prompts at the last query (seeds, shifts) along x_mean:
    of the transformer, of it on the control family, and of the models without the
    bound where they were measured."""
    x_mean, control = measured.sweeps["x_mean"], measured.sweeps["x_mean_w_perp"]
    out = {
        "transformer": np.median(x_mean.transformer, axis=2),
        "control": np.median(control.transformer, axis=2),
    }
    if x_mean.bound_free is not None:
        out["free"] = np.median(x_mean.bound_free, axis=2)
    return out


def largest_within(measured: OutputRange, shifts: list[float], cut: float) -> list:
    """Per seed, the largest c with at most `cut` of targets beyond the bound."""
    share = measured.sweeps["x_mean"].share_beyond_bound
    return [
        max((c for c, s in zip(shifts, row) if s <= cut), default=np.nan)
        for row in share
    ]


def growth_within(measured: OutputRange, shifts: list[float], cut: float) -> list:
    """Per seed, the error growth from c = 0 to `largest_within(cut)`."""
    median = medians(measured)["transformer"]
    return [
        m[shifts.index(c)] / m[0] if c in shifts else np.nan
        for m, c in zip(median, largest_within(measured, shifts, cut))
    ]


def bound_table(measured: OutputRange, s: Settings) -> Table:
    """How far the shift goes at each cut of targets beyond the bound."""
    return (
        ["targets beyond B at most", "up to c", "error growth there"],
        [
            [
                f"{100 * cut:g}%",
                format_range(largest_within(measured, s.shifts, cut), "g"),
                format_range(growth_within(measured, s.shifts, cut), ".3g"),
            ]
            for cut in (0.01, s.bound_share, 0.10, 0.25)
        ],
    )


def reference_table(measured: OutputRange, s: Settings) -> Table:
    """The transformer beside every reference predictor at c = 0, 4 and the largest
    c, and on the control family at the largest c."""
    x_mean, control = measured.sweeps["x_mean"], measured.sweeps["x_mean_w_perp"]
    median = medians(measured)
    c_max = max(s.shifts)
    shown, last = [0, 4, c_max], s.shifts.index(c_max)

    def cell(errors):
        value = float(np.median(errors))
        return f"{value:.2g}" if np.isfinite(value) else "overflow"

    rows = [
        [
            "Transformer",
            *[
                format_range(median["transformer"][:, s.shifts.index(c)], ".2g")
                for c in shown
            ],
            format_range(median["control"][:, last], ".2g"),
        ]
    ]
    rows += [
        [
            label,
            *[cell(x_mean.baselines[key][s.shifts.index(c)]) for c in shown],
            cell(control.baselines[key][last]),
        ]
        for key, label in measured.labels.items()
    ]
    return [
        "predictor",
        *[f"c = {c:g}" for c in shown],
        f"control, c = {c_max:g}",
    ], rows


def quoted_table(measured: OutputRange) -> Table:
    """Each definition of accuracy at c = 4 and 13, and the tolerance that brings the
    pair closest to the quoted 43% and 10%."""
    return (
        ["definition", "c = 4 (%)", "c = 13 (%)", "13 above 4", "closest pair (4, 13)"],
        [
            [
                name,
                format_range(100 * q["accuracy"][:, 0], ".0f"),
                format_range(100 * q["accuracy"][:, 1], ".0f"),
                "yes" if q["reverses"] else "no",
                f"{100 * q['closest'][0]:.0f}%, {100 * q['closest'][1]:.0f}% "
                f"at {q['closest_tolerance']:.2g}",
            ]
            for name, q in measured.quoted.items()
        ],
    )


def parts_table(parts: Sequence[Verdict]) -> Table:
    """Claims 2 and 3's parts and findings D and E's, as the scorecard judges them."""
    return (
        ["claim, part", "measured (seed mean)", "criterion", "seeds", "holds"],
        [
            [
                v.claim,
                v.measured,
                v.criterion,
                f"{v.seeds_holding} of {v.seeds}",
                f"**{v.outcome}**",
            ]
            for v in parts
        ],
    )


def texts(
    measured: OutputRange,
    runs: list,
    free: list,
    coverage: dict[str, list],
    parts: Sequence[Verdict],
    s: Settings,
) -> dict[str, str]:
    """Every text the chapter quotes, by glue name."""
    return {
        **_bound_texts(measured, runs, free, s),
        **_reference_texts(measured, s),
        **_coverage_texts(measured, runs, free, coverage, s),
        "of_tolerance": as_text(s.tolerance),
        "of_grid_from": as_text(s.grid[0], "g"),
        "of_grid_to": as_text(s.grid[-1], "g"),
        "of_quoted": _quoted_text(measured),
        **_conclusions(measured, parts, s),
    }


def _bound_texts(measured: OutputRange, runs, free, s: Settings) -> dict[str, str]:
    """The bound, the targets beyond it, and the error along x_mean, on the control
    family and without the bound."""
    x_mean, control = measured.sweeps["x_mean"], measured.sweeps["x_mean_w_perp"]
    median = medians(measured)
    shifts, c_max = s.shifts, max(s.shifts)
    last = shifts.index(c_max)
    share = x_mean.share_beyond_bound  # (seeds, shifts)
    growth = {k: m[:, last] / m[:, 0] for k, m in median.items()}
    reachable = x_mean.reachable()  # (seeds, shifts, prompts)
    on_reachable = [
        np.median(e[last][r[last]]) if r[last].any() else np.nan
        for e, r in zip(x_mean.transformer, reachable)
    ]
    peaks = [shifts[k] for k in median["control"].argmax(axis=1)]
    reference = {
        name: np.median(control.baselines[name][last])
        for name in ("context_mean", "zero", "gd")
    }
    d = runs[0].config.model.n_dims
    out = {
        "of_preset": s.preset,
        "of_n_seeds": as_text(len(runs)),
        "of_n_free": as_text(len(free)),
        "of_n_prompts": as_text(s.n_prompts),
        "of_c_max": as_text(c_max, "g"),
        "of_bound_share": as_text(100 * s.bound_share, "g"),
        "of_bound": format_range(x_mean.bound, ".3g"),
        "of_share_max": format_range(100 * share[:, last], ".0f"),
        "of_share_4": format_range(100 * share[:, shifts.index(4)], ".0f"),
        "of_c_in": format_range(largest_within(measured, shifts, s.bound_share), "g"),
        "of_growth_in": format_range(
            growth_within(measured, shifts, s.bound_share), ".3g"
        ),
        "of_maxpred_0": format_range(x_mean.max_abs_prediction[:, 0], ".3g"),
        "of_maxpred_max": format_range(x_mean.max_abs_prediction[:, last], ".3g"),
        "of_y_rms_max": as_text(np.sqrt(x_mean.scale[last] * d), ".3g"),
        "of_tf_0": format_range(median["transformer"][:, 0], ".2g"),
        "of_tf_max": format_range(median["transformer"][:, last], ".3g"),
        "of_growth_tf": format_range(growth["transformer"], ".3g"),
        "of_reachable_max": format_range(on_reachable, ".3g"),
        "of_reachable_growth": format_range(
            np.array(on_reachable) / median["transformer"][:, 0], ".3g"
        ),
        "of_growth_control": format_range(growth["control"], ".3g"),
        "of_control_0": format_range(median["control"][:, 0], ".2g"),
        "of_control_max": format_range(median["control"][:, last], ".2g"),
        "of_control_peak_c": f"{min(peaks):g} to {max(peaks):g}",
        "of_control_peak": format_range(median["control"].max(axis=1), ".2g"),
        "of_control_context": as_text(reference["context_mean"], ".2g"),
        "of_control_zero": as_text(reference["zero"], ".2g"),
        "of_control_gd": as_text(reference["gd"], ".2g"),
        "of_control_maxpred_max": format_range(
            control.max_abs_prediction[:, last], ".3g"
        ),
        "of_ols_control_max": as_text(
            np.median(control.baselines["ols"], axis=1).max(), ".1g"
        ),
        "of_control_vs_trivial": _against_trivial(median["control"], control, shifts),
    }
    free_names = ("of_growth_free", "of_free_0", "of_free_max", "of_free_maxpred_max")
    if "free" not in median:
        absent = "not measured (no model without the final LayerNorm here)"
        return out | dict.fromkeys(free_names, absent)
    free_values = (
        (growth["free"], ".3g"),
        (median["free"][:, 0], ".2g"),
        (median["free"][:, last], ".3g"),
        (x_mean.free_max_abs_prediction[:, last], ".3g"),
    )
    return out | {
        name: format_range(values, fmt)
        for name, (values, fmt) in zip(free_names, free_values)
    }


def _against_trivial(median: np.ndarray, control, shifts: list[float]) -> str:
    """The sentence that compares the transformer's median error on the control family
    (seeds, shifts), seed mean, with the better of predicting the context's mean of y
    and predicting 0 at each shift."""
    trivial = np.minimum(
        *(np.median(control.baselines[n], axis=1) for n in ("context_mean", "zero"))
    )
    ratio = median.mean(axis=0) / trivial
    worse = [c for c, r in zip(shifts, ratio) if r > 1]
    if not worse:
        return (
            "At every shift it stays below the predictors that ignore x (the context's "
            "mean of y and 0)."
        )
    peak = int(ratio.argmax())
    return (
        f"It is worse than predicting the context's mean of y or 0 at c = "
        f"{', '.join(f'{c:g}' for c in worse)}, by up to ×{ratio[peak]:.2g} the "
        f"better of them (at c = {shifts[peak]:g}, seed mean)."
    )


def _reference_texts(measured: OutputRange, s: Settings) -> dict[str, str]:
    """Where predicting the context's mean beats the transformer, gradient descent's
    tuned steps, and the errors in normalised units."""
    x_mean, median = measured.sweeps["x_mean"], medians(measured)["transformer"]
    shifts, last = s.shifts, s.shifts.index(max(s.shifts))
    ctx = np.median(x_mean.baselines["context_mean"], axis=1)  # (shifts,)
    beaten = [
        next((c for c, t, b in zip(shifts, row, ctx) if b < t), np.nan)
        for row in median
    ]
    first = s.gd_step_counts[0]
    fixed = np.median(x_mean.baselines[gd_fixed_key(first)], axis=1)
    gd = np.median(x_mean.baselines["gd"], axis=1)
    normalised = {
        f: np.median(w.normalised(w.transformer), axis=2)
        for f, w in measured.sweeps.items()
    }  # (seeds, shifts)
    context_norm = np.median(x_mean.normalised(x_mean.baselines["context_mean"]), 1)
    out = {
        "of_context_beats": f"{min(beaten):g} to {max(beaten):g}, depending on the seed"
        if not np.isnan(beaten).any()
        else "some shift for some seeds, never for others",
        "of_context_error": as_text(ctx[0], ".2g"),
        "of_gd_steps": "; ".join(
            f"{k} step{'s' * (k > 1)}: η = {v:.3g}"
            for k, v in measured.step_sizes.items()
        ),
        "of_gd_fixed_first": as_text(first),
        "of_gd_fixed_0": as_text(fixed[0], ".2g"),
        "of_gd_fixed_max": as_text(fixed[last], ".2g"),
        "of_gd_0": as_text(gd[0], ".2g"),
        "of_gd_max": as_text(gd[last], ".2g"),
        "of_gd_growth": as_text(gd[last] / gd[0], ".3g"),
        "of_factor": as_text(s.invariance_factor, "g"),
        "of_norm_0": format_range(normalised["x_mean"][:, 0], ".2g"),
        "of_context_norm_max": as_text(context_norm[last], ".2g"),
        "of_norm_max": format_range(normalised["x_mean"][:, last], ".2g"),
        "of_growth_norm": format_range(
            normalised["x_mean"][:, last] / normalised["x_mean"][:, 0], ".3g"
        ),
    }
    for f, values in (
        ("x_scale", s.x_scales),
        ("w_mean", s.w_means),
        ("w_scale", s.w_scales),
    ):
        neutral = values.index(1 if f.endswith("scale") else 0)
        ratio = normalised[f][:, -1] / normalised[f][:, neutral]
        out[f"of_norm_{f}"] = format_range(ratio, ".3g")
        out[f"of_max_{f}"] = as_text(max(values), "g")
    return out


COVERAGE_NAMES = (
    "of_cov_0",
    "of_cov_price",
    "of_cov_reach",
    "of_cov_free_0",
    "of_cov_free_price",
    "of_cov_free_reach",
    "of_cov_n",
    "of_cov_verdict",
    "of_cov_from",
    "of_cov_to",
)


def _coverage_texts(
    measured: OutputRange, runs, free, coverage: dict[str, list], s: Settings
) -> dict[str, str]:
    """The coverage model's price in distribution and its reach, with the bound and
    without it."""
    if not measured.coverage:
        return dict.fromkeys(COVERAGE_NAMES, "not measured at this preset")
    median = medians(measured)
    spread = measured.coverage["x_mean"]
    by_seed = {r.config.train.seed: k for k, r in enumerate(runs)}
    matched = [by_seed[r.config.train.seed] for r in coverage["bounded"]]
    zero = s.coverage_shifts.index(0)
    spread_0 = np.median(spread.transformer[:, zero], axis=1)

    # the predictors that ignore x: a model worse than them reaches no further
    trivial = [np.median(spread.baselines[m], axis=1) for m in TRIVIAL]

    def reach(errors):
        return [
            invariant_range(s.coverage_shifts, e, s.invariance_factor, trivial)
            for e in np.median(errors, axis=2)
        ]

    out = {
        "of_cov_0": format_range(spread_0, ".2g"),
        "of_cov_price": format_range(
            spread_0 / median["transformer"][matched, 0], ".3g"
        ),
        "of_cov_reach": format_range(reach(spread.transformer), ".3g"),
    }
    if spread.bound_free is not None:
        free_by_seed = {r.config.train.seed: k for k, r in enumerate(free)}
        free_matched = [free_by_seed[r.config.train.seed] for r in coverage["free"]]
        spread_free_0 = np.median(spread.bound_free[:, zero], axis=1)
        price = spread_free_0 / median["free"][free_matched, 0]
        out |= {
            "of_cov_free_0": format_range(spread_free_0, ".2g"),
            "of_cov_free_price": format_range(price, ".3g"),
            "of_cov_free_reach": format_range(reach(spread.bound_free), ".3g"),
            "of_cov_verdict": COVERAGE_VERDICTS[bool(np.mean(price) >= 2)],
        }
    return out | {
        "of_cov_n": as_text(len(coverage["bounded"])),
        "of_cov_from": as_text(min(s.coverage_shifts), "g"),
        "of_cov_to": as_text(max(s.coverage_shifts), "g"),
    }


# whether the coverage model's price in distribution remains without the final
# LayerNorm (an in-distribution error at least twice the standard model's)
COVERAGE_VERDICTS = {
    True: "By this book's rule (a price is an in-distribution error at least twice "
    "the standard model's), the price remains without the final LayerNorm: it is not "
    "that read-out's doing.",
    False: "By this book's rule (a price is an in-distribution error at least twice "
    "the standard model's), the price does not remain without the final LayerNorm: "
    "it was that read-out's.",
}


def _quoted_text(measured: OutputRange) -> str:
    reversing = [name for name, q in measured.quoted.items() if q["reverses"]]
    return (
        "Definitions under which some tolerance orders the pair as quoted (the seed "
        "mean at c = 13 at least 5 points above that at c = 4): "
        + ("; ".join(reversing) if reversing else "none")
        + ". Whether any of them is what the summary meant cannot be told from the "
        "figures alone."
    )


UNITS = {
    True: "Most of the failure's size is the offset the shift adds to every target.",
    False: "The offset the shift adds to every target is part of the failure's size.",
}
REMAINS = {
    "both": "A failure remains that the bound does not explain: on the control family, "
    "where every target is reachable, and in models without the final LayerNorm, the "
    "error still grows more than ×{factor}, claim 3's criterion for a failure of "
    "invariance.",
    "control": "A failure remains that the bound does not explain: on the control "
    "family, where every target is reachable, the error still grows more than "
    "×{factor}, claim 3's criterion for a failure of invariance (no model without the "
    "final LayerNorm at this preset).",
    "control only": "On the control family, where every target is reachable, the "
    "error still grows more than ×{factor}, claim 3's criterion for a failure of "
    "invariance; in models without the final LayerNorm it does not, so part of the "
    "failure may be that read-out's.",
    "free only": "Without the final LayerNorm the error still grows more than "
    "×{factor}, claim 3's criterion for a failure of invariance; on the control family, "
    "where every target is reachable, it does not, so keeping the targets in range "
    "removes the failure.",
    "neither": "Where every target is kept reachable (the control family, or no final "
    "LayerNorm), the error does not grow more than ×{factor}, claim 3's criterion for "
    "a failure of invariance: the bound may be what fails.",
}


def _conclusions(
    measured: OutputRange, parts: Sequence[Verdict], s: Settings
) -> dict[str, str]:
    """What the chapter concludes, chosen from the parts' verdicts and the growth of
    the error along x_mean and on the control family."""
    median = medians(measured)
    last = s.shifts.index(max(s.shifts))
    growth = {k: m[:, last] / m[:, 0] for k, m in median.items()}
    held = {v.key: v.holds for v in parts}
    mostly = growth["control"].mean() < growth["transformer"].mean() / 10
    remains = {
        (True, True): "both",
        (True, None): "control",
        (True, False): "control only",
        (False, True): "free only",
        (None, True): "free only",
    }.get((held.get("3b"), held.get("3c")), "neither")
    return {
        "of_seed_share": as_text(100 * s.seed_share, "g"),
        "of_summary": rests_on_bound(parts),
        "of_units": UNITS[bool(mostly)],
        "of_remains": REMAINS[remains].format(factor=as_text(s.invariance_factor, "g")),
    }
