"""Does the signature predict loss beyond what the prompt alone predicts?

Claim 6 pools prompts from many shift levels, where anything that tracks the shift
also tracks the loss. Here the signature score is set beside model-free statistics of
the same prompts, within each shift level as well as pooled, and its rank correlation
with low loss is measured with those statistics partialled out. Uncertainty is a
bootstrap over prompts, resampled within each shift level (the levels are fixed by
design), one interval per training seed."""

from __future__ import annotations

import numpy as np
from scipy import stats

from ..core.config import check
from ..core.samplers import Prompts

# model-free statistics of a prompt, by name, with their labels: what a reader could
# compute without the network (x̄ is the prompt's mean x; y leaves out the target)
STATISTICS = {"mean_x_norm": "‖x̄‖", "rms_x": "rms of x", "rms_y": "rms of y"}


def prompt_statistics(prompts: Prompts) -> dict[str, np.ndarray]:
    """`STATISTICS` of every prompt (P,). The query's y is the target, so it is left
    out of the y statistic."""
    xs, ys = prompts.xs.double(), prompts.ys.double()
    return {
        "mean_x_norm": xs.mean(dim=1).norm(dim=-1).numpy(),
        "rms_x": xs.pow(2).mean(dim=(1, 2)).sqrt().numpy(),
        "rms_y": ys[:, :-1].pow(2).mean(dim=1).sqrt().numpy(),
    }


def _ranked(values: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, centred and scaled to unit norm."""
    r = stats.rankdata(values, axis=-1)
    r = r - r.mean(axis=-1, keepdims=True)
    return r / np.linalg.norm(r, axis=-1, keepdims=True)


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's coefficient of each row pair of `a` and `b` (…, n)."""
    return (_ranked(a) * _ranked(b)).sum(axis=-1)


def partial_spearman_rows(
    a: np.ndarray, b: np.ndarray, controls: np.ndarray
) -> np.ndarray:
    """Spearman's coefficient of `a` and `b` (…, n) with the ranks of every control
    (…, k, n) regressed out of both: what `a` says about `b` that the controls do
    not."""
    ra, rb, rc = _ranked(a), _ranked(b), _ranked(controls)
    basis = np.linalg.qr(np.swapaxes(rc, -1, -2))[0]  # (…, n, k)

    def residual(r):
        return r - (basis @ (np.swapaxes(basis, -1, -2) @ r[..., None]))[..., 0]

    ea, eb = residual(ra), residual(rb)
    return (ea * eb).sum(axis=-1) / (
        np.linalg.norm(ea, axis=-1) * np.linalg.norm(eb, axis=-1)
    )


def level_resamples(
    levels: np.ndarray, n_resamples: int, seed: int
) -> dict[int, np.ndarray]:
    """For each shift level, `n_resamples` draws with replacement of its prompts'
    indices: (n_resamples, prompts in the level). Every level is drawn from the same
    seed, so its k-th prompt shares x's noise and w with the k-th of every other level;
    the draws therefore resample those clusters jointly (the same positions in every
    level), not each level on its own."""
    members = {int(k): np.flatnonzero(levels == k) for k in np.unique(levels)}
    sizes = {len(m) for m in members.values()}
    check(
        len(sizes) == 1, "levels", sorted(sizes), "the same number of prompts per level"
    )
    n = sizes.pop()
    positions = np.random.default_rng(seed).integers(0, n, (n_resamples, n))
    return {k: m[positions] for k, m in members.items()}


def _interval(point: float, boot: np.ndarray) -> dict[str, float]:
    low, high = np.nanpercentile(boot, [2.5, 97.5])
    return {"value": float(point), "low": float(low), "high": float(high)}


def _within(stat, arrays, levels, draws=None) -> np.ndarray:
    """Mean over shift levels of `stat` computed within each level: a number, or one
    per resample with `draws` (level -> indices)."""
    values = []
    for level in np.unique(levels):
        index = draws[int(level)] if draws else np.flatnonzero(levels == level)
        values.append(stat(*(a[..., index] for a in arrays)))
    return np.nanmean(values, axis=0)


def _model_free(statistics: dict, low_loss: np.ndarray, levels: np.ndarray) -> dict:
    """Each model-free statistic's Spearman with low loss, pooled and within levels."""
    return {
        name: {
            "pooled": float(spearman_rows(statistics[name], low_loss)),
            "within_shift": float(
                _within(spearman_rows, [statistics[name], low_loss], levels)
            ),
        }
        for name in STATISTICS
    }


def loss_predictors(
    score: np.ndarray,
    loss: np.ndarray,
    statistics: dict[str, np.ndarray],
    levels: np.ndarray,
    families: np.ndarray,
    family_names: list[str],
    n_resamples: int = 1000,
    seed: int = 0,
) -> dict:
    """Rank correlations with low loss (−`loss`) of the signature `score` and of each
    model-free statistic, over prompts (P,) labelled by shift level and family.

    `pooled_spearman`: the signature's Spearman over all prompts;
    `within_shift_spearman`: the same within each level, averaged over the levels (per
    family and over both); `model_free_spearman`: each statistic's,
    pooled and within levels; `partial_spearman`: the signature's, pooled, with every
    statistic partialled out. Intervals are 95% bootstrap percentiles over prompts."""
    P = len(loss)
    check(
        score.shape == (P,) and levels.shape == (P,) and families.shape == (P,),
        "score, levels, families",
        (score.shape, levels.shape, families.shape),
        f"1-D arrays of the {P} prompts' values",
    )
    low_loss = -np.asarray(loss, dtype=float)
    controls = np.stack([statistics[name] for name in STATISTICS])
    draws = level_resamples(levels, n_resamples, seed)
    pooled_index = np.concatenate(list(draws.values()), axis=1)  # (R, P)

    def within(stat, *arrays, mask=None):
        keep = np.ones(P, bool) if mask is None else mask
        chosen = {k: v for k, v in draws.items() if keep[levels == k].all()}
        point = _within(stat, [a[..., keep] for a in arrays], levels[keep])
        boot = np.nanmean(
            [stat(*(a[..., d] for a in arrays)) for d in chosen.values()], axis=0
        )
        return _interval(point, boot)

    moved = np.moveaxis(controls[:, pooled_index], 0, -2)  # (R, k, P)
    partial_point = partial_spearman_rows(score, low_loss, controls)
    partial_boot = partial_spearman_rows(
        score[pooled_index], low_loss[pooled_index], moved
    )
    return {
        "pooled_spearman": _interval(
            spearman_rows(score, low_loss),
            spearman_rows(score[pooled_index], low_loss[pooled_index]),
        ),
        "within_shift_spearman": {
            **within(spearman_rows, score, low_loss),
            "by_family": {
                name: within(spearman_rows, score, low_loss, mask=families == f)
                for f, name in enumerate(family_names)
            },
            "by_level": [
                float(spearman_rows(score[levels == k], low_loss[levels == k]))
                for k in np.unique(levels)
            ],
        },
        "by_family_pooled_spearman": {
            name: float(spearman_rows(score[families == f], low_loss[families == f]))
            for f, name in enumerate(family_names)
        },
        "model_free_spearman": _model_free(statistics, low_loss, levels),
        "partial_spearman": {
            **_interval(partial_point, partial_boot),
            "within_shift": float(
                _within(partial_spearman_rows, [score, low_loss, controls], levels)
            ),
            "controls": list(STATISTICS),
        },
    }
