import numpy as np
import pytest

from icl_core.analysis.algorithm import KINDS
from icl_core.analysis.remedies import BATTERY, moved_prompts, summary
from icl_core.book.remedies import NORM_SENTENCE, PRIOR_SENTENCE, texts
from icl_core.verdicts.claims import Thresholds
from icl_core.verdicts.findings import removes_failure

SIZES = [0.0, 4.0, 8.0]


class Run:
    def __init__(self, seed):
        self.config = type("C", (), {"train": type("T", (), {"seed": seed})})()
        self.path = f"model-{seed}.pt"


def measured(curves: dict[str, list[list[float]]]) -> dict:
    """A `measure` record whose every kind of move follows the model's curve."""
    return {
        "models": {
            name: [
                {
                    "own_prior_error": curve[0],
                    "median_error": {k: curve for k in KINDS},
                    "battery": {s: curve[0] for s in BATTERY},
                }
                for curve in seeds
            ]
            for name, seeds in curves.items()
        }
    }


def record_of(curves, monkeypatch):
    monkeypatch.setattr(
        "icl_core.analysis.remedies.checkpoint_record",
        lambda paths, results: {p: "hash" for p in paths},
    )
    runs = {name: [Run(s) for s in range(len(c))] for name, c in curves.items()}
    return summary(measured(curves), runs, SIZES, [4.0, 8.0], "results")


BASELINES = {"ones": {"context_mean": [0.4, 0.4, 0.4], "zero": [0.4, 8, 30]}}


def test_a_flat_model_removes_the_failure_and_the_standard_model_does_not(monkeypatch):
    curves = {
        "standard": [[0.02, 1.0, 12.0], [0.02, 1.2, 14.0]],
        "flat": [[0.03, 0.04, 0.05]] * 3,
    }
    record = record_of(curves, monkeypatch)
    t = Thresholds()
    flat = record["flat"]
    assert flat["cost_ratio"]["mean"] == pytest.approx(1.5)
    # its growth over the standard model's seed-mean growth
    assert flat["removed_share"]["ones"]["8"]["mean"] == pytest.approx(1 - 0.02 / 12.98)
    assert removes_failure(flat, BASELINES, SIZES, t)["overall"]
    assert record["standard"]["removed_share"]["ones"]["8"]["mean"] == pytest.approx(0)
    assert not removes_failure(record["standard"], BASELINES, SIZES, t)["overall"]


def test_each_part_of_the_rule_can_fail_it(monkeypatch):
    curves = {
        "standard": [[0.02, 1.0, 12.0]],
        "costly": [[0.05, 0.05, 0.05]],  # × 2.5 in distribution
        "growing": [[0.02, 0.05, 0.07]],  # × 3.5 at c = 8
        "above_the_mean": [[0.2, 0.3, 0.41]],  # above the context's mean of y
        "one_seed_fails": [[0.02, 0.03, 0.04]] * 4 + [[0.02, 0.03, 0.09]],
    }
    record = record_of(curves, monkeypatch)
    t = Thresholds(remedy_cost=10)
    assert not removes_failure(record["costly"], BASELINES, SIZES, Thresholds())["mean"]
    for name in ("growing", "above_the_mean"):
        assert not removes_failure(record[name], BASELINES, SIZES, t)["mean"]
    split = removes_failure(record["one_seed_fails"], BASELINES, SIZES, t)
    assert split["per_seed"] == [True] * 4 + [False]
    assert split["overall"]  # 4 of 5 seeds is the default share
    strict = Thresholds(remedy_cost=10, seed_share=1.0)
    assert not removes_failure(record["one_seed_fails"], BASELINES, SIZES, strict)[
        "overall"
    ]


def test_a_shift_size_outside_the_sweep_is_a_clear_error(monkeypatch):
    record = record_of({"standard": [[0.02, 1.0, 12.0]]}, monkeypatch)
    with pytest.raises(ValueError, match="remedy_shift=16"):
        removes_failure(
            record["standard"], BASELINES, SIZES, Thresholds(remedy_shift=16)
        )
    with pytest.raises(ValueError, match="removed_at=2"):
        summary(measured({"standard": [[0.02, 1.0, 12.0]]}), {}, SIZES, [2.0], "r")


def test_the_conclusion_names_which_kind_of_change_removes_it(monkeypatch):
    curves = {"standard": [[0.02, 1.0, 12.0]], "rmsnorm": [[0.03, 0.04, 0.05]]}
    record = record_of(curves, monkeypatch)
    for model in record.values():
        model["removes_failure"] = removes_failure(
            model, BASELINES, SIZES, Thresholds()
        )
    said = texts(record, BASELINES, SIZES, Thresholds(), "cpu", 10)
    assert said["rem_conclusion"] == " ".join(
        [PRIOR_SENTENCE[False], NORM_SENTENCE[True].format(names="rmsnorm")]
    )
    assert said["rem_removing"] == "rmsnorm"


def test_moved_prompts_share_their_draws_across_kinds_and_sizes():
    base = moved_prompts("ones", 0.0, 8, 5, 3, seed=0)
    shifted = moved_prompts("ones", 2.0, 8, 5, 3, seed=0)
    scaled = moved_prompts("scale", 2.0, 8, 5, 3, seed=0)
    assert np.allclose(shifted.xs - base.xs, 2.0)
    assert np.allclose(scaled.xs, base.xs * 5**0.5, atol=1e-6)
    assert np.allclose(shifted.ys, np.einsum("bnd,bd->bn", shifted.xs, shifted.ws))
