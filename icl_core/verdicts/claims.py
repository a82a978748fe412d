"""Every claim of the paper and every finding of this book, defined once: its text, the
quantity it is judged on, the threshold and the side of it on which the claim holds,
and what else it requires. The scorecard, the findings and the Scale chapter all judge
and plot through these definitions; `quantities` is the one place where a verdict's
numbers are read out of the results files."""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass, field
from typing import Any

from ..core.config import check, finite_number


@dataclass(frozen=True)
class Thresholds:
    """The criteria's numbers: chapter parameters, so a reader can move them."""

    match_error: float = 0.05  # claim 1: transformer's median error at the last query
    collapse_ratio: float = 0.5  # claim 2: accuracy kept at the largest shift
    invariance_factor: float = 10.0  # claim 3, findings B, D, E, G: error growth
    shared_alignment: float = 0.9  # claim 4: in-distribution signature score
    alignment_drop: float = 0.2  # claim 5, finding F: drop of the signature score
    correlation: float = 0.5  # claim 6, finding C: Spearman with low loss
    training_range: float = 4.0  # findings D, F, G: |c| the coverage models saw
    bound_share: float = 0.05  # parts 2a, 3a: share of targets beyond the bound
    # parts 4a, 4b, 5a, 7ba: how far the trained model's score (or score drop, or
    # own-distribution advantage) must exceed both its embedding's (layer 0) and the
    # untrained model's
    input_margin: float = 0.1
    # every verdict: the share of training seeds in which it must hold as well as for
    # the across-seed mean
    seed_share: float = 0.8
    # "What it computes instead": how close an account's predicted shrinkage must lie
    # to the measured one at every shift, and how much more than the control the
    # causal edit must restore it for the LayerNorm account
    shrinkage_tolerance: float = 0.1
    edit_gain: float = 0.1
    # "What removes the failure": a variant removes it when at the mean shift
    # c = remedy_shift its error stays within remedy_growth times its own at c = 0 and
    # below the context-mean predictor's, at an in-distribution error at most
    # remedy_cost times the standard model's
    remedy_shift: float = 8.0
    remedy_growth: float = 3.0
    remedy_cost: float = 2.0
    # finding H: how far the signature's AUROC must exceed the best input-only
    # detector's on some shift that leaves x in distribution
    detector_margin: float = 0.05

    def __post_init__(self):
        for name in (f.name for f in dataclasses.fields(self)):
            value = getattr(self, name)
            check(finite_number(value), name, value, "a finite number")
        check(
            0 < self.seed_share <= 1, "seed_share", self.seed_share, "a share in (0, 1]"
        )

    @classmethod
    def from_namespace(cls, namespace: dict[str, Any]) -> "Thresholds":
        """The thresholds a chapter sets among its parameters; the others default."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in namespace.items() if k in names})


COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


@dataclass(frozen=True)
class Condition:
    """`quantity op threshold`; the threshold a `Thresholds` field or a number."""

    quantity: str
    op: str
    threshold: str | float

    def bound(self, t: Thresholds) -> float:
        return (
            getattr(t, self.threshold)
            if isinstance(self.threshold, str)
            else self.threshold
        )

    def holds(self, q: dict[str, Any], t: Thresholds, scale: float = 1.0) -> bool:
        """Whether `q` meets the condition, its threshold multiplied by `scale`; a
        quantity not measured does not."""
        value = q.get(self.quantity)
        return value is not None and bool(
            COMPARE[self.op](value, self.bound(t) * scale)
        )

    def margin(self, value: float, t: Thresholds) -> float:
        """How far `value` lies from the threshold, as a share of it: positive on the
        side where the condition holds (the difference where the threshold is 0)."""
        bound = self.bound(t)
        above = value - bound if self.op in (">", ">=") else bound - value
        return float(above / abs(bound)) if bound else float(above)


@dataclass(frozen=True)
class Explanation:
    """A simpler explanation that a part of a claim re-measures the claim without:
    `rests_on`, what a verdict needs where it fails the part; `fails_on`, what a
    failing verdict's failure rests on where it holds under the part."""

    title: str  # a few words, for the tables
    rests_on: str
    fails_on: str


EXPLANATIONS = {
    c.title: c
    for c in (
        Explanation(
            "within the bound",
            "shifts at which targets lie beyond the output bound",
            "targets beyond the output bound",
        ),
        Explanation(
            "on the control family",
            "targets that grow with the shift",
            "targets that grow with the shift",
        ),
        Explanation(
            "without the final LayerNorm",
            "the final LayerNorm's read-out",
            "the final LayerNorm's read-out",
        ),
        Explanation(
            "in normalised error",
            "errors measured in absolute units",
            "errors measured in absolute units",
        ),
        Explanation(
            "beyond the input",
            "what the trained embedding (layer 0) or the untrained model already "
            "shows",
            "what the embedding or the untrained model show",
        ),
        Explanation("centred", "the prompts' mean token", "the prompts' mean token"),
        Explanation(
            "σ1 beyond the input",
            "the growth of σ1 that the embedding already shows",
            "σ1 growth in the embedding",
        ),
        Explanation(
            "within a shift level",
            "differences between pooled shift levels",
            "pooling across shift levels",
        ),
        Explanation(
            "beyond predictors that ignore x",
            "a distribution on which every model fails, its own least",
            "every model failing there",
        ),
        Explanation(
            "beyond model-free predictors",
            "what statistics of the prompt already predict",
            "what statistics of the prompt predict",
        ),
    )
}


@dataclass(frozen=True)
class Claim:
    """One verdict's definition. `text`, `criterion` and `measured` are templates over
    the thresholds and the quantities; without `measured`, the key quantity's seed mean
    and range are shown (with `fmt`, after `unit`)."""

    key: str  # "1" … "7" for the paper's claims, "A" … "G" for this book's findings
    results: str  # the results file whose training seeds it is judged over
    text: str
    title: str  # a few words, for figure panels
    key_condition: Condition
    label: str  # the key quantity, for an axis
    criterion: str
    measured: str | None = None
    fmt: str = ".2f"
    unit: str = ""
    # further conditions, all required; each a tuple of alternatives, one enough
    requires: tuple[tuple[Condition, ...], ...] = ()
    # the mean-level verdict reads the mean of the per-seed quantities, not the quantity
    # of the across-seed mean results (for results whose top level is not that mean)
    mean_of_seeds: bool = False
    log: bool = False
    untested: str = ""  # what is shown where the preset lacks the models it needs
    explanation: Explanation | None = None  # a part's: the one it rules out
    part_of: str = ""  # a part's: the key of the claim or finding it re-measures
    # False for a share that must be complete (its threshold is 1, all): its margin is
    # recorded, but it has no edge and is not re-judged at other thresholds
    graded: bool = True

    @property
    def quantity(self) -> str:
        return self.key_condition.quantity

    def holds(
        self, q: dict[str, Any], t: Thresholds, scale: float = 1.0
    ) -> bool | None:
        """Whether the claim holds on quantities `q`, its key threshold multiplied by
        `scale`; None where its key quantity was not measured (the preset lacks the
        models it compares)."""
        if q.get(self.quantity) is None:
            return None
        return self.key_condition.holds(q, t, scale) and all(
            any(c.holds(q, t) for c in alternatives) for alternatives in self.requires
        )

    def heading(self, t: Thresholds) -> str:
        return f"{self.key}. {self.text.format(**dataclasses.asdict(t))}"


def _growth_is_small(method: str) -> tuple[Condition, ...]:
    return (
        Condition(f"{method}_growth_largest", "<", "invariance_factor"),
        Condition(f"{method}_error_largest", "<", 1e-6),
    )


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "1",
        "in_distribution",
        "In distribution, the transformer matches least squares",
        "matches OLS",
        Condition("in_distribution_error", "<", "match_error"),
        "median error, last query",
        "transformer's median error < {match_error}",
        "median error at last query {in_distribution_error:.3g} "
        "(OLS {ols_in_distribution_error:.1g})",
        log=True,
    ),
    Claim(
        "2",
        "distribution_shift",
        "Under a mean shift of x, the transformer fails while OLS does not",
        "accuracy collapses",
        Condition("accuracy_kept", "<", "collapse_ratio"),
        "accuracy at largest c ÷ at c = 0",
        "OLS accuracy ≥ 99% at every c and transformer's at c = {c_max} < "
        "{collapse_ratio:.0%} of its c = 0 value",
        "accuracy {accuracy_0:.0%} → {accuracy_largest:.0%} at c = {c_max} "
        "(OLS at least {ols_accuracy_min:.0%} at every c); tolerance {tolerance}",
        requires=((Condition("ols_accuracy_min", ">=", 0.99),),),
    ),
    Claim(
        "3",
        "distribution_shift",
        "The failure is inconsistent with an implemented algorithm (OLS, ridge)",
        "not shift-invariant",
        Condition("error_growth_largest", ">", "invariance_factor"),
        "error growth, largest c",
        "OLS and ridge error at c = {c_max} ≤ ×{invariance_factor:g} their c = 0 "
        "value or < 1e-6, transformer's > ×{invariance_factor:g}",
        "median error at c = 0 → c = {c_max}: "
        "transformer {transformer_error_0:.2g} → {transformer_error_largest:.2g}; "
        "OLS {ols_error_0:.2g} → {ols_error_largest:.2g}; "
        "ridge {ridge_error_0:.2g} → {ridge_error_largest:.2g}; "
        "10-step GD {gd_error_0:.2g} → {gd_error_largest:.2g}",
        requires=(_growth_is_small("ols"), _growth_is_small("ridge")),
        log=True,
    ),
    Claim(
        "4",
        "spectral",
        "In-distribution prompts share a spectral signature",
        "shared signature",
        Condition("signature_in_distribution", ">=", "shared_alignment"),
        "signature score, c = 0",
        "score ≥ {shared_alignment}",
        "mean signature score {signature_in_distribution:.2f} at layer {layer:.0f}",
    ),
    Claim(
        "5",
        "spectral",
        "Shifted prompts lack it and have larger leading singular values",
        "shifted prompts lose it",
        Condition("signature_drop", ">=", "alignment_drop"),
        "score drop, c = 0 → largest c",
        "score drops by ≥ {alignment_drop} and σ1 grows",
        "score {signature_in_distribution:.2f} → {signature_largest:.2f}, "
        "σ1 {sigma1_0:.3g} → {sigma1_largest:.3g} at c = {c_max}",
        requires=((Condition("sigma1_growth", ">", 1.0),),),
    ),
    Claim(
        "6",
        "spectral",
        "The signature predicts loss",
        "signature predicts loss",
        Condition("spearman", ">=", "correlation"),
        "Spearman with low loss",
        "Spearman of score with low loss ≥ {correlation}, 95% interval above 0",
        "Spearman {spearman:.2f} (95% interval {spearman_low:.2f} to "
        "{spearman_high:.2f}) over {pooled_prompts:.0f} prompts",
        requires=((Condition("spearman_low", ">", 0.0),),),
    ),
    Claim(
        "7a",
        "pretraining",
        "Pretraining moves where the model generalises",
        "pretraining moves where it works",
        Condition("own_error_ratio", "<", 1.0),
        "own model's error ÷ best other's",
        "on every pretraining distribution, the model pretrained on it has the lowest "
        "error: its error ÷ the best other model's < 1 (measured: the largest over the "
        "distributions)",
        "own model lowest on {own_lowest_error:.2g} of {n_pretrained:.0f} "
        "distributions (mean over seeds)",
        fmt=".2f",
        unit="×",
        mean_of_seeds=True,
        untested="only {pretrained_models} pretrained at this preset",
    ),
    Claim(
        "7b",
        "pretraining",
        "Pretraining moves the signature with it",
        "pretraining moves the signature",
        Condition("own_highest_score_share", ">=", 1.0),
        "share of models whose own distribution scores highest",
        "for every pretrained model, its own distribution has the highest signature "
        "score",
        "own distribution highest score for {own_highest_score} of {n_pretrained} "
        "models (seed-mean scores; per seed: {own_highest_score_by_seed})",
        untested="only {pretrained_models} pretrained at this preset",
        graded=False,
    ),
)

FREE_UNTESTED = "no model without the final LayerNorm trained at this preset"


def part(
    claim: str,
    part: str,
    title: str,
    condition: Condition,
    results: str = "output_range",
    text: str | None = None,
    **kw,
) -> Claim:
    """A part of a claim (or a finding): the claim re-measured without one simpler
    explanation (`EXPLANATIONS[title]`)."""
    texts = {
        "a": "within the bound: at the largest c with at most {bound_share:.0%} of "
        "targets beyond it",
        "b": "on the control family x ~ N(c·1, I), w ⊥ 1 (y in its training range)",
        "c": "for models trained without the final LayerNorm (its bound removed; the "
        "blocks' own LayerNorms remain)",
        "d": "in normalised error (each prompt's error ÷ its context's spread of y)",
    }
    return Claim(
        f"{claim}{part}",
        results,
        f"… {text or texts[part]}",
        title,
        condition,
        condition.quantity,
        explanation=EXPLANATIONS[title],
        part_of=claim,
        **kw,
    )


IN_BOUND_UNTESTED = (
    "no shift has at most {bound_share:.0%} of its targets beyond the bound"
)

# claims 2 to 6 re-measured where the output bound, the units, the size of y, the
# input alone or pooling cannot carry them: each a part of its claim's row in the
# scorecard
CLAIM_PARTS: tuple[Claim, ...] = (
    part(
        "2",
        "a",
        "within the bound",
        Condition("accuracy_kept_in_bound", "<", "collapse_ratio"),
        criterion="accuracy at that c < {collapse_ratio:.0%} of its c = 0 value",
        measured="accuracy {accuracy_in_bound:.0%} at c = {c_in_bound:g} (share "
        "beyond the bound there ≤ {bound_share:.0%}; at c = {c_largest:g}: "
        "{share_at_largest:.0%})",
        untested=IN_BOUND_UNTESTED,
    ),
    part(
        "2",
        "b",
        "on the control family",
        Condition("accuracy_kept_control", "<", "collapse_ratio"),
        criterion="accuracy at c = {c_largest:g} < {collapse_ratio:.0%} of its c = 0 "
        "value",
        measured="accuracy {control_accuracy_0:.0%} → {control_accuracy_largest:.0%}",
    ),
    part(
        "2",
        "c",
        "without the final LayerNorm",
        Condition("accuracy_kept_free", "<", "collapse_ratio"),
        criterion="accuracy at c = {c_largest:g} < {collapse_ratio:.0%} of its c = 0 "
        "value",
        measured="accuracy {free_accuracy_0:.0%} → {free_accuracy_largest:.0%}",
        untested=FREE_UNTESTED,
    ),
    part(
        "2",
        "d",
        "in normalised error",
        Condition("accuracy_kept_normalised", "<", "collapse_ratio"),
        criterion="accuracy on normalised error at c = {c_largest:g} < "
        "{collapse_ratio:.0%} of its c = 0 value",
        measured="accuracy {normalised_accuracy_0:.0%} → "
        "{normalised_accuracy_largest:.0%}",
    ),
    part(
        "3",
        "a",
        "within the bound",
        Condition("error_growth_in_bound", ">", "invariance_factor"),
        criterion="transformer's median error at that c > ×{invariance_factor:g} its "
        "c = 0 value",
        measured="×{error_growth_in_bound:.3g} at c = {c_in_bound:g}",
        untested=IN_BOUND_UNTESTED,
        log=True,
    ),
    part(
        "3",
        "b",
        "on the control family",
        Condition("error_growth_control", ">", "invariance_factor"),
        criterion="OLS exact (< 1e-6) and the transformer's median error at "
        "c = {c_largest:g} > ×{invariance_factor:g} its c = 0 value",
        measured="{control_error_0:.2g} → {control_error_largest:.2g} "
        "(OLS ≤ {ols_control_error_max:.1g})",
        requires=((Condition("ols_control_error_max", "<", 1e-6),),),
        log=True,
    ),
    part(
        "3",
        "c",
        "without the final LayerNorm",
        Condition("error_growth_free", ">", "invariance_factor"),
        criterion="median error at c = {c_largest:g} > ×{invariance_factor:g} its "
        "c = 0 value",
        measured="{free_error_0:.2g} → {free_error_largest:.2g}",
        untested=FREE_UNTESTED,
        log=True,
    ),
    part(
        "3",
        "d",
        "in normalised error",
        Condition("error_growth_normalised", ">", "invariance_factor"),
        criterion="normalised median error at c = {c_largest:g} > "
        "×{invariance_factor:g} its c = 0 value",
        measured="{normalised_error_0:.2g} → {normalised_error_largest:.2g}",
        log=True,
    ),
    part(
        "4",
        "a",
        "beyond the input",
        Condition("signature_beyond_input", ">=", "input_margin"),
        "spectral",
        "beyond the input: above the trained embedding (layer 0) and the untrained "
        "model",
        criterion="score ≥ {shared_alignment}, and ≥ {input_margin} above both the "
        "embedding's (layer 0) and the untrained model's at layer {layer:.0f} (measured: "
        "the margin over the larger, per seed)",
        requires=((Condition("signature_in_distribution", ">=", "shared_alignment"),),),
        mean_of_seeds=True,
    ),
    part(
        "4",
        "b",
        "centred",
        Condition("signature_centred", ">=", "shared_alignment"),
        "spectral",
        "with each prompt's mean token removed (centred residual matrices), above "
        "the embedding and the untrained model centred alike",
        criterion="centred score ≥ {shared_alignment}, and ≥ {input_margin} above "
        "both references' centred scores",
        requires=((Condition("centred_beyond_input", ">=", "input_margin"),),),
        mean_of_seeds=True,
    ),
    part(
        "5",
        "a",
        "beyond the input",
        Condition("drop_beyond_input", ">=", "input_margin"),
        "spectral",
        "beyond the input: its score drops more than the embedding's (layer 0) and "
        "the untrained model's",
        criterion="score drop ≥ {input_margin} above both references' drops "
        "(measured: the margin over the larger, per seed)",
        mean_of_seeds=True,
    ),
    part(
        "5",
        "b",
        "σ1 beyond the input",
        Condition("sigma1_growth_beyond_input", ">", 1.0),
        "spectral",
        "its σ1 grows more than the embedding's (layer 0) and the untrained model's",
        criterion="σ1's growth ÷ the larger of both references' growths > 1",
        fmt=".2f",
        unit="×",
        mean_of_seeds=True,
    ),
    part(
        "6",
        "a",
        "within a shift level",
        Condition("within_shift_spearman", ">=", "correlation"),
        "spectral",
        "within a shift level, not only across pooled levels",
        criterion="Spearman within each shift level, averaged over the levels, ≥ "
        "{correlation}, 95% intervals above 0",
        measured="{within_shift_spearman:.2f} (95% intervals {within_shift_spearman_low"
        ":.2f} to {within_shift_spearman_high:.2f})",
        requires=((Condition("within_shift_spearman_low", ">", 0.0),),),
    ),
    part(
        "6",
        "b",
        "beyond model-free predictors",
        Condition("partial_spearman", ">=", "correlation"),
        "spectral",
        "beyond what statistics of the prompt (‖x̄‖, rms of x, rms of y) predict",
        criterion="partial Spearman with the three statistics partialled out ≥ "
        "{correlation}, 95% intervals above 0",
        measured="partial {partial_spearman:.2f} (95% intervals {partial_spearman_low"
        ":.2f} to {partial_spearman_high:.2f}); {best_model_free} alone: |ρ| "
        "{best_model_free_spearman:.2f}",
        requires=((Condition("partial_spearman_low", ">", 0.0),),),
    ),
    part(
        "7a",
        "a",
        "beyond predictors that ignore x",
        Condition("own_vs_trivial", "<", 1.0),
        "pretraining",
        "beyond predictors that ignore x: each model's error on its own distribution "
        "below that of predicting the context's mean of y or zero",
        criterion="own model's error ÷ the better predictor that ignores x < 1 on every "
        "distribution (measured: the largest)",
        fmt=".2g",
        unit="×",
        mean_of_seeds=True,
        untested="not recorded at this preset",
    ),
    part(
        "7b",
        "a",
        "beyond the input",
        Condition("own_score_beyond_input", ">=", "input_margin"),
        "pretraining",
        "beyond the input: each model's own-distribution advantage in score above its "
        "embedding's (layer 0) and its untrained twin's",
        criterion="own distribution's score minus the best other's ≥ {input_margin} "
        "above both references' for every model (measured: the smallest margin)",
        mean_of_seeds=True,
        untested="not recorded at this preset",
    ),
)

# part 5c (the centred score drop beyond the input) is not judged: its references,
# the embedding and the untrained model centred alike, do not separate what the
# blocks compute from what any network whose output moves with the shift shows


# a verdict's three values where it was tested: the paper's criterion fails; it passes
# but a part that re-measures the claim without a simpler explanation fails; or both pass
HOLDS, BEFORE_CONTROLS, FAILS = (
    "holds",
    "holds only before its controls",
    "does not hold",
)
NOT_TESTED = "not tested"
EDGE = 0.10  # a key quantity within this share of its threshold is on the edge
THRESHOLD_RANGE = (
    0.75,
    1.25,
)  # the key threshold's multiples each verdict is re-judged at


@dataclass(frozen=True)
class Verdict:
    claim: str
    measured: str  # for the across-seed mean
    criterion: str
    # the paper's criterion: for the mean and in at least `seed_share` of the seeds;
    # None where the preset lacks the models the claim needs (not tested)
    holds: bool | None
    seeds_holding: int
    seeds: int
    key: str = ""  # the claim's or finding's key, e.g. "2" or "2a"
    status: str = NOT_TESTED  # HOLDS, BEFORE_CONTROLS, FAILS or NOT_TESTED
    failed_controls: tuple[str, ...] = ()  # the parts behind BEFORE_CONTROLS
    # the parts that could not be measured at this preset: a verdict that holds
    # without them rests on fewer controls
    untested_controls: tuple[str, ...] = ()
    # the failed parts that are on the edge or hold at a threshold within ±25%:
    # a status that rests on them rests on a hair's breadth
    controls_on_edge: tuple[str, ...] = ()
    # the key quantity's distance from its threshold as a share of it, positive on
    # the side where it holds: {"mean": …, "seeds": […]}
    margin: dict = field(default_factory=dict)
    on_edge: bool = False  # the mean's margin within EDGE of its threshold
    # the verdict with its key threshold multiplied by each of `THRESHOLD_RANGE`
    holds_at: dict = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        """'yes', 'no' or 'not tested', as the tables print it."""
        return OUTCOMES[self.holds]


OUTCOMES = {True: "yes", False: "no", None: "not tested"}
