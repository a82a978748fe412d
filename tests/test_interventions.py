"""The residual-stream interventions do what their names say."""

import numpy as np
import torch

from icl_core.analysis.interventions import (
    conclusion,
    intervention_verdict,
    random_change,
    share_removed,
    transplant_change,
)


def _stream(seed=0, prompts=6, tokens=10, width=8):
    return torch.randn(
        prompts,
        tokens,
        width,
        generator=torch.Generator().manual_seed(seed),
        dtype=torch.float64,
    )


def test_the_transplant_moves_the_top_two_directions_onto_the_reference_and_keeps_the_spectrum():
    # two strong directions over small noise, as in residual streams
    g = torch.Generator().manual_seed(1)
    h = (
        torch.randn(6, 10, 2, generator=g, dtype=torch.float64)
        * torch.tensor([40.0, 20.0], dtype=torch.float64)
    ) @ torch.linalg.qr(torch.randn(8, 2, generator=g, dtype=torch.float64))[
        0
    ].T + 0.01 * _stream()
    # orthonormal rows
    reference = torch.linalg.qr(torch.randn(8, 2, dtype=torch.float64))[0].T
    moved = h + transplant_change(h, reference)
    _, s_before, _ = torch.linalg.svd(h, full_matrices=False)
    _, s_after, vh = torch.linalg.svd(moved, full_matrices=False)
    cos = torch.einsum("pkc,kc->pk", vh[:, :2], reference).abs()
    assert torch.allclose(cos, torch.ones_like(cos), atol=1e-4)
    assert torch.allclose(s_after[:, :2], s_before[:, :2], rtol=1e-3)


def test_the_transplant_leaves_a_prompt_that_already_carries_the_signature_unchanged():
    h = _stream()
    _, _, vh = torch.linalg.svd(h[:1], full_matrices=False)
    change = transplant_change(h[:1], -vh[0, :2])  # the same directions, opposite signs
    assert change.abs().max() < 1e-10


def test_the_random_control_has_the_requested_norm_per_prompt():
    h = _stream()
    norms = torch.arange(1.0, 7.0, dtype=torch.float64)
    change = random_change(h, norms, seed=3)
    assert torch.allclose(change.flatten(1).norm(dim=1), norms)
    assert torch.equal(change, random_change(h, norms, seed=3))


def test_share_removed_is_one_at_the_in_distribution_error_and_zero_at_the_baseline():
    baseline = np.array([0.01, 1.0, 10.0])
    assert np.allclose(share_removed(baseline, np.array([0.01, 0.01, 0.01]), 0)[1:], 1)
    assert np.allclose(share_removed(baseline, baseline, 0)[1:], 0)
    # worse than doing nothing
    assert share_removed(baseline, np.array([0.01, 10.0, 100.0]), 0)[2] < 0
    # no shift-induced error to remove
    assert np.isnan(share_removed(baseline, baseline, 0)[0])


def test_the_conclusion_needs_the_transplant_to_beat_its_random_control():
    assert conclusion(0.8, 0.1, 1.2) == "causal"
    assert conclusion(0.8, 0.75, 1.2) == "only correlated"
    assert conclusion(0.3, 0.0, 1.0) == "partly causal"
    # harmful in distribution: not fully causal
    assert conclusion(0.8, 0.0, 5.0) == "partly causal"
    assert conclusion(-0.3, 0.0, 1.0) == "only correlated"


def _summary(transplant_share, control_share, ratio):
    """A seed's `summary` with one shifted c: shares (layers,), ratio (layers,)."""

    def entry(share):
        share = np.asarray(share, dtype=float)
        return {"share_removed": np.stack([np.full_like(share, np.nan), share], axis=1)}

    return {
        "interventions": {"signature transplant": entry(transplant_share)},
        "controls": {
            "random, transplant's norm": entry(control_share),
            "transplant in distribution": {"error_ratio": np.asarray(ratio, float)},
        },
    }


def test_the_finding_is_judged_at_the_transplants_best_layer_for_the_mean_and_each_seed():
    per_seed = [
        _summary([0.0, 0.9, 0.2], [0.0, 0.1, 0.0], [1.0, 1.1, 1.0]),
        _summary([0.0, 0.7, 0.1], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]),
        _summary([0.0, 0.2, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]),
    ]
    result = intervention_verdict(per_seed)
    assert result.layer == 1
    assert result.conclusion == "causal"  # mean share 0.6, control 0.033
    assert result.by_seed == ["causal", "causal", "partly causal"]
    assert result.transplant.shape == (3, 3)
