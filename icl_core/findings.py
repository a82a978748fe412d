"""The verdicts of "Beyond the paper": this book's own findings, judged in the
scorecard's form from the results its chapters saved.

Each finding is judged on every training seed alone and on the across-seed mean of its
quantity; it holds when it holds for the mean and in at least `seed_share` of the
seeds, as in the scorecard."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from .battery import SETTINGS
from .coverage import invariant_range
from .provenance import checkpoint_hashes, read_consistent
from .scorecard import Verdict, verdict_record
from .seeds import format_range
from .storage import write_json

RESULTS = ("signature_intervention", "garg_battery", "coverage")
# the models findings D to G compare with the standard model
COVERAGE_MODELS = ("x_mean_spread", "x_mean_spread_random")


@dataclass(frozen=True)
class FindingThresholds:
    invariance_factor: float = 10.0  # error growth that still counts as surviving
    correlation: float = 0.5  # Spearman of signature score with low loss
    alignment_drop: float = 0.2  # drop of the signature score that counts as lost
    training_range: float = 4.0  # |c| up to which the coverage models saw means


def last_defined(entry: dict, defined: int) -> float:
    """A method's median error at the last position at which its setting is defined."""
    return entry["median"][defined - 1]


def battery_table(settings: dict) -> dict[str, dict[str, float]]:
    """setting -> the transformer's and OLS's median error at the last defined query,
    the transformer's relative to its in-distribution error, and the signature score."""
    rows = {
        name: {
            "transformer": last_defined(s["transformer"], s["defined"]),
            "ols": last_defined(s["ols"], s["defined"]),
            "signature_score": s["signature_score"],
        }
        for name, s in settings.items()
    }
    base = rows["standard"]["transformer"]
    return {
        name: {**row, "ratio": row["transformer"] / base} for name, row in rows.items()
    }


def battery_measures(seed: dict) -> tuple[float, float]:
    """The worst growth of the transformer's error over Garg et al.'s settings (against
    the larger of its in-distribution error and OLS's in the setting), and the Spearman
    coefficient of the settings' signature score with low error."""
    table = battery_table({**seed["settings"], **seed["paper_shifts"]})
    base = table["standard"]["transformer"]
    worst = max(
        table[s]["transformer"] / max(base, table[s]["ols"])
        for s in SETTINGS
        if s != "standard"
    )
    rho = stats.spearmanr(
        [row["signature_score"] for row in table.values()],
        [-row["transformer"] for row in table.values()],
    ).statistic
    return float(worst), float(rho)


def _coverage(data: dict, index: int, training_range: float, factor: float) -> dict:
    """One training seed's reach, growth at the sweep's edge and signature drop."""
    shifts = np.asarray(data["shifts"], float)
    seed = {m: data["seeds"][m][index] for m in data["models"]}
    zero = np.flatnonzero(shifts == 0)[0]
    inside = np.flatnonzero(np.abs(shifts) == training_range)
    edge = np.flatnonzero(np.abs(shifts) == np.abs(shifts).max())

    def error(model):
        return np.asarray(seed[model]["median_error"])

    def drop(model):
        score = np.asarray(seed[model]["signature_score"])
        return float(score[zero] - score[inside].min())

    return {
        "reach": invariant_range(shifts, error("x_mean_spread"), factor),
        "edge": float(
            error("x_mean_spread")[edge].min() / error("x_mean_spread")[zero]
        ),
        "drop": drop("x_mean_spread"),
        "standard_drop": drop("standard"),
        "random_reach": invariant_range(shifts, error("x_mean_spread_random"), factor),
    }


def findings(
    folder: str | Path, t: FindingThresholds = FindingThresholds(), seed_share=0.8
) -> list[Verdict]:
    """Judge every finding from the results in `folder`, refusing results computed
    from checkpoints that have changed since."""
    data = read_consistent(folder, RESULTS)
    intervention, battery, coverage = (data[name] for name in RESULTS)
    verdicts = []

    def add(finding, criterion, values, holds, per_seed=None, fmt=".2f", unit=""):
        if values is None:  # the preset lacks the models the finding compares
            measured = "coverage models not trained at this preset"
            verdicts.append(Verdict(finding, measured, criterion, None, 0, 0))
            return
        per_seed = per_seed if per_seed is not None else [holds(v) for v in values]
        verdicts.append(
            Verdict(
                finding,
                f"{format_range(values, fmt)}{unit}",
                criterion,
                bool(
                    holds(float(np.mean(values)))
                    and sum(per_seed) >= seed_share * len(per_seed)
                ),
                int(sum(per_seed)),
                len(per_seed),
            )
        )

    by_seed = intervention["conclusion_by_seed"]
    verdicts.append(
        Verdict(
            "A. Transplanting the signature does not restore the loss: the signature "
            "is only correlated with it",
            f"'{intervention['conclusion']}' for the seed mean, at layer "
            f"{intervention['best_layer']}",
            "the intervention chapter's verdict is 'only correlated'",
            intervention["conclusion"] == "only correlated"
            and by_seed.count("only correlated") >= seed_share * len(by_seed),
            by_seed.count("only correlated"),
            len(by_seed),
        )
    )
    worst, rho = zip(*(battery_measures(seed) for seed in battery["seeds"]))
    add(
        "B. Garg et al.'s robustness reproduces: the transformer survives every "
        "setting of their battery",
        f"worst error at the last query ≤ ×{t.invariance_factor:g} the larger of its "
        "in-distribution error and OLS's error in the setting",
        worst,
        lambda v: v <= t.invariance_factor,
        fmt=".3g",
        unit="×",
    )
    add(
        "C. Across Garg et al.'s settings and the mean shift, the signature predicts "
        "loss",
        f"Spearman of the settings' signature score with low error ≥ {t.correlation}",
        rho,
        lambda v: v >= t.correlation,
    )
    r, factor = t.training_range, t.invariance_factor
    trained = set(COVERAGE_MODELS) <= set(coverage["models"])
    n = min(len(v) for v in coverage["seeds"].values())
    cov = [_coverage(coverage, i, r, factor) for i in range(n)] if trained else None

    def per_seed_values(key):
        return [c[key] for c in cov] if trained else None

    edge = max(np.abs(coverage["shifts"]))
    add(
        f"D. Pretraining on means c ~ U[-{r:g}, {r:g}] along 1 makes the transformer "
        "shift-invariant inside that range",
        f"error within ×{factor:g} of c = 0 for every c in [-{r:g}, {r:g}] (measured: "
        "the largest such bound)",
        per_seed_values("reach"),
        lambda v: v >= r,
        fmt=".3g",
    )
    add(
        "E. ... but not beyond it",
        f"error at c = ±{edge:g} > ×{factor:g} that at c = 0",
        per_seed_values("edge"),
        lambda v: v > factor,
        fmt=".3g",
        unit="×",
    )
    add(
        "F. Its signature widens with it",
        f"signature score drops by < {t.alignment_drop} from c = 0 to c = ±{r:g}, "
        f"the standard model's (same seed) by ≥ {t.alignment_drop}",
        per_seed_values("drop"),
        lambda v: v < t.alignment_drop,
        per_seed=[c["drop"] < t.alignment_drop <= c["standard_drop"] for c in cov]
        if trained
        else None,
    )
    add(
        "G. Means along random directions cover the all-ones direction too",
        f"error within ×{factor:g} of c = 0 for every c in [-{r:g}, {r:g}] along 1 "
        "(measured: the largest such bound)",
        per_seed_values("random_reach"),
        lambda v: v >= r,
        fmt=".3g",
    )
    return verdicts


def write_findings(path: str | Path, verdicts: list[Verdict], seed_share: float):
    """`findings.json` beside the results it judged, in the scorecard's form."""
    data = read_consistent(Path(path).parent, RESULTS)
    checkpoints = {
        k: v for name in RESULTS for k, v in checkpoint_hashes(data[name]).items()
    }
    write_json(path, verdict_record(verdicts, seed_share, "findings", checkpoints))
