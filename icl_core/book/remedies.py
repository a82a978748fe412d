"""The chapter "What removes the failure": its tables and every text it quotes, from
`remedies.json`'s record (`analysis.remedies.summary` with each model's verdict)."""

from __future__ import annotations

import numpy as np

from ..analysis.algorithm import KINDS
from ..analysis.remedies import PRIORS, VARIANTS
from ..core.presets import ARCHITECTURES
from ..core.results import Table, format_range
from ..verdicts.claims import Thresholds
from .glue import as_text

KIND_HEADERS = {
    "ones": "mean c·1",
    "ones_w_perp": "mean c·1, w ⊥ 1",
    "random": "random direction",
    "offsets": "per-point offsets",
    "scale": "scale √(1 + c²)",
}
BASELINE_NAMES = {
    "ols": "least squares",
    "context_mean": "context's mean of y",
    "zero": "zero",
}


def panels(record: dict) -> dict[str, list[str]]:
    """The models of each panel of the chapter's figure, the standard model and the
    coverage model first in both, as far as `record` holds them."""
    first = [m for m in ("standard", "x_mean_spread") if m in record]
    return {
        "priors": first + [m for m in PRIORS if m in record],
        "architectures": first + [m for m in ARCHITECTURES if m in record],
    }


def _at(record: dict, sizes, c: float) -> np.ndarray:
    """The mean shift's median error at size c, per training seed."""
    return np.array(record["median_error"]["ones"]["per_seed"])[:, list(sizes).index(c)]


def learned_table(record: dict, t: Thresholds) -> Table:
    """Per model, its median error at the last query on its own pretraining
    distribution, the seeds in which that error passes the book's learning test
    (below `match_error`), and its error on the standard distribution."""
    headers = [
        "model",
        "error on its own prior",
        f"seeds below {t.match_error:g}",
        "error in distribution (standard prior)",
    ]
    rows = [
        [
            f"`{name}`",
            format_range(m["own_prior_error"]["per_seed"], ".2g"),
            f"{_learned(m, t)} of {len(m['seeds'])}",
            format_range(m["in_distribution_error"]["per_seed"], ".2g"),
        ]
        for name, m in record.items()
    ]
    return headers, rows


def _learned(model: dict, t: Thresholds) -> int:
    """The training seeds whose model passes the learning test on its own prior."""
    return sum(e < t.match_error for e in model["own_prior_error"]["per_seed"])


def verdict_table(record: dict, baselines: dict, sizes, t: Thresholds) -> Table:
    """Per model: its in-distribution cost, its growth and its error against the
    context-mean predictor at c = `remedy_shift`, the seeds that pass the rule and the
    verdict."""
    c = t.remedy_shift
    context_mean = baselines["ones"]["context_mean"][list(sizes).index(c)]
    headers = [
        "model",
        "in-distribution error, × standard",
        f"error at c = {c:g}, × own at c = 0",
        f"error at c = {c:g}, × context's mean of y",
        "seeds passing",
        "removes the failure",
    ]
    rows = []
    for name, m in record.items():
        shifted, base = _at(m, sizes, c), _at(m, sizes, 0.0)
        passed = m["removes_failure"]["per_seed"]
        rows.append(
            [
                f"`{name}`",
                format_range(m["cost_ratio"]["per_seed"], ".2g"),
                format_range(shifted / base, ".2g"),
                format_range(shifted / context_mean, ".2g"),
                f"{sum(passed)} of {len(passed)}",
                "yes" if m["removes_failure"]["overall"] else "no",
            ]
        )
    return headers, rows


def removed_table(record: dict, removed_at) -> Table:
    """Per model, the share of the standard model's shift-induced error it removes
    along the mean shift, at each size in `removed_at`."""
    headers = ["model", *(f"removed at c = {c:g}" for c in removed_at)]
    rows = [
        [
            f"`{name}`",
            *(
                format_range(m["removed_share"]["ones"][f"{c:g}"]["per_seed"], ".2f")
                for c in removed_at
            ),
        ]
        for name, m in record.items()
        if name != "standard"
    ]
    return headers, rows


def kinds_table(record: dict, baselines: dict, sizes, c: float) -> Table:
    """Median error at the last query at size c, for every way of moving x, per model
    (seed mean and range) and per baseline."""
    at = list(sizes).index(c)
    headers = ["model", *(KIND_HEADERS[k] for k in KINDS)]
    rows = [
        [
            f"`{name}`",
            *(
                format_range(np.array(m["median_error"][k]["per_seed"])[:, at], ".2g")
                for k in KINDS
            ),
        ]
        for name, m in record.items()
    ]
    rows += [
        [BASELINE_NAMES[b], *(format(baselines[k][b][at], ".2g") for k in KINDS)]
        for b in ("context_mean", "zero")
    ]
    return headers, rows


def battery_table(record: dict, battery_baselines: dict) -> Table:
    """Per model, over Garg et al.'s battery and the paper's mean shifts: how many
    settings it beats both predictors that ignore x on, and its error over the
    standard model's (median over settings)."""
    settings = list(battery_baselines)
    trivial = np.array(
        [
            min(battery_baselines[s]["context_mean"], battery_baselines[s]["zero"])
            for s in settings
        ]
    )
    standard = np.array([record["standard"]["battery"][s]["mean"] for s in settings])
    headers = [
        "model",
        f"settings beating both trivial predictors (of {len(settings)})",
        "error ÷ standard model's, median over settings",
    ]
    rows = []
    for name, m in record.items():
        per_seed = np.array([m["battery"][s]["per_seed"] for s in settings]).T
        rows.append(
            [
                f"`{name}`",
                format_range((per_seed < trivial).sum(axis=1), ".3g"),
                format_range(np.median(per_seed / standard, axis=1), ".2g"),
            ]
        )
    return headers, rows


def texts(
    record: dict, baselines: dict, sizes, t: Thresholds, preset: str, n_prompts: int
) -> dict[str, str]:
    """Every text the chapter quotes, by glue name."""
    removing = [m for m, r in record.items() if r["removes_failure"]["overall"]]
    priors = [m for m in removing if m in PRIORS or m == "x_mean_spread"]
    norms = [m for m in removing if m in ("rmsnorm", "raw_embedding")]
    six = [m for m in removing if m in VARIANTS]
    conclusion = [
        PRIOR_SENTENCE[bool(priors)].format(names=_names(priors) if priors else ""),
        NORM_SENTENCE[bool(norms)].format(names=_names(norms) if norms else ""),
    ]
    if "relative_to_first" in record:
        reference = record["relative_to_first"]
        cost = format_range(reference["cost_ratio"]["per_seed"], ".2g") + "×"
        passes = reference["removes_failure"]["overall"]
        conclusion.append(
            REFERENCE_SENTENCE[passes].format(cost=cost, limit=f"{t.remedy_cost:g}")
        )
    out = {
        "rem_preset": preset,
        "rem_n_seeds": as_text(
            max((len(record[m]["seeds"]) for m in VARIANTS if m in record), default=0)
        ),
        "rem_seed_share": f"{t.seed_share:g}",
        "rem_n_prompts": as_text(n_prompts),
        "rem_shift": f"{t.remedy_shift:g}",
        "rem_growth": f"{t.remedy_growth:g}",
        "rem_cost": f"{t.remedy_cost:g}",
        "rem_conclusion": " ".join(conclusion),
        "rem_removing": _names(removing) if removing else "none",
        "rem_trade": TRADE[bool(removing)],
        "rem_unlearned": _unlearned_sentence(record, t),
        "rem_short": SHORT[min(len(six), 2)].format(names=_names(six) if six else ""),
    }
    for name, m in record.items():
        out[f"rem_cost_{name}"] = format_range(m["cost_ratio"]["per_seed"], ".2g") + "×"
        out[f"rem_in_{name}"] = format_range(
            m["in_distribution_error"]["per_seed"], ".2g"
        )
        shifted = _at(m, sizes, t.remedy_shift)
        out[f"rem_growth_{name}"] = (
            format_range(shifted / _at(m, sizes, 0.0), ".2g") + "×"
        )
        out[f"rem_error_{name}"] = format_range(shifted, ".2g")
    at = list(sizes).index(t.remedy_shift)
    out["rem_context_mean"] = format(baselines["ones"]["context_mean"][at], ".2g")
    return out | _group_texts(record, t)


# the groups the closing reading compares; the coverage model is a prior too
GROUPS = {
    "priors": ("x_mean_spread", *PRIORS),
    "normalisation": ("rmsnorm", "raw_embedding"),
}


def _group_texts(record: dict, t: Thresholds) -> dict[str, str]:
    """The closing reading: how much of the standard model's shift-induced error each
    group removes at c = `remedy_shift` and at what in-distribution cost (seed means,
    the group's smallest to largest)."""
    c = f"{t.remedy_shift:g}"

    def span(names, value) -> tuple[float, float]:
        values = [value(record[m]) for m in names]
        return min(values), max(values)

    def removed(m):
        return m["removed_share"]["ones"][c]["mean"]

    def cost(m):
        return m["cost_ratio"]["mean"]

    groups = {g: [m for m in names if m in record] for g, names in GROUPS.items()}
    if not all(groups.values()) or "relative_to_first" not in record:
        return {"rem_removed": "", "rem_costs": ""}
    (p0, p1), (n0, n1) = (span(groups[g], removed) for g in GROUPS)
    (q0, q1), (m0, m1) = (span(groups[g], cost) for g in GROUPS)
    invariant = record["relative_to_first"]
    return {
        "rem_removed": f"At c = {c}, the priors remove {p0:.2f} to {p1:.2f} of the "
        f"standard model's shift-induced error, the changes to the normalisation "
        f"{n0:.2f} to {n1:.2f}, and the model invariant by construction "
        f"{removed(invariant):.2f} (seed means; a negative share is error a change "
        "adds).",
        "rem_costs": f"Their in-distribution errors are ×{q0:.2g} to ×{q1:.2g} the "
        f"standard model's for the priors, ×{m0:.2g} to ×{m1:.2g} for the changes to "
        f"the normalisation, and ×{cost(invariant):.2g} for the invariant model.",
    }


def _unlearned_sentence(record: dict, t: Thresholds) -> str:
    """Which models fail the learning test on their own prior in every seed."""
    never = [m for m, r in record.items() if _learned(r, t) == 0]
    if not never:
        return (
            "Every model passes the book's learning test on its own prior in some seed."
        )
    return UNLEARNED[min(len(never), 2)].format(
        names=_names(never), match_error=f"{t.match_error:g}"
    )


def _names(models: list[str]) -> str:
    quoted = list(models)
    return (
        quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
    )


# whether some prior (the coverage model's included) removes the failure
PRIOR_SENTENCE = {
    True: "A wider prior removes the failure by the rule: {names}.",
    False: "No prior removes the failure by the rule; every one of them pays for what "
    "it gains under the shift with its in-distribution error, or gains too little.",
}
# whether a change to the normalisation (RMSNorm, the raw embedding) removes it
NORM_SENTENCE = {
    True: "A change to how the network normalises its input removes it: {names}.",
    False: "Neither change to how the network normalises its input removes it.",
}
# whether the model invariant by construction passes the rule
REFERENCE_SENTENCE = {
    True: "The model that is invariant by construction passes, at an in-distribution "
    "error of {cost} the standard model's: what invariance costs this construction at "
    "this scale.",
    False: "The model that is invariant by construction removes the shift-induced "
    "error entirely and fails the rule on its in-distribution cost alone, {cost} the "
    "standard model's error against the rule's ×{limit}.",
}


# the intro's sentence, by how many of the six variants remove the failure
SHORT = {
    0: "no change of prior or architecture passes a rule set in advance",
    1: "of six changes of prior or architecture, only {names} passes a rule set in "
    "advance",
    2: "of six changes of prior or architecture, {names} pass a rule set in advance",
}

# whether some model passes the rule
TRADE = {
    False: "The rule asks for two things at once, an error that stays flat under the "
    "shift and an in-distribution error near the standard model's, and at this scale "
    "no model delivers both.",
    True: "The rule asks for two things at once, an error that stays flat under the "
    "shift and an in-distribution error near the standard model's; the models that "
    "pass it deliver both, and the costs above say at what price the others fail.",
}

# the models that fail the learning test on their own prior in every seed, by count
UNLEARNED = {
    1: "{names} does not learn its own prior in any seed (its median error there stays "
    "above {match_error}, the book's learning test). It is kept: that the wider prior "
    "is not learned at this size is part of the answer.",
    2: "{names} do not learn their own priors in any seed (their median error there "
    "stays above {match_error}, the book's learning test). They are kept: that the "
    "wider priors are not learned at this size is part of the answer.",
}
