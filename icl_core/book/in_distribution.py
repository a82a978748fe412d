"""The chapter "In distribution": each text it quotes, from the errors of the
transformer and the baselines at every prefix length."""

from __future__ import annotations

import numpy as np

from ..core.results import format_range
from ..verdicts.claims import Thresholds
from .glue import as_text
from .scorecard import listed

LEARNED = {
    "every": "Every training seed learned the task: its median error at the last query is "
    "below {threshold:g}, the threshold every chapter sets a seed aside by.",
    "some": "Training seeds {aside} did not learn the task (median error at the last query "
    "{errors}, at least {threshold:g}): every other chapter sets them aside. Over the "
    "{n} that did, the transformer's median error is {learned}.",
}


def texts(
    means: dict[str, np.ndarray],
    medians: dict[str, np.ndarray],
    d: int,
    preset: str,
    n_prompts: int,
    seeds: list[int],
    unlearned: dict[str, float],
) -> dict[str, str]:
    """Every text the chapter quotes, by glue name. `means`, `medians`: method ->
    error over prompts, (seeds, positions), for the training `seeds`; `unlearned`:
    those that did not learn the task, with their error (`runs.set_aside`)."""
    tf = means["transformer"]
    last = medians["transformer"][:, -1]
    kept = [k for k, s in enumerate(seeds) if str(s) not in unlearned]
    learned = LEARNED["some" if unlearned else "every"].format(
        threshold=Thresholds().match_error,
        aside=listed(list(unlearned)),
        errors=listed([f"{e:.2g}" for e in unlearned.values()]),
        n=len(kept),
        learned=format_range(last[kept], ".2g") if kept else "",
    )
    beyond = slice(d + 1, tf.shape[1])  # more examples than dimensions: OLS is exact
    return {
        "id_preset": preset,
        "id_d": as_text(d),
        "id_n_prompts": as_text(n_prompts),
        "id_n_seeds": as_text(len(tf)),
        "id_transformer_last_median": format_range(
            medians["transformer"][:, -1], ".2g"
        ),
        "id_transformer_last_mean": format_range(tf[:, -1], ".2g"),
        "id_ols_last_median": as_text(medians["ols"][0, -1], ".1g"),
        "id_transformer_beyond_mean": format_range(tf[:, beyond].mean(axis=1), ".2g"),
        "id_ridge_last_median": as_text(medians["ridge"][0, -1], ".2g"),
        "id_gd_last_median": as_text(medians["gd"][0, -1], ".2g"),
        "id_averaging_last_mean": as_text(means["averaging"][0, -1], ".2f"),
        "id_learned": learned,
    }
