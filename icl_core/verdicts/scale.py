"""The comparison across scales: one preset's results read for it (its size, each
claim's key quantity per training seed that learned the task, its verdicts, the seeds
set aside), and how each verdict moves between two presets that differ in one factor
(`FACTORS`).

A move across a factor compares each preset over its own seeds, as two sets; a flip
counts only where the verdict changes and the seed ranges of its key quantity
separate."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..analysis.shift_sweeps import MODERATE_SHIFT
from ..core import checkpoint
from ..core.presets import PRESETS
from ..core.results import checkpoints_of, one_seed, rebased
from ..core.storage import write_json
from .claims import CLAIM_PARTS, CLAIMS, FAILS, HOLDS, Claim, Thresholds, Verdict
from .scorecard import (
    STANDARD_MODEL_RESULTS,
    quantities,
    read_judged,
    unlearned_seeds,
)

RESULTS = (*STANDARD_MODEL_RESULTS, "pretraining", "scorecard")


# the quantities of the standard model kept per seed: each claim's key quantity and the
# table's other rows
STANDARD_QUANTITIES = (
    "in_distribution_error",
    f"error_growth_{MODERATE_SHIFT}",
    "error_growth_largest",
    "transformer_error_largest",
    "accuracy_0",
    "accuracy_largest",
    "accuracy_kept",
    "signature_in_distribution",
    "signature_largest",
    "signature_drop",
    "spearman",
    "sigma1_growth",
    # the key quantities of the spectral claims' parts against the input alone
    "signature_beyond_input",
    "signature_centred",
    "drop_beyond_input",
    "sigma1_growth_beyond_input",
    "within_shift_spearman",
    "partial_spearman",
)


# the parts of `claims.CLAIM_PARTS` the Scale chapter compares across presets
SCALE_PARTS = ("4a", "4b", "5a", "5b", "6a", "6b", "7aa", "7ba")


def scale_parts() -> tuple[Claim, ...]:
    """The definitions of `SCALE_PARTS`."""
    return tuple(c for c in CLAIM_PARTS if c.key in SCALE_PARTS)


def verdict_of(summary: "PresetSummary", claim: Claim) -> Verdict:
    """The preset's verdict on `claim` (or on one of its parts), found by its key."""
    return next(v for v in (*summary.verdicts, *summary.parts) if v.key == claim.key)


@dataclass(frozen=True)
class PresetSummary:
    """One preset's scale, its quantities per training seed, and the verdicts its
    `scorecard.json` holds."""

    preset: str
    n_parameters: int
    n_dims: int
    n_points: int
    architecture: str  # layers × heads × width
    steps: int
    schedule: str  # the learning rate and the curriculum the models trained with
    train_seconds: float  # the standard model's first seed
    train_device: str
    seeds: list[int]  # the standard model's training seeds that learned the task
    unlearned: dict[str, float]  # the others: seed -> in-distribution error
    all_seeds: list[int]  # every training seed of the standard model, for claim 1
    pretraining_seeds: list[int]  # the seeds claims 7a and 7b are judged over
    pretraining: list[str]
    quantities: dict[str, list[float]]
    # each claim's and part's own criterion at each of its seeds (None: not measured)
    seed_holds: dict[str, list[bool | None]]
    verdicts: list[Verdict]
    parts: list[Verdict]  # the `SCALE_PARTS` re-judged by the scorecard
    checkpoints: dict[str, str]


def presets_with_results(results: str | Path, wanted: list[str]) -> list[str]:
    """The `wanted` presets whose scorecard exists under `results`, in the order of
    `PRESETS` (smallest first)."""
    return [
        name
        for name in PRESETS
        if name in wanted and Path(results, name, "scorecard.json").is_file()
    ]


# each claim 7 quantity kept per pretraining seed
PRETRAINING_QUANTITIES = (
    "own_error_ratio",
    "own_highest_score_share",
    "own_vs_trivial",
    "own_score_beyond_input",
)


def preset_summary(results: str | Path, preset: str) -> PresetSummary:
    """Read a preset's results (refusing stale ones, and any that average in a seed
    that did not learn the task) and the standard model's checkpoint for its size."""
    folder = Path(results, preset)
    names = (*STANDARD_MODEL_RESULTS, "pretraining", "scorecard")
    data = read_judged(folder, names)
    ind, pre = data["in_distribution"], data["pretraining"]
    payload = checkpoint.read(Path(results, ind["checkpoint"]))
    model, train = payload["config"]["model"], payload["config"]["train"]
    seeds = [s["seed"] for s in data["distribution_shift"]["seeds"]]

    def at(name: str, seed: int) -> dict:
        index = [s["seed"] for s in data[name]["seeds"]].index(seed)
        return one_seed(data[name], index)

    per_seed = [
        quantities({n: at(n, seed) for n in STANDARD_MODEL_RESULTS}) for seed in seeds
    ]
    per_pretraining_seed = [
        quantities({"pretraining": one_seed(pre, j)}) for j in range(len(pre["seeds"]))
    ]
    quantities_by_seed = {k: [q[k] for q in per_seed] for k in STANDARD_QUANTITIES}
    # claim 1 asks whether the model learns the task: every seed counts
    every_seed = [
        quantities({"in_distribution": one_seed(ind, i)})
        for i in range(len(ind["seeds"]))
    ]
    quantities_by_seed["in_distribution_error"] = [
        q["in_distribution_error"] for q in every_seed
    ]
    by_results = {"pretraining": per_pretraining_seed, "in_distribution": every_seed}
    for k in PRETRAINING_QUANTITIES:
        quantities_by_seed[k] = [q[k] for q in per_pretraining_seed]
    seed_holds = {
        claim.key: [
            claim.holds(q, Thresholds())
            for q in by_results.get(claim.results, per_seed)
        ]
        for claim in (*CLAIMS, *scale_parts())
    }
    return PresetSummary(
        preset=preset,
        n_parameters=sum(t.numel() for t in payload["model"].values()),
        n_dims=model["n_dims"],
        n_points=model["n_points"],
        architecture=f"{model['n_layer']} × {model['n_head']} × {model['n_embd']}",
        steps=train["steps"],
        schedule=schedule(payload["config"]),
        train_seconds=float(payload["seconds"]),
        train_device=payload.get("device", "unknown"),
        seeds=seeds,
        unlearned=unlearned_seeds(ind),
        all_seeds=[s["seed"] for s in ind["seeds"]],
        pretraining_seeds=[s["seed"] for s in pre["seeds"]],
        pretraining=list(pre["models"]),
        quantities=quantities_by_seed,
        seed_holds=seed_holds,
        verdicts=[Verdict(**claim) for claim in data["scorecard"]["claims"]],
        parts=[
            Verdict(**part)
            for part in data["scorecard"].get("parts", [])
            if part["key"] in SCALE_PARTS
        ],
        checkpoints=checkpoints_of(data),
    )


def schedule(config: dict) -> str:
    """'learning rate 0.0001; d from 5 to 10 and points from 11 to 21 over the first
    4,000 steps': how a preset's models were trained to the task."""
    c, lr = config["curriculum"], config["train"]["lr"]
    stages = max(
        (c["dims_end"] - c["dims_start"]) / max(c["dims_inc"], 1),
        (c["points_end"] - c["points_start"]) / max(c["points_inc"], 1),
    )
    return (
        f"learning rate {lr:g}; d from {c['dims_start']} to {c['dims_end']} and points "
        f"from {c['points_start']} to {c['points_end']} over the first "
        f"{int(stages * c['interval']):,} steps"
    )


def measured_values(summary: PresetSummary, quantity: str) -> list[float]:
    """A quantity's per-seed values, without the seeds where it was not measured."""
    return [float(v) for v in summary.quantities[quantity] if v is not None]


# one preset against another, one factor apart --------------------------------------


# the factor each pair of presets varies, everything else held fixed but the curriculum
# fields the label names (the d pair's shorter stages; at d = 10, small's curriculum,
# which starts later and is stretched over the longer run)
FACTORS = (
    ("prompt length", "cpu", "cpu-p21"),
    ("d with shorter stages", "cpu-p21", "cpu-d10"),
    ("training length at d = 5", "cpu", "cpu-16k"),
    ("training length and curriculum at d = 10", "cpu-d10", "small-4x64"),
    ("depth and width", "small-4x64", "small"),
)


def seeds_of(summary: PresetSummary, claim: Claim) -> list[int]:
    """The training seeds a claim is judged over at a preset: claim 1's every seed,
    claims 7a and 7b those of the other pretraining distributions, the others those
    that learned the task."""
    return {
        "pretraining": summary.pretraining_seeds,
        "in_distribution": summary.all_seeds,
    }.get(claim.results, summary.seeds)


def key_values(summary: PresetSummary, claim: Claim) -> dict[int, float]:
    """The claim's key quantity at each of its training seeds (`seeds_of`), leaving
    out unmeasured seeds."""
    return {
        seed: float(value)
        for seed, value in zip(
            seeds_of(summary, claim), summary.quantities[claim.quantity]
        )
        if value is not None
    }


def values_change(first: Sequence[float], last: Sequence[float], claim: Claim) -> str:
    """How the key quantity moves between two lists of seed values: 'no clear change'
    when the two ranges overlap, else 'strengthens' towards the side where the claim
    holds or 'weakens'."""
    if max(first) >= min(last) and max(last) >= min(first):  # seed ranges overlap
        return "no clear change"
    toward = (np.mean(last) > np.mean(first)) == (claim.key_condition.op in (">", ">="))
    return "strengthens" if toward else "weakens"


def change(before: PresetSummary, after: PresetSummary, claim: Claim) -> str:
    """How a claim moves from one preset to another, each judged over its own seeds
    (`seeds_of`), the two sets compared as sets, not seed by seed: 'flips (no → yes)'
    when the verdict changes and the seed ranges of its key quantity separate
    (`values_change`); 'verdict differs, ranges overlap (no → yes)' when it changes
    without them; else the quantity's change with the verdict at both. Where a
    preset's status is not the criterion's plain outcome (it holds only before its
    controls), the change of status follows. 'not tested' where either preset could
    not test the claim, 'one seed: not compared' where either has fewer than two
    seeds."""
    if any(verdict_of(s, claim).holds is None for s in (before, after)):
        return "not tested"
    first, last = (list(key_values(s, claim).values()) for s in (before, after))
    if min(len(first), len(last)) < 2:
        return "one seed: not compared"
    outcomes = [verdict_of(s, claim).outcome for s in (before, after)]
    statuses = [verdict_of(s, claim).status for s in (before, after)]
    moved = values_change(first, last, claim)
    # the status where the controls say more than the criterion's yes or no
    plain = statuses == [{"yes": HOLDS, "no": FAILS}[o] for o in outcomes]
    if plain:
        status = ""
    elif statuses[0] == statuses[1]:
        status = f"; {statuses[0]} at both"
    else:
        status = f"; {statuses[0]} → {statuses[1]}"
    if outcomes[0] != outcomes[1]:
        kind = (
            "verdict differs, ranges overlap" if moved == "no clear change" else "flips"
        )
        return f"{kind} ({outcomes[0]} → {outcomes[1]}){status}"
    return f"{moved} ({outcomes[1]} at both){status}"


def chance_separation(n_before: int, n_after: int) -> float:
    """The chance that the seed ranges of two presets separate when all their seeds'
    values come from one distribution: 2 of the C(n + m, n) orderings."""
    return 2 / math.comb(n_before + n_after, n_before)


def trend(summaries: list[PresetSummary], claim: Claim) -> str:
    """How a claim moves from the smallest to the largest preset that tested it
    (`change`)."""
    tested = [s for s in summaries if verdict_of(s, claim).holds is not None]
    if len(tested) < 2:
        return "tested at one scale" if tested else "not tested"
    return change(tested[0], tested[-1], claim)


def attribution(summaries: list[PresetSummary], claim: Claim) -> dict[str, str]:
    """For each of `FACTORS`, how the claim moves when only that factor changes ('not
    run' where either preset lacks results)."""
    by_name = {s.preset: s for s in summaries}
    return {
        factor: change(by_name[a], by_name[b], claim)
        if a in by_name and b in by_name
        else "not run"
        for factor, a, b in FACTORS
    }


# the outcomes of `change` and `attribution` that compare nothing
UNCOMPARED = ("not tested", "not run", "one seed")


def separation_counts(
    summaries: list[PresetSummary], claims: tuple[Claim, ...]
) -> tuple[int, float, int, list[tuple[int, int]]]:
    """Over every factor pair with results and every claim it compares: the number of
    comparisons, the separations of seed ranges expected by chance alone
    (`chance_separation`), those observed, and the numbers of seeds compared."""
    by_name = {s.preset: s for s in summaries}
    comparisons, expected, observed, sizes = 0, 0.0, 0, set()
    for factor, a, b in FACTORS:
        if a not in by_name or b not in by_name:
            continue
        for claim in claims:
            moved = change(by_name[a], by_name[b], claim)
            if moved.startswith(UNCOMPARED):
                continue
            n, m = (len(key_values(by_name[k], claim)) for k in (a, b))
            comparisons += 1
            expected += chance_separation(n, m)
            observed += moved.startswith(("flips", "strengthens", "weakens"))
            sizes.add((n, m))
    return comparisons, expected, observed, sorted(sizes)


# scale.json ------------------------------------------------------------------------


def write_scale(
    path: str | Path, summaries: list[PresetSummary], results: str | Path
) -> None:
    """`scale.json`: every compared preset's scale, quantities per seed, verdicts and
    the checkpoints they rest on (read under `results`)."""
    write_json(
        path,
        {
            "presets": [s.preset for s in summaries],
            "by_preset": {
                s.preset: {
                    "n_parameters": s.n_parameters,
                    "n_dims": s.n_dims,
                    "n_points": s.n_points,
                    "architecture": s.architecture,
                    "steps": s.steps,
                    "train_seconds": s.train_seconds,
                    "train_device": s.train_device,
                    "seeds": s.seeds,
                    "unlearned_seeds": s.unlearned,
                    "pretraining_seeds": s.pretraining_seeds,
                    "pretraining": s.pretraining,
                    "quantities": s.quantities,
                    "seed_holds": s.seed_holds,
                    "verdicts": [dataclasses.asdict(v) for v in s.verdicts],
                    "parts": [dataclasses.asdict(v) for v in s.parts],
                }
                for s in summaries
            },
            "attribution": {
                "factors": [list(f) for f in FACTORS],
                "claims": {
                    claim.key: attribution(summaries, claim)
                    for claim in (*CLAIMS, *scale_parts())
                },
            },
            "checkpoints": rebased(
                {k: v for s in summaries for k, v in s.checkpoints.items()},
                results,
                Path(path).parent,
            ),
        },
    )
