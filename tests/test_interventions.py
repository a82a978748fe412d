"""Interchange patching does what its names say, and its rule says 'inconclusive'
whenever a control fails."""

import numpy as np
import pytest
import torch

from icl_core import InContextRegressor, ModelConfig
from icl_core.analysis.evaluation import eval_prompts
from icl_core.analysis.interventions import (
    FULL,
    RANDOM,
    READOUT,
    SIGNATURE,
    WITHOUT_READOUT,
    conclusion,
    intervention_experiment,
    patched,
    patching_verdict,
    projector,
    random_projectors,
    readout_direction,
    shares,
    signature_subspaces,
)
from icl_core.core.samplers import shifted

CFG = ModelConfig(n_dims=4, n_points=9, n_layer=2, n_head=2, n_embd=16)


def _stream(seed=0, prompts=6, tokens=10, width=8):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(prompts, tokens, width, generator=g, dtype=torch.float64)


def test_a_patch_takes_the_donors_component_in_the_subspace_and_keeps_the_rest():
    receiver, donor = _stream(0), _stream(1)
    P = projector(torch.randn(2, 8, dtype=torch.float64))
    assert torch.allclose(P @ P, P) and torch.allclose(P, P.T)
    assert torch.isclose(torch.trace(P), torch.tensor(2.0, dtype=torch.float64))
    out = patched(receiver, donor, P)
    assert torch.allclose(out @ P, donor @ P)
    assert torch.allclose(out - out @ P, receiver - receiver @ P)
    assert torch.equal(patched(receiver, donor, None), donor)


def test_a_patch_between_a_prompt_and_itself_is_the_identity():
    h = _stream()
    P = projector(torch.randn(2, 8, dtype=torch.float64))
    assert (patched(h, h, P) - h).abs().max() < 1e-12


def test_shares_are_one_at_full_recovery_and_zero_at_none_in_both_directions():
    baseline = np.array([0.01, 0.011, 1.0, 10.0])  # c = 0.5 adds too little to count
    shifts = [0, 0.5, 1, 2]
    floor, none = np.full((1, 4), 0.01), baseline[None]
    assert np.allclose(shares(baseline, floor, "restore", shifts), 1)
    assert np.allclose(shares(baseline, none, "restore", shifts), 0)
    assert np.allclose(shares(baseline, none, "break", shifts), 1)
    assert np.allclose(shares(baseline, floor, "break", shifts), 0)
    # pooled on log medians over the shifts that at least doubled the error
    half = np.array([[0.01, 123.0, 0.1, 10**-0.5]])
    assert np.allclose(shares(baseline, half, "restore", shifts), 0.5)
    # no shift doubled the error: nothing to judge
    assert np.isnan(shares(np.array([1.0, 1.5]), np.ones((1, 2)), "break", [0, 1]))


GOOD = {
    "identity": 0.0,
    "restore": 0.8,
    "break": 0.9,
    "restore_random": 0.05,
    "break_random": 0.2,
    "restore_full": 1.0,
    "break_full": 1.0,
}


@pytest.mark.parametrize(
    "change, expected",
    [
        ({}, "causal"),
        ({"break": 0.25}, "partly causal"),  # repairs, spoils no more than random
        ({"restore": 0.3}, "partly causal"),  # repairs part of the error
        # spoiling alone is no evidence: any large foreign component harms
        ({"restore": 0.05}, "not causal"),
        ({"restore": 0.12}, "not causal"),  # within the margin of a random plane
        ({"identity": 1e-2}, "inconclusive"),  # something moved where nothing should
        ({"restore_full": 0.2}, "inconclusive"),  # no patch could show an effect
        ({"restore_random": 0.6}, "inconclusive"),  # any plane restores
        ({"restore": np.nan}, "inconclusive"),  # no shift doubled the error
    ],
)
def test_the_rule_concludes_from_the_signature_against_its_controls(change, expected):
    assert conclusion({**GOOD, **change})[0] == expected


@pytest.fixture(scope="module")
def record():
    torch.manual_seed(0)
    model = InContextRegressor(CFG).eval()
    return model, intervention_experiment(
        model, [0, 4], n_prompts=30, reference_prompts=30, n_random=3, seed=0
    )


def test_the_whole_stream_patch_runs_the_donor_from_that_layer_on(record):
    model, record = record
    base = shifted("x_mean", 0)
    clean = eval_prompts(base, 30, CFG.n_points, CFG.n_dims, 0)
    far = eval_prompts(shifted("x_mean", 4, base), 30, CFG.n_points, CFG.n_dims, 0)
    with torch.no_grad():
        preds = model(clean.xs, clean.ys)[:, -1].double()
    expected = np.median(((preds - far.ys[:, -1].double()) ** 2 / CFG.n_dims).numpy())
    full = record["controls"][FULL]["x_mean"]["restore"]["median_error"]
    assert np.allclose(full[:, 1], expected, rtol=1e-4)


def test_the_random_planes_lie_in_the_span_they_are_drawn_from():
    basis = torch.linalg.qr(torch.randn(8, 3, dtype=torch.float64))[0].T
    for P in random_projectors(basis, 4, seed=0):
        assert torch.allclose(P @ basis.T @ basis, P)  # inside the span
        assert torch.isclose(torch.trace(P), torch.tensor(2.0, dtype=torch.float64))
    first = random_projectors(basis, 4, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(first, random_projectors(basis, 4, 0)))


def test_the_readout_direction_is_what_the_prediction_reads_at_the_last_layer():
    torch.manual_seed(0)
    model = InContextRegressor(CFG).double().eval()
    with torch.no_grad():
        model.ln_f.weight.uniform_(0.5, 2.0)
        model.ln_f.bias.normal_()
        h = torch.randn(3, 2 * CFG.n_points, CFG.n_embd, dtype=torch.float64)
        preds = model.continue_from(CFG.n_layer, h)
        w = model.read_out.weight[0] * model.ln_f.weight
        offset = model.read_out.weight[0] @ model.ln_f.bias + model.read_out.bias
    x = h[:, ::2]
    centred = x - x.mean(dim=-1, keepdim=True)
    scale = (centred.var(dim=-1, unbiased=False) + model.ln_f.eps).sqrt()
    # ŷ = ‖P(w_out ⊙ γ)‖ · (h − mean h) · v / σ(h) + const, v the read-out direction
    along = centred @ readout_direction(model) * (w - w.mean()).norm()
    assert torch.allclose(preds - offset, along / scale)


def test_the_plane_without_the_readout_leaves_the_readout_component_in_place():
    torch.manual_seed(0)
    model = InContextRegressor(CFG).eval()
    readout = readout_direction(model)
    subspaces = signature_subspaces(model, reference_prompts=20, seed=0)
    for layer, named in enumerate(subspaces.named):
        assert torch.allclose(named[READOUT] @ readout, readout)
        assert torch.allclose(
            named[WITHOUT_READOUT] @ readout, torch.zeros_like(readout)
        )
        # still a plane, inside the signature plane plus the read-out direction
        assert torch.isclose(
            torch.trace(named[WITHOUT_READOUT]), torch.tensor(2.0).double()
        )
        plane = subspaces.top[layer, :2]
        span = projector(torch.cat([plane, readout[None]]))
        assert torch.trace(span) == pytest.approx(3.0)
        assert torch.allclose(span @ named[WITHOUT_READOUT], named[WITHOUT_READOUT])
    receiver, donor = _stream(1, width=CFG.n_embd), _stream(2, width=CFG.n_embd)
    edited = patched(receiver, donor, subspaces.named[-1][WITHOUT_READOUT])
    assert torch.allclose(edited @ readout, receiver @ readout)


def test_every_patch_leaves_an_unshifted_prompt_alone(record):
    _, record = record
    assert max(record["controls"]["identity at c = 0"].values()) < 1e-5
    assert record["readout_cosine"].shape == (2,)
    assert record["mean_token_cosine"].shape == (CFG.n_layer + 1,)
    for family in ("x_mean", "x_mean_w_perp"):
        base = record["baseline_median_error"][family][0]
        signature = record["interventions"][SIGNATURE][family]["restore"]
        random = record["controls"][RANDOM][family]["break"]["median_error"]
        readout = record["controls"][READOUT][family]["restore"]["median_error"]
        assert np.allclose(readout[:, 0], base, rtol=1e-4)
        assert WITHOUT_READOUT in record["interventions"]
        assert np.allclose(signature["median_error"][:, 0], base, rtol=1e-4)
        assert random.shape == (CFG.n_layer + 1, 2, 3)
        assert np.allclose(random[:, 0], base, rtol=1e-4)


def test_the_verdict_is_reached_for_the_seed_mean_each_seed_and_each_layer(record):
    _, record = record
    verdict = patching_verdict([record, record], layer=CFG.n_layer)
    for family in ("x_mean", "x_mean_w_perp"):
        assert verdict.by_seed[family] == [verdict.conclusion[family]] * 2
        assert len(verdict.by_layer[family]) == CFG.n_layer + 1
        assert verdict.by_layer[family][-1] == verdict.conclusion[family]


def test_a_whole_stream_patch_that_adds_error_is_not_said_to_remove_it():
    label, why = conclusion({**GOOD, "restore_full": -0.6})
    assert label == "inconclusive"
    assert "adds to the error instead of removing it (0.60" in why
    assert "removes only 0.20" in conclusion({**GOOD, "restore_full": 0.2})[1]
