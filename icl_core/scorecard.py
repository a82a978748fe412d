"""The verdict: one row per claim of the paper, judged from the numbers the chapters
saved.

Each criterion is this book's operationalisation of a claim; its thresholds are
arguments so that a reader can see how the verdict moves with them. Every claim is
judged on the across-seed mean of each quantity and on every training seed alone; it
holds overall when it holds for the mean and in at least `seed_share` of the seeds."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .provenance import read_consistent
from .storage import read_json, write_json

STANDARD_MODEL_RESULTS = ("in_distribution", "distribution_shift", "spectral")
RESULTS = (*STANDARD_MODEL_RESULTS, "pretraining")


@dataclass(frozen=True)
class Verdict:
    claim: str
    measured: str  # for the across-seed mean
    criterion: str
    # overall: for the mean and in at least `seed_share` of the seeds; None where the
    # preset lacks the models the claim needs (not tested)
    holds: bool | None
    seeds_holding: int
    seeds: int

    @property
    def outcome(self) -> str:
        """'yes', 'no' or 'not tested', as the tables print it."""
        return OUTCOMES[self.holds]


OUTCOMES = {True: "yes", False: "no", None: "not tested"}


def held(verdicts: list[Verdict]) -> str:
    """'4 of 7', or '4 of 6 tested' when some verdicts could not be tested."""
    tested = [v for v in verdicts if v.holds is not None]
    total = f"{len(tested)} tested" if len(tested) < len(verdicts) else len(verdicts)
    return f"{sum(v.holds for v in tested)} of {total}"


@dataclass(frozen=True)
class Thresholds:
    match_error: float = 0.05  # claim 1: transformer's median error at the last query
    # claim 2: accuracy at the largest shift vs in distribution
    collapse_ratio: float = 0.5
    # claim 3: how much OLS/ridge error may grow under the shift
    invariance_factor: float = 10.0
    shared_alignment: float = 0.9  # claim 4: in-distribution signature score
    alignment_drop: float = 0.2  # claim 5: drop of the score at the largest shift
    correlation: float = 0.5  # claim 6: Spearman coefficient of score with low loss


def _median(entry: dict) -> np.ndarray:
    return np.asarray(entry["median"])


def _unshifted_and_largest(shifts: list[float], source: str) -> list[int]:
    """Indices of c = 0 and of the largest c, the two ends every shift criterion
    compares."""
    if 0 not in shifts:
        raise ValueError(
            f"shifts={shifts!r} in {source} is not allowed; expected a sweep that includes c = 0"
        )
    return [shifts.index(0), shifts.index(max(shifts))]


def scorecard(
    folder: str | Path, t: Thresholds = Thresholds(), seed_share: float = 0.8
) -> list[Verdict]:
    """Judge every claim from the results in `folder`, refusing results from different
    checkpoints."""
    data = read_consistent(folder, RESULTS, same_models=STANDARD_MODEL_RESULTS)
    ind, shift, spec, pre = (data[name] for name in RESULTS)
    mean = _judge(ind, shift, spec, pre, t)
    n_standard = len(ind["seeds"])
    standard = [
        _judge(*(one_seed(data[name], i) for name in STANDARD_MODEL_RESULTS), pre, t)[
            :6
        ]
        for i in range(n_standard)
    ]
    pretrained = [
        _judge(ind, shift, spec, one_seed(pre, j), t)[6]
        for j in range(len(pre["seeds"]))
    ]
    per_claim = [[seed[k][-1] for seed in standard] for k in range(6)] + [
        [p[-1] for p in pretrained]
    ]
    return [
        Verdict(claim, measured, criterion, None, 0, 0)
        if holds is None
        else Verdict(
            claim,
            measured,
            criterion,
            bool(holds and sum(seeds) >= seed_share * len(seeds)),
            sum(seeds),
            len(seeds),
        )
        for (claim, measured, criterion, holds), seeds in zip(mean, per_claim)
    ]


def one_seed(results: dict, index: int) -> dict:
    """A results file as if computed from its `index`-th seed alone."""
    return {**results, **results["seeds"][index]}


def write_scorecard(
    path: str | Path, verdicts: list[Verdict], seed_share: float
) -> None:
    """`scorecard.json` beside the results it judged, with the checkpoints those were
    computed from."""
    sources = [
        read_json(Path(path).parent / f"{name}.json")["checkpoints"] for name in RESULTS
    ]
    checkpoints = {k: v for record in sources for k, v in record.items()}
    write_json(path, verdict_record(verdicts, seed_share, "claims", checkpoints))


def verdict_record(
    verdicts: list[Verdict], seed_share: float, key: str, checkpoints: dict
) -> dict:
    """The JSON form of judged verdicts: the rule, one entry per verdict under `key`
    (its text under the singular of `key`), and the checkpoints they rest on."""
    return {
        "rule": f"holds for the across-seed mean and in at least {seed_share:.0%} of seeds",
        key: [
            {
                key[:-1]: v.claim,
                "measured": v.measured,
                "criterion": v.criterion,
                "holds": v.holds,
                "seeds_holding": v.seeds_holding,
                "seeds": v.seeds,
            }
            for v in verdicts
        ],
        "checkpoints": checkpoints,
    }


def _judge(
    ind: dict, shift: dict, spec: dict, pre: dict, t: Thresholds
) -> list[tuple[str, str, str, bool | None]]:
    """(claim, measured, criterion, holds) for each claim, from one set of results."""
    tf_last = ind["error_median"]["transformer"][-1]
    ends = _unshifted_and_largest(shift["shifts"], "distribution_shift.json")
    tf_acc = np.asarray(shift["transformer_accuracy"])[ends]
    ols_acc = np.asarray(shift["ols_accuracy"])  # every shift counts
    tf_err, ols_err, ridge_err, gd_err = (
        _median(shift[f"{m}_error"])[ends]
        for m in ("transformer", "ols", "ridge", "gd")
    )
    c_max, tol = max(shift["shifts"]), shift["tolerance"]
    spectral_ends = _unshifted_and_largest(spec["shifts"], "spectral.json")
    score = np.asarray(spec["signature_score"])[spectral_ends]
    s1 = np.asarray(spec["leading_singular_values"]["sigma1"])[spectral_ends]
    rho = spec["spearman_signature_vs_loss"]
    return [
        (
            "1. In distribution, the transformer matches least squares",
            f"median error at last query {tf_last:.3g} (OLS {ind['error_median']['ols'][-1]:.1g})",
            f"transformer's median error < {t.match_error}",
            bool(tf_last < t.match_error),
        ),
        (
            "2. Under a mean shift of x, the transformer fails while OLS does not",
            f"accuracy {tf_acc[0]:.0%} → {tf_acc[-1]:.0%} at c = {c_max} "
            f"(OLS ≥ {ols_acc.min():.0%}); tolerance {tol}",
            f"OLS accuracy ≥ 99% at every c and transformer's at c = {c_max} < "
            f"{t.collapse_ratio:.0%} of its c = 0 value",
            bool(ols_acc.min() >= 0.99 and tf_acc[-1] < t.collapse_ratio * tf_acc[0]),
        ),
        (
            "3. The failure is inconsistent with an implemented algorithm (OLS, ridge)",
            "median error at c = 0 → c = {}: ".format(c_max)
            + "; ".join(
                f"{name} {e[0]:.2g} → {e[-1]:.2g}"
                for name, e in (
                    ("transformer", tf_err),
                    ("OLS", ols_err),
                    ("ridge", ridge_err),
                    ("10-step GD", gd_err),
                )
            ),
            f"OLS and ridge error at c = {c_max} ≤ ×{t.invariance_factor:g} their c = 0 "
            f"value or < 1e-6, transformer's > ×{t.invariance_factor:g}",
            bool(
                all(
                    e[-1] < max(t.invariance_factor * e[0], 1e-6)
                    for e in (ols_err, ridge_err)
                )
                and tf_err[-1] > t.invariance_factor * tf_err[0]
            ),
        ),
        (
            "4. In-distribution prompts share a spectral signature",
            f"mean signature score {score[0]:.2f} at layer {spec['layer']}",
            f"score ≥ {t.shared_alignment}",
            bool(score[0] >= t.shared_alignment),
        ),
        (
            "5. Shifted prompts lack it and have larger leading singular values",
            f"score {score[0]:.2f} → {score[-1]:.2f}, σ1 {s1[0]:.3g} → {s1[-1]:.3g} at c = {c_max}",
            f"score drops by ≥ {t.alignment_drop} and σ1 grows",
            bool(score[0] - score[-1] >= t.alignment_drop and s1[-1] > s1[0]),
        ),
        (
            "6. The signature predicts loss",
            f"Spearman {rho['value']:.2f} (95% interval {rho['low']:.2f} to "
            f"{rho['high']:.2f}) over {rho['pooled_prompts']:.0f} prompts",
            f"Spearman of score with low loss ≥ {t.correlation}, 95% interval above 0",
            bool(rho["value"] >= t.correlation and rho["low"] > 0),
        ),
        _claim_7(pre),
    ]


def _claim_7(pre: dict) -> tuple[str, str, str, bool | None]:
    """Claim 7 compares models pretrained on different distributions: not tested where
    the pretraining chapter ran with fewer than two."""
    claim = "7. Pretraining shapes the signature and where the model generalises"
    criterion = "both, for every pretraining distribution"
    n = len(pre["models"])
    if n < 2:
        return (
            claim,
            f"only {', '.join(pre['models'])} pretrained at this preset",
            criterion,
            None,
        )
    return (
        claim,
        f"own model lowest error on {sum(pre['lowest_error_is_own_model'])} of {n} "
        f"distributions; own distribution highest score for "
        f"{sum(pre['highest_score_is_own_distribution'])} of {n} models",
        criterion,
        bool(
            all(pre["lowest_error_is_own_model"])
            and all(pre["highest_score_is_own_distribution"])
        ),
    )
