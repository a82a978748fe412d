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
        "median_error": [[0.1, 0.4], [0.5, 0.2]],  # own ÷ best other: 0.2, 0.5
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
    assert [v.key for v in verdicts] == ["1", "2", "3", "4", "5", "6", "7a", "7b"]
    assert all(v.holds for v in verdicts)


@pytest.mark.parametrize(
    "chapter,update,claim",
    [
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
        ("pretraining", {"median_error": [[0.1, 0.4], [0.5, 0.5]]}, 7),
        ("pretraining", {"highest_score_is_own_distribution": [True, False]}, 8),
    ],
)
def test_each_claim_fails_when_its_evidence_is_missing(
    tmp_path, chapter, update, claim
):
    verdicts = scorecard(write_results(tmp_path, **{chapter: update}))
    assert [v.holds for v in verdicts] == [i != claim for i in range(1, 9)]


def test_claim_1_counts_every_seed_and_the_others_only_those_that_learned(tmp_path):
    unlearned = {"error_median": {"transformer": [1.0, 0.2], "ols": [1.0, 0.0]}}
    folder = write_results(
        tmp_path, n_seeds=2, seed_changes={1: {"in_distribution": unlearned}}
    )
    with pytest.raises(StaleResultsError, match=r"averages in training seeds \['1'\]"):
        scorecard(folder)
    for name in ("distribution_shift", "spectral"):  # as their chapters write them
        data = read_json(folder / f"{name}.json")
        data["seeds"] = data["seeds"][:1]
        data["checkpoints"] = dict(list(data["checkpoints"].items())[:1])
        write_json(folder / f"{name}.json", data)
    verdicts = scorecard(folder)
    assert (verdicts[0].holds, verdicts[0].seeds_holding, verdicts[0].seeds) == (
        False,
        1,
        2,
    )
    assert all(v.holds and v.seeds == 1 for v in verdicts[1:6])


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
    assert [c["seeds"] for c in written["claims"]] == [3] * 8
    assert set(written["claims"][0]) == {
        "claim",
        "measured",
        "criterion",
        "holds",
        "seeds_holding",
        "seeds",
        "key",
        "status",
        "failed_controls",
        "untested_controls",
        "controls_on_edge",
        "margin",
        "on_edge",
        "holds_at",
    }
    # claim 1: median error 0.01 against "< 0.05", 80% of the threshold to spare
    assert written["claims"][0]["margin"] == {
        "mean": pytest.approx(0.8),
        "seeds": pytest.approx([0.8] * 3),
    }
    assert written["unlearned_seeds"]["seeds"] == {}
    assert sorted(written["checkpoints"]) == [f"cpu/cpu-{i}/model.pt" for i in range(3)]


def test_claim_7_is_not_tested_with_a_single_pretraining_distribution(tmp_path):
    only = {
        "models": ["standard"],
        "lowest_error_is_own_model": [True],
        "highest_score_is_own_distribution": [True],
    }
    verdicts = scorecard(write_results(tmp_path, n_seeds=2, pretraining=only))
    assert [v.holds for v in verdicts] == [True] * 6 + [None] * 2
    assert (verdicts[6].outcome, verdicts[6].seeds) == ("not tested", 0)
    assert verdicts[7].status == "not tested"
    assert (
        count_holding(verdicts)
        == "6 of 6 tested (2 of them with a control not measured)"
        and count_holding(verdicts[:6])
        == "6 of 6 (2 of them with a control not measured)"
    )


def test_the_book_command_runs_named_chapters_only_if_the_book_has_them(tmp_path):
    from icl_core.book.pipeline import execute

    with pytest.raises(ValueError, match=r"chapters='scorcard'.*scorecard"):
        execute("book", {"preset": "smoke"}, only=["scorcard"])


def test_a_verdict_near_its_threshold_is_on_the_edge_and_rejudged_around_it(tmp_path):
    # accuracy kept 0.047 / 0.1 = 0.47 against "< 0.5": 6% of the threshold to spare
    edge = {"transformer_accuracy": [0.1, 0.047]}
    claim2 = scorecard(write_results(tmp_path, distribution_shift=edge))[1]
    assert claim2.holds and claim2.on_edge
    assert claim2.margin["mean"] == pytest.approx(0.06)
    assert claim2.holds_at == {"0.75": False, "1.25": True}
    far = scorecard(write_results(tmp_path))[1]  # 0.05 / 0.9: far below
    assert not far.on_edge and far.holds_at == {"0.75": True, "1.25": True}


def test_a_claim_whose_part_fails_holds_only_before_its_controls():
    import dataclasses

    from icl_core.book.scorecard import verdict_cell
    from icl_core.verdicts.claims import Verdict
    from icl_core.verdicts.scorecard import with_controls

    claim = Verdict("2. claim", "", "", True, 5, 5, "2", status="holds")
    parts = [
        Verdict("2a. part", "", "", False, 1, 5, "2a", status="does not hold"),
        Verdict("2b. part", "", "", True, 5, 5, "2b", status="holds"),
        Verdict("2c. part", "", "", None, 0, 0, "2c"),
    ]
    (judged,) = with_controls([claim], parts)
    assert (judged.status, judged.failed_controls) == (
        "holds only before its controls",
        ("2a",),
    )
    assert judged.controls_on_edge == ()  # 2a fails far from its threshold
    near = dataclasses.replace(parts[0], on_edge=True)
    (edge,) = with_controls([claim], [near])
    assert edge.controls_on_edge == ("2a",)
    assert verdict_cell(edge) == (
        "**holds only before its controls** (2a not, on the edge)"
    )
    (kept,) = with_controls([claim], parts[1:])
    assert (kept.status, kept.untested_controls) == ("holds", ("2c",))
    assert (
        count_holding([judged, kept])
        == "1 of 2 (1 of them with a control not measured)"
    )


def test_the_margin_cell_says_why_a_verdict_past_its_threshold_fails():
    from icl_core.book.scorecard import margin_cell, verdict_cell
    from icl_core.verdicts.claims import Verdict

    def verdict(holds, seeds_holding, margin, holds_at, **kw):
        return Verdict(
            "3a. part", "", "", holds, seeds_holding, 5, "3a",
            margin={"mean": margin, "seeds": []}, holds_at=holds_at, **kw,
        )  # fmt: skip

    few = verdict(False, 2, 0.09, {"0.75": True, "1.25": False}, on_edge=True)
    assert margin_cell(few) == (
        "+9%, on the edge; too few seeds; holds at ×0.75 the threshold"
    )
    further = verdict(False, 5, 0.3, {"0.75": False, "1.25": False})
    assert margin_cell(further) == "+30%; fails a further condition"
    share = verdict(True, 3, 0.0, {})  # a share that must be complete
    assert margin_cell(share) == "none (a share that must be complete)"
    untested = verdict(True, 5, 0.3, {}, untested_controls=("2c",), status="holds")
    assert verdict_cell(untested) == "**holds** (2c not measured)"


@pytest.mark.parametrize("ratios,holds", [([0.2, 0.4], True), ([0.2, 1.3], False)])
def test_7a_counts_only_where_each_model_beats_the_predictors_that_ignore_x(
    tmp_path, ratios, holds
):
    from icl_core.verdicts.claims import CLAIMS
    from icl_core.verdicts.scorecard import judged_parts

    pretraining = {"own_error_vs_trivial": ratios}
    folder = write_results(tmp_path, n_seeds=2, pretraining=pretraining)
    parts = {p.key: p for p in judged_parts(folder, CLAIMS, Thresholds())}
    assert parts["7aa"].holds is holds
    assert parts["7aa"].margin["mean"] == pytest.approx(1 - max(ratios))
    judged = {v.key: v for v in scorecard(folder)}
    assert judged["7a"].status == (
        "holds" if holds else "holds only before its controls"
    )
