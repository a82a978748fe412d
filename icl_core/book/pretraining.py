"""The chapter "Pretraining distributions": each text it quotes, from the cross
evaluation of every pretraining distribution's models and their sweeps along the
mean shift."""

from __future__ import annotations

import numpy as np

from ..analysis.shift_sweeps import (
    best_shift,
    own_advantage,
    own_error_ratios,
    own_vs_trivial,
    own_wins,
)
from ..core.results import format_range
from ..verdicts.claims import Thresholds
from .glue import as_text

# whether the smallest margin of the own-distribution advantage over its references
# (claim 7b's part) reaches the scorecard's input_margin
SIGNATURE_MOVES = {
    True: "The trained model prefers its own distribution beyond what its embedding "
    "and an untrained twin already show: the signature moves with pretraining through "
    "what the blocks compute.",
    False: "Each model's embedding (layer 0), or an untrained twin of the same "
    "architecture, already prefers the model's own distribution as much or more, so "
    "the signature's move with pretraining is largely there before any trained block.",
}

# whether every model beats the predictors that ignore x on its own distribution
# (claim 7a's part), in the seeds' mean of the largest ratio
OWN_BEATS_TRIVIAL = {
    True: "Every model does better on its own distribution than predicting the "
    "context's mean of y or zero, so its lowest error there is learned, not the "
    "least failure among failing models.",
    False: "On at least one distribution its own model does no better than "
    "predicting the context's mean of y or zero: there its lowest error is the least "
    "failure among failing models, not a learned one.",
}

# a model whose own-distribution ratio to the predictors that ignore x is this many
# times the standard model's learned its distribution clearly less well
SKILL_GAP = 2.0


def unequal_skill(models: list[str], vs_model: np.ndarray) -> str:
    """The sentence that says which pretrained models learned their own distribution
    clearly less well than the standard model learned its own (`vs_model`, each
    seed's `own_vs_trivial`:
    seeds × models, in the order of `models`)."""
    if "standard" not in models:
        return "Without the standard model there is no reference skill to compare with."
    mean = dict(zip(models, vs_model.mean(axis=0)))
    weaker = [m for m in models if mean[m] > SKILL_GAP * mean["standard"]]
    if not weaker:
        return (
            "Every model learned its own distribution about as well as the standard "
            "model learned its own."
        )
    return (
        f"The {' and '.join(weaker)} models learned their own distribution less well "
        "than the standard model learned its own (more than twice its ratio), so "
        "claim 7a compares models of unequal skill there."
    )


def texts(
    errors: list[np.ndarray],
    scores: list[np.ndarray],
    input_scores: list[dict[str, np.ndarray]],
    median_error: dict[str, np.ndarray],
    shifts: list[float],
    trivial_error: dict[str, np.ndarray],
    preset: str,
    n_prompts: int,
) -> dict[str, str]:
    """Every text the chapter quotes, by glue name. `errors`, `scores`: each training
    seed's (models, tests) matrices; `input_scores`: each seed's score matrices of
    the embedding ("layer0") and the untrained twins; `median_error`: model ->
    (seeds, shifts); `trivial_error`: predictor that ignores x -> (tests,)."""
    n = len(median_error)
    wins = [own_wins(e, s) for e, s in zip(errors, scores)]
    error_wins, score_wins = own_wins(np.mean(errors, 0), np.mean(scores, 0))
    advantage = {
        name: [own_advantage(x[name]).mean() for x in input_scores]
        for name in ("layer0", "untrained")
    }
    advantage["trained"] = [own_advantage(x).mean() for x in scores]
    beyond = [
        (
            own_advantage(s)
            - np.maximum(own_advantage(x["layer0"]), own_advantage(x["untrained"]))
        ).min()
        for s, x in zip(scores, input_scores)
    ]

    vs_model = np.stack([own_vs_trivial(e, trivial_error) for e in errors])
    vs_trivial = vs_model.max(axis=1)  # per seed, the largest over the models
    ratio = [float(own_error_ratios(e).max()) for e in errors]

    def best(name: str) -> str:
        return as_text(
            best_shift(shifts, median_error[name]) if name in median_error else "n/a"
        )

    return {
        "pt_preset": preset,
        "pt_n_prompts": as_text(n_prompts),
        "pt_n_seeds": as_text(len(errors)),
        "pt_error_diag": f"{error_wins.sum()} of {n}",
        "pt_score_diag": f"{score_wins.sum()} of {n}",
        "pt_seeds_all_error": as_text(sum(bool(e.all()) for e, _ in wins)),
        "pt_seeds_all_score": as_text(sum(bool(s.all()) for _, s in wins)),
        "pt_best_standard": best("standard"),
        "pt_best_shifted": best("x_shifted"),
        **{f"pt_advantage_{k}": format_range(v) for k, v in advantage.items()},
        "pt_beyond_input": format_range(beyond),
        "pt_own_error_ratio": format_range(ratio),
        "pt_own_vs_trivial": format_range(vs_trivial, ".2g"),
        "pt_vs_trivial_by_model": ", ".join(
            f"{name} {format_range(vs_model[:, i], '.2g')}"
            for i, name in enumerate(median_error)
        ),
        "pt_unequal_skill": unequal_skill(list(median_error), vs_model),
        "pt_beats_trivial": OWN_BEATS_TRIVIAL[bool(np.mean(vs_trivial) < 1)],
        "pt_signature_moves": SIGNATURE_MOVES[
            bool(np.mean(beyond) >= Thresholds().input_margin)
        ],
    }
