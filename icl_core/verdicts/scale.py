"""One preset's results read for the comparison across scales: its size, each claim's
key quantity per training seed, its verdicts, and the tables' cells that show them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..analysis.shift_sweeps import MODERATE_SHIFT, quantities_at_query
from ..core import checkpoint
from ..core.presets import PRESETS
from ..core.results import checkpoints_of, format_range, one_seed, read_results
from .claims import CHECKS, CLAIMS, Claim, Thresholds, Verdict, quantities
from .scorecard import STANDARD_MODEL_RESULTS

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
    "centred_drop_beyond_input",
    "within_shift_spearman",
    "partial_spearman",
)
# the parts of `claims.CHECKS` the Scale chapter compares across presets
SCALE_PARTS = ("4a", "4b", "5a", "5b", "5c", "6a", "6b")


def scale_parts() -> tuple[Claim, ...]:
    """The definitions of `SCALE_PARTS`."""
    return tuple(c for c in CHECKS if c.key in SCALE_PARTS)


def verdict_of(summary: "PresetSummary", claim: Claim) -> Verdict:
    """The preset's verdict on `claim` (or on one of its parts), found by its key."""
    return next(
        v
        for v in (*summary.verdicts, *summary.parts)
        if v.claim.startswith(f"{claim.key}. ")
    )


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
    train_seconds: float  # the standard model's first seed
    train_device: str
    seeds: list[int]
    pretraining_seeds: list[int]  # the seeds claim 7 is judged over
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


def preset_summary(results: str | Path, preset: str) -> PresetSummary:
    """Read a preset's results (refusing stale ones) and the standard model's
    checkpoint for its size."""
    data = read_results(
        Path(results, preset), RESULTS, same_models=STANDARD_MODEL_RESULTS
    )
    ind, pre = data["in_distribution"], data["pretraining"]
    payload = checkpoint.read(Path(results, ind["checkpoint"]))
    model, train = payload["config"]["model"], payload["config"]["train"]
    per_seed = [
        quantities({n: one_seed(data[n], i) for n in STANDARD_MODEL_RESULTS})
        for i in range(len(ind["seeds"]))
    ]
    per_pretraining_seed = [
        quantities({"pretraining": one_seed(pre, j)}) for j in range(len(pre["seeds"]))
    ]
    quantities_by_seed = {k: [q[k] for q in per_seed] for k in STANDARD_QUANTITIES}
    quantities_by_seed["own_distribution_wins"] = [
        q["own_distribution_wins"] for q in per_pretraining_seed
    ]
    seed_holds = {
        claim.key: [
            claim.holds(q, Thresholds())
            for q in (
                per_pretraining_seed if claim.results == "pretraining" else per_seed
            )
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
        train_seconds=float(payload["seconds"]),
        train_device=payload.get("device", "unknown"),
        seeds=[s["seed"] for s in ind["seeds"]],
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


def quantities_at(
    results: str | Path, summary: PresetSummary, query: int
) -> dict[str, list[float | None]]:
    """Claim 1's and claim 3's key quantities per training seed of the standard model,
    read at query `query` instead of each prompt's last
    (`shift_sweeps.quantities_at_query`)."""
    names = ("in_distribution", "distribution_shift")
    data = read_results(Path(results, summary.preset), names, same_models=names)
    per_seed = [
        quantities_at_query(*(one_seed(data[n], i) for n in names), query)
        for i in range(len(summary.seeds))
    ]
    return {k: [q[k] for q in per_seed] for k in per_seed[0]}


def row_heading(summary: PresetSummary, claim: Claim) -> str:
    """The claim's row heading in the tables; a part (4a) marked ↳ under its claim."""
    text = verdict_of(summary, claim).claim
    return f"↳ {text}" if claim.key[-1].isalpha() else text


def measured_values(summary: PresetSummary, quantity: str) -> list[float]:
    """A quantity's per-seed values, without the seeds where it was not measured."""
    return [float(v) for v in summary.quantities[quantity] if v is not None]


def verdict_cell(verdict: Verdict) -> str:
    """'yes (5 of 5 seeds)', 'no (1 of 5 seeds)' or 'not tested'."""
    if verdict.holds is None:
        return verdict.outcome
    plural = "s" if verdict.seeds > 1 else ""
    return (
        f"{verdict.outcome} ({verdict.seeds_holding} of {verdict.seeds} seed{plural})"
    )


def quantity_rows(summaries: list[PresetSummary]) -> list[list[str]]:
    """The side-by-side table: one row per quantity, one column per preset, each cell
    the seed mean with the seed range."""

    def row(label, cell):
        return [label, *(cell(s) for s in summaries)]

    def measured(key, fmt=".3g", unit=""):
        def cell(s):
            values = measured_values(s, key)
            return format_range(values, fmt) + unit if values else "not tested"

        return cell

    return [
        row("parameters", lambda s: f"{s.n_parameters:,}"),
        row("d, points", lambda s: f"{s.n_dims}, {s.n_points}"),
        row("layers × heads × width", lambda s: s.architecture),
        row("training steps", lambda s: f"{s.steps:,}"),
        row("training wall time, one model (machine load varied)", training_time),
        row("training seeds (standard model)", lambda s: str(len(s.seeds))),
        row("pretraining distributions (claim 7)", lambda s: str(len(s.pretraining))),
        row("in-distribution error, last query", measured("in_distribution_error")),
        row(f"error growth, c = {MODERATE_SHIFT} vs c = 0",
            measured(f"error_growth_{MODERATE_SHIFT}", unit="×")),
        row("error growth, largest c vs c = 0", measured("error_growth_largest", unit="×")),
        row("median error at largest c, last query", measured("transformer_error_largest")),
        row("accuracy at c = 0", measured("accuracy_0", ".0%")),
        row("accuracy at largest c", measured("accuracy_largest", ".0%")),
        row("accuracy kept, largest c ÷ c = 0", measured("accuracy_kept", ".2f")),
        row("signature score at c = 0", measured("signature_in_distribution", ".2f")),
        row("signature score at largest c", measured("signature_largest", ".2f")),
        row("score drop, c = 0 → largest c", measured("signature_drop", ".2f")),
        row("Spearman, signature vs low loss", measured("spearman", ".2f")),
        row("σ1 growth, largest c vs c = 0", measured("sigma1_growth", unit="×")),
        row("signature score, c = 0, above layer 0 and untrained",
            measured("signature_beyond_input", ".2f")),
        row("signature score, c = 0, centred", measured("signature_centred", ".2f")),
        row("score drop, above layer 0 and untrained", measured("drop_beyond_input", ".2f")),
        row("σ1 growth ÷ layer 0's or untrained's",
            measured("sigma1_growth_beyond_input", ".2f", "×")),
        row("centred score drop, above layer 0 and untrained",
            measured("centred_drop_beyond_input", ".2f")),
        row("Spearman within a shift level", measured("within_shift_spearman", ".2f")),
        row("Spearman, prompt statistics partialled out",
            measured("partial_spearman", ".2f")),
        row("own-distribution wins (claim 7)", measured("own_distribution_wins", ".2f")),
    ]  # fmt: skip


def training_time(summary: PresetSummary) -> str:
    """'86 min on cpu (2 threads)': the standard model's first seed."""
    return f"{summary.train_seconds / 60:.0f} min on {summary.train_device}"


def seeds_text(summary: PresetSummary) -> str:
    """'5 training seeds' or '1 training seed'."""
    n = len(summary.seeds)
    return f"{n} training seed{'s' if n > 1 else ''}"


def describe(summary: PresetSummary) -> str:
    """'cpu (201,921 parameters, d = 5, 5 training seeds)'."""
    return (
        f"{summary.preset} ({summary.n_parameters:,} parameters, d = "
        f"{summary.n_dims}, {seeds_text(summary)})"
    )
