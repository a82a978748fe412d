"""This book's own findings (the chapters of "Beyond the paper"), defined in the form
of the paper's claims (`claims.Claim`), with their parts re-measured against the same
simpler explanations."""

from __future__ import annotations

import numpy as np

from ..analysis.interventions import PatchRule
from ..core.config import check
from .claims import FREE_UNTESTED, Claim, Condition, Thresholds, part

# finding A's margin over random planes: the patching rule's own, set before any result
PATCH_MARGIN = PatchRule().margin

_NO_COVERAGE = (
    "coverage models (with and without the bound) not measured at this preset"
)
EDGE_UNTESTED = (
    "no shift beyond the training range has at most {bound_share:.0%} of targets "
    "beyond the bound"
)
COVERAGE_PARTS = (
    ("a", "in_bound", "within the bound", _NO_COVERAGE),
    ("b", "control", "on the control family", _NO_COVERAGE),
    ("c", "free", "without the final LayerNorm", FREE_UNTESTED),
    ("d", "normalised", "in normalised error", _NO_COVERAGE),
)


# findings B to E re-measured where the output bound and the units cannot carry them
FINDING_PARTS: tuple[Claim, ...] = (
    part(
        "B",
        "a",
        "within the bound",
        Condition("battery_worst_in_bound", "<=", "invariance_factor"),
        "garg_battery",
        "within the bound: over the settings with at most {bound_share:.0%} of "
        "targets beyond it",
        criterion="worst error growth over the settings with at most "
        "{bound_share:.0%} of targets beyond the bound ≤ ×{invariance_factor:g}, and "
        "below predicting the context's mean of y or 0 in each of them but queries "
        "orthogonal to the examples",
        measured="below the predictors that ignore x in "
        "{battery_beats_trivial_in_bound:.0%} of them (seed mean)",
        fmt=".3g",
        unit="×",
        requires=((Condition("battery_beats_trivial_in_bound", ">=", 1.0),),),
        mean_of_seeds=True,
        log=True,
        untested="not recorded at this preset",
    ),
    part(
        "B",
        "d",
        "in normalised error",
        Condition("battery_worst_normalised", "<=", "invariance_factor"),
        "garg_battery",
        criterion="worst growth of the normalised error ≤ ×{invariance_factor:g}, and "
        "below predicting the context's mean of y or 0 in every setting but queries "
        "orthogonal to the examples",
        measured="below the predictors that ignore x in "
        "{battery_beats_trivial_normalised:.0%} of the settings (seed mean)",
        fmt=".3g",
        unit="×",
        requires=((Condition("battery_beats_trivial_normalised", ">=", 1.0),),),
        mean_of_seeds=True,
        log=True,
        untested="not recorded at this preset",
    ),
    part(
        "C",
        "d",
        "in normalised error",
        Condition("battery_spearman_normalised", ">=", "correlation"),
        "garg_battery",
        criterion="Spearman of the signature score with low normalised error ≥ "
        "{correlation}",
        mean_of_seeds=True,
        untested="not recorded at this preset",
    ),
    *(
        part(
            "D",
            letter,
            title,
            Condition(f"coverage_reach_{name}", ">=", "training_range"),
            criterion="the coverage model's error within ×{invariance_factor:g} of "
            "c = 0 and below that of predicting the context's mean of y or 0 for every "
            "c up to {training_range:g}",
            fmt=".3g",
            mean_of_seeds=True,
            untested=untested,
        )
        for letter, name, title, untested in COVERAGE_PARTS
    ),
    *(
        part(
            "E",
            letter,
            title,
            Condition(f"coverage_edge_{name}", ">", "invariance_factor"),
            criterion="the coverage model's error at the largest c measured beyond "
            "{training_range:g} > ×{invariance_factor:g} that at c = 0",
            fmt=".3g",
            unit="×",
            mean_of_seeds=True,
            log=True,
            untested=EDGE_UNTESTED if name == "in_bound" else untested,
        )
        for letter, name, title, untested in COVERAGE_PARTS
    ),
)

COVERAGE_UNTESTED = "coverage models not trained at this preset"

FINDINGS: tuple[Claim, ...] = (
    Claim(
        "A",
        "signature_intervention",
        "Beyond the direction the prediction reads, repairing the signature plane "
        "restores part of the loss",
        "causal beyond the read-out",
        Condition("patching_beyond_readout", ">=", PATCH_MARGIN),
        "share removed beyond random planes",
        "on x ~ N(c·1, I) with w ⊥ 1: the signature plane with its read-out component "
        f"removed repairs ≥ {PATCH_MARGIN:g} more of the error than any random plane "
        "at the last layer, and at some layer before the last",
        "the plane without its read-out component removes "
        "{patching_without_readout:.2f} of the error at layer {patching_layer:.0f} "
        "(random planes up to {patching_random:.2f}; the read-out direction alone "
        "{patching_readout:.2f}; the whole plane {patching_restore:.2f}); before the "
        "last layer its best margin over random planes is {patching_before_last:.2f} "
        "(layer {patching_before_last_layer})",
        requires=((Condition("patching_before_last", ">=", PATCH_MARGIN),),),
        untested="the patching test is inconclusive, or ran without the read-out "
        "control: {patching_reason}",
    ),
    Claim(
        "B",
        "garg_battery",
        "Garg et al.'s robustness reproduces: the transformer survives every setting "
        "of their battery",
        "survives Garg's battery",
        Condition("battery_worst_ratio", "<=", "invariance_factor"),
        "worst error growth",
        "worst error at the last query ≤ ×{invariance_factor:g} the larger of its "
        "in-distribution error and OLS's error in the setting, and below that of "
        "predicting the context's mean of y or 0 in every setting but queries "
        "orthogonal to the examples",
        "below the predictors that ignore x in {battery_beats_trivial:.0%} of the "
        "settings that count, all but orthogonal queries (seed mean)",
        fmt=".3g",
        unit="×",
        requires=((Condition("battery_beats_trivial", ">=", 1.0),),),
        mean_of_seeds=True,
        log=True,
    ),
    Claim(
        "C",
        "garg_battery",
        "Across Garg et al.'s settings and the mean shift, the signature predicts loss",
        "signature predicts loss",
        Condition("battery_spearman", ">=", "correlation"),
        "Spearman with low loss",
        "Spearman of the settings' signature score with low error ≥ {correlation}",
        mean_of_seeds=True,
    ),
    Claim(
        "D",
        "coverage",
        "Pretraining on means c ~ U[-{training_range:g}, {training_range:g}] along 1 "
        "makes the transformer shift-invariant inside that range",
        "covered range",
        Condition("coverage_reach", ">=", "training_range"),
        "largest invariant |c|",
        "error within ×{invariance_factor:g} of c = 0 and below that of predicting "
        "the context's mean of y or 0, for every c in [-{training_range:g}, "
        "{training_range:g}] (measured: the largest such bound)",
        fmt=".3g",
        mean_of_seeds=True,
        untested=COVERAGE_UNTESTED,
    ),
    Claim(
        "E",
        "coverage",
        "... but not to the sweep's edge, four times the range",
        "not to the edge",
        Condition("coverage_edge_growth", ">", "invariance_factor"),
        "error growth at the edge",
        "error at c = ±{coverage_edge:g} > ×{invariance_factor:g} that at c = 0",
        "×{coverage_edge_vs_trivial:.2g} the error of predicting the context's mean "
        "of y or 0, the better, there",
        fmt=".3g",
        unit="×",
        mean_of_seeds=True,
        untested=COVERAGE_UNTESTED,
    ),
    Claim(
        "F",
        "coverage",
        "Its signature widens with it",
        "signature widens",
        Condition("coverage_signature_drop", "<", "alignment_drop"),
        "score drop to the range's edge",
        "signature score drops by < {alignment_drop} from c = 0 to c = "
        "±{training_range:g}, the standard model's (same seed) by ≥ {alignment_drop}",
        requires=((Condition("standard_signature_drop", ">=", "alignment_drop"),),),
        mean_of_seeds=True,
        untested=COVERAGE_UNTESTED,
    ),
    Claim(
        "G",
        "coverage",
        "Means along random directions cover the all-ones direction too",
        "random directions cover 1",
        Condition("coverage_random_reach", ">=", "training_range"),
        "largest invariant |c| along 1",
        "error within ×{invariance_factor:g} of c = 0 and below that of predicting "
        "the context's mean of y or 0, for every c in [-{training_range:g}, "
        "{training_range:g}] along 1 (measured: the largest such bound)",
        fmt=".3g",
        mean_of_seeds=True,
        untested=COVERAGE_UNTESTED,
    ),
    Claim(
        "H",
        "detection",
        "As a detector of shifts that leave x in distribution, the signature beats "
        "the input alone",
        "signature as a detector",
        Condition("signature_auroc_advantage", ">=", "detector_margin"),
        "AUROC over the best input-only detector",
        "on some shift of w or y alone (w moved or scaled, y scaled or noisy), the "
        "signature's AUROC against in-distribution prompts ≥ {detector_margin} above "
        "that of the best statistic of the input (‖x̄‖, NLL of x, rms of y)",
        "{signature_auroc_advantage:+.2f} at {signature_best_condition}, where it "
        "is largest (seed mean): {signature_auroc:.2f} against {input_auroc:.2f} "
        "({input_detector})",
        untested="not measured at this preset",
    ),
)


# "What it computes instead": which account of the shift fits --------------------------


def account_fits(
    predicted: dict, measured: dict, edit: dict | None, t: Thresholds
) -> bool:
    """Whether an account's prediction for a context moved along 1 (per shift:
    `shrinkage`, and where it predicts it `along_share`, the weight error's share
    along 1 per dimension) fits the measured curves: its shrinkage within
    `shrinkage_tolerance` at every shift; its weight error concentrated along 1 at the
    largest shift exactly where the measured one is; and, for an account with a causal
    edit (`edit`: shrinkage per shift with the edit and with its control), the edit
    restoring at least `edit_gain` more shrinkage than its control at the largest
    shift."""
    gap = np.abs(np.subtract(predicted["shrinkage"], measured["shrinkage"]))
    fits = bool(np.all(gap <= t.shrinkage_tolerance))
    if predicted.get("along_share") is not None:
        fits &= _mostly_along(predicted) == _mostly_along(measured)
    if edit is not None:
        gain = edit["edit"]["shrinkage"][-1] - edit["control"]["shrinkage"][-1]
        fits &= bool(gain >= t.edit_gain)
    return fits


def _mostly_along(curves: dict) -> bool:
    """Whether, at the largest shift, more of the weight error lies along 1 per
    dimension than orthogonal to it."""
    return bool(curves["along_share"][-1] > 0.5)


def judge_accounts(per_seed: list[dict], mean: dict, t: Thresholds) -> dict:
    """{family: {account: {"per_seed": [fits], "mean": fits, "holds": ...}}} from each
    seed's and the mean `algorithm.json` record, on the mean shift and on its control
    (w ⊥ 1): an account holds when it fits the seed mean and at least `seed_share` of
    the seeds. Only the LayerNorm account has a causal edit, made on the mean shift."""

    def fits(record: dict, family: str, name: str) -> bool:
        edit = record["causal_edit"]["context"] if name == "layernorm" else None
        measured = record["context_query"][family]["context"]
        return account_fits(record["accounts"][family][name], measured, edit, t)

    out: dict = {}
    for family, accounts in mean["accounts"].items():
        out[family] = {}
        for name in accounts:
            seeds = [fits(r, family, name) for r in per_seed]
            on_mean = fits(mean, family, name)
            out[family][name] = {
                "per_seed": seeds,
                "mean": on_mean,
                "holds": on_mean and sum(seeds) / len(seeds) >= t.seed_share,
            }
    return out


def removes_failure(model: dict, baselines: dict, sizes, t: Thresholds) -> dict:
    """Whether a model (`analysis.remedies.summary`'s entry) removes the failure, per
    training seed and overall: at c = `remedy_shift` of the mean shift its error is
    within `remedy_growth` times its own at c = 0 and below the context-mean
    predictor's, and its in-distribution error at most `remedy_cost` times the
    standard model's. Overall: on the seed means and in at least `seed_share` of the
    seeds."""
    sizes = list(sizes)
    check(t.remedy_shift in sizes, "remedy_shift", t.remedy_shift, f"one of {sizes}")
    at, zero = sizes.index(t.remedy_shift), sizes.index(0.0)
    context_mean = baselines["ones"]["context_mean"][at]

    def passes(curve: list[float], cost: float) -> bool:
        return bool(
            curve[at] <= t.remedy_growth * curve[zero]
            and curve[at] < context_mean
            and cost <= t.remedy_cost
        )

    error, cost = model["median_error"]["ones"], model["cost_ratio"]
    seeds = [passes(c, r) for c, r in zip(error["per_seed"], cost["per_seed"])]
    on_mean = passes(error["mean"], cost["mean"])
    return {
        "per_seed": seeds,
        "mean": on_mean,
        "overall": on_mean and sum(seeds) / len(seeds) >= t.seed_share,
    }


def remedy_rule(t: Thresholds) -> str:
    """The rule `removes_failure` applies, in words, for the results file."""
    return (
        f"at the mean shift c = {t.remedy_shift:g} the median error at the last query "
        f"is at most {t.remedy_growth:g}× the model's own at c = 0 and below the "
        "context-mean predictor's, and the in-distribution error is at most "
        f"{t.remedy_cost:g}× the standard model's (seed mean); overall: on the seed "
        f"means and in at least {t.seed_share:g} of the training seeds"
    )
