"""The tables and quoted texts of the chapter on the signature and the loss, from each
training seed's correlations by layer and its loss predictors, so that the chapter
holds its prose and figures."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analysis.loss_predictors import STATISTICS
from ..core.results import Table, format_range
from .glue import as_text


@dataclass(frozen=True)
class SignatureLoss:
    """Per training seed: `by_layer`, the score's correlations with low loss at every
    layer (`metrics.correlations`), and `predictors`, its `loss_predictors` result."""

    by_layer: list[list[dict]]
    predictors: list[dict]

    def coefficient(self, name: str, key: str = "") -> np.ndarray:
        """(seeds, layers) array of one correlation coefficient or interval end."""
        return np.array([[r[f"{name}{key}"] for r in seed] for seed in self.by_layer])

    def predictor(self, *keys: str) -> list:
        """One entry of every seed's `loss_predictors` result."""
        values = []
        for entry in self.predictors:
            for key in keys:
                entry = entry[key]
            values.append(entry)
        return values

    def value(self, *keys: str) -> list[float]:
        """Every seed's estimate of a bootstrapped entry."""
        return [e["value"] for e in self.predictor(*keys)]

    def interval_span(self, *keys: str) -> str:
        """'the seeds' 95% intervals lie within 0.15 to 0.28': the span of every seed's
        own bootstrap interval, never an average of their endpoints."""
        entries = self.predictor(*keys)
        low = min(e["low"] for e in entries)
        high = max(e["high"] for e in entries)
        return f"the seeds' 95% intervals lie within {low:.2f} to {high:.2f}"

    def bars(self) -> dict[str, tuple[list, list]]:
        """Each predictor of low loss at the last layer: its per-seed Spearman pooled
        and within a shift level."""
        return {
            "signature": (
                list(self.coefficient("spearman")[:, -1]),
                self.value("within_shift_spearman"),
            ),
            **{
                STATISTICS[name]: (
                    self.predictor("model_free_spearman", name, "pooled"),
                    self.predictor("model_free_spearman", name, "within_shift"),
                )
                for name in STATISTICS
            },
        }

    def layer_table(self) -> Table:
        """Both correlations at every layer, seed mean with range."""
        pearson, spearman = self.coefficient("pearson"), self.coefficient("spearman")
        return (
            ["layer", "Pearson (score, −log error)", "Spearman (score, −error)"],
            [
                [l, format_range(pearson[:, l]), format_range(spearman[:, l])]
                for l in range(pearson.shape[1])
            ],
        )

    def predictor_table(self) -> Table:
        """Every predictor of low loss at the last layer, pooled and within a level,
        and the signature with the prompt statistics partialled out."""
        rows = [
            [label, format_range(pooled), format_range(within)]
            for label, (pooled, within) in self.bars().items()
        ]
        rows[0][0] = "signature score"
        rows.append(
            [
                "signature, the three statistics partialled out",
                format_range(self.value("partial_spearman")),
                format_range(self.predictor("partial_spearman", "within_shift")),
            ]
        )
        return (
            ["predictor of low loss (last layer)", "pooled", "within a shift level"],
            rows,
        )

    def texts(self, families: list[str], correlation: float) -> dict[str, str]:
        """The chapter's quoted numbers and readings, by glue name; `families` the
        pooled shift families (x_mean first), `correlation` claim 6's criterion."""
        spearman = self.coefficient("spearman")
        first_levels = [
            levels[0] for levels in self.predictor("within_shift_spearman", "by_level")
        ]
        first_level = np.mean(first_levels)
        free = {
            name: np.mean(self.predictor("model_free_spearman", name, "pooled"))
            for name in STATISTICS
        }
        best = max(free, key=lambda name: abs(free[name]))
        survives = [
            np.mean(self.value(key)) >= correlation
            for key in ("within_shift_spearman", "partial_spearman")
        ]
        intervals = self.predictor("within_shift_spearman")
        texts = {
            "sl_spearman_last": format_range(spearman[:, -1]),
            "sl_spearman_low": f"{self.coefficient('spearman', '_low')[:, -1].min():.2f}",
            "sl_spearman_high": f"{self.coefficient('spearman', '_high')[:, -1].max():.2f}",
            "sl_pearson_last": format_range(self.coefficient("pearson")[:, -1]),
            "sl_within": format_range(self.value("within_shift_spearman")),
            "sl_within_first": format_range(first_levels),
            "sl_within_first_reading": (
                "the signature says next to nothing about the loss"
                if abs(first_level) < 0.1
                else "more of the signature goes with a "
                + ("higher" if first_level < 0 else "lower")
                + " loss"
            ),
            "sl_within_intervals": self.interval_span("within_shift_spearman"),
            "sl_partial": format_range(self.value("partial_spearman")),
            "sl_partial_intervals": self.interval_span("partial_spearman"),
            "sl_partial_within": format_range(
                self.predictor("partial_spearman", "within_shift")
            ),
            "sl_best_free": STATISTICS[best],
            "sl_best_free_rho": f"{abs(free[best]):.2f}",
            "sl_signature_rho": f"{spearman[:, -1].mean():.2f}",
            "sl_reading": (
                "the signature tracks the loss chiefly because both track how far the "
                "prompt lies from the training distribution, which the prompt's own "
                "statistics already show"
                if not any(survives)
                else "the signature carries information about the loss that the shift "
                "level and the prompt's statistics do not"
            ),
            "sl_within_signs": (
                f"below zero for {sum(e['high'] < 0 for e in intervals)} and above zero "
                f"for {sum(e['low'] > 0 for e in intervals)} of {len(intervals)} seeds"
            ),
        }
        for name, family in zip(("mean", "other"), families):
            within = self.predictor("within_shift_spearman", "by_family", family)
            texts[f"sl_within_{name}"] = format_range([e["value"] for e in within])
            texts[f"sl_pooled_{name}"] = format_range(
                self.predictor("by_family_pooled_spearman", family)
            )
        for name in STATISTICS:
            for kind, key in (("", "pooled"), ("_within", "within_shift")):
                texts[f"sl_{name}{kind}"] = format_range(
                    self.predictor("model_free_spearman", name, key)
                )
        return texts


def setting_texts(
    preset: str,
    first_seed: int,
    n_seeds: int,
    n_pooled: int,
    n_prompts: int,
    shifts: list[float],
    other_family: str,
    other_shifts: list[float],
    correlation: float,
) -> dict[str, str]:
    """The chapter's settings as it quotes them, by glue name."""
    return {
        "sl_preset": preset,
        "sl_first_seed": as_text(first_seed),
        "sl_n_seeds": as_text(n_seeds),
        "sl_total": as_text(n_pooled),
        "sl_n_prompts": as_text(n_prompts),
        "sl_n_shifts": as_text(len(shifts)),
        "sl_n_levels": as_text(len(shifts) + len(other_shifts)),
        "sl_other_family": other_family,
        "sl_n_other": as_text(len(other_shifts)),
        "sl_first_shift": as_text(shifts[0]),
        "sl_threshold": as_text(correlation),
    }
