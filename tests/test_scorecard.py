import pytest

from icl_core.experiments import check_parameters
from icl_core.scorecard import scorecard
from icl_core.storage import write_json


def write_results(folder, **changes):
    data = {
        "in_distribution": {"error_median": {"transformer": [1.0, 0.01], "ols": [1.0, 1e-16]}},
        "distribution_shift": {
            "shifts": [0, 16], "tolerance": 0.1, "transformer_accuracy": [0.9, 0.05], "ols_accuracy": [1.0, 1.0],
            "transformer_error": {"median": [0.01, 50.0]}, "ols_error": {"median": [1e-16, 1e-14]},
            "ridge_error": {"median": [1e-4, 1e-4]}, "gd_error": {"median": [1e-3, 1.0]}},
        "spectral": {"layer": 4, "shifts": [0, 16], "signature_score": [0.95, 0.3],
                     "leading_singular_values": {"sigma1": [10.0, 80.0], "sigma2": [5.0, 9.0]},
                     "spearman_signature_vs_loss": {"value": 0.8, "low": 0.75, "high": 0.85, "pooled_prompts": 100}},
        "pretraining": {"models": ["a", "b"], "lowest_error_is_own_model": [True, True],
                        "highest_score_is_own_distribution": [True, True]},
    }
    for name, update in changes.items():
        data[name].update(update)
    for name, content in data.items():
        write_json(folder / f"{name}.json", content)


def test_all_claims_hold_on_results_that_show_them(tmp_path):
    write_results(tmp_path)
    verdicts = scorecard(tmp_path)
    assert len(verdicts) == 7 and all(v.holds for v in verdicts)


@pytest.mark.parametrize("chapter,update,claim", [
    ("in_distribution", {"error_median": {"transformer": [1.0, 0.2], "ols": [1.0, 0.0]}}, 1),
    ("distribution_shift", {"ols_accuracy": [1.0, 0.6]}, 2),
    ("distribution_shift", {"ridge_error": {"median": [1e-4, 1.0]}}, 3),
    ("spectral", {"signature_score": [0.6, 0.3]}, 4),
    ("spectral", {"leading_singular_values": {"sigma1": [10.0, 8.0], "sigma2": [1.0, 1.0]}}, 5),
    ("spectral", {"spearman_signature_vs_loss": {"value": 0.6, "low": -0.1, "high": 0.9, "pooled_prompts": 9}}, 6),
    ("pretraining", {"highest_score_is_own_distribution": [True, False]}, 7),
])
def test_each_claim_fails_when_its_evidence_is_missing(tmp_path, chapter, update, claim):
    write_results(tmp_path, **{chapter: update})
    verdicts = scorecard(tmp_path)
    assert [v.holds for v in verdicts] == [i != claim for i in range(1, 8)]


def test_chapter_parameters_are_checked_by_name():
    check_parameters(preset="cpu", n_prompts=10, shifts=[0, 1.5])
    with pytest.raises(ValueError, match=r"n_prompts=0 .*positive integer"):
        check_parameters(n_prompts=0)
    with pytest.raises(ValueError, match=r"shifts=\[\]"):
        check_parameters(shifts=[])
    with pytest.raises(ValueError, match=r"parameter='n_promts'"):
        check_parameters(n_promts=10)
