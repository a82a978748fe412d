"""The chapter "Training": its table of runs, and each text it quotes, from the
trained models of every pretraining distribution."""

from __future__ import annotations

from ..analysis.remedies import VARIANTS
from ..core.results import Table, format_range
from .glue import as_text


def n_parameters(run) -> int:
    return sum(p.numel() for p in run.model.parameters())


def runs_table(runs: dict[str, list]) -> Table:
    """One row per kind of model: its data, size, steps, wall time and final loss
    over its training seeds, and how many were read rather than trained."""
    headers = ["run", "x ~", "seeds", "params", "steps", "wall time (s)"]
    return [*headers, "final loss", "reused"], [
        [
            rs[0].config.name,
            rs[0].config.task.describe_x(),
            len(rs),
            f"{n_parameters(rs[0]):,}",
            rs[0].config.train.steps,
            format_range([r.seconds for r in rs], ".0f"),
            format_range([r.losses[-200:].mean() for r in rs], ".4f"),
            sum(r.reused for r in rs),
        ]
        for rs in runs.values()
    ]


def texts(runs: dict[str, list], standard: str, preset: str) -> dict[str, str]:
    """Every text the chapter quotes, by glue name, of the `standard` model's seeds."""
    first = runs[standard]
    return {
        "preset": preset,
        "n_dims": as_text(first[0].config.model.n_dims),
        "n_parameters": f"{n_parameters(first[0]):,}",
        "n_seeds": as_text(len(first)),
        "n_models": as_text(sum(len(rs) for rs in runs.values())),
        "train_device": as_text(first[0].device),
        "train_seconds": format_range([r.seconds for r in first], ".0f"),
        "final_loss": format_range([r.losses[-200:].mean() for r in first], ".3f"),
    }


def loss_panels(runs: dict[str, list]) -> dict[str, list[str]]:
    """The models of each panel of the loss figure: those of the paper's experiments
    and of the coverage chapter, then, where trained, the models of "What removes the
    failure" beside the standard one."""
    remedies = [m for m in VARIANTS if m in runs]
    panels = {"paper and coverage": [m for m in runs if m not in remedies]}
    if remedies:
        panels["what removes the failure"] = ["standard", *remedies]
    return panels
