"""The chapter "Pretraining distributions": each text it quotes, from the cross
evaluation of every pretraining distribution's models and their sweeps along the
mean shift."""

from __future__ import annotations

import numpy as np

from ..analysis.shift_sweeps import best_shift, own_wins
from .glue import as_text


def texts(
    errors: list[np.ndarray],
    scores: list[np.ndarray],
    median_error: dict[str, np.ndarray],
    shifts: list[float],
    preset: str,
    n_prompts: int,
) -> dict[str, str]:
    """Every text the chapter quotes, by glue name. `errors`, `scores`: each training
    seed's (models, tests) matrices; `median_error`: model -> (seeds, shifts)."""
    n = len(median_error)
    wins = [own_wins(e, s) for e, s in zip(errors, scores)]
    error_wins, score_wins = own_wins(np.mean(errors, 0), np.mean(scores, 0))

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
    }
