import copy

import pytest
from conftest import spectral_controls_record

from icl_core.book.parameters import check_parameters
from icl_core.book.scorecard import count_holding
from icl_core.core.results import StaleResultsError, checkpoint_record
from icl_core.core.storage import read_json, write_json
from icl_core.verdicts.claims import Thresholds
from icl_core.verdicts.scorecard import scorecard

VALUES = {
    "in_distribution": {
        "error_median": {"transformer": [1.0, 0.01], "ols": [1.0, 1e-16]}
    },
    "distribution_shift": {
        "shifts": [0, 16],
        "tolerance": 0.1,
        "transformer_accuracy": [0.9, 0.05],
        "ols_accuracy": [1.0, 1.0],
        "transformer_error": {"median": [0.01, 50.0]},
        "ols_error": {"median": [1e-16, 1e-14]},
        "ridge_error": {"median": [1e-4, 1e-4]},
        "gd_error": {"median": [1e-3, 1.0]},
    },
    "spectral": {
        "layer": 4,
        "shifts": [0, 16],
        "signature_score": [0.95, 0.3],
        "leading_singular_values": {"sigma1": [10.0, 80.0], "sigma2": [5.0, 9.0]},
        "spearman_signature_vs_loss": {
            "value": 0.8,
            "low": 0.75,
            "high": 0.85,
            "pooled_prompts": 100,
        },
        **spectral_controls_record(),
    },
    "pretraining": {
        "models": ["a", "b"],
        "lowest_error_is_own_model": [True, True],
        "highest_score_is_own_distribution": [True, True],
    },
}


def write_results(results, n_seeds=1, seed_changes=None, **changes):
    """Results files of `n_seeds` seeds, each computed from its own (fake) checkpoint
    under `results`; `changes` replace values for the mean and every seed,
    `seed_changes[i]` for seed i alone."""
    folder = results / "cpu"
    checkpoints = []
    for seed in range(n_seeds):
        path = folder / f"cpu-{seed}" / "model.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"weights of seed {seed}".encode())
        checkpoints.append(path)
    for name, values in VALUES.items():
        top = {**copy.deepcopy(values), **changes.get(name, {})}
        seeds = [
            {**top, "seed": i, **(seed_changes or {}).get(i, {}).get(name, {})}
            for i in range(n_seeds)
        ]
        write_json(
            folder / f"{name}.json",
            {
                **top,
                "seeds": seeds,
                "checkpoints": checkpoint_record(checkpoints, results),
            },
        )
    return folder


def test_all_claims_hold_on_results_that_show_them(tmp_path):
    verdicts = scorecard(write_results(tmp_path))
    assert len(verdicts) == 7 and all(v.holds for v in verdicts)


@pytest.mark.parametrize(
    "chapter,update,claim",
    [
        (
            "in_distribution",
            {"error_median": {"transformer": [1.0, 0.2], "ols": [1.0, 0.0]}},
            1,
        ),
        ("distribution_shift", {"ols_accuracy": [1.0, 0.6]}, 2),
        ("distribution_shift", {"ridge_error": {"median": [1e-4, 1.0]}}, 3),
        ("spectral", {"signature_score": [0.6, 0.3]}, 4),
        (
            "spectral",
            {"leading_singular_values": {"sigma1": [10.0, 8.0], "sigma2": [1.0, 1.0]}},
            5,
        ),
        (
            "spectral",
            {
                "spearman_signature_vs_loss": {
                    "value": 0.6,
                    "low": -0.1,
                    "high": 0.9,
                    "pooled_prompts": 9,
                }
            },
            6,
        ),
        ("pretraining", {"highest_score_is_own_distribution": [True, False]}, 7),
    ],
)
def test_each_claim_fails_when_its_evidence_is_missing(
    tmp_path, chapter, update, claim
):
    verdicts = scorecard(write_results(tmp_path, **{chapter: update}))
    assert [v.holds for v in verdicts] == [i != claim for i in range(1, 8)]


def test_a_claim_holds_overall_only_in_enough_seeds(tmp_path):
    weak = {"spectral": {"signature_score": [0.6, 0.3]}}
    one_fails = scorecard(write_results(tmp_path, n_seeds=5, seed_changes={0: weak}))
    assert (one_fails[3].seeds_holding, one_fails[3].seeds, one_fails[3].holds) == (
        4,
        5,
        True,
    )
    two_fail = scorecard(
        write_results(tmp_path, n_seeds=5, seed_changes={0: weak, 3: weak})
    )
    assert (two_fail[3].seeds_holding, two_fail[3].holds) == (3, False)
    assert scorecard(
        write_results(tmp_path, n_seeds=5, seed_changes={0: weak, 3: weak}),
        Thresholds(seed_share=0.6),
    )[3].holds


def test_results_from_a_changed_checkpoint_are_refused(tmp_path):
    folder = write_results(tmp_path, n_seeds=2)
    (folder / "cpu-1" / "model.pt").write_bytes(b"retrained weights")
    with pytest.raises(
        StaleResultsError, match=r"in_distribution\.json is stale.*cpu-1/model\.pt"
    ):
        scorecard(folder)


def test_results_computed_from_different_checkpoints_are_not_mixed(tmp_path):
    folder = write_results(tmp_path, n_seeds=2)
    spectral = read_json(folder / "spectral.json")
    # rerun with one seed
    spectral["checkpoints"] = dict(list(spectral["checkpoints"].items())[:1])
    write_json(folder / "spectral.json", spectral)
    with pytest.raises(
        StaleResultsError, match=r"different checkpoints.*spectral\.json"
    ):
        scorecard(folder)
    shift = read_json(folder / "distribution_shift.json")
    shift["checkpoints"]["cpu/cpu-0/model.pt"] = "sha256:0123"
    write_json(folder / "distribution_shift.json", shift)
    with pytest.raises(StaleResultsError, match=r"distribution_shift\.json is stale"):
        scorecard(folder)


def test_chapter_parameters_are_checked_by_name():
    check_parameters(preset="cpu", n_prompts=10, shifts=[0, 1.5])
    with pytest.raises(ValueError, match=r"n_prompts=0 .*positive integer"):
        check_parameters(n_prompts=0)
    with pytest.raises(ValueError, match=r"shifts=\[\]"):
        check_parameters(shifts=[])
    with pytest.raises(ValueError, match=r"parameter='n_promts'"):
        check_parameters(n_promts=10)
    with pytest.raises(ValueError, match=r"score_thresholds=\[1\.5\].*\[0, 1\]"):
        check_parameters(score_thresholds=[1.5])
    with pytest.raises(ValueError, match=r"input_margin=-0\.1"):
        check_parameters(input_margin=-0.1)


def test_the_book_command_passes_pretraining_seeds_apart_from_seeds():
    from icl_core.__main__ import _chapter_parameters, _parser

    args = _parser().parse_args(
        ["book", "--seeds", "0", "1", "2", "--pretraining-seeds", "0"]
    )
    assert _chapter_parameters(args) == {
        "seeds": [0, 1, 2],
        "pretraining_seeds": [0],
        "bound_free_seeds": [0, 1, 2],
    }


def test_the_books_pretraining_option_keeps_a_chapters_own_distributions_among_it():
    from icl_core.book.parameters import open_chapter

    chapter = {"pretraining": ["standard", "x_mean_spread"]}
    # as papermill passes a list given on the command line: a string
    namespace = {**chapter, "pretraining_available": '["standard", "x_shifted"]'}
    open_chapter(namespace)
    assert namespace["pretraining"] == ["standard"]
    with pytest.raises(ValueError, match=r"pretraining_available=.*'standard'"):
        open_chapter({**chapter, "pretraining_available": ["x_shifted"]})


def test_the_scorecard_file_holds_every_claim_with_its_seed_count_and_checkpoints(
    tmp_path,
):
    from icl_core.verdicts.scorecard import write_judged

    folder = write_results(tmp_path, n_seeds=3)
    write_judged(folder / "scorecard.json", "claims", scorecard(folder), Thresholds())
    written = read_json(folder / "scorecard.json")
    assert [c["seeds"] for c in written["claims"]] == [3] * 7
    assert set(written["claims"][0]) == {
        "claim",
        "measured",
        "criterion",
        "holds",
        "seeds_holding",
        "seeds",
        "key",
    }
    assert sorted(written["checkpoints"]) == [f"cpu/cpu-{i}/model.pt" for i in range(3)]


def test_claim_7_is_not_tested_with_a_single_pretraining_distribution(tmp_path):
    only = {
        "models": ["standard"],
        "lowest_error_is_own_model": [True],
        "highest_score_is_own_distribution": [True],
    }
    verdicts = scorecard(write_results(tmp_path, n_seeds=2, pretraining=only))
    assert [v.holds for v in verdicts] == [True] * 6 + [None]
    assert (verdicts[6].outcome, verdicts[6].seeds) == ("not tested", 0)
    assert (
        count_holding(verdicts) == "6 of 6 tested"
        and count_holding(verdicts[:6]) == "6 of 6"
    )


def test_the_book_command_runs_named_chapters_only_if_the_book_has_them(tmp_path):
    from icl_core.book.pipeline import execute

    with pytest.raises(ValueError, match=r"chapters='scorcard'.*scorecard"):
        execute("book", {"preset": "smoke"}, only=["scorcard"])
