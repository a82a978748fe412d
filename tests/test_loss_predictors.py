import numpy as np
import pytest
import torch
from scipy import stats

from icl_core.analysis.loss_predictors import (
    STATISTICS,
    loss_predictors,
    partial_spearman_rows,
    prompt_statistics,
    spearman_rows,
)
from icl_core.core.samplers import Prompts


def test_spearman_and_partial_match_their_textbook_forms():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(3, 200))
    b = b + a
    assert spearman_rows(a, b) == pytest.approx(stats.spearmanr(a, b).statistic)
    r = {
        k: stats.spearmanr(*v).statistic
        for k, v in {"ab": (a, b), "ac": (a, c), "bc": (b, c)}.items()
    }
    expected = (r["ab"] - r["ac"] * r["bc"]) / np.sqrt(
        (1 - r["ac"] ** 2) * (1 - r["bc"] ** 2)
    )
    assert partial_spearman_rows(a, b, c[None]) == pytest.approx(expected)


def test_prompt_statistics_leave_the_target_out():
    xs = torch.ones(2, 4, 3)
    xs[1] *= 2
    ys = torch.tensor([[1.0, 1.0, 1.0, 100.0], [3.0, 3.0, 3.0, -100.0]])
    s = prompt_statistics(Prompts(xs, ys, torch.zeros(2, 3)))
    assert set(s) == set(STATISTICS)
    assert s["mean_x_norm"] == pytest.approx([np.sqrt(3), 2 * np.sqrt(3)])
    assert s["rms_x"] == pytest.approx([1.0, 2.0])
    assert s["rms_y"] == pytest.approx([1.0, 3.0])


def design(within: float, n_levels=6, per_level=150, seed=0):
    """Prompts in shift levels whose loss rises with the level; the score tracks the
    level, and within a level tracks the loss with weight `within`."""
    rng = np.random.default_rng(seed)
    level = np.repeat(np.arange(n_levels), per_level)
    noise = rng.normal(size=level.size)
    loss = np.exp(level + noise)
    score = -level + within * -noise + rng.normal(size=level.size)
    statistics = {
        name: level + 0.01 * rng.normal(size=level.size) for name in STATISTICS
    }
    family = (level >= n_levels // 2).astype(int)
    return score, loss, statistics, level, family


def test_a_score_that_only_tracks_the_level_predicts_loss_only_when_pooled():
    score, loss, statistics, level, family = design(within=0.0)
    assert spearman_rows(score, -loss) > 0.7
    out = loss_predictors(
        score, loss, statistics, level, family, ["a", "b"], n_resamples=200, seed=1
    )
    within = out["within_shift_spearman"]
    assert abs(within["value"]) < 0.1 and within["low"] < 0 < within["high"]
    assert abs(out["partial_spearman"]["value"]) < 0.1
    assert out["model_free_spearman"]["rms_x"]["pooled"] < -0.8  # the level alone
    assert set(within["by_family"]) == {"a", "b"} and len(within["by_level"]) == 6


def test_a_score_that_tracks_the_loss_within_levels_survives_both_controls():
    out = loss_predictors(*design(within=3.0), ["a", "b"], n_resamples=200, seed=1)
    within, partial = out["within_shift_spearman"], out["partial_spearman"]
    assert within["value"] > 0.8 and within["low"] > 0.7
    assert (
        partial["value"] > 0.7 and partial["low"] <= partial["value"] <= partial["high"]
    )


def test_mismatched_lengths_are_named():
    score, loss, statistics, level, family = design(0.0)
    with pytest.raises(ValueError, match="score, levels, families"):
        loss_predictors(score[:-1], loss, statistics, level, family, ["a", "b"])


def test_resamples_draw_the_same_prompts_of_every_level_together():
    from icl_core.analysis.loss_predictors import level_resamples

    levels = np.repeat([0, 1, 2], 5)
    draws = level_resamples(levels, n_resamples=4, seed=0)
    assert all(d.shape == (4, 5) for d in draws.values())
    assert np.array_equal(draws[1] - 5, draws[0])  # same positions within each level
    assert np.array_equal(draws[2] - 10, draws[0])
    with pytest.raises(ValueError, match="same number of prompts per level"):
        level_resamples(np.array([0, 0, 1]), 4, 0)
