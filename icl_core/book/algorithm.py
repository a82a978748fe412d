"""The chapter "What it computes instead": each text it quotes and its tables, from the
per-seed records of `analysis.algorithm.measure` and the accounts judged on them."""

from __future__ import annotations

import numpy as np

from ..analysis.algorithm import ACCOUNTS, CANDIDATES, LABELS
from ..core.results import Table, format_range, mean_over_seeds
from ..verdicts.claims import Thresholds
from ..verdicts.findings import judge_accounts
from .glue import as_text

# each candidate algorithm, as the sentence that names it closest
CLOSEST = {
    "least_squares": "least squares itself",
    "ridge": "ridge regression with λ fitted",
    "gradient_descent": "gradient descent with its steps and step size fitted",
    "normalised_gd": "gradient descent with a step set by the prompt's own scale",
    "newton": "iterative Newton",
    "linear_attention": "one step of linear attention with a fitted preconditioner",
}
ACCOUNT_LABELS = {
    "ridge": "Ridge, λ fitted",
    "gradient_descent": "Gradient descent, fixed step fitted",
    "normalised_gd": "Gradient descent, step 1/λ_max of the prompt",
    "newton": "Iterative Newton",
    "linear_attention": "Linear attention, fixed Γ",
    "layernorm": "First LayerNorm divides by the token's size",
}
# the candidates and accounts as the figures' legends name them
SHORT = {
    "least_squares": "least squares",
    "ridge": "ridge",
    "gradient_descent": "GD, fixed step",
    "normalised_gd": "GD, step 1/λ_max",
    "newton": "Newton",
    "linear_attention": "linear attention",
    "layernorm": "LayerNorm",
}
# where most of the failure comes from, at the largest shift
DOMINANT = {
    "query": "Most of the failure comes from the shifted query: moving the query alone "
    "costs far more than moving the context alone.",
    "context": "Most of the failure comes from the shifted context: moving the context "
    "alone costs more than moving the query alone.",
}
# whether moving x by the same size along a random direction, or by zero-mean offsets,
# costs about what the mean along 1 costs (within ×2 either way)
SIZE = {
    True: "The size of the move, more than the direction of a mean, is what the model "
    "fails on.",
    False: "The ways of moving x by the same size do not cost alike: the direction of "
    "the move matters as well as its size.",
}
# whether a target can be read linearly from the query token at some layer (a probe
# fitted in distribution reaching R² 0.5 on held-out prompts, seed mean)
READABLE = {
    True: "{what} can be read linearly from the query token: at its best layer a probe "
    "reaches R² {r2}.",
    False: "{what} cannot be read linearly from the query token at any layer: at its "
    "best layer a probe reaches R² {r2}.",
}
READ_TARGETS = {
    "w": (
        "alg_w_readable",
        "The task's w (at the last query, with k ≥ d examples and "
        "no noise, also the least-squares estimate)",
    ),
    "correlation": (
        "alg_corr_readable",
        "Xᵀy/k, what one step of linear attention " "reads,",
    ),
}
FITTING = {
    0: "No account fits the measured curves within the rule.",
    1: "One account fits the measured curves within the rule: {names}.",
    2: "Several accounts fit the measured curves within the rule: {names}.",
}


def values(per_seed: list[dict], *path) -> np.ndarray:
    """The value at `path` in every seed's record, stacked (seeds, …)."""
    out = []
    for record in per_seed:
        for key in path:
            record = record[key]
        out.append(record)
    return np.asarray(out, dtype=float)


def closest_by_k(per_seed: list[dict]) -> list[str]:
    """For each number of examples k, the candidate whose weights lie nearest the
    model's implied ŵ on the held-out prompts (seed mean)."""
    distance = {
        n: values(per_seed, "closest_algorithm", "distance", n) for n in CANDIDATES
    }
    means = np.array([distance[n].mean(axis=0) for n in CANDIDATES])
    return [list(CANDIDATES)[i] for i in means.argmin(axis=0)]


def closest_table(per_seed: list[dict], ks: list[int]) -> Table:
    """Weight distance ‖ŵ − ŵ_alg‖²/d from the implied weights to each candidate, at
    a few numbers of examples k, with the distance to the task's own w."""

    def row(label: str, name: str) -> list[str]:
        distance = values(per_seed, "closest_algorithm", "distance", name)
        return [label, *(format_range(distance[:, k - 1], ".3f") for k in ks)]

    rows = [row(LABELS[name], name) for name in CANDIDATES]
    rows.append(row("The task's own w", "task"))
    return ["", *(f"k = {k}" for k in ks)], rows


def accounts_table(
    per_seed: list[dict], mean: dict, judged: dict, shifts: list[float]
) -> Table:
    """Each account: the shrinkage it predicts and the measured one at the largest
    shift of the context alone, where its weight error lies, and whether it fits."""
    last = len(shifts) - 1
    measured = mean["context_query"]["ones"]["context"]
    rows = []
    for name in ACCOUNTS:
        predicted = mean["accounts"][name]
        along = predicted["error_along_ones"]
        where = "—" if along is None else _direction(predicted, last)
        seeds = judged[name]["per_seed"]
        rows.append(
            [
                ACCOUNT_LABELS[name],
                readable_shrinkage(predicted["shrinkage"][last]),
                where,
                f"{'yes' if judged[name]['holds'] else 'no'} "
                f"({sum(seeds)} of {len(seeds)} seeds)",
            ]
        )
    rows.append(
        [
            "**Measured**",
            format_range(
                values(per_seed, "context_query", "ones", "context", "shrinkage")[
                    :, last
                ]
            ),
            _direction(measured, last),
            "",
        ]
    )
    c = f"{shifts[last]:g}"
    return ["account", f"shrinkage at c = {c}", "weight error mostly", "fits"], rows


def readable_shrinkage(value: float) -> str:
    return f"{value:.2f}" if abs(value) < 100 else f"{value:.1e}"


def _direction(curves: dict, index: int) -> str:
    along, orthogonal = (
        curves["error_along_ones"][index],
        curves["error_orthogonal"][index],
    )
    return "along 1" if along > orthogonal else "orthogonal to 1"


def texts(
    per_seed: list[dict],
    mean: dict,
    judged: dict,
    shifts: list[float],
    preset: str,
    n_prompts: int,
    n_queries: int,
) -> dict[str, str]:
    """Every text the chapter quotes, by glue name."""
    d = len(per_seed[0]["implied_map"]["per_k"]["r2"]) // 2
    closest = closest_by_k(per_seed)
    mid, big = shifts.index(4) if 4 in shifts else len(shifts) // 2, len(shifts) - 1
    zero = shifts.index(0)

    def at(*path, index, fmt=".2f"):
        return format_range(values(per_seed, *path)[:, index], fmt)

    out = {
        "alg_preset": preset,
        "alg_n_prompts": as_text(n_prompts),
        "alg_n_queries": as_text(n_queries),
        "alg_n_seeds": as_text(len(per_seed)),
        "alg_c_mid": f"{shifts[mid]:g}",
        "alg_c_big": f"{shifts[big]:g}",
        "alg_d": as_text(d),
        "alg_r2_min": format_range(
            values(per_seed, "implied_map", "per_k", "r2")[:, 1:].min(axis=1), ".3f"
        ),
        "alg_closest_d": CLOSEST[closest[d - 1]],
        "alg_closest_last": CLOSEST[closest[-1]],
        "alg_dist_ols_d": at(
            "closest_algorithm", "distance", "least_squares", index=d - 1, fmt=".3f"
        ),
        "alg_dist_best_d": at(
            "closest_algorithm", "distance", closest[d - 1], index=d - 1, fmt=".3f"
        ),
        "alg_fitting": _fitting(judged),
        "alg_shrink_mid": at(
            "context_query", "ones", "context", "shrinkage", index=mid
        ),
        "alg_shrink_big": at(
            "context_query", "ones", "context", "shrinkage", index=big
        ),
        "alg_shrink_zero": at(
            "context_query", "ones", "context", "shrinkage", index=zero
        ),
    }
    for where in ("context", "query", "both"):
        for name, index in (("mid", mid), ("big", big)):
            out[f"alg_{where}_{name}"] = at(
                "context_query", "ones", where, "median_error", index=index, fmt=".3g"
            )
            out[f"alg_perp_{where}_{name}"] = at(
                "context_query",
                "ones_w_perp",
                where,
                "median_error",
                index=index,
                fmt=".3g",
            )
    size = {
        kind: values(per_seed, "size_matched", kind, "median_error")[:, mid].mean()
        for kind in ("ones", "random", "offsets")
    }
    ratios = [size[k] / size["ones"] for k in ("random", "offsets")]
    out["alg_size_sentence"] = SIZE[all(0.5 <= r <= 2 for r in ratios)]
    out |= _nearest_account(per_seed)
    for kind in ("ones", "random", "offsets", "scale"):
        out[f"alg_size_{kind}"] = at(
            "size_matched", kind, "median_error", index=mid, fmt=".3g"
        )
    out["alg_error_zero"] = at(
        "context_query", "ones", "both", "median_error", index=zero, fmt=".3f"
    )
    out["alg_intercept_big"] = at(
        "context_query", "ones", "both", "intercept", index=big, fmt=".2g"
    )
    out["alg_slope_big"] = at("context_query", "ones", "both", "shrinkage", index=big)
    query = values(per_seed, "context_query", "ones", "query", "median_error")[:, big]
    context = values(per_seed, "context_query", "ones", "context", "median_error")
    out["alg_dominant"] = DOMINANT[
        "query" if query.mean() > context[:, big].mean() else "context"
    ]
    out |= _probe_texts(per_seed, big)
    for target, (name, what) in READ_TARGETS.items():
        best = values(per_seed, "probes", "trained", target, "in_distribution_fit")
        best = best[:, :, 0].max(axis=1)
        sentence = READABLE[bool(best.mean() >= 0.5)]
        out[name] = sentence.format(what=what, r2=format_range(best))
    for name in ("none", "edit", "control"):
        out[f"alg_edit_{name}"] = at(
            "causal_edit", "context", name, "shrinkage", index=big
        )
    identity = np.abs(
        values(per_seed, "causal_edit", "context", "edit", "median_error")[:, zero]
        - values(per_seed, "causal_edit", "context", "none", "median_error")[:, zero]
    ).max()
    out["alg_edit_identity"] = f"{identity:.1e}"
    return out


def _probe_texts(per_seed: list[dict], big: int) -> dict[str, str]:
    def r2(model, target, fit):
        return values(per_seed, "probes", model, target, fit)  # (seeds, layers, shifts)

    target = r2("trained", "target", "in_distribution_fit")
    return {
        "alg_probe_target_last": format_range(target[:, -1, 0]),
        "alg_probe_target_untrained": format_range(
            r2("untrained", "target", "in_distribution_fit")[:, -1, 0]
        ),
        "alg_probe_target_shift": format_range(target[:, -1, big]),
        "alg_probe_z_own": format_range(
            r2("trained", "z", "own_fit").min(axis=(1, 2)), ".3f"
        ),
        "alg_probe_z_shift": format_range(
            r2("trained", "z", "in_distribution_fit")[:, -1, big], ".3g"
        ),
    }


def _nearest_account(per_seed: list[dict]) -> dict[str, str]:
    """The account whose predicted shrinkage lies nearest the measured one (largest gap
    over the shifts, seed mean), and that gap per seed."""
    measured = values(per_seed, "context_query", "ones", "context", "shrinkage")
    gaps = {
        name: np.abs(values(per_seed, "accounts", name, "shrinkage") - measured).max(1)
        for name in ACCOUNTS
    }
    nearest = min(gaps, key=lambda n: gaps[n].mean())
    return {
        "alg_nearest": ACCOUNT_LABELS[nearest].lower(),
        "alg_nearest_gap": format_range(gaps[nearest]),
    }


def _fitting(judged: dict) -> str:
    names = [ACCOUNT_LABELS[n].lower() for n, j in judged.items() if j["holds"]]
    return FITTING[min(len(names), 2)].format(names="; ".join(names))


def judged(per_seed: list[dict], t: Thresholds) -> tuple[dict, dict]:
    """The seed-mean record and every account judged on it and on each seed."""
    mean = mean_over_seeds(per_seed)
    return mean, judge_accounts(per_seed, mean, t)


def setting_texts(t: Thresholds, probe_prompts: int) -> dict[str, str]:
    """The rule's numbers and the probes' prompts, as the chapter quotes them."""
    return {
        "alg_tolerance": f"{t.shrinkage_tolerance:g}",
        "alg_edit_gain": f"{t.edit_gain:g}",
        "alg_seed_share": f"{t.seed_share:.0%}",
        "alg_probe_prompts": as_text(probe_prompts),
    }
