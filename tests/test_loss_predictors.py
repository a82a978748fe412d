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


def _seed_predictors(within: float, partial: float, low: float, high: float) -> dict:
    interval = {"value": within, "low": low, "high": high}
    return {
        "within_shift_spearman": {
            **interval,
            "by_level": [within, within],
            "by_family": {"x_mean": interval, "x_scale": interval},
        },
        "partial_spearman": {**interval, "value": partial, "within_shift": partial},
        "model_free_spearman": {
            name: {"pooled": 0.1 * k, "within_shift": 0.0}
            for k, name in enumerate(STATISTICS)
        },
        "by_family_pooled_spearman": {"x_mean": 0.4, "x_scale": 0.3},
    }


def test_the_chapter_reads_the_signature_as_informative_only_beyond_the_controls():
    from icl_core.book.signature_and_loss import SignatureLoss

    layer = {"pearson": 0.5, "spearman": 0.6, "spearman_low": 0.4, "spearman_high": 0.7}
    weak = SignatureLoss(
        [[layer], [layer]],
        [_seed_predictors(0.1, 0.05, -0.2, 0.1), _seed_predictors(0.2, 0.1, 0.0, 0.3)],
    )
    texts = weak.texts(["x_mean", "x_scale"], correlation=0.5)
    # the span of every seed's own interval, never an average of their ends
    assert texts["sl_within_intervals"].endswith("within -0.20 to 0.30")
    assert texts["sl_reading"].startswith("the signature tracks the loss chiefly")
    assert texts["sl_best_free"] == "rms of y"  # the largest |ρ| of the statistics
    assert (
        texts["sl_within_signs"] == "below zero for 0 and above zero for 0 of 2 seeds"
    )
    strong = SignatureLoss([[layer]], [_seed_predictors(0.1, 0.6, 0.5, 0.7)])
    assert strong.texts(["x_mean", "x_scale"], 0.5)["sl_reading"].startswith(
        "the signature carries information"
    )
    header, rows = weak.predictor_table()
    assert [r[0] for r in rows] == ["signature score", *STATISTICS.values(),
                                    "signature, the three statistics partialled out"]  # fmt: skip
