import numpy as np
import pytest
import torch
from conftest import spectral_controls_record
from test_scorecard import write_results

from icl_core.analysis.input_controls import (
    share_above,
    spectral_profile,
    untrained_twin,
)
from icl_core.analysis.spectral import mean_token_profile
from icl_core.core.config import ModelConfig, PromptDistribution
from icl_core.core.model import InContextRegressor
from icl_core.verdicts.claims import CLAIMS
from icl_core.verdicts.scorecard import judged_parts, parts_of


def tiny_model(seed=0):
    torch.manual_seed(seed)
    cfg = ModelConfig(n_dims=3, n_points=5, n_embd=16, n_layer=2, n_head=2)
    return InContextRegressor(cfg).eval()


def test_untrained_twin_is_fresh_reproducible_and_leaves_the_global_stream():
    model = tiny_model()
    state = torch.random.get_rng_state()
    a, b = untrained_twin(model, 3), untrained_twin(model, 3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.read_in.weight, untrained_twin(model, 4).read_in.weight)
    assert a.config == model.config and not a.training


def test_mean_token_profile_finds_a_shared_mean_token():
    gen = torch.Generator().manual_seed(0)
    direction = torch.zeros(8)
    direction[2] = 1.0
    noise = torch.randn(1, 30, 6, 8, generator=gen)
    hidden = noise + 10 * direction  # every token carries the same large offset
    reference = torch.stack([direction, torch.eye(8)[5]])[None]
    profile = mean_token_profile(hidden, reference)
    assert profile["first_reference_cosine"][0] > 0.99
    expected = 6 * 100 / (6 * 100 + 6 * 8)  # n‖h̄‖² / ‖H‖²: offset energy over total
    assert profile["energy_share"][0] == pytest.approx(expected, rel=0.05)
    pure = mean_token_profile(noise - noise.mean(dim=2, keepdim=True), reference)
    assert pure["energy_share"][0] < 1e-12


def test_share_above_counts_prompts_at_or_above_each_threshold():
    scores = np.array([0.2, 0.5, 0.9, 1.0])
    assert share_above(scores, [0.0, 0.5, 0.95, 1.01]).tolist() == [1, 0.75, 0.25, 0]


def test_profile_shapes_and_reference_agreement():
    model = tiny_model()
    profile = spectral_profile(model, PromptDistribution(), [0, 4], 12, 20, seed=0)
    layers = model.config.n_layer + 1
    assert profile.score.shape == (layers, 2)
    assert profile.alignment.shape == (layers, 2, 2)
    assert profile.in_distribution_scores.shape == (layers, 12)
    assert np.allclose(profile.score[:, 0], profile.in_distribution_scores.mean(1))
    assert ((profile.score >= 0) & (profile.score <= 1 + 1e-12)).all()
    with pytest.raises(ValueError, match="shifts"):
        spectral_profile(model, PromptDistribution(), [1, 4], 12, 20, seed=0)


LAYER0 = spectral_controls_record()["layer0"]
UNTRAINED = spectral_controls_record()["untrained"]
PARTS = ("4a", "4b", "5a", "5b", "6a", "6b")


def held(folder):
    checks = tuple(c for c in parts_of(CLAIMS) if c.key in PARTS)
    verdicts = judged_parts(folder, tuple(c for c in CLAIMS if c.key in "456"))
    return {v.key: v.holds for v in verdicts if v.key in {c.key for c in checks}}


def test_every_beyond_the_input_part_holds_on_results_that_show_it(tmp_path):
    assert held(write_results(tmp_path)) == dict.fromkeys(PARTS, True)


@pytest.mark.parametrize(
    "change,failing",
    [
        # the untrained model shares the signature as strongly: 4a fails
        (
            {
                "untrained": {
                    **UNTRAINED,
                    "signature_score": [[0.95, 0.9]] * 5,
                }
            },
            "4a",
        ),
        ({"centred": {"signature_score": [[0.5, 0.1]] * 5}}, "4b"),
        # the embedding shares the centred signature as strongly: 4b fails
        ({"layer0": {**LAYER0, "centred_signature_score": [0.9, 0.85]}}, "4b"),
        # layer 0 already drops as far: 5a fails
        ({"layer0": {**LAYER0, "signature_score": [0.6, 0.0]}}, "5a"),
        # the input grows σ1 more than the trained model does: 5b fails
        ({"layer0": {**LAYER0, "sigma1": [1.0, 50.0]}}, "5b"),
        ({"within_shift_spearman": {"value": 0.2, "low": 0.1, "high": 0.3}}, "6a"),
        ({"partial_spearman": {"value": 0.6, "low": -0.1, "high": 0.9}}, "6b"),
    ],
)
def test_each_part_fails_where_the_input_alone_explains_the_claim(
    tmp_path, change, failing
):
    verdicts = held(write_results(tmp_path, spectral=change))
    assert verdicts == {k: k != failing for k in PARTS}


def test_the_across_seed_interval_spans_the_seeds_intervals_not_their_average():
    from icl_core.analysis.input_controls import _interval_span

    seeds = [
        {
            "value": 0.6,
            "low": 0.5,
            "high": 0.7,
            "by_family": {"a": {"value": 0.2, "low": 0.1, "high": 0.3}},
        },
        {
            "value": 0.1,
            "low": -0.3,
            "high": 0.4,
            "by_family": {"a": {"value": 0.0, "low": -0.2, "high": 0.1}},
        },
    ]
    span = _interval_span(seeds)
    assert (span["value"], span["low"], span["high"]) == pytest.approx(
        (0.35, -0.3, 0.7)
    )
    assert (span["by_family"]["a"]["low"], span["by_family"]["a"]["high"]) == (
        -0.2,
        0.3,
    )


def test_the_alignment_chapter_reads_the_drop_beyond_layer_0_and_untrained():
    from types import SimpleNamespace

    from icl_core.book.alignment import AlignmentSummary

    def profile(score_by_layer):  # (layers, shifts): the score, evaluated at 3 shifts
        score = np.asarray(score_by_layer, dtype=float)
        return SimpleNamespace(
            score=score,
            alignment=np.repeat(score[..., None], 2, axis=-1),
            mean_token={
                "first_reference_cosine": np.zeros(2),
                "energy_share": np.ones(2),
            },
        )

    # columns: c = 0, 1 (not read), 4; rows: layer 0, layer 1
    seed = {
        "trained": {False: profile([[0.9, 0, 0.7], [0.95, 0, 0.35]])},
        "untrained": {False: profile([[0.9, 0, 0.8], [0.9, 0, 0.6]])},
    }
    seed["trained"][True], seed["untrained"][True] = (
        seed["trained"][False], seed["untrained"][False],
    )  # fmt: skip
    summary = AlignmentSummary([seed], [0, 1, 4], [0, 4], layer=1, center=False)
    # drops at c = 4: trained 0.6 at layer 1, 0.2 at layer 0, untrained 0.3
    assert summary.drop_beyond_input(1)[0] == pytest.approx([0.0, 0.3])
    texts = summary.texts()
    assert texts["al_drop"] == "0.60"
    assert texts["al_beyond_id"] == "0.05"  # 0.95 less max(0.9, 0.9)
    header, rows = summary.layer_table()
    assert header == ["layer", "c = 0", "c = 4", "c = 4"]
    assert rows[1][1:] == ["0.95", "0.35", "0.35"]
