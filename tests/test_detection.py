import numpy as np
import pytest
import torch

from icl_core.analysis.detection import (
    DETECTORS,
    Fitted,
    auroc,
    condition_records,
    detection_quantities,
    detector_values,
)
from icl_core.core.config import ModelConfig
from icl_core.core.model import InContextRegressor
from icl_core.core.samplers import Prompts


def test_a_perfect_detector_scores_one_a_useless_one_a_half_and_a_reversed_one_zero():
    rng = np.random.default_rng(0)
    inliers, outliers = rng.normal(0, 1, 500), rng.normal(10, 1, 400)
    assert auroc(inliers, outliers) == 1.0
    assert auroc(outliers, inliers) == 0.0
    same = rng.normal(0, 1, 20_000)
    assert auroc(same[:10_000], same[10_000:]) == pytest.approx(0.5, abs=0.01)
    assert auroc(np.zeros(10), np.zeros(10)) == 0.5  # ties count half


def test_auroc_is_the_share_of_pairs_ordered_right():
    inliers, outliers = np.array([0.0, 2.0, 4.0]), np.array([1.0, 3.0])
    # pairs (in, out) with out > in: (0,1), (0,3), (2,3): 3 of 6
    assert auroc(inliers, outliers) == pytest.approx(3 / 6)


def test_only_shifts_of_w_or_y_count_as_leaving_x_in_distribution():
    kept = {c["name"] for c in condition_records() if c["x_in_distribution"]}
    assert "w_scale=2" in kept and "scale-y=2" in kept and "noisyLR" in kept
    assert not kept & {"x_mean=1", "x_scale=2", "scale-x=2", "half_subspace"}


def test_the_advantage_is_over_the_best_input_detector_where_x_stays():
    conditions = [
        {"name": "x_mean=4", "x_in_distribution": False},
        {"name": "w_scale=2", "x_in_distribution": True},
        {"name": "scale-y=2", "x_in_distribution": True},
    ]
    detectors = {d: 0.5 for d in DETECTORS}
    data = {
        "conditions": conditions,
        "auroc_shift": {
            # a large advantage where x moves does not count
            "x_mean=4": {**detectors, "signature": 1.0},
            "w_scale=2": {**detectors, "signature": 0.7, "rms_y": 0.9},
            "scale-y=2": {**detectors, "signature": 0.8, "nll_x": 0.6},
        },
    }
    q = detection_quantities(data)
    assert q["signature_auroc_advantage"] == pytest.approx(0.2)
    assert q["signature_best_condition"] == "scale-y=2"
    assert q["input_detector"] == DETECTORS["nll_x"]


def test_no_detector_reads_the_target():
    torch.manual_seed(0)
    cfg = ModelConfig(n_dims=3, n_points=7, n_layer=2, n_head=2, n_embd=16)
    model = InContextRegressor(cfg).eval()
    fitted = Fitted(model, 50, seed=0, k=3)
    g = torch.Generator().manual_seed(1)
    xs, ys = torch.randn(20, 7, 3, generator=g), torch.randn(20, 7, generator=g)
    before = detector_values(model, Prompts(xs, ys, torch.empty(0)), fitted)
    moved = ys.clone()
    moved[:, -1] += 100.0  # only the target changes
    after = detector_values(model, Prompts(xs, moved, torch.empty(0)), fitted)
    for name in DETECTORS:
        assert np.allclose(before[name], after[name]), name
    assert not np.allclose(before["error"], after["error"])
