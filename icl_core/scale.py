"""The presets side by side: each claim's key quantity and verdict at every scale the
book was run at, so a reader sees whether a claim strengthens, weakens or flips as the
model grows."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import checkpoint
from .plotting import PALETTE
from .presets import PRESETS
from .provenance import checkpoint_hashes, read_consistent
from .scorecard import STANDARD_MODEL_RESULTS, Thresholds, Verdict, one_seed
from .seeds import format_range
from .storage import write_json

RESULTS = (*STANDARD_MODEL_RESULTS, "pretraining", "scorecard")


@dataclass(frozen=True)
class KeyMetric:
    """The quantity a claim is judged on, and on which side of its threshold it
    holds."""

    claim: int
    title: str
    quantity: str
    label: str
    threshold: float
    holds_above: bool
    log: bool = False


def key_metrics(t: Thresholds = Thresholds()) -> list[KeyMetric]:
    """Each claim's key quantity with the scorecard's threshold for it."""
    return [
        KeyMetric(1, "matches OLS", "in_distribution_error",
                  "median error, last query", t.match_error, False, log=True),
        KeyMetric(2, "accuracy collapses", "accuracy_kept",
                  "accuracy at largest c ÷ at c = 0", t.collapse_ratio, False),
        KeyMetric(3, "not shift-invariant", "error_growth_largest",
                  "error growth, largest c", t.invariance_factor, True, log=True),
        KeyMetric(4, "shared signature", "signature_in_distribution",
                  "signature score, c = 0", t.shared_alignment, True),
        KeyMetric(5, "shifted prompts lose it", "signature_drop",
                  "score drop, c = 0 → largest c", t.alignment_drop, True),
        KeyMetric(6, "signature predicts loss", "spearman",
                  "Spearman with low loss", t.correlation, True),
        KeyMetric(7, "pretraining shapes it", "own_distribution_wins",
                  "share of own-distribution wins", 1.0, True),
    ]  # fmt: skip


@dataclass(frozen=True)
class PresetSummary:
    """One preset's scale, its quantities per training seed, and the verdicts its
    `scorecard.json` holds."""

    preset: str
    n_parameters: int
    n_dims: int
    n_points: int
    architecture: str  # layers × heads × width
    steps: int
    train_seconds: float  # the standard model's first seed
    train_device: str
    seeds: list[int]
    pretraining: list[str]
    quantities: dict[str, list[float]]
    verdicts: list[Verdict]
    checkpoints: dict[str, str]


def presets_with_results(results: str | Path, wanted: list[str]) -> list[str]:
    """The `wanted` presets whose scorecard exists under `results`, in the order of
    `PRESETS` (smallest first)."""
    return [
        name
        for name in PRESETS
        if name in wanted and Path(results, name, "scorecard.json").is_file()
    ]


def summarise(results: str | Path, preset: str) -> PresetSummary:
    """Read a preset's results (refusing stale ones) and the standard model's
    checkpoint for its size."""
    data = read_consistent(
        Path(results, preset), RESULTS, same_models=STANDARD_MODEL_RESULTS
    )
    ind, shift, spec, pre = (data[n] for n in RESULTS[:4])
    payload = checkpoint.read(Path(results, ind["checkpoint"]))
    model, train = payload["config"]["model"], payload["config"]["train"]
    per_seed = [
        _seed_quantities(*(one_seed(data[n], i) for n in STANDARD_MODEL_RESULTS))
        for i in range(len(ind["seeds"]))
    ]
    quantities = {k: [q[k] for q in per_seed] for k in per_seed[0]}
    quantities["own_distribution_wins"] = [
        _own_wins(one_seed(pre, j)) for j in range(len(pre["seeds"]))
    ]
    checkpoints = {}
    for name in RESULTS:
        checkpoints.update(checkpoint_hashes(data[name]))
    return PresetSummary(
        preset=preset,
        n_parameters=sum(t.numel() for t in payload["model"].values()),
        n_dims=model["n_dims"],
        n_points=model["n_points"],
        architecture=f"{model['n_layer']} × {model['n_head']} × {model['n_embd']}",
        steps=train["steps"],
        train_seconds=float(payload["seconds"]),
        train_device=payload.get("device", "unknown"),
        seeds=[s["seed"] for s in ind["seeds"]],
        pretraining=list(pre["models"]),
        quantities=quantities,
        verdicts=[Verdict(**claim) for claim in data["scorecard"]["claims"]],
        checkpoints=checkpoints,
    )


def _seed_quantities(ind: dict, shift: dict, spec: dict) -> dict[str, float]:
    shifts = list(shift["shifts"])
    zero, largest = shifts.index(0), shifts.index(max(shifts))
    error = np.asarray(shift["transformer_error"]["median"])
    accuracy = np.asarray(shift["transformer_accuracy"])
    spectral = list(spec["shifts"])
    s_zero, s_largest = spectral.index(0), spectral.index(max(spectral))
    score = np.asarray(spec["signature_score"])
    sigma1 = np.asarray(spec["leading_singular_values"]["sigma1"])
    at_4 = shifts.index(4) if 4 in shifts else None
    return {
        "in_distribution_error": ind["error_median"]["transformer"][-1],
        "error_growth_4": None if at_4 is None else error[at_4] / error[zero],
        "error_growth_largest": error[largest] / error[zero],
        "accuracy_0": accuracy[zero],
        "accuracy_largest": accuracy[largest],
        "accuracy_kept": accuracy[largest] / accuracy[zero],
        "signature_in_distribution": score[s_zero],
        "signature_largest": score[s_largest],
        "signature_drop": score[s_zero] - score[s_largest],
        "spearman": spec["spearman_signature_vs_loss"]["value"],
        "sigma1_growth": sigma1[s_largest] / sigma1[s_zero],
    }


def _own_wins(pre: dict) -> float | None:
    """The share of distributions on which the own model has the lowest error and of
    models whose own distribution has the highest score; None with one model (claim 7
    is not tested then)."""
    if len(pre["models"]) < 2:
        return None
    wins = [
        *pre["lowest_error_is_own_model"],
        *pre["highest_score_is_own_distribution"],
    ]
    return float(np.mean(wins))


def trend(summaries: list[PresetSummary], metric: KeyMetric) -> str:
    """How a claim moves from the smallest to the largest preset that tested it:
    'flips (no → yes)' when its verdict changes; else 'no clear change' when the two
    presets' seed ranges of its key quantity overlap, or whether it moves to the side
    where the claim holds ('strengthens') or away from it ('weakens')."""
    tested = [s for s in summaries if s.verdicts[metric.claim - 1].holds is not None]
    if len(tested) < 2:
        return "tested at one scale" if tested else "not tested"
    small, large = tested[0], tested[-1]
    outcomes = [s.verdicts[metric.claim - 1].outcome for s in (small, large)]
    if outcomes[0] != outcomes[1]:
        return f"flips ({outcomes[0]} → {outcomes[1]})"
    first, last = (measured_values(s, metric.quantity) for s in (small, large))
    if max(first) >= min(last) and max(last) >= min(first):  # seed ranges overlap
        return f"no clear change ({outcomes[1]} at both)"
    before, after = np.mean(first), np.mean(last)
    toward = (after > before) == metric.holds_above
    return f"{'strengthens' if toward else 'weakens'} ({outcomes[1]} at both)"


def measured_values(summary: PresetSummary, quantity: str) -> list[float]:
    """A quantity's per-seed values, without the seeds where it was not measured."""
    return [float(v) for v in summary.quantities[quantity] if v is not None]


def verdict_cell(verdict: Verdict) -> str:
    """'yes (5 of 5 seeds)', 'no (1 of 5 seeds)' or 'not tested'."""
    if verdict.holds is None:
        return verdict.outcome
    plural = "s" if verdict.seeds > 1 else ""
    return (
        f"{verdict.outcome} ({verdict.seeds_holding} of {verdict.seeds} seed{plural})"
    )


def quantity_rows(summaries: list[PresetSummary]) -> list[list[str]]:
    """The side-by-side table: one row per quantity, one column per preset, each cell
    the seed mean with the seed range."""

    def row(label, cell):
        return [label, *(cell(s) for s in summaries)]

    def measured(key, fmt=".3g", unit=""):
        def cell(s):
            values = measured_values(s, key)
            return format_range(values, fmt) + unit if values else "not tested"

        return cell

    return [
        row("parameters", lambda s: f"{s.n_parameters:,}"),
        row("d, points", lambda s: f"{s.n_dims}, {s.n_points}"),
        row("layers × heads × width", lambda s: s.architecture),
        row("training steps", lambda s: f"{s.steps:,}"),
        row("training wall time, one model", training_time),
        row("training seeds (standard model)", lambda s: str(len(s.seeds))),
        row("pretraining distributions (claim 7)", lambda s: str(len(s.pretraining))),
        row("in-distribution error, last query", measured("in_distribution_error")),
        row("error growth, c = 4 vs c = 0", measured("error_growth_4", unit="×")),
        row("error growth, largest c vs c = 0", measured("error_growth_largest", unit="×")),
        row("accuracy at c = 0", measured("accuracy_0", ".0%")),
        row("accuracy at largest c", measured("accuracy_largest", ".0%")),
        row("signature score at c = 0", measured("signature_in_distribution", ".2f")),
        row("signature score at largest c", measured("signature_largest", ".2f")),
        row("Spearman, signature vs low loss", measured("spearman", ".2f")),
        row("σ1 growth, largest c vs c = 0", measured("sigma1_growth", unit="×")),
    ]  # fmt: skip


def training_time(summary: PresetSummary) -> str:
    """'86 min on cpu (2 threads)': the standard model's first seed."""
    return f"{summary.train_seconds / 60:.0f} min on {summary.train_device}"


def seeds_text(summary: PresetSummary) -> str:
    """'5 training seeds' or '1 training seed'."""
    n = len(summary.seeds)
    return f"{n} training seed{'s' if n > 1 else ''}"


def describe(summary: PresetSummary) -> str:
    """'cpu (201,921 parameters, d = 5, 5 training seeds)'."""
    return (
        f"{summary.preset} ({summary.n_parameters:,} parameters, d = "
        f"{summary.n_dims}, {seeds_text(summary)})"
    )


def claims_by_trend(summaries: list[PresetSummary], metrics: list[KeyMetric]):
    """{'flips' | 'strengthens' | 'weakens': the numbers of the claims that do so}."""
    trends = {m.claim: trend(summaries, m) for m in metrics}
    return {
        kind: [str(claim) for claim, t in trends.items() if t.startswith(kind)]
        for kind in ("flips", "strengthens", "weakens")
    }


def write_scale(path: str | Path, summaries: list[PresetSummary]) -> None:
    """`scale.json`: every compared preset's scale, quantities per seed, verdicts and
    the checkpoints they rest on."""
    write_json(
        path,
        {
            "presets": [s.preset for s in summaries],
            "by_preset": {
                s.preset: {
                    "n_parameters": s.n_parameters,
                    "n_dims": s.n_dims,
                    "n_points": s.n_points,
                    "architecture": s.architecture,
                    "steps": s.steps,
                    "train_seconds": s.train_seconds,
                    "train_device": s.train_device,
                    "seeds": s.seeds,
                    "pretraining": s.pretraining,
                    "quantities": s.quantities,
                    "verdicts": [dataclasses.asdict(v) for v in s.verdicts],
                }
                for s in summaries
            },
            "checkpoints": {k: v for s in summaries for k, v in s.checkpoints.items()},
        },
    )


def plot_key_metrics(axes, summaries: list[PresetSummary], metrics: list[KeyMetric]):
    """One panel per claim: its key quantity against the parameter count, the seed mean
    with the seed range, the marker filled where the claim holds, the threshold
    dashed."""
    for ax, metric in zip(axes, metrics):
        points = []
        for s in summaries:
            values = measured_values(s, metric.quantity)
            if not values:
                continue
            mean, low, high = np.mean(values), min(values), max(values)
            holds = s.verdicts[metric.claim - 1].holds
            ax.errorbar(
                s.n_parameters,
                mean,
                yerr=[[mean - low], [high - mean]],
                fmt="o",
                color=PALETTE[0],
                markerfacecolor=PALETTE[0] if holds else "white",
                markersize=7,
                capsize=3,
                zorder=3,
            )
            ax.annotate(
                s.preset,
                (s.n_parameters, mean),
                textcoords="offset points",
                xytext=(7, 5),
            )
            points.append((s.n_parameters, mean))
        if len(points) > 1:
            ax.plot(*zip(*points), color=PALETTE[0], linewidth=1, alpha=0.5)
        ax.axhline(metric.threshold, linestyle="--", color="grey", linewidth=1)
        ax.set_xscale("log")
        if metric.log:
            ax.set_yscale("log")
        sizes = [s.n_parameters for s in summaries]
        ax.set_xlim(min(sizes) / 3, max(sizes) * 3)
        ax.set_title(f"{metric.claim}. {metric.title}")
        ax.set_ylabel(metric.label)
