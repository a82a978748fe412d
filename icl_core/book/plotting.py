"""One figure style for every chapter (a colour-blind-safe palette, SVG output) and the
figures that recur: per-seed curves under their mean, heatmaps, loss curves, the
Scale chapter's panels."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib as mpl
import numpy as np

from ..verdicts.claims import BEFORE_CONTROLS, CLAIMS, FAILS, HOLDS, Thresholds
from ..verdicts.scale import PresetSummary, measured_values, verdict_of

# Okabe and Ito's palette, safe for the common forms of colour blindness.
PALETTE = [
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
]
METHOD_COLORS = {
    "transformer": "#0072B2",
    "ols": "#000000",
    "ridge": "#E69F00",
    "gd": "#009E73",
    "averaging": "#CC79A7",
    "3nn": "#D55E00",
}

STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 110,
    "figure.facecolor": "white",  # figures stay readable on the theme's dark background
    "savefig.facecolor": "white",
    "savefig.bbox": "tight",
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.size": 11,
    "legend.frameon": False,
    "legend.fontsize": 11,
    "lines.linewidth": 1.8,
    "svg.fonttype": "none",
    # stable element ids, so rebuilt figures diff only where they change
    "svg.hashsalt": "icl_core",
}


def use_book_style() -> None:
    """Apply the style; in a notebook, also render figures as SVG."""
    mpl.rcParams.update(STYLE)
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("svg")
    except ImportError:  # outside Jupyter the format does not matter
        pass


def legend_outside(ax, **kwargs) -> None:
    """A legend to the right of the axes, where it cannot cover data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), **kwargs)


def running_mean(loss: np.ndarray, window: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """(steps, means): the training loss's running mean over `window` steps, or over a
    tenth of the run where that is shorter."""
    width = max(1, min(window, len(loss) // 10))
    means = np.convolve(loss, np.ones(width) / width, mode="valid")
    return np.arange(width - 1, len(loss)), means


def mark_stages(ax, curriculum, steps: int) -> None:
    """The curriculum's stage changes, as thin grey lines."""
    from ..core.curriculum import stage_starts

    for step in stage_starts(curriculum, steps):
        ax.axvline(step, color="0.6", linewidth=0.6, zorder=0)


def loss_curves(
    ax,
    losses: list[np.ndarray],
    curriculum,
    label: str,
    color: str | None = None,
    window: int = 100,
):
    """Running means of the training loss of several seeds (thin) and their mean
    (thick), with the curriculum's stage changes marked."""
    smooth = [running_mean(loss, window) for loss in losses]
    line = seed_lines(ax, smooth[0][0], [m for _, m in smooth], label, color)
    mark_stages(ax, curriculum, len(losses[0]))
    return line


def learning_curves(ax, runs, unlearned: Sequence[str], window: int = 100) -> None:
    """Each training seed's running mean of its training loss, the seeds that did not
    learn the task (`unlearned`, as JSON keys) in the second colour and so named, with
    the curriculum's stage changes marked."""
    for run in runs:
        seed = run.config.train.seed
        failed = str(seed) in unlearned
        ax.plot(
            *running_mean(run.losses, window),
            color=PALETTE[1] if failed else PALETTE[0],
            linewidth=1.4 if failed else 0.8,
            label=f"seed {seed}" + (", did not learn" if failed else ""),
        )
    mark_stages(ax, runs[0].config.curriculum, len(runs[0].losses))
    ax.set(xlabel="training step", ylabel="training loss (running mean)")
    ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(4))


def annotated_heatmap(
    ax, values: np.ndarray, rows, cols, fmt: str = "{:.2f}", label: str = "", **kwargs
):
    """A matrix as a heatmap with each cell's value written in it."""
    image = ax.imshow(values, **kwargs)
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.grid(False)
    for (i, j), v in np.ndenumerate(values):
        r, g, b, _ = image.cmap(image.norm(v))
        dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
        ax.text(
            j,
            i,
            fmt.format(v),
            ha="center",
            va="center",
            fontsize=9,
            color="white" if dark else "black",
        )
    ax.figure.colorbar(image, ax=ax, label=label, shrink=0.8)
    return image


def seed_lines(ax, x, per_seed, label: str, color: str | None = None, **kwargs):
    """One thin line per training seed under a thick line for their mean; `per_seed` is
    (seeds, len(x))."""
    per_seed = np.atleast_2d(np.asarray(per_seed, dtype=float))
    (line,) = ax.plot(x, per_seed.mean(axis=0), label=label, color=color, **kwargs)
    if len(per_seed) > 1:
        for values in per_seed:
            ax.plot(
                x,
                values,
                color=line.get_color(),
                linewidth=0.7,
                alpha=0.45,
                zorder=line.get_zorder() - 1,
            )
    return line


def plot_key_quantities(
    axes, summaries: list[PresetSummary], t: Thresholds, keys: Sequence[str]
) -> None:
    """One panel per claim of `keys`: its key quantity at each preset (in `PRESETS`
    order), the seed mean with the seed range and each seed as a dot, the marker filled
    where the claim holds, half filled where it holds only before its controls, a
    diamond where it is on the edge; the threshold dashed."""
    names = [s.preset for s in summaries]
    by_key = {c.key: c for c in CLAIMS}
    for ax, claim in zip(axes, (by_key[k] for k in keys)):
        for x, s in enumerate(summaries):
            values = measured_values(s, claim.quantity)
            if not values:
                continue
            mean, low, high = np.mean(values), min(values), max(values)
            verdict = verdict_of(s, claim)
            fill = {HOLDS: "full", BEFORE_CONTROLS: "left"}.get(verdict.status, "none")
            ax.errorbar(
                x,
                mean,
                yerr=[[mean - low], [high - mean]],
                fmt="D" if verdict.on_edge else "o",
                color=PALETTE[0],
                fillstyle=fill,
                markerfacecolor=PALETTE[0],
                markerfacecoloralt="white",
                markersize=7,
                capsize=3,
                zorder=3,
            )
            ax.plot([x + 0.15] * len(values), values, ".", color="0.35", markersize=3)
        ax.axhline(
            claim.key_condition.bound(t), linestyle="--", color="grey", linewidth=1
        )
        if claim.log:
            ax.set_yscale("log")
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=9)
        ax.set_xlim(-0.5, len(names) - 0.5)
        # wrapped, so that neighbouring panels' titles and labels cannot collide
        ax.set_title(textwrap.fill(f"{claim.key}. {claim.title}", 26), fontsize=11)
        ax.set_ylabel(textwrap.fill(claim.label, 36), fontsize=10)


def error_with_share(ax, shifts, curves: dict, share, share_label: str) -> None:
    """Median error against the shift for several models or families (`curves`: label
    -> (colour, (seeds, shifts))), log scale, with the share of targets beyond the
    output bound on a second axis (dotted)."""
    for label, (color, per_seed) in curves.items():
        seed_lines(ax, shifts, per_seed, label, color, marker="o", markersize=3)
    ax.set(yscale="log", ylabel="median error, last query")
    twin = ax.twinx()
    seed_lines(
        twin,
        shifts,
        share,
        share_label,
        "0.45",
        linestyle=":",
        marker="s",
        markersize=3,
    )
    twin.set(ylim=(-0.03, 1.03), ylabel="share of targets beyond the bound")
    twin.grid(False)
    twin.spines["right"].set_visible(True)
    lines = ax.get_legend_handles_labels()
    extra = twin.get_legend_handles_labels()
    ax.legend(
        lines[0] + extra[0],
        lines[1] + extra[1],
        loc="upper left",
        bbox_to_anchor=(1.15, 1.0),
    )


def seed_points_with_mean(ax, x, per_seed, color: str, label: str) -> None:
    """Each seed's values (seeds, len(x)) as faint points, their mean as a bar."""
    per_seed = np.asarray(per_seed)
    for row in per_seed:
        ax.plot(x, row, "o", color=color, alpha=0.4, markersize=3)
    ax.plot(
        x,
        per_seed.mean(axis=0),
        "_",
        color=color,
        markersize=14,
        markeredgewidth=2,
        label=f"{label} (bar: seed mean)",
    )


def paired_bars(ax, pairs: dict[str, tuple], kinds: tuple[str, str]) -> None:
    """For each label, two bars (the seed means of a pair of per-seed values, named by
    `kinds`) with each seed as a dot."""
    for k, pair in enumerate(pairs.values()):
        for values, offset, kind, colour in zip(pair, (-0.18, 0.18), kinds, PALETTE):
            ax.bar(k + offset, np.mean(values), 0.34, color=colour,
                   label=kind if k == 0 else None)  # fmt: skip
            ax.plot([k + offset] * len(values), values, "k.", markersize=3)


# the verdict grid's cell colours, by status
STATUS_COLORS = {HOLDS: "#009E73", BEFORE_CONTROLS: "#E69F00", FAILS: "#D9D9D9"}


def verdict_grid(ax, summaries: list[PresetSummary]) -> None:
    """Claims (rows) × presets (columns): each cell coloured by the claim's status
    there, a dot per training seed (filled where that seed passes the criterion
    alone), a dashed frame where the verdict or a failed part deciding it is on the
    edge, hatched where a part
    that controls it could not be measured, blank where not tested."""
    for row, claim in enumerate(CLAIMS):
        for col, s in enumerate(summaries):
            verdict = verdict_of(s, claim)
            if verdict.holds is None:
                ax.text(col, row, "not tested", ha="center", va="center", fontsize=11)
                continue
            ax.add_patch(
                mpl.patches.Rectangle(
                    (col - 0.46, row - 0.42),
                    0.92,
                    0.84,
                    facecolor=STATUS_COLORS[verdict.status],
                    # on the edge: its own key quantity or a failed part deciding it
                    edgecolor="black"
                    if verdict.on_edge or verdict.controls_on_edge
                    else "none",
                    linestyle="--",
                    linewidth=1.6,
                )
            )
            if verdict.untested_controls:  # fewer controls: a part was not measured
                ax.add_patch(
                    mpl.patches.Rectangle(
                        (col - 0.46, row - 0.42),
                        0.92,
                        0.84,
                        fill=False,
                        edgecolor="white",
                        linewidth=0,
                        hatch="///",
                    )
                )
            seeds = s.seed_holds[claim.key]
            xs = col + 0.14 * (np.arange(len(seeds)) - (len(seeds) - 1) / 2)
            for x, passes in zip(xs, seeds):
                ax.plot(
                    x,
                    row,
                    "o",
                    ms=6,
                    color="black",
                    fillstyle="full" if passes else "none",
                )
    ax.set_xticks(range(len(summaries)), [s.preset for s in summaries], fontsize=12)
    ax.set_yticks(
        range(len(CLAIMS)), [f"{c.key}. {c.title}" for c in CLAIMS], fontsize=12
    )
    ax.set(xlim=(-0.5, len(summaries) - 0.5), ylim=(len(CLAIMS) - 0.5, -0.5))
    ax.tick_params(length=0)
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.xaxis.tick_top()
    patch = mpl.patches.Patch
    line = mpl.lines.Line2D
    handles = [
        *(patch(color=c, label=status) for status, c in STATUS_COLORS.items()),
        patch(facecolor="white", edgecolor="black", linestyle="--", label="on the edge"),
        patch(facecolor="0.55", edgecolor="white", hatch="///", label="a control not measured"),
        line([], [], marker="o", ls="", color="black", label="a seed that passes"),
        line([], [], marker="o", ls="", color="black", fillstyle="none",
             label="a seed that fails"),
    ]  # fmt: skip
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=3,
        fontsize=12,
        handlelength=1.5,
    )
