"""The chapter "Pretraining coverage": each text it quotes, from every model's median
error and signature score along the mean shift (`analysis.coverage.coverage_sweep`)."""

from __future__ import annotations

from ..analysis.coverage import coverage_measures
from ..analysis.evaluation import TRIVIAL
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
    c = 0, its growth at the sweep's edge (and against the predictors that ignore x
    there) and its signature's drop; and the sentence that places the coverage
    model's reach against its training range."""
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
                [s["trivial_error"][m] for m in TRIVIAL],
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
            f"cov_edge_trivial_{short}": format_range(
                [x["edge_vs_trivial"] for x in measures], ".2g"
            )
            + "×",
            f"cov_drop_{short}": format_range([x["drop"] for x in measures]),
        }
        if model == "x_mean_spread":
            reach = min(x["reach"] for x in measures)
            out["cov_reach_sentence"] = REACH[
                (reach > training_range) - (reach < training_range)
            ]
    return out


# where the coverage model's smallest reach over its seeds lies against its range
REACH = {
    1: "Every seed reaches past the range it was pretrained on.",
    0: "Every seed reaches the edge of the range it was pretrained on, and no seed "
    "falls short of it.",
    -1: "Some seed falls short of the range it was pretrained on.",
}
