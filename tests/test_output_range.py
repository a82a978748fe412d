"""The output bound, the control family, the baselines added for it, and the verdicts
re-judged against them."""

import math

import numpy as np
import pytest
import torch

from icl_core.analysis.evaluation import eval_prompts
from icl_core.analysis.output_range import (
    family_sweep,
    output_bound,
    output_range_quantities,
    quoted_pair,
)
from icl_core.book.scorecard import rests_on_bound
from icl_core.core.baselines import (
    context_mean,
    gradient_descent,
    least_squares,
    least_squares_intercept,
    tuned_step_size,
)
from icl_core.core.config import ModelConfig, PromptDistribution
from icl_core.core.model import InContextRegressor
from icl_core.core.presets import run_config
from icl_core.core.results import mean_over_seeds
from icl_core.core.samplers import sample_prompts, shifted
from icl_core.verdicts.claims import Thresholds
from icl_core.verdicts.scorecard import PARTS, judge_all

CFG = ModelConfig(n_dims=3, n_points=7, n_layer=2, n_head=2, n_embd=16)


def _model(seed: int = 0, **changes) -> InContextRegressor:
    torch.manual_seed(seed)
    model = InContextRegressor(ModelConfig(**{**CFG.__dict__, **changes}))
    with torch.no_grad():  # a read-out and LayerNorm far from their initial values
        model.ln_f.weight.uniform_(-3, 3) if changes.get(
            "final_layernorm", True
        ) else None
        model.ln_f.bias.normal_() if changes.get("final_layernorm", True) else None
        model.read_out.weight.normal_()
        model.read_out.bias.fill_(0.7)
    return model.eval()


def test_no_input_takes_a_prediction_beyond_the_bound_and_some_residual_reaches_it():
    model = _model()
    bound = output_bound(model)
    g = torch.Generator().manual_seed(1)
    for scale in (1.0, 1e2, 1e4):
        xs = scale * torch.randn(256, 7, 3, generator=g)
        ys = scale * torch.randn(256, 7, generator=g)
        with torch.no_grad():
            assert model(xs, ys).abs().max() <= bound * (1 + 1e-5)
    # the residual stream that maximises the read-out: the centred gain times any scale
    gain = model.read_out.weight[0] * model.ln_f.weight
    direction = (gain - gain.mean()).detach() * math.copysign(1, 0.7)

    def steer(layer, h):
        return direction.expand_as(h).clone() if layer == CFG.n_layer else h

    with torch.no_grad():
        reached = model(xs[:2], ys[:2], intervene=steer).abs().max()
    assert reached == pytest.approx(bound, rel=1e-3)
    # and it is no looser than the bound with the gain left uncentred
    w, ln_f = model.read_out.weight[0].detach(), model.ln_f.requires_grad_(False)
    looser = (w * ln_f.weight).norm() * math.sqrt(CFG.n_embd) + (
        w @ ln_f.bias + model.read_out.bias.detach()
    ).abs()
    assert bound <= float(looser) + 1e-9


def test_without_the_final_layernorm_there_is_no_bound_and_the_checkpoint_differs():
    free = _model(final_layernorm=False)
    assert output_bound(free) == math.inf
    assert not any(k.startswith("ln_f") for k in free.state_dict())
    with pytest.raises(ValueError, match="final_layernorm='no'"):
        ModelConfig(final_layernorm="no")


def test_the_new_fields_leave_every_existing_fingerprint_as_it_was():
    # the folders of the committed checkpoints
    assert run_config("cpu", "standard", 0).fingerprint() == "726c74bc9470"
    assert run_config("small", "standard", 0).fingerprint() == "388bfe5746c0"
    free = run_config("cpu", "standard", 0, final_layernorm=False)
    assert free.fingerprint() != "726c74bc9470"
    assert free.name == "cpu-no-final-ln" and not free.model.final_layernorm


def test_the_control_family_moves_x_and_leaves_every_target_where_it_was():
    prompts = {
        c: eval_prompts(shifted("x_mean_w_perp", c), 64, 7, 3, seed=0) for c in (0, 16)
    }
    assert prompts[16].ws.sum(dim=1).abs().max() < 1e-5  # w ⊥ 1
    assert (prompts[16].xs.mean() - prompts[0].xs.mean()).item() == pytest.approx(16)
    torch.testing.assert_close(prompts[16].ys, prompts[0].ys, atol=1e-3, rtol=1e-4)
    main = eval_prompts(shifted("x_mean", 16), 64, 7, 3, seed=0)
    assert main.ys.abs().mean() > 10 * prompts[16].ys.abs().mean()


def test_context_mean_zero_and_least_squares_with_an_intercept(gen):
    prompts = sample_prompts(PromptDistribution(), 32, 8, 3, gen)
    preds = context_mean(prompts.xs, prompts.ys)
    assert torch.equal(preds[:, 0], torch.zeros(32))
    torch.testing.assert_close(preds[:, 5], prompts.ys[:, :5].mean(dim=1))
    affine = prompts.ys + 2.5  # y = w·x + 2.5: exact with an intercept, not without
    with_intercept = least_squares_intercept(prompts.xs, affine)
    assert (with_intercept - affine)[:, 5:].abs().max() < 1e-4
    assert (least_squares(prompts.xs, affine) - affine)[:, 5:].abs().max() > 0.1


def test_a_step_size_tuned_in_distribution_is_stable_there_and_diverges_under_the_shift():
    tuning = eval_prompts(PromptDistribution(), 256, 11, 5, seed=1)
    eta = tuned_step_size(tuning.xs, tuning.ys, 10)
    assert 1e-3 <= eta <= 2
    near = eval_prompts(PromptDistribution(), 256, 11, 5, seed=2)
    far = eval_prompts(shifted("x_mean", 8), 256, 11, 5, seed=2)
    error = {
        k: (gradient_descent(p.xs, p.ys, 10, eta) - p.ys)[:, -1].pow(2).median()
        for k, p in (("near", near), ("far", far))
    }
    assert error["near"] < 0.5 and error["far"] > 1e6


def test_a_family_sweep_measures_the_share_beyond_each_bound_and_the_largest_prediction():
    models, free = [_model(0), _model(1)], [_model(2, final_layernorm=False)]
    tuning = eval_prompts(PromptDistribution(), 64, 7, 3, seed=1)
    sweep = family_sweep(models, free, "x_mean", [0, 4, 16], 64, 0, tuning, [0.1], [1])
    assert sweep.transformer.shape == (2, 3, 64) and sweep.bound_free.shape == (
        1,
        3,
        64,
    )
    prompts = eval_prompts(shifted("x_mean", 16), 64, 7, 3, seed=0)
    for k, model in enumerate(models):
        expected = (prompts.ys[:, -1].abs() > output_bound(model)).double().mean()
        assert sweep.share_beyond_bound[k, 2] == pytest.approx(float(expected))
        assert sweep.max_abs_prediction[k].max() <= output_bound(model) * (1 + 1e-5)
    # the targets grow with c, so the share beyond a fixed bound does too
    assert (np.diff(sweep.share_beyond_bound, axis=1) >= 0).all()
    assert sweep.share_beyond_bound[:, 2].min() > 0.2
    assert set(sweep.baselines) >= {
        "ols",
        "context_mean",
        "zero",
        "ridge_0.1",
        "gd_fixed_1",
    }
    assert np.median(sweep.baselines["ols"], axis=1).max() < 1e-8
    # units: each prompt's own spread of y, blind to the offset c·(w·1) the mean shift
    # adds to every y of a prompt, so the context mean's normalised error is the same
    # at every shift
    context = sweep.normalised(sweep.baselines["context_mean"])
    np.testing.assert_allclose(context[2], context[0], rtol=1e-3)
    assert sweep.scale[2] > 100 * sweep.scale[0]  # while E[y²] grows


def test_the_quoted_pair_reports_a_reversal_only_where_there_is_one():
    class Sweep:  # accuracy at c = 13 above c = 4 only for the control's errors
        def __init__(self, at_4, at_13):
            self.shifts = [0, 4, 13]
            self.transformer = np.stack([np.zeros(100), at_4, at_13])[None]
            self.relative = self.transformer
            self.bound_free = None

        def normalised(self, e):
            return e

    grid = np.logspace(-2, 2, 41)
    worse = Sweep(np.linspace(0, 1, 100), np.linspace(1, 2, 100))
    better = Sweep(np.linspace(1, 2, 100), np.linspace(0, 1, 100))
    out = quoted_pair({"x_mean": worse, "x_mean_w_perp": better}, 0.5, grid)
    control = "absolute error, this book's control family (w ⊥ 1)"
    assert out[control]["reverses"] and not out["absolute error"]["reverses"]
    np.testing.assert_allclose(out[control]["accuracy"], [[0.0, 0.5]])


def _file(tf_median, tf_accuracy, share, control_median, free_median=None) -> dict:
    """An output_range.json top level with one family's numbers over shifts 0, 2, 16."""
    curve = {
        "median": tf_median,
        "normalised": tf_median,
        "accuracy": tf_accuracy,
        "normalised_accuracy": tf_accuracy,
    }
    data = {
        "shifts": {"x_mean": [0, 2, 16]},
        "bound": 10.0,
        "transformer": {
            "x_mean": curve,
            "x_mean_w_perp": {**curve, "median": control_median},
        },
        "share_beyond_bound": {"x_mean": share},
        "control_w_perp": {"ols": {"median": [1e-14, 1e-14, 1e-13]}},
        "coverage": None,
        "coverage_shifts": None,
    }
    if free_median is not None:
        data["bound_free"] = {
            "x_mean": {"median_error": free_median, "accuracy": tf_accuracy}
        }
    return data


def test_a_failure_seen_only_beyond_the_bound_is_said_to_rest_on_it():
    # growth ×2 where targets are reachable (c = 2), ×1000 where 80% are not (c = 16)
    seed = _file([0.01, 0.02, 10.0], [0.9, 0.85, 0.0], [0.0, 0.01, 0.8], [0.01] * 3)
    q = output_range_quantities(seed, 0.05, 4.0, 10.0)
    assert q["c_in_bound"] == 2 and q["error_growth_in_bound"] == pytest.approx(2)
    assert (
        q["error_growth_control"] == pytest.approx(1) and q["error_growth_free"] is None
    )
    data = {"output_range": {**seed, "seeds": [seed, seed]}}
    checks = tuple(c for c in PARTS if c.results == "output_range")
    parts = judge_all(checks, data, Thresholds())
    held = {v.key: v.holds for v in parts}
    assert held["3a"] is False and held["3b"] is False and held["3d"] is True
    assert held["3c"] is None and held["Da"] is None
    sentence = rests_on_bound(parts)
    assert (
        "Claim 3 holds in normalised error, and fails within the bound and on the "
        "control family, where its verdict needs shifts at which targets lie beyond "
        "the output bound and targets that grow with the shift." in sentence
    )
    assert "Claim 3 is not measured without the final LayerNorm" in sentence
    assert "Finding D was not re-measured at this preset." in sentence


def test_a_seed_without_a_model_counts_as_missing_in_the_mean():
    mean = mean_over_seeds([{"a": 1.0, "b": {"c": 2.0}}, {"a": 3.0, "b": None}])
    assert mean == {"a": 2.0, "b": {"c": 2.0}}


def test_a_claim_that_fails_as_stated_but_holds_under_a_check_is_said_to_fail_on_it():
    from icl_core.verdicts.claims import Verdict

    main = [Verdict("B. …", "", "", False, 0, 5, "B")]
    parts = [
        Verdict("Ba. …", "", "", True, 5, 5, "Ba"),
        Verdict("Bd. …", "", "", False, 0, 5, "Bd"),
    ]
    sentence = rests_on_bound(parts, main)
    assert sentence == (
        "Finding B does not hold as stated, yet holds within the bound: its failure "
        "rests on targets beyond the output bound."
    )


def test_a_part_whose_mean_passes_but_few_seeds_do_is_said_to_split():
    from icl_core.verdicts.claims import Verdict

    main = [Verdict("2. …", "", "", True, 5, 5, "2")]
    # the seed mean passes, 2 of 5 seeds do: split
    margin = {"mean": 0.05, "seeds": [0.1, 0.1, -0.1, -0.1, -0.1]}
    parts = [
        Verdict("2a. …", "", "", False, 2, 5, "2a", margin=margin),
        Verdict("2b. …", "", "", True, 5, 5, "2b"),
    ]
    assert rests_on_bound(parts, main) == (
        "Claim 2 holds on the control family. Within the bound, the seed mean passes "
        "but only 2 of 5 seeds do, too few for that part to hold."
    )
    # the seed mean fails too: the part fails, whatever some seeds do
    failing = {"mean": -0.02, "seeds": [0.1, 0.1, -0.1, -0.1, -0.1]}
    parts[0] = Verdict("2a. …", "", "", False, 2, 5, "2a", margin=failing)
    assert rests_on_bound(parts, main).startswith(
        "Claim 2 holds on the control family, and fails within the bound"
    )
    parts[0] = Verdict("2a. …", "", "", True, 5, 5, "2a")
    assert rests_on_bound(parts, main) == (
        "Claim 2 survives every control measured here: it holds within the bound "
        "and on the control family."
    )
