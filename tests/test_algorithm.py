import dataclasses
import math

import torch

from icl_core.analysis import algorithm
from icl_core.analysis.evaluation import predict
from icl_core.core.baselines import least_squares_fit, ridge_fit
from icl_core.core.config import ModelConfig
from icl_core.core.model import InContextRegressor
from icl_core.verdicts.claims import Thresholds
from icl_core.verdicts.findings import account_fits

CFG = ModelConfig(n_dims=4, n_points=9, n_layer=2, n_head=2, n_embd=32)


def model(final_layernorm: bool = True) -> InContextRegressor:
    torch.manual_seed(0)
    cfg = dataclasses.replace(CFG, final_layernorm=final_layernorm)
    return InContextRegressor(cfg).eval()


def linear_transformer() -> InContextRegressor:
    """A transformer whose blocks add nothing and without the final LayerNorm: its
    prediction is the read-out of the embedded query, a linear map of the query alone
    with weights W_inᵀ r."""
    m = model(final_layernorm=False)
    with torch.no_grad():
        for block in m.h:
            block.attn.c_proj.weight.zero_()
            block.attn.c_proj.bias.zero_()
            block.mlp.c_proj.weight.zero_()
            block.mlp.c_proj.bias.zero_()
    return m


def test_a_linear_model_wrapped_as_a_transformer_implies_its_own_weights():
    m = linear_transformer()
    ctx = algorithm.contexts(20, 5, CFG.n_dims, 12, seed=0, c=2.0)
    implied = algorithm.implied_map(m, ctx)
    own = (m.read_in.weight.T @ m.read_out.weight[0]).double()
    assert torch.allclose(implied.weights, own.expand(20, -1), atol=1e-5)
    assert implied.r2.min() > 1 - 1e-9


def test_query_predictions_equal_one_full_forward_pass_per_query():
    m = model()
    for k in (1, 4, 8):
        ctx = algorithm.contexts(6, k, CFG.n_dims, 5, seed=1, kind="random", c=3.0)
        fast = algorithm.query_predictions(m, ctx)
        xs = torch.cat(
            (ctx.xs[:, None].expand(6, 5, k, CFG.n_dims), ctx.queries[:, :, None]), 2
        ).reshape(30, k + 1, CFG.n_dims)
        ys = torch.cat((ctx.ys, torch.zeros(6, 1)), 1)[:, None].expand(6, 5, k + 1)
        full = predict(m, xs, ys.reshape(30, k + 1))[:, k].reshape(6, 5)
        assert torch.allclose(fast, full.double(), atol=1e-4)


def test_the_causal_edit_changes_nothing_where_nothing_is_removed():
    m = model()
    ctx = algorithm.contexts(6, 8, CFG.n_dims, 5, seed=2, c=4.0)
    zero = torch.zeros(CFG.n_dims)
    edited = algorithm.query_predictions(m, ctx, (zero, zero))
    assert torch.allclose(edited, algorithm.query_predictions(m, ctx), atol=1e-4)
    moved = algorithm.query_predictions(m, ctx, (4.0 * torch.ones(CFG.n_dims), zero))
    assert not torch.allclose(moved, edited, atol=1e-3)


def test_closest_algorithm_names_the_algorithm_that_made_the_weights():
    ctx = algorithm.contexts(200, 6, CFG.n_dims, 1, seed=3)
    X, y = ctx.xs.double(), ctx.ys.double()
    by_ridge = algorithm.closest_algorithm(ridge_fit(X, y, 0.5), X, y)
    assert min(by_ridge.distances, key=by_ridge.distances.get) == "ridge"
    assert 0.3 < by_ridge.parameters["ridge"] < 0.8
    exact = algorithm.closest_algorithm(least_squares_fit(X, y), X, y)
    assert exact.distances["least_squares"] < 1e-12


def test_shifts_move_only_what_they_name():
    base = algorithm.contexts(4, 3, CFG.n_dims, 2, seed=4)
    context = algorithm.contexts(4, 3, CFG.n_dims, 2, seed=4, c=2.0, where="context")
    query = algorithm.contexts(4, 3, CFG.n_dims, 2, seed=4, c=2.0, where="query")
    assert torch.allclose(context.xs, base.xs + 2) and torch.equal(
        context.queries, base.queries
    )
    assert torch.equal(query.xs, base.xs) and torch.allclose(
        query.queries, base.queries + 2
    )
    perp = algorithm.contexts(4, 3, CFG.n_dims, 2, seed=4, kind="ones_w_perp", c=2.0)
    assert perp.ws.sum(dim=1).abs().max() < 1e-5


def test_a_probe_reads_a_linear_target_and_not_an_independent_one():
    gen = torch.Generator().manual_seed(5)
    features = torch.randn(2000, 16, generator=gen, dtype=torch.float64)
    linear = features @ torch.randn(16, 3, generator=gen, dtype=torch.float64)
    noise = torch.randn(2000, 3, generator=gen, dtype=torch.float64)
    train, test = slice(0, 1000), slice(1000, None)
    for target, low, high in ((linear, 0.99, 1.0), (noise, -0.05, 0.05)):
        r2 = algorithm.probe_r2(
            (features[train], target[train]), (features[test], target[test])
        )
        assert low <= r2 <= high


def test_each_probe_target_is_read_from_its_own_token():
    m = model()
    data = algorithm.probe_data(m, 10, seed=6, c=2.0)
    k = CFG.n_points - 1
    features, z = data["z"]
    assert features.shape[:2] == (CFG.n_layer + 1, 10 * k) and z.shape == (
        10 * k,
        CFG.n_dims,
    )
    assert abs(float(z.mean())) < 0.5  # the shift is removed from the deviations
    for target in ("w", "correlation", "target"):
        assert data[target][0].shape[:2] == (CFG.n_layer + 1, 10)


def test_an_account_fits_only_its_own_curve():
    measured = {"shrinkage": [1.0, 0.8, 0.5], "along_share": [0.5, 0.3, 0.2]}
    t = Thresholds()
    assert account_fits(measured, measured, None, t)
    shrunk = {**measured, "shrinkage": [1.0, 0.8, 0.2]}
    assert not account_fits(shrunk, measured, None, t)
    along = {**measured, "along_share": [0.5, 0.7, 0.9]}
    assert not account_fits(along, measured, None, t)
    shrinkage_only = {**measured, "along_share": None}
    assert account_fits(shrinkage_only, measured, None, t)
    no_gain = {"edit": {"shrinkage": [1.0, 0.5]}, "control": {"shrinkage": [1.0, 0.5]}}
    assert not account_fits(measured, measured, no_gain, t)


def test_the_weight_error_splits_along_and_orthogonal_to_ones():
    w = torch.tensor([[1.0, -1.0, 2.0, 0.0]])
    along = algorithm.weight_measures(w + 0.5, w)  # the error is 0.5·1
    assert abs(along["error_along_ones"] - 0.25) < 1e-12
    assert along["error_orthogonal"] < 1e-12 and along["along_share"] > 0.999
    turned = algorithm.weight_measures(w + torch.tensor([[1.0, -1.0, 0, 0]]), w)
    assert turned["error_along_ones"] < 1e-12 and turned["along_share"] < 1e-6
    assert abs(turned["shrinkage"] - (1 + 2 / 6)) < 1e-12


def test_iterative_newton_converges_to_least_squares():
    ctx = algorithm.contexts(50, 3, CFG.n_dims, 1, seed=7)  # under-determined
    X, y = ctx.xs.double(), ctx.ys.double()
    gap = algorithm.newton_fit(X, y, 30) - least_squares_fit(X, y)
    assert gap.abs().max() < 1e-8


def test_gradient_descent_in_closed_form_is_gradient_descent():
    from icl_core.core.baselines import gradient_descent_fit

    ctx = algorithm.contexts(20, 6, CFG.n_dims, 1, seed=8)
    X, y = ctx.xs.double(), ctx.ys.double()
    for steps, eta in ((1, 0.1), (7, 0.3), (40, None)):
        closed = algorithm.gradient_descent_after(X, y, steps, eta)
        assert torch.allclose(closed, gradient_descent_fit(X, y, steps, eta), atol=1e-9)


def test_a_diverging_estimate_leaves_every_measure_finite():
    w = torch.ones(3, 4)
    for value in (float("inf"), 1e200):
        weights = torch.full((3, 4), value, dtype=torch.float64)
        measures = algorithm.weight_measures(weights, w)
        assert all(math.isfinite(v) for v in measures.values())
