"""The verdicts of "Beyond the paper", judged from results files as the chapters write
them."""

import copy

import pytest

from icl_core.analysis.battery import PAPER_SHIFTS, SETTINGS
from icl_core.analysis.coverage import invariant_range
from icl_core.analysis.detection import DETECTORS
from icl_core.book.scorecard import count_holding
from icl_core.core.results import StaleResultsError, checkpoint_record
from icl_core.core.storage import read_json, write_json
from icl_core.verdicts.claims import Thresholds
from icl_core.verdicts.scorecard import findings, write_judged

SHIFTS = [-16, -4, 0, 4, 16]


def test_the_invariant_range_is_where_every_smaller_shift_stays_near_c_zero():
    assert invariant_range(SHIFTS, [50, 1, 1, 2, 50], factor=10) == 4
    assert invariant_range(SHIFTS, [50, 30, 1, 2, 50], factor=10) == 0
    assert invariant_range(SHIFTS, [5, 1, 1, 2, 5], factor=10) == 16
    # a model worse than a predictor that ignores x at c = 4 reaches no further
    trivial = [[9, 9, 9, 1.5, 9], [9, 9, 9, 9, 9]]
    assert invariant_range(SHIFTS, [5, 1, 1, 2, 5], factor=10, trivial=trivial) == 0
    assert invariant_range(SHIFTS, [5, 1, 1, 2, 5], 10, [[9, 3, 2, 3, 4]]) == 4


def _setting(error, ols=1e-15, score=0.9, defined=3, trivial=5.0):
    def method(value):
        return {"median": [1.0, value, value], "mean": [1.0, value, value]}

    return {
        "transformer": method(error),
        "ols": method(ols),
        "context_mean": method(trivial),
        "zero": method(2 * trivial),
        "defined": defined,
        "signature_score": score,
    }


def _battery_seed(worst_ratio=2.0):
    """Settings whose error grows with the shift and whose score falls with it."""
    settings = {
        name: _setting(0.01 * (1 + k / 100), score=0.9 - k / 100)
        for k, name in enumerate(SETTINGS)
    }
    settings["scale-x=3"] = _setting(0.01 * worst_ratio, score=0.7)
    paper = {
        name: _setting(0.01 * 10 ** (k + 2), score=0.5 - k / 10)
        for k, name in enumerate(PAPER_SHIFTS)
    }
    return {"settings": settings, "paper_shifts": paper}


def _coverage_seed(error, score):
    return {"median_error": error, "signature_score": score}


GOOD = {
    "standard": _coverage_seed([90, 40, 1, 30, 90], [0.2, 0.5, 0.9, 0.5, 0.2]),
    "x_mean_spread": _coverage_seed([90, 2, 1, 2, 90], [0.3, 0.85, 0.9, 0.85, 0.3]),
    "x_mean_spread_random": _coverage_seed(
        [90, 3, 1, 3, 90], [0.3, 0.8, 0.9, 0.8, 0.3]
    ),
}


def _patching(conclusion, plane=0.5, without_readout=0.4, random=0.1):
    """A patching result with the shares each patch removes at every layer (3): the
    signature plane, the plane without its read-out component, the read-out direction
    and the random planes (their largest)."""

    def patch(restore, field="share"):
        shares = restore if isinstance(restore, list) else [restore] * 3
        return {"x_mean_w_perp": {"restore": {field: shares}}}

    signature = patch(plane)
    signature["x_mean_w_perp"]["break"] = {"share": [0.7] * 3}
    return {
        "conclusion": {"x_mean": "inconclusive", "x_mean_w_perp": conclusion},
        "interventions": {
            "signature subspace": signature,
            "signature plane without the read-out direction": patch(without_readout),
        },
        "controls": {
            "readout_direction": patch(0.3),
            "random planes": patch(random, "share_max"),
            "random planes among the top directions": patch(random, "share_max"),
        },
    }


# the errors of predicting the context's mean of y and of predicting 0, per shift
TRIVIAL = {"context_mean": [50, 5, 1.5, 5, 50], "zero": [60, 6, 2, 6, 60]}


def write_results(
    results,
    n_seeds=3,
    coverage=None,
    battery=None,
    conclusion="partly causal",
    trivial=TRIVIAL,
    advantage=0.2,
    **patching,
):
    folder = results / "cpu"
    paths = []
    for seed in range(n_seeds):
        path = folder / f"cpu-{seed}" / "model.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"weights {seed}".encode())
        paths.append(path)
    record = checkpoint_record(paths, results)
    learned = {"error_median": {"transformer": [1.0, 0.01], "ols": [1.0, 1e-16]}}
    write_json(
        folder / "in_distribution.json",
        {
            **learned,
            "seeds": [{"seed": s, **learned} for s in range(n_seeds)],
            "checkpoints": record,
        },
    )
    write_json(
        folder / "signature_intervention.json",
        {
            **_patching(conclusion, **patching),
            "layer": 2,
            "reason": {"x_mean": "…", "x_mean_w_perp": "a reason"},
            "seeds": [
                {"seed": s, **_patching(conclusion, **patching)} for s in range(n_seeds)
            ],
            "checkpoints": record,
        },
    )
    seeds = [{"seed": s, **(battery or _battery_seed())} for s in range(n_seeds)]
    write_json(
        folder / "garg_battery.json",
        {**seeds[0], "seeds": seeds, "checkpoints": record},
    )
    per_model = coverage or GOOD
    by_key = {
        key: {m: v[key] for m, v in per_model.items()}
        for key in ("median_error", "signature_score")
    }
    write_json(
        folder / "coverage.json",
        {
            "models": list(per_model),
            "shifts": SHIFTS,
            "trivial_error": trivial,
            **by_key,
            "seeds": [{"seed": s, **copy.deepcopy(by_key)} for s in range(n_seeds)],
            "checkpoints": record,
        },
    )
    detection = _detection(advantage)
    write_json(
        folder / "detection.json",
        {
            **detection,
            "seeds": [{"seed": s, **detection} for s in range(n_seeds)],
            "checkpoints": record,
        },
    )
    return folder


def _detection(advantage: float) -> dict:
    """A detection record whose signature beats the input by `advantage` on one shift
    of w, and by more on a shift of x, which does not count."""
    inputs = {d: 0.6 for d in DETECTORS}
    return {
        "conditions": [
            {"name": "w_scale=2", "x_in_distribution": True},
            {"name": "x_mean=4", "x_in_distribution": False},
        ],
        "auroc_shift": {
            "w_scale=2": {**inputs, "signature": 0.6 + advantage},
            "x_mean=4": {**inputs, "signature": 1.0},
        },
    }


def test_every_finding_holds_on_results_that_show_it(tmp_path):
    folder = write_results(tmp_path)
    verdicts = findings(folder)
    assert len(verdicts) == 8
    assert [v.holds for v in verdicts] == [True] * 8, verdicts
    assert {(v.seeds_holding, v.seeds) for v in verdicts} == {(3, 3)}
    write_judged(folder / "findings.json", "findings", verdicts, Thresholds())
    saved = read_json(folder / "findings.json")
    assert [f["holds"] for f in saved["findings"]] == [True] * 8
    assert set(saved["checkpoints"]) == {f"cpu/cpu-{s}/model.pt" for s in range(3)}


def test_each_finding_fails_when_its_evidence_does(tmp_path):
    narrow = copy.deepcopy(GOOD)
    narrow["x_mean_spread"] = _coverage_seed(
        [90, 40, 1, 40, 5], [0.3, 0.5, 0.9, 0.5, 0.3]
    )
    verdicts = findings(
        write_results(
            tmp_path,
            coverage=narrow,
            battery=_battery_seed(50.0),
            without_readout=0.15,
            advantage=0.02,
        )
    )
    holds = {v.claim[0]: v.holds for v in verdicts}
    assert holds == {
        "A": False,
        "B": False,
        "C": True,
        "D": False,
        "E": False,
        "F": False,
        "G": True,
        "H": False,
    }


def test_garg_robustness_needs_the_transformer_below_the_trivial_predictors(tmp_path):
    battery = _battery_seed()
    battery["settings"]["noisyLR"] = _setting(0.0102, trivial=0.01)
    (b,) = [
        v for v in findings(write_results(tmp_path, battery=battery)) if v.key == "B"
    ]
    assert b.holds is False  # growth ×2 only, but predicting the mean does better
    # where the queries are orthogonal to the examples, nothing in the context says
    # anything about their targets: not counted
    battery["settings"]["noisyLR"] = _setting(0.0102)
    battery["settings"]["orthogonal_train_test"] = _setting(0.0102, trivial=0.01)
    (b,) = [
        v for v in findings(write_results(tmp_path, battery=battery)) if v.key == "B"
    ]
    assert b.holds is True


def test_finding_a_needs_the_signature_beyond_the_readout_at_every_layer(tmp_path):
    # the plane without its read-out component repairs 0.3 more than random planes
    (held,) = findings(write_results(tmp_path))[:1]
    assert held.holds and "0.40 of the error" in held.measured
    # the read-out direction carries the repair: without it the plane beats random
    # planes by 0.05 only
    (readout,) = findings(write_results(tmp_path, without_readout=0.15))[:1]
    assert readout.holds is False
    # beyond the read-out it beats random planes only at the last layer
    (late,) = findings(write_results(tmp_path, without_readout=[0.15, 0.15, 0.4]))[:1]
    assert late.holds is False


def test_a_coverage_model_worse_than_predicting_the_mean_is_not_invariant(tmp_path):
    # within ×10 of its c = 0 error at c = ±4 (2 against 1), but worse than the mean
    low = {"context_mean": [50, 1.5, 1.5, 1.5, 50], "zero": [60, 6, 2, 6, 60]}
    verdicts = {v.key: v for v in findings(write_results(tmp_path, trivial=low))}
    assert verdicts["D"].holds is False and verdicts["D"].measured.startswith("0 ")


def test_an_inconclusive_patching_test_leaves_its_finding_untested(tmp_path):
    verdict = findings(write_results(tmp_path, conclusion="inconclusive"))[0]
    assert verdict.holds is None and "a reason" in verdict.measured


def test_findings_from_a_changed_checkpoint_are_refused(tmp_path):
    folder = write_results(tmp_path)
    (folder / "cpu-1" / "model.pt").write_bytes(b"retrained")
    with pytest.raises(StaleResultsError, match="cpu-1"):
        findings(folder)


def test_findings_without_the_coverage_models_are_not_tested(tmp_path):
    standard_only = {"standard": GOOD["standard"]}
    verdicts = findings(write_results(tmp_path, coverage=standard_only))
    holds = {v.claim[0]: v.holds for v in verdicts}
    assert holds == dict(A=True, B=True, C=True, D=None, E=None, F=None, G=None, H=True)
    assert {v.outcome for v in verdicts[3:7]} == {"not tested"}
    assert (
        count_holding(verdicts)
        == "4 of 4 tested (2 of them with a control not measured)"
    )
