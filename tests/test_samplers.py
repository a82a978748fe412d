import numpy as np
import pytest
import torch

from icl_core.core.config import PromptDistribution
from icl_core.core.samplers import (
    SHIFT_FAMILIES,
    generator_for,
    sample_prompts,
    shifted,
)


def draw(dist, n=4000, points=10, d=4, seed=0, **kwargs):
    return sample_prompts(
        dist, n, points, d, torch.Generator().manual_seed(seed), **kwargs
    )


def test_standard_moments(gen):
    p = draw(PromptDistribution())
    assert abs(p.xs.mean()) < 0.02 and abs(p.xs.var() - 1) < 0.02
    assert torch.allclose(p.ys, torch.einsum("bnd,bd->bn", p.xs, p.ws))


@pytest.mark.parametrize("c", [2.0, -5.0])
def test_mean_shift_of_x_and_w(c):
    p = draw(shifted("x_mean", c))
    assert torch.allclose(p.xs.mean(dim=(0, 1)), torch.full((4,), c), atol=0.03)
    assert abs(p.xs.var() - 1) < 0.03
    p = draw(shifted("w_mean", c))
    assert torch.allclose(p.ws.mean(dim=0), torch.full((4,), c), atol=0.06)


def test_vector_mean_and_scales():
    p = draw(PromptDistribution(x_mean=(1.0, 2.0, 3.0, 4.0), x_scale=3.0, w_scale=0.5))
    assert torch.allclose(p.xs.mean(dim=(0, 1)), torch.tensor([1.0, 2, 3, 4]), atol=0.1)
    assert torch.allclose(p.xs.std(dim=(0, 1)), torch.full((4,), 3.0), atol=0.05)
    assert abs(p.ws.std() - 0.5) < 0.02


def test_covariance():
    cov = ((2.0, 0.8, 0, 0), (0.8, 1.0, 0, 0), (0, 0, 1, 0), (0, 0, 0, 0.5))
    xs = draw(PromptDistribution(x_cov=cov), n=20000).xs.reshape(-1, 4)
    assert torch.allclose(torch.cov(xs.T), torch.tensor(cov), atol=0.03)


def test_noise_has_requested_std():
    p = draw(PromptDistribution(noise_std=0.5))
    residual = p.ys - torch.einsum("bnd,bd->bn", p.xs, p.ws)
    assert abs(residual.std() - 0.5) < 0.01


def test_not_positive_definite_covariance_is_rejected():
    with pytest.raises(ValueError, match="x_cov"):
        draw(
            PromptDistribution(
                x_cov=((1.0, 2.0, 0, 0), (2.0, 1.0, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1))
            )
        )


def test_same_seed_same_prompts_other_seed_other_prompts():
    a, b, c = (
        draw(PromptDistribution()),
        draw(PromptDistribution()),
        draw(PromptDistribution(), seed=1),
    )
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a.xs, c.xs)
    g1, g2 = generator_for(3, 17), generator_for(3, 17)
    assert torch.equal(torch.randn(5, generator=g1), torch.randn(5, generator=g2))


def test_curriculum_zeroes_inactive_dimensions():
    p = draw(PromptDistribution(x_mean=1.0), active_dims=2)
    assert (p.xs[..., 2:] == 0).all() and (p.xs[..., :2] != 0).all()


def test_shift_families_neutral_value_is_the_standard_distribution():
    for name, family in SHIFT_FAMILIES.items():
        # the control family keeps w ⊥ 1 at every c, its neutral value included
        control = name == "x_mean_w_perp"
        expected = PromptDistribution(w_orthogonal_to_ones=control)
        assert shifted(name, family.neutral) == expected
    with pytest.raises(ValueError, match="family='x_rot'.*x_mean"):
        shifted("x_rot", 1.0)


def test_distributions_describe_x_in_words():
    assert PromptDistribution().describe_x() == "N(0, I)"
    assert shifted("x_mean", 2).describe_x() == "N(2·1, I)"
    assert shifted("x_scale", 3).describe_x() == "N(0, 9 I)"


def test_a_spread_mean_moves_each_prompt_along_ones_by_its_own_uniform_c():
    p = draw(PromptDistribution(x_mean_spread=4.0), points=400)
    means = p.xs.mean(dim=1)  # (prompts, d): c·1 up to sampling noise
    c = means.mean(dim=1)
    assert (means - c[:, None]).abs().max() < 0.3
    assert c.abs().max() < 4.2 and abs(c.var() - 16 / 3) < 0.4


def test_a_random_mean_direction_keeps_the_norm_and_leaves_the_ones_direction():
    d = 4
    p = draw(
        PromptDistribution(x_mean_spread=4.0, x_mean_direction="random"),
        points=400,
        d=d,
    )
    means = p.xs.mean(dim=1)
    along_ones = (means @ torch.ones(d) / d**0.5).abs() / means.norm(dim=1)
    assert abs(means.norm(dim=1).pow(2).mean() - d * 16 / 3) < 2
    assert along_ones.mean() < 0.8  # along 1 every prompt would give 1


def test_spread_means_are_described_and_bad_values_named():
    assert PromptDistribution(x_mean_spread=4.0).describe_x() == "N(c·1, I)"
    random = PromptDistribution(x_mean_spread=4.0, x_mean_direction="random")
    assert random.describe_x() == "N(c·√d u, I)"
    with pytest.raises(ValueError, match="x_mean_direction='up'.*ones, random"):
        PromptDistribution(x_mean_spread=1.0, x_mean_direction="up")


def test_per_prompt_scales_are_log_uniform_between_x_scale_and_its_maximum():
    p = draw(PromptDistribution(x_scale_max=8.0), points=200)
    scale = p.xs.pow(2).mean(dim=(1, 2)).sqrt()  # each prompt's s, up to noise
    assert scale.min() > 0.9 and scale.max() < 8.5
    assert abs(scale.log().mean() - np.log(8.0) / 2) < 0.05
    assert PromptDistribution(x_scale_max=8.0).describe_x() == "N(0, s² I)"


def test_per_point_offsets_move_each_point_along_ones_and_keep_a_zero_mean():
    p = draw(PromptDistribution(x_offset_spread=8.0), points=50)
    offsets = p.xs.mean(dim=2)  # a_i up to the mean of d standard normals
    assert abs(offsets.mean()) < 0.1 and abs(offsets.var() - 64 / 3 - 1 / 4) < 0.5
    assert PromptDistribution(x_offset_spread=8.0).describe_x() == "N(a_i·1, I)"


def test_an_intercept_adds_one_draw_per_prompt_to_every_y():
    p = draw(PromptDistribution(intercept_scale=18.0))
    b = p.ys - torch.einsum("bnd,bd->bn", p.xs, p.ws)
    assert (b - b[:, :1]).abs().max() < 1e-4
    assert abs(b[:, 0].std() - 18) < 0.6
