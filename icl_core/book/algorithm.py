"""The chapter "What it computes instead": each text it quotes and its tables, from the
per-seed records of `analysis.algorithm.measure` and the accounts judged on them."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..analysis.algorithm import ACCOUNTS, CANDIDATES, FAMILIES, LABELS
from ..core.results import Table, format_range, mean_over_seeds
from ..verdicts.claims import Thresholds
from ..verdicts.findings import judge_accounts
from .glue import as_text

# the parameters each candidate fits in distribution, per number of examples
FITTED = {
    "least_squares": "none",
    "ridge": "α",
    "gradient_descent": "steps, step size",
    "normalised_gd": "steps",
    "newton": "iterations",
    "linear_attention": "Γ (d × d)",
}
ACCOUNT_LABELS = {
    **{name: LABELS[name] for name in ACCOUNTS if name in LABELS},
    "layernorm": "First LayerNorm divides by the token's size",
}
# one colour per candidate and account (an index into the palette), the same in every
# figure
COLORS = {name: i for i, name in enumerate((*CANDIDATES, "layernorm"))}
# the candidates and accounts as the figures' legends name them
SHORT = {
    "least_squares": "least squares",
    "ridge": "ridge",
    "gradient_descent": "fixed-step GD",
    "normalised_gd": "normalised-step GD",
    "newton": "Newton",
    "linear_attention": "linear attention",
    "layernorm": "LayerNorm",
}

# where the failure comes from at the largest shift: the query's cost against the
# context's, more than twice the other or not
DOMINANT = {
    "query": "With x moved along 𝟏 by c = {c}, most of the failure comes from the "
    "query: moving the query alone costs {query}, the context alone {context}.",
    "context": "With x moved along 𝟏 by c = {c}, most of the failure comes from the "
    "context: moving the context alone costs {context}, the query alone {query}.",
    "both": "With x moved along 𝟏 by c = {c}, the query and the context cost about "
    "alike: {query} moving the query alone, {context} moving the context alone.",
}
# the share of query targets beyond the read-out's bound, above `bound_share` or not
# how much of the query's cost along 𝟏 the control family (w ⊥ 𝟏, every target in
# range) removes: more than ×5 beyond what it removes from the context's cost, or not,
# with the share of the query's targets beyond the read-out's bound
BOUND = {
    "most": "Most of the query's cost along 𝟏 is its target leaving the range the model "
    "can output: at c = {c}, {share} of those targets lie beyond the read-out's bound, "
    "and with w ⊥ 𝟏 the query's cost falls from {query} to {query_perp} while the "
    "context's falls only from {context} to {context_perp}.",
    "part": "Part of the query's cost along 𝟏 is its target leaving the range the model "
    "can output: at c = {c}, {share} of those targets lie beyond the read-out's bound; "
    "with w ⊥ 𝟏 the query's cost falls from {query} to {query_perp}, the context's "
    "from {context} to {context_perp}.",
    "none": "The read-out's bound carries none of the query's cost: at c = {c}, {share} "
    "of its targets lie beyond it.",
}
# the model against the better predictor that ignores x, on the control family with
# both moved (where no target leaves the range) and with only the context moved
TRIVIAL = {
    True: "On the control family, where {share} of the targets lie beyond the bound, "
    "the model with both moved does worse at c = {c} than the better of the "
    "predictors that ignore x, the context's mean of y and 0: {model} against "
    "{trivial}.",
    False: "On the control family, where {share} of the targets lie beyond the bound, "
    "the model with both moved still does better at c = {c} than the better of the "
    "predictors that ignore x, the context's mean of y and 0: {model} against "
    "{trivial}.",
}
TRIVIAL_CONTEXT = {
    True: "With only the context moved the model's median error at c = {c}, {model}, "
    "is already worse than that of the better of predicting 0 and predicting the "
    "context's mean of y ({trivial}).",
    False: "With only the context moved the model's median error at c = {c}, {model}, "
    "stays below that of the better of predicting 0 and predicting the context's mean "
    "of y ({trivial}).",
}
# whether the implied weights keep their norm (within 20% of |w|) while turning
TURN = {
    True: "They turn rather than shrink: at c = {c} their cosine with w is {cosine} "
    "and their norm {norm} of w's.",
    False: "They shrink as well as turn: at c = {c} their cosine with w is {cosine} "
    "and their norm {norm} of w's.",
}
# whether moving x by the same size along 𝟏, along a random direction, or by zero-mean
# offsets costs within ×2 alike at every shift
SIZE = {
    True: "The first three stay within ×2 of each other at every c. They give y the "
    "same distribution, so this does not separate the size of x from the range of y.",
    False: "The first three stay within ×2 of each other up to c = {before}; at c = "
    "{c} they cost {ones}, {random} and {offsets}, with {share_ones}, {share_random} "
    "and {share_offsets} of the targets beyond the read-out's bound, so the bound may "
    "carry the difference.",
}
# whether a target can be read linearly from the query token at some layer (a probe
# fitted in distribution reaching R² 0.5 on held-out prompts, seed mean)
READABLE = {
    True: "{what} can be read linearly from the query token: at its best layer a probe "
    "fitted in distribution reaches R² {r2}.",
    False: "{what} cannot be read linearly from the query token at any layer: at its "
    "best layer a probe fitted in distribution reaches R² {r2}.",
}
READ_TARGETS = {
    "w": (
        "alg_w_readable",
        "The task's w (at the last query, with k ≥ d examples and no noise, also the "
        "least-squares estimate)",
    ),
    "correlation": (
        "alg_corr_readable",
        "Xᵀy/k, what one step of linear attention reads,",
    ),
}
# whether probes fitted at each shift read the deviations z at R² ≥ 0.9 in both the
# trained model and its untrained twin
DEVIATIONS = {
    True: "Under the shift the deviations zᵢ stay linearly readable at every layer "
    "by a probe fitted there (R² at least {trained}), but so they do in the untrained "
    "twin (at least {untrained}), and a probe fitted in distribution fails in both "
    "(last layer: {shifted} and {untrained_shifted}): this is a property of the input "
    "and the architecture, not of what training taught.",
    False: "Under the shift the deviations zᵢ are not fully readable at every layer "
    "even by a probe fitted there (R² down to {trained}; the untrained twin: "
    "{untrained}); a probe fitted in distribution reaches {shifted} at the last layer "
    "(the untrained twin: {untrained_shifted}).",
}
# what holding the first LayerNorm's scale does at the largest shift, against the
# model unedited and the control: a change of at least `edit_gain` either way, or not
# the causal edit, reported whatever it shows: it makes the divisor several times
# smaller than any in training and its control moves the divisor the other way, so it
# tests the LayerNorm account only weakly either way
EDIT = (
    "Dividing each moved x token by its unshifted size in the first block's first "
    "LayerNorm changes the shrinkage at c = {c} from {none} to {edit} and the median "
    "error from {error_none} to {error_edit} (random-direction edit: {control} and "
    "{error_control}). The edit divides by the unshifted size, smaller than the moved "
    "token's, so the moved tokens reach attention larger than in training, and the "
    "random-direction edit does not move the divisor by the same amount: the edit "
    "neither confirms nor rules out the LayerNorm account."
)
FITTING_SHORT = {
    (False, False): "none of six accounts of the shift fits.",
    (True, False): "of six accounts of the shift, {ones} fits on the mean shift only.",
    (False, True): "of six accounts of the shift, {ones_w_perp} fits on its control "
    "(w ⊥ 𝟏) only.",
    (True, True): "of six accounts of the shift, {ones} fits on the mean shift and "
    "{ones_w_perp} on its control.",
}
# the candidates by family, for the intro: the two gradient descents are one there
FAMILY_NAMES = {
    "least_squares": "least squares",
    "ridge": "ridge",
    "gradient_descent": "gradient descent",
    "normalised_gd": "gradient descent",
    "newton": "Newton",
    "linear_attention": "linear attention",
}
FITTING = {
    (False, False): "No account fits within the rule, on the mean shift or on the "
    "control family.",
    (True, False): "On the mean shift, {ones} fits within the rule; on the control "
    "family no account does.",
    (False, True): "On the control family (w ⊥ 𝟏), {ones_w_perp} fits within the "
    "rule; on the mean shift itself no account does.",
    (True, True): "On the mean shift, {ones} fits within the rule, and on the control "
    "family {ones_w_perp}.",
}


def values(per_seed: list[dict], *path) -> np.ndarray:
    """The value at `path` in every seed's record, stacked (seeds, …)."""
    out = []
    for record in per_seed:
        for key in path:
            record = record[key]
        out.append(record)
    return np.asarray(out, dtype=float)


def distance(per_seed: list[dict], name: str) -> np.ndarray:
    """Weight distance from the implied ŵ to `name`, (seeds, k)."""
    return values(per_seed, "closest_algorithm", "distance", name)


def closest(per_seed: list[dict], k: int) -> list[str]:
    """The candidates nearest the implied weights at k examples: the nearest by seed
    mean, and every other whose seed mean lies within the nearest's seed range."""
    means = {n: distance(per_seed, n)[:, k - 1].mean() for n in CANDIDATES}
    best = min(means, key=means.get)
    reach = distance(per_seed, best)[:, k - 1].max()
    tied = sorted((n for n in means if n != best and means[n] <= reach), key=means.get)
    return [best, *tied]


def closest_names(per_seed: list[dict], k: int, words: dict | None = None) -> str:
    """The candidates nearest at k examples (`closest`), as a sentence names them."""
    words = words or {
        **{n: in_sentence(label) for n, label in LABELS.items()},
        "least_squares": "least squares itself",
    }
    names = list(dict.fromkeys(words[n] for n in closest(per_seed, k)))
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + f" and {names[-1]}, about equally"


def closest_table(per_seed: list[dict], ks: list[int]) -> Table:
    """Weight distance ‖ŵ − ŵ_alg‖²/d from the implied weights to each candidate, at
    a few numbers of examples k, with what each fits and the distance to the task's
    own w."""

    def row(label: str, fitted: str, name: str) -> list[str]:
        d = distance(per_seed, name)
        return [label, fitted, *(format_range(d[:, k - 1], ".3f") for k in ks)]

    rows = [row(LABELS[n], FITTED[n], n) for n in CANDIDATES]
    rows.append(row("The task's own w", "", "task"))
    return ["", "fitted", *(f"k = {k}" for k in ks)], rows


def accounts_table(mean: dict, judged: dict) -> Table:
    """Each account, on the mean shift and on its control: the largest gap between
    its predicted shrinkage and the measured one over the shifts (seed mean), and
    whether it fits."""

    def cells(family: str, name: str) -> list[str]:
        measured = mean["context_query"][family]["context"]["shrinkage"]
        predicted = mean["accounts"][family][name]["shrinkage"]
        gap = np.abs(np.subtract(predicted, measured)).max()
        j = judged[family][name]
        seeds = j["per_seed"]
        verdict = (
            f"{'yes' if j['holds'] else 'no'} ({sum(seeds)} of {len(seeds)} seeds)"
        )
        return [readable(gap), verdict]

    rows = [
        [ACCOUNT_LABELS[name], *(c for f in FAMILIES for c in cells(f, name))]
        for name in ACCOUNTS
    ]
    headers = ["account", "largest gap", "fits", "w ⊥ 𝟏: largest gap", "fits"]
    return headers, rows


def in_sentence(label: str) -> str:
    """A table label as it reads inside a sentence: its first letter lower-case."""
    return label[0].lower() + label[1:]


def readable(value: float) -> str:
    """A shrinkage or a gap between two; one that diverges is shown as beyond ±10."""
    return f"{value:.2f}" if abs(value) <= 10 else ("> 10" if value > 0 else "< −10")


def judged(per_seed: list[dict], t: Thresholds) -> tuple[dict, dict]:
    """The seed-mean record and every account judged on it and on each seed."""
    mean = mean_over_seeds(per_seed)
    return mean, judge_accounts(per_seed, mean, t)


def texts(
    per_seed: list[dict],
    judged: dict,
    shifts: list[float],
    preset: str,
    n_dims: int,
    t: Thresholds,
) -> dict[str, str]:
    """Every text the chapter quotes, by glue name."""
    d = n_dims
    n_k = len(per_seed[0]["implied_map"]["per_k"]["r2"])
    mid = shifts.index(4) if 4 in shifts else len(shifts) // 2
    big, zero = len(shifts) - 1, shifts.index(0)

    def at(*path, index=big, fmt=".2f"):
        return format_range(values(per_seed, *path)[:, index], fmt)

    def shifted(family, where, key, index=big, fmt=".3g"):
        return at("context_query", family, where, key, index=index, fmt=fmt)

    best = closest(per_seed, n_k)[0]
    out = {
        "alg_preset": preset,
        "alg_n_seeds": as_text(len(per_seed)),
        "alg_c_mid": f"{shifts[mid]:g}",
        "alg_c_big": f"{shifts[big]:g}",
        "alg_d": as_text(d),
        "alg_r2_min": format_range(
            values(per_seed, "implied_map", "per_k", "r2")[:, 1:].min(axis=1), ".3f"
        ),
        "alg_closest_d": closest_names(per_seed, d),
        "alg_closest_short": closest_names(per_seed, d, FAMILY_NAMES),
        "alg_closest_last": closest_names(per_seed, n_k),
        "alg_dist_ols_d": format_range(
            distance(per_seed, "least_squares")[:, d - 1], ".3f"
        ),
        "alg_dist_best_d": format_range(
            distance(per_seed, closest(per_seed, d)[0])[:, d - 1], ".3f"
        ),
        "alg_dist_best_last": format_range(distance(per_seed, best)[:, -1], ".3f"),
        "alg_dist_task_last": format_range(distance(per_seed, "task")[:, -1], ".3f"),
        "alg_fitting": _fitting(judged),
        "alg_fitting_short": _fitting(judged, FITTING_SHORT, SHORT),
        "alg_error_zero": shifted("ones", "both", "median_error", zero, ".3f"),
        "alg_r2_both_mid": shifted("ones", "both", "r2", mid, ".2f"),
        "alg_spread_big": shifted("ones", "both", "spread_ratio", big, ".2f"),
    }
    for name, index in (("zero", zero), ("mid", mid), ("big", big)):
        out[f"alg_shrink_{name}"] = shifted(
            "ones", "context", "shrinkage", index, ".2f"
        )
    out["alg_shrink_perp_big"] = shifted(
        "ones_w_perp", "context", "shrinkage", fmt=".2f"
    )
    norm = values(per_seed, "context_query", "ones", "context", "norm_ratio")[:, big]
    out["alg_turn"] = TURN[bool(norm.mean() >= 0.8)].format(
        c=f"{shifts[big]:g}",
        cosine=shifted("ones", "context", "cosine", fmt=".2f"),
        norm=format_range(norm),
    )
    out |= _where_texts(per_seed, shifts, t, shifted)
    out |= _size_texts(per_seed, shifts, mid)
    out |= _nearest_account(per_seed)
    out |= _tolerance_texts(per_seed, t)
    out |= _probe_texts(per_seed, big)
    out |= _edit_texts(per_seed, shifts)
    return out


def _where_texts(per_seed, shifts, t: Thresholds, shifted) -> dict[str, str]:
    def last(family, where, key):
        return values(per_seed, "context_query", family, where, key)[:, -1]

    c = f"{shifts[-1]:g}"
    out = {}
    ratio = (
        last("ones", "query", "median_error").mean()
        / last("ones", "context", "median_error").mean()
    )
    case = "query" if ratio > 2 else "context" if ratio < 0.5 else "both"
    out["alg_dominant"] = DOMINANT[case].format(
        c=c,
        query=shifted("ones", "query", "median_error"),
        context=shifted("ones", "context", "median_error"),
    )
    share = last("ones", "query", "beyond_bound")
    fall = {
        where: last("ones", where, "median_error").mean()
        / last("ones_w_perp", where, "median_error").mean()
        for where in ("query", "context")
    }
    case = (
        "none"
        if share.mean() <= t.bound_share
        else "most"
        if fall["query"] > 5 * fall["context"]
        else "part"
    )
    out["alg_bound"] = BOUND[case].format(
        c=c,
        share=format_range(100 * share, ".0f") + "%",
        **{
            f"{where}{suffix}": shifted(family, where, "median_error")
            for where in ("query", "context")
            for family, suffix in (("ones", ""), ("ones_w_perp", "_perp"))
        },
    )

    def trivial(family, where):
        return np.minimum(
            last(family, where, "context_mean_error"), last(family, where, "zero_error")
        )

    model = last("ones_w_perp", "both", "median_error")
    out["alg_trivial"] = TRIVIAL[
        bool(model.mean() > trivial("ones_w_perp", "both").mean())
    ].format(
        c=c,
        share=f"{100 * last('ones_w_perp', 'both', 'beyond_bound').mean():.0f}%",
        model=format_range(model, ".3g"),
        trivial=f"{trivial('ones_w_perp', 'both').mean():.3g}",
    )
    model = last("ones", "context", "median_error")
    out["alg_trivial_context"] = TRIVIAL_CONTEXT[
        bool(model.mean() > trivial("ones", "context").mean())
    ].format(
        c=c,
        model=format_range(model, ".3g"),
        trivial=f"{trivial('ones', 'context').mean():.3g}",
    )
    return out


def _size_texts(per_seed, shifts, mid) -> dict[str, str]:
    def size(kind, key="median_error"):
        return values(per_seed, "size_matched", kind, key)

    kinds = ("ones", "random", "offsets")
    mean = {kind: size(kind).mean(axis=0) for kind in kinds}
    apart = [
        i
        for i, c in enumerate(shifts)
        if c > 0
        and max(v[i] for v in mean.values()) > 2 * min(v[i] for v in mean.values())
    ]
    at = apart[0] if apart else mid
    out = {
        "alg_size_sentence": SIZE[not apart].format(
            c=f"{shifts[at]:g}",
            before=f"{shifts[max(at - 1, 0)]:g}",
            **{k: format_range(size(k)[:, at], ".3g") for k in kinds},
            **{
                f"share_{k}": f"{100 * size(k, 'beyond_bound')[:, at].mean():.0f}%"
                for k in kinds
            },
        )
    }
    for kind in (*kinds, "scale"):
        out[f"alg_size_{kind}"] = format_range(size(kind)[:, mid], ".3g")
    return out


def _nearest_account(per_seed: list[dict]) -> dict[str, str]:
    """Per family, the account whose predicted shrinkage lies nearest the measured one
    (largest gap over the shifts, seed mean) with its gap per seed, and the accounts
    tied with it (their seed mean within its seed range)."""
    out = {}
    for family, suffix in (("ones", ""), ("ones_w_perp", "_perp")):
        measured = values(per_seed, "context_query", family, "context", "shrinkage")
        gaps = {
            name: np.abs(
                values(per_seed, "accounts", family, name, "shrinkage") - measured
            ).max(1)
            for name in ACCOUNTS
        }
        ranked = sorted(gaps, key=lambda n: gaps[n].mean())
        nearest, reach = ranked[0], gaps[ranked[0]].max()
        tied = [n for n in ranked[1:] if gaps[n].mean() <= reach]
        names = [in_sentence(ACCOUNT_LABELS[n]) for n in (nearest, *tied)]
        out[f"alg_nearest{suffix}"] = (
            names[0]
            if not tied
            else f"{names[0]} (tied, within its seed range, with {', '.join(names[1:])})"
        )
        out[f"alg_nearest_gap{suffix}"] = format_range(gaps[nearest])
    return out


# which accounts would hold with a looser tolerance on the shrinkage
LOOSER = {
    True: "With the tolerance raised to {tolerance}, {names} would fit on the mean "
    "shift.",
    False: "Even with the tolerance raised to {tolerance}, no account would fit on the "
    "mean shift.",
}


def _tolerance_texts(per_seed: list[dict], t: Thresholds) -> dict[str, str]:
    looser = dataclasses.replace(t, shrinkage_tolerance=2 * t.shrinkage_tolerance)
    _, judged_looser = judged(per_seed, looser)
    names = [
        in_sentence(ACCOUNT_LABELS[n])
        for n, j in judged_looser["ones"].items()
        if j["holds"]
    ]
    return {
        "alg_looser": LOOSER[bool(names)].format(
            tolerance=f"{looser.shrinkage_tolerance:g}", names="; ".join(names)
        )
    }


def _probe_texts(per_seed: list[dict], big: int) -> dict[str, str]:
    def r2(model, target, fit):
        return values(per_seed, "probes", model, target, fit)  # (seeds, layers, shifts)

    target = r2("trained", "target", "in_distribution_fit")
    out = {
        "alg_probe_target_own": format_range(
            r2("trained", "target", "own_fit")[:, -1, big]
        ),
        "alg_probe_target_own_untrained": format_range(
            r2("untrained", "target", "own_fit")[:, -1, big]
        ),
        "alg_probe_target_shift": format_range(target[:, -1, big]),
        "alg_probe_target_last": format_range(target[:, -1, 0]),
        "alg_probe_target_untrained": format_range(
            r2("untrained", "target", "in_distribution_fit")[:, -1, 0]
        ),
    }
    for target_name, (name, what) in READ_TARGETS.items():
        best = r2("trained", target_name, "in_distribution_fit")[:, :, 0].max(axis=1)
        sentence = READABLE[bool(best.mean() >= 0.5)]
        out[name] = sentence.format(what=what, r2=format_range(best))
    own = {m: r2(m, "z", "own_fit").min(axis=(1, 2)) for m in ("trained", "untrained")}
    in_dist = {m: r2(m, "z", "in_distribution_fit")[:, -1, big] for m in own}
    out["alg_deviations"] = DEVIATIONS[
        bool(min(own["trained"].mean(), own["untrained"].mean()) >= 0.9)
    ].format(
        trained=format_range(own["trained"], ".3f"),
        untrained=format_range(own["untrained"], ".3f"),
        shifted=format_range(in_dist["trained"], ".3g"),
        untrained_shifted=format_range(in_dist["untrained"], ".3g"),
    )
    return out


def _edit_texts(per_seed, shifts) -> dict[str, str]:
    def last(name, key):
        return values(per_seed, "causal_edit", "context", name, key)[:, -1]

    zero = shifts.index(0)
    identity = np.abs(
        values(per_seed, "causal_edit", "context", "edit", "median_error")[:, zero]
        - values(per_seed, "causal_edit", "context", "none", "median_error")[:, zero]
    ).max()
    return {
        "alg_edit": EDIT.format(
            c=f"{shifts[-1]:g}",
            **{
                n: format_range(last(n, "shrinkage"))
                for n in ("none", "edit", "control")
            },
            **{
                f"error_{n}": format_range(last(n, "median_error"), ".3g")
                for n in ("none", "edit", "control")
            },
        ),
        "alg_edit_identity": f"{identity:.1e}",
    }


def _fitting(judged: dict, sentences: dict = FITTING, words=None) -> str:
    words = words or {n: in_sentence(label) for n, label in ACCOUNT_LABELS.items()}
    names = {
        family: "; ".join(words[n] for n, j in judged[family].items() if j["holds"])
        for family in FAMILIES
    }
    return sentences[tuple(bool(names[f]) for f in FAMILIES)].format(**names)


def setting_texts(
    t: Thresholds, n_prompts: int, n_queries: int, probe_prompts: int
) -> dict[str, str]:
    """The chapter's settings and the rule's numbers, as the chapter quotes them."""
    return {
        "alg_n_prompts": as_text(n_prompts),
        "alg_n_queries": as_text(n_queries),
        "alg_probe_prompts": as_text(probe_prompts),
        "alg_tolerance": f"{t.shrinkage_tolerance:g}",
        "alg_edit_gain": f"{t.edit_gain:g}",
        "alg_seed_share": f"{t.seed_share:.0%}",
    }
