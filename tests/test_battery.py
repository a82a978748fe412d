"""Garg et al.'s battery as their evaluation code defines it, and its evaluation."""

import math

import numpy as np
import pytest
import torch

from icl_core.analysis.battery import (
    PAPER_SHIFTS,
    SETTINGS,
    BatteryPrompts,
    battery_errors,
    battery_prompts,
    example_statistics,
)
from icl_core.core.config import ModelConfig
from icl_core.core.model import InContextRegressor

N, D = 11, 5


def prompts(setting, n_prompts=256, n_points=N, d=D):
    return battery_prompts(setting, n_prompts, n_points, d, seed=0)


def test_the_settings_are_garg_et_al_s_names_in_their_order():
    # src/eval.py, build_evals, for linear regression
    scales = ["0.333", "0.5", "2", "3"]
    assert list(SETTINGS) == [
        "standard",
        "random_quadrants",
        "orthogonal_train_test",
        "overlapping_train_test",
        "half_subspace",
        "skewed",
        *[f"scale-x={s}" for s in scales],
        *[f"scale-y={s}" for s in scales],
        "noisyLR",
    ]


def test_random_quadrants_puts_the_examples_in_one_orthant_and_not_the_query():
    p = prompts("random_quadrants")
    signs = p.xs.sign()
    assert (signs == signs[:, :1]).all()  # one sign pattern per prompt
    assert not (p.query_xs.sign() == signs).all()
    assert torch.allclose(p.query_xs.abs(), p.xs.abs())


def test_the_orthogonal_query_is_orthogonal_to_the_examples_before_it():
    p = prompts("orthogonal_train_test")
    assert p.defined == D
    for i in range(1, D):
        cosine = torch.nn.functional.cosine_similarity(
            p.query_xs[:, i : i + 1], p.xs[:, :i], dim=2
        )
        assert cosine.abs().max() < 1e-3  # float32, as Garg et al.'s
        assert torch.allclose(p.query_xs[:, i].norm(dim=1), p.xs[:, i].norm(dim=1))
    assert (p.query_xs[:, D:] == 0).all()  # as Garg et al.'s code leaves them


def test_the_overlapping_query_repeats_an_example_before_it():
    p = prompts("overlapping_train_test")
    for i in range(1, N):
        distance = (p.xs[:, :i] - p.query_xs[:, i : i + 1]).norm(dim=2)
        assert (distance.min(dim=1).values == 0).all()
    torch.testing.assert_close(p.query_xs[:, 0], p.xs[:, 0])


def test_subspace_and_skewed_inputs_keep_their_norm_and_change_their_spectrum():
    for setting, rank in (("half_subspace", D // 2), ("skewed", D)):
        p = prompts(setting, n_prompts=1280)
        assert example_statistics(p)["rank"] == rank
        assert abs(p.xs.pow(2).sum(dim=2).mean() - D) < 0.3
    cov = torch.cov(prompts("skewed", n_prompts=1280).xs.reshape(-1, D).T)
    eig = torch.linalg.eigvalsh(cov).flip(0)
    expected = 1 / torch.arange(1, D + 1.0) ** 2
    torch.testing.assert_close(
        eig / eig.sum(), expected / expected.sum(), atol=0.02, rtol=0
    )


def test_scales_multiply_x_or_y_and_noisy_labels_are_renormalised():
    base = prompts("standard")
    x3, y3 = prompts("scale-x=3"), prompts("scale-y=3")
    assert abs(x3.xs.std() / base.xs.std() - 3) < 0.1
    assert abs(example_statistics(x3)["rms"] - 3) < 0.1
    # the same draws as the standard setting, labels times 3
    torch.testing.assert_close(y3.xs, base.xs)
    torch.testing.assert_close(y3.ys, 3 * base.ys)
    noisy = prompts("noisyLR")
    for batch in noisy.ys.split(64):
        assert abs(batch.std() - math.sqrt(D)) < 1e-4


def test_least_squares_is_exact_wherever_the_examples_determine_w():
    for setting in SETTINGS + PAPER_SHIFTS:
        if setting in ("noisyLR", "orthogonal_train_test"):
            continue
        ols = battery_errors(None, prompts(setting), ("ols",))["ols"]
        assert np.median(ols[:, D + 1 :]) < 1e-10, setting


def test_a_query_evaluated_as_its_own_prompt_gives_the_one_pass_prediction():
    torch.manual_seed(0)
    model = InContextRegressor(
        ModelConfig(n_dims=D, n_points=N, n_layer=2, n_head=2, n_embd=16)
    ).eval()
    p = prompts("standard", n_prompts=64)
    apart = BatteryPrompts(p.xs, p.ys, p.xs.clone(), p.ys.clone(), p.defined)
    assert not apart.queries_are_examples
    one_pass = battery_errors(model, p, ("transformer", "ols"))
    by_position = battery_errors(model, apart, ("transformer", "ols"))
    for method in one_pass:
        np.testing.assert_allclose(
            by_position[method], one_pass[method], rtol=1e-4, atol=1e-7
        )


def test_same_seed_same_prompts_and_bad_arguments_named():
    torch.testing.assert_close(prompts("skewed").xs, prompts("skewed").xs)
    with pytest.raises(ValueError, match="setting='rotated'.*standard"):
        prompts("rotated")
    with pytest.raises(ValueError, match="n_prompts=100.*multiple of 64"):
        prompts("standard", n_prompts=100)
