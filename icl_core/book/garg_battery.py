"""The chapter "Garg et al.'s robustness battery": its tables, and each text it quotes,
from every seed's `analysis.battery.battery_record`."""

from __future__ import annotations

import numpy as np
from scipy import stats

from ..analysis.battery import SETTINGS, battery_measures, battery_table
from ..core.results import Table, format_range
from .glue import as_text

RATIOS = ("ratio", "normalised_ratio", "excess_ratio")
# the settings drawn together in one panel of the error-by-position figure, each
# beside the unshifted standard setting
POSITION_PANELS = {
    "shape of x and the query": (
        "random_quadrants",
        "orthogonal_train_test",
        "overlapping_train_test",
        "half_subspace",
        "skewed",
    ),
    "x scaled": ("scale-x=0.333", "scale-x=0.5", "scale-x=2", "scale-x=3"),
    "y scaled, or noisy": (
        "scale-y=0.333",
        "scale-y=0.5",
        "scale-y=2",
        "scale-y=3",
        "noisyLR",
    ),
    "x shifted (this paper)": ("mean-x=1", "mean-x=2", "mean-x=4"),
}


def ratios(per_seed: list[dict]) -> tuple[list[str], list[dict], dict[str, np.ndarray]]:
    """The settings' names, each seed's `battery_table`, and each kind of ratio to the
    in-distribution error, (seeds, settings)."""
    tables = [battery_table(s) for s in per_seed]
    names = list(tables[0])
    by_kind = {
        key: np.array([[t[n][key] for n in names] for t in tables]) for key in RATIOS
    }
    return names, tables, by_kind


def _spread(tables: list[dict], names: list[str], key: str, fmt=".3g") -> list[str]:
    """Per setting, `key` over the seeds' tables as its mean with the seed range."""
    return [format_range([t[n][key] for t in tables], fmt) for n in names]


def settings_table(per_seed: list[dict]) -> Table:
    """Each setting: what it does to x, the transformer's error and its ratio to the
    in-distribution error, least squares' error, the signature score."""
    names, tables, _ = ratios(per_seed)
    first = per_seed[0]
    headers = ["setting", "mean of x", "rms of x", "rank", "transformer"]
    headers += ["÷ in dist.", "OLS", "signature"]
    return headers, [
        [
            f"`{n}`",
            f"{first[n]['mean_shift']:.2f}",
            f"{first[n]['rms']:.2f}",
            first[n]["rank"],
            e,
            q,
            f"{tables[0][n]['ols']:.1g}",
            s,
        ]
        for n, e, q, s in zip(
            names,
            _spread(tables, names, "transformer"),
            _spread(tables, names, "ratio"),
            _spread(tables, names, "signature_score", ".2f"),
        )
    ]


def controls_table(per_seed: list[dict]) -> Table:
    """Each setting's ratio in error, normalised error and excess over least squares,
    and the share of its targets beyond the output bound."""
    names, tables, _ = ratios(per_seed)
    beyond = [
        format_range([100 * s[n]["share_beyond_bound"] for s in per_seed], ".0f")
        for n in names
    ]
    headers = ["setting", "÷ in dist.", "normalised ÷", "excess over OLS ÷"]
    return [*headers, "beyond B (%)"], [
        [f"`{n}`", *cells]
        for n, *cells in zip(
            names, *(_spread(tables, names, key) for key in RATIOS), beyond
        )
    ]


def texts(per_seed: list[dict], preset: str, n_prompts: int) -> dict[str, str]:
    """Every text the chapter quotes, by glue name."""
    names, _, by_kind = ratios(per_seed)
    ratio, normalised = by_kind["ratio"], by_kind["normalised_ratio"]
    garg = [names.index(n) for n in SETTINGS if n != "standard"]
    worst = garg[ratio[:, garg].mean(axis=0).argmax()]
    worst_normalised = garg[normalised[:, garg].mean(axis=0).argmax()]
    rms = [per_seed[0][n]["rms"] for n in names]
    mean_x = [per_seed[0][n]["mean_shift"] for n in names]

    def rho(values, against) -> str:
        return format_range([stats.spearmanr(r, against).statistic for r in values])

    def times(values) -> str:
        return format_range(values, ".3g") + "×"

    mean_shift = {c: names.index(f"mean-x={c}") for c in (2, 4)}
    return {
        "gb_preset": preset,
        "gb_n_seeds": as_text(len(per_seed)),
        "gb_n_prompts": as_text(n_prompts),
        "gb_worst_name": names[worst],
        "gb_worst_garg": times(ratio[:, worst]),
        **{f"gb_mean{c}_ratio": times(ratio[:, k]) for c, k in mean_shift.items()},
        "gb_rho": format_range([r for _, r in map(battery_measures, per_seed)]),
        "gb_rho_rms": rho(ratio, rms),
        "gb_rho_mean": rho(ratio, mean_x),
        "gb_rho_rms_normalised": rho(normalised, rms),
        "gb_worst_normalised_name": names[worst_normalised],
        "gb_worst_normalised": times(normalised[:, worst_normalised]),
        **{
            f"gb_mean{c}_normalised": times(normalised[:, k])
            for c, k in mean_shift.items()
        },
    }
