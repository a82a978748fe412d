"""Errors of the transformer and the baselines on prompts from any distribution,
batched."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..core.baselines import get_baseline
from ..core.config import PromptDistribution, check
from ..core.model import InContextRegressor
from ..core.results import write_chapter_file
from ..core.samplers import Prompts, generator_for, sample_prompts
from .metrics import normalized_squared_error

EVAL_SEED_OFFSET = 10_000_019  # evaluation prompts never coincide with training prompts
# the predictors that ignore x: a model that does worse than them has not generalised
TRIVIAL = ("context_mean", "zero")


def eval_prompts(
    dist: PromptDistribution, n_prompts: int, n_points: int, n_dims: int, seed: int = 0
) -> Prompts:
    """Evaluation prompts, drawn from their own seed stream (on CPU, so they match
    everywhere)."""
    check(
        isinstance(n_prompts, int) and n_prompts > 0,
        "n_prompts",
        n_prompts,
        "a positive integer",
    )
    check(
        isinstance(n_points, int) and n_points > 0,
        "n_points",
        n_points,
        "a positive integer",
    )
    return sample_prompts(
        dist, n_prompts, n_points, n_dims, generator_for(seed + EVAL_SEED_OFFSET, 0)
    )


@torch.inference_mode()
def predict(
    model: InContextRegressor,
    xs: torch.Tensor,
    ys: torch.Tensor,
    batch_size: int = 1024,
    return_hidden: bool = False,
):
    """The model's predictions (and residual streams) in batches, on the model's
    device."""
    device = next(model.parameters()).device
    outputs = [
        model(
            xs[i : i + batch_size].to(device),
            ys[i : i + batch_size].to(device),
            return_hidden=return_hidden,
        )
        for i in range(0, len(xs), batch_size)
    ]
    if return_hidden:
        return torch.cat([p for p, _ in outputs]).cpu(), torch.cat(
            [h for _, h in outputs], dim=1
        ).cpu()
    return torch.cat(outputs).cpu()


def errors(
    model: InContextRegressor | None,
    prompts: Prompts,
    methods: tuple[str, ...] = ("transformer", "ols"),
) -> dict[str, np.ndarray]:
    """Normalised squared error (n_prompts, n_points) of each method at every position."""
    n_dims = prompts.xs.shape[-1]
    out = {}
    for name in methods:
        if name == "transformer":
            check(
                model is not None,
                "model",
                model,
                "a model when 'transformer' is among the methods",
            )
            preds = predict(model, prompts.xs, prompts.ys)
        else:
            preds = get_baseline(name)(prompts.xs, prompts.ys)
        out[name] = normalized_squared_error(
            preds.double(), prompts.ys.double(), n_dims
        ).numpy()
    return out


# every chapter's one test of whether a training seed's model learned the task: its
# median error at the last query on LEARNING_PROMPTS in-distribution prompts of
# evaluation seed 0 (the in-distribution chapter's own prompts), against claim 1's
# threshold, which was set before any model was trained
LEARNING_PROMPTS = 2000


def in_distribution_error(model: InContextRegressor, task: PromptDistribution) -> float:
    """`model`'s median error at the last query on the learning test's prompts, drawn
    from its training distribution `task`."""
    cfg = model.config
    prompts = eval_prompts(task, LEARNING_PROMPTS, cfg.n_points, cfg.n_dims, seed=0)
    last = errors(model, prompts, ("transformer",))["transformer"][:, -1]
    return float(np.median(last))


def residual_streams(model, prompts: Prompts) -> tuple[torch.Tensor, torch.Tensor]:
    """Predictions (P, n) and residual streams (layers, P, tokens, width) of a batch of
    prompts."""
    return predict(model, prompts.xs, prompts.ys, return_hidden=True)


# in_distribution.json ---------------------------------------------------------------


def write_in_distribution(results, preset, runs, means, medians, **settings) -> None:
    """`means`, `medians`: method -> error (seeds, positions)."""
    per_seed = [
        {
            "error_mean": {m: e[i] for m, e in means.items()},
            "error_median": {m: e[i] for m, e in medians.items()},
        }
        for i in range(len(runs))
    ]
    write_chapter_file(results, preset, "in_distribution", runs, per_seed, **settings)


def in_distribution_quantities(ind: dict) -> dict[str, Any]:
    return {
        "in_distribution_error": ind["error_median"]["transformer"][-1],
        "ols_in_distribution_error": ind["error_median"]["ols"][-1],
    }
