"""The chapter "Pretraining coverage": each text it quotes, from every model's median
error and signature score along the mean shift (`analysis.coverage.coverage_sweep`)."""

from __future__ import annotations

from ..analysis.coverage import coverage_measures
from ..core.results import format_range
from .glue import as_text

# the models the chapter compares, as its glue names spell them
SHORT_NAMES = {"x_mean_spread": "spread", "x_mean_spread_random": "random"}


def texts(
    per_seed: dict[str, list[dict]],
    shifts: list[float],
    training_range: float,
    invariance_factor: float,
    preset: str,
    n_prompts: int,
) -> dict[str, str]:
    """Every text the chapter quotes, by glue name: per model, its reach, its error at
    c = 0, its growth at the sweep's edge and its signature's drop."""
    out = {
        "cov_preset": preset,
        "cov_n_prompts": as_text(n_prompts),
        "cov_factor": f"{invariance_factor:g}",
    }
    for model, seeds in per_seed.items():
        short = SHORT_NAMES.get(model, model)
        measures = [
            coverage_measures(
                shifts,
                s["median_error"],
                s["signature_score"],
                training_range,
                invariance_factor,
            )
            for s in seeds
        ]
        out |= {
            f"cov_reach_{short}": format_range([x["reach"] for x in measures], ".3g"),
            f"cov_base_{short}": format_range([x["base"] for x in measures], ".3g"),
            f"cov_edge_{short}": format_range(
                [x["edge_growth"] for x in measures], ".3g"
            )
            + "×",
            f"cov_drop_{short}": format_range([x["drop"] for x in measures]),
        }
    return out
