"""The chapter "Is the signature causal?": its tables, and each text it quotes, from
the patching experiment (`analysis.interventions`) over the training seeds."""

from __future__ import annotations

import numpy as np

from ..analysis.interventions import (
    FULL,
    MEANING,
    RANDOM,
    RANDOMS,
    READOUT,
    REFERENCE_DIRECTIONS,
    SIGNATURE,
    TOP,
    TOP_DIRECTIONS,
    WITHOUT_READOUT,
    PatchingVerdict,
    PatchRule,
    over_seeds,
    signature_intervention_quantities,
)
from ..core.results import Table, format_range
from ..verdicts.claims import Thresholds, Verdict
from ..verdicts.findings import FINDINGS
from ..verdicts.scorecard import judge_all
from .glue import as_text

# the family on which the rule is judged: its targets stay in the training range
CONTROL = "x_mean_w_perp"

# finding A's verdict on this chapter's results, as a sentence
FINDING_A = {
    True: "With the direction the prediction is read along taken out, the plane still "
    "repairs more than random planes, at the last layer and before it: finding A "
    "holds, and the signature is causal beyond the read-out.",
    False: "With the direction the prediction is read along taken out, the plane does "
    "not repair clearly more than random planes at the last layer and before it, so "
    "this book does not count the signature as causal (finding A does not hold): what "
    "the last layer's patch repairs is mostly the read-out direction.",
    None: "The test ran without the read-out control or was inconclusive, so finding "
    "A is not tested here.",
}


def finding_a(written: dict) -> Verdict:
    """Finding A judged on this chapter's results file, as the findings chapter
    judges it."""
    (claim,) = (f for f in FINDINGS if f.key == "A")
    (verdict,) = judge_all((claim,), {claim.results: written}, Thresholds())
    return verdict


def at_layer(per_seed, name, family, direction, layer, field="share") -> np.ndarray:
    """A patch's `field` at `layer`, per seed."""
    return over_seeds(per_seed, name, family, direction, field)[:, layer]


def best_random(per_seed, family, direction, layer) -> np.ndarray:
    """The best share of any random plane (random or among the top directions) at
    `layer`, per seed."""
    return np.maximum(
        *(at_layer(per_seed, n, family, direction, layer, "share_max") for n in RANDOMS)
    )


def rule_table(per_seed: list[dict], verdict: PatchingVerdict, family: str) -> Table:
    """At every layer: what the signature plane repairs and spoils beside the best
    random plane, what the whole stream repairs, and the rule's conclusion."""
    rows = [
        [
            layer,
            *(
                format_range(values)
                for values in (
                    at_layer(per_seed, SIGNATURE, family, "restore", layer),
                    best_random(per_seed, family, "restore", layer),
                    at_layer(per_seed, SIGNATURE, family, "break", layer),
                    best_random(per_seed, family, "break", layer),
                    at_layer(per_seed, FULL, family, "restore", layer),
                )
            ),
            conclusion,
        ]
        for layer, conclusion in enumerate(verdict.by_layer[family])
    ]
    headers = ["layer", "repairs", "random", "spoils", "random", "whole", "rule"]
    return headers, rows


def readout_table(per_seed: list[dict], verdict: PatchingVerdict) -> Table:
    """On the control family, at every layer: the share of the error that repairing
    the signature plane, the read-out direction alone, and the plane with its
    read-out component removed each remove, beside the best random plane."""
    names = (SIGNATURE, READOUT, WITHOUT_READOUT)
    rows = [
        [
            layer,
            *(
                format_range(at_layer(per_seed, name, CONTROL, "restore", layer))
                for name in names
            ),
            format_range(best_random(per_seed, CONTROL, "restore", layer)),
        ]
        for layer in range(len(verdict.by_layer[CONTROL]))
    ]
    headers = ["layer", "plane", "read-out direction", "plane without it", "random"]
    return headers, rows


def texts(
    per_seed: list[dict],
    verdict: PatchingVerdict,
    rule: PatchRule,
    written: dict,
    preset: str,
    n_prompts: int,
    n_random: int,
) -> dict[str, str]:
    """Every text the chapter quotes, by glue name; `written`: the chapter's results
    file, on which finding A is judged (`finding_a`) and its numbers read, so that
    both pages quote the same ones."""
    layer, n_seeds = verdict.layer, len(per_seed)
    conclusion = verdict.conclusion[CONTROL]
    counts = {c: verdict.by_seed[CONTROL].count(c) for c in verdict.by_seed[CONTROL]}
    out = {
        "iv_preset": preset,
        "iv_n_prompts": as_text(n_prompts),
        "iv_n_random": as_text(n_random),
        "iv_n_planes": as_text(2 * n_random),
        "iv_top": as_text(TOP_DIRECTIONS),
        "iv_n_seeds": as_text(n_seeds),
        "iv_layer": as_text(layer),
        **{
            f"iv_rule_{field}": as_text(getattr(rule, field), "g")
            for field in ("identity", "upper", "causal", "partial", "margin")
        },
        "iv_conclusion": conclusion,
        "iv_reason": verdict.reason[CONTROL],
        "iv_meaning": MEANING[conclusion],
        "iv_conclusion_x_mean": verdict.conclusion["x_mean"],
        "iv_reason_x_mean": verdict.reason["x_mean"],
        "iv_by_seed": ", ".join(f"{c} in {n}" for c, n in counts.items()),
        "iv_finding_a": FINDING_A[finding_a(written).holds],
    }
    for direction in ("restore", "break"):
        top = at_layer(per_seed, TOP, CONTROL, direction, layer, "share_max")
        out |= {
            f"iv_{direction}": at_layer(per_seed, SIGNATURE, CONTROL, direction, layer),
            f"iv_{direction}_random": best_random(per_seed, CONTROL, direction, layer),
            f"iv_{direction}_top": top,
            **{
                f"iv_{direction}_{key}": at_layer(
                    per_seed, name, CONTROL, direction, layer
                )
                for name, key in zip(REFERENCE_DIRECTIONS, ("first", "second"))
            },
        }
    out["iv_restore_readout"] = at_layer(per_seed, READOUT, CONTROL, "restore", layer)
    without = at_layer(per_seed, WITHOUT_READOUT, CONTROL, "restore", layer)
    out["iv_restore_without_readout"] = without
    out["iv_beyond_readout"] = without - out["iv_restore_random"]
    for name, key in ((SIGNATURE, "signature"), (RANDOM, "random"), (TOP, "top")):
        size = at_layer(per_seed, name, CONTROL, "restore", layer, "edit_size")[:, 1:]
        out[f"iv_size_{key}"] = size.reshape(n_seeds, -1).mean(axis=1)
    readout = np.stack([s["readout_cosine"] for s in per_seed])
    mean_token = np.stack([s["mean_token_cosine"] for s in per_seed])
    out |= {
        "iv_readout_first": readout[:, 0],
        "iv_readout_second": readout[:, 1],
        "iv_mean_token_cos": mean_token[:, layer],
    }
    early = over_seeds(per_seed, SIGNATURE, CONTROL, "restore")[:, :-1]
    identity = [max(s["controls"]["identity at c = 0"].values()) for s in per_seed]
    return {
        name: value if isinstance(value, str) else format_range(value)
        for name, value in out.items()
    } | {
        "iv_restore_early": as_text(early.mean(axis=0).max(), ".2f"),
        # finding A's own number: the plane without its read-out component, before
        # the last layer, over the best random plane
        "iv_early_margin": as_text(
            signature_intervention_quantities(written)["patching_before_last"], ".2f"
        ),
        "iv_early_last": as_text(layer - 1),
        "iv_identity": identity_sentence(max(identity), rule.identity),
    }


IDENTITY = {
    "none": "At c = 0, where no patch should change anything, no prediction changed.",
    "within": "At c = 0, where no patch should change anything, no prediction changed "
    "by more than {moved:.1g}, within the rule's {allowed:g}.",
    "beyond": "At c = 0, where no patch should change anything, a prediction changed "
    "by {moved:.1g}, beyond the rule's {allowed:g}: the test is inconclusive.",
}


def identity_sentence(moved: float, allowed: float) -> str:
    case = "none" if moved == 0 else "within" if moved <= allowed else "beyond"
    return IDENTITY[case].format(moved=moved, allowed=allowed)
