import pytest
import torch

from icl_core.core.baselines import (
    BASELINES,
    averaging,
    get_baseline,
    gradient_descent,
    least_squares,
    nearest_neighbours,
    ridge,
)
from icl_core.core.samplers import sample_prompts, shifted


def prompts(c=0.0, n=12, d=5, batch=200, seed=0):
    return sample_prompts(
        shifted("x_mean", c), batch, n, d, torch.Generator().manual_seed(seed)
    )


@pytest.mark.parametrize("c", [0.0, 1.0, 4.0, 16.0])
def test_least_squares_is_exact_past_the_dimension_whatever_the_shift(c):
    p = prompts(c, n=12, d=5)
    err = (least_squares(p.xs.double(), p.ys.double()) - p.ys.double()).pow(2) / 5
    assert err[:, 6:].max() < 1e-8


def test_least_squares_is_minimum_norm_when_underdetermined():
    p = prompts(n=4, d=5)
    X, y = p.xs[:, :3].double(), p.ys[:, :3].double()
    w = torch.linalg.pinv(X) @ y.unsqueeze(-1)
    expected = (p.xs[:, 3].double().unsqueeze(1) @ w).squeeze()
    assert torch.allclose(least_squares(p.xs.double(), p.ys.double())[:, 3], expected)


def test_every_baseline_predicts_zero_without_examples_and_is_causal():
    p = prompts()
    for name, baseline in BASELINES.items():
        preds = baseline(p.xs, p.ys)
        assert preds.shape == p.ys.shape and (preds[:, 0] == 0).all(), name
        xs, ys = p.xs.clone(), p.ys.clone()
        xs[:, 7:], ys[:, 6:] = 100.0, -100.0
        assert torch.allclose(baseline(xs, ys)[:, :7], preds[:, :7]), name


def test_ridge_tends_to_least_squares_and_gd_converges_to_it():
    p = prompts(n=12, d=5)
    ols = least_squares(p.xs, p.ys)
    assert torch.allclose(ridge(p.xs, p.ys, alpha=1e-8)[:, 6:], ols[:, 6:], atol=1e-3)
    p = prompts(n=30, d=5)
    ols = least_squares(p.xs, p.ys)
    assert torch.allclose(
        gradient_descent(p.xs, p.ys, steps=2000)[:, 20:], ols[:, 20:], atol=1e-3
    )


def test_fixed_step_gd_diverges_under_a_mean_shift_where_adaptive_gd_does_not():
    p = prompts(c=8.0)
    assert (
        gradient_descent(p.xs, p.ys, steps=10, step_size=0.2)[:, -1].abs().median()
        > 1e6
    )
    assert gradient_descent(p.xs, p.ys, steps=10)[:, -1].isfinite().all()


def test_averaging_is_mean_of_y_times_x():
    p = prompts()
    w = (p.xs[:, :4] * p.ys[:, :4, None]).mean(dim=1)
    assert torch.allclose(
        averaging(p.xs, p.ys)[:, 4], (p.xs[:, 4] * w).sum(-1), atol=1e-5
    )


def test_one_nearest_neighbour_returns_the_nearest_y():
    xs = torch.tensor([[[0.0], [10.0], [9.0]]])
    ys = torch.tensor([[1.0, 2.0, 3.0]])
    assert nearest_neighbours(xs, ys, k=1)[0, 2] == 2.0
    assert nearest_neighbours(xs, ys, k=3)[0, 2] == 1.5


def test_unknown_baseline_and_bad_parameters_are_named():
    with pytest.raises(ValueError, match="baseline='lasso'.*ols"):
        get_baseline("lasso")
    p = prompts()
    with pytest.raises(ValueError, match="alpha="):
        ridge(p.xs, p.ys, alpha=0)
    with pytest.raises(ValueError, match="steps="):
        gradient_descent(p.xs, p.ys, steps=0)
