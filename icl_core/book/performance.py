"""The chapter "Performance": its tables, and each text it quotes, from the recorded
wall times of a book run (`timings.json`) and the training benchmarks
(`benchmarks.json`)."""

from __future__ import annotations

import math

from ..core.results import Table
from .glue import as_text

MODES = ("reuse", "retrain")
# the ratio to the reference implementation this replication set out to reach on a CPU
TARGETS = {"cpu": 1.5, "paper": 1.2}


def timings_table(timings: dict, chapters: list[str]) -> Table:
    """Each chapter's wall time in every recorded kind of run, and the run's totals."""
    modes = [m for m in MODES if m in timings]
    rows = [[c, *[timings[m]["seconds"].get(c, "") for m in modes]] for c in chapters]
    rows += [
        ["**total**", *[f"**{timings[m]['total']}**" for m in modes]],
        ["chapters side by side", *[timings[m].get("jobs", 1) for m in modes]],
        ["models trained", *[timings[m].get("models_trained", "") for m in modes]],
        [
            "recorded",
            *[f"{timings[m]['date']}, {timings[m]['cpu_count']} cores" for m in modes],
        ],
    ]
    return ["chapter", *[f"{m} (s)" for m in modes]], rows


def benchmark_table(bench: dict) -> Table:
    """Training throughput against the reference implementation, per device and
    configuration."""
    rows = []
    for kind, entry in bench.items():
        for r in entry["results"]:
            med, flops = r["median_steps_per_second"], r["flops_per_step"]
            achieved = r["achieved_flops"]["icl_core"] / entry["matmul_peak_flops"]
            rows.append(
                [
                    kind,
                    r["preset"],
                    r["batch_size"],
                    f"{med['icl_core']:.2f}",
                    f"{med['reference']:.2f}",
                    f"**{r['ratio']:.2f}×**",
                    f"{flops['icl_core'] / 1e9:.1f} / {flops['reference'] / 1e9:.1f}",
                    f"{achieved:.1%}",
                    f"{r['step_memory_bytes'] / 2**30:.2f}",
                ]
            )
    headers = ["device", "config", "batch", "steps/s, icl_core", "steps/s, reference"]
    headers += [
        "ratio",
        "GFLOP/step, icl_core / ref.",
        "icl_core, share of matmul peak",
    ]
    return [*headers, "icl_core, training memory (GiB)"], rows


def ablation_table(bench: dict) -> Table:
    """Each ablation's throughput relative to icl_core's default."""
    rows = [
        [
            kind,
            r["preset"],
            name,
            f"{a['relative']:.2f}× ({min(a['relative_per_repeat']):.2f}"
            f"–{max(a['relative_per_repeat']):.2f})",
        ]
        for kind, entry in bench.items()
        for r in entry["results"]
        for name, a in r.get("ablations", {}).items()
    ]
    headers = ["device", "config", "icl_core with …"]
    relative = (
        "steps/s relative to icl_core's default: median (lowest–highest repetition)"
    )
    return [*headers, relative], rows


def texts(timings: dict, bench: dict, preset: str) -> dict[str, str]:
    """Every text the chapter quotes, by glue name."""
    out = {
        "perf_preset": preset,
        **{
            f"perf_{m}_minutes": as_text(
                timings[m]["total"] / 60 if m in timings else math.nan, ".1f"
            )
            for m in MODES
        },
        "perf_models_trained": as_text(
            timings.get("retrain", {}).get("models_trained", "an unrecorded number of")
        ),
    }
    concurrent = bench.get("cpu", {}).get("concurrent_training")
    if concurrent:
        seconds = concurrent["median_seconds"]
        out |= {
            "perf_conc_steps": as_text(concurrent["steps"]),
            "perf_conc_speedup": as_text(concurrent["speedup"], ".2f"),
            "perf_conc_cores": as_text(concurrent["cores"]),
            "perf_conc_side": as_text(seconds["side_by_side"], ".0f"),
            "perf_conc_after": as_text(seconds["one_after_the_other"], ".0f"),
        }
    else:
        names = ("steps", "speedup", "cores", "side", "after")
        out |= {f"perf_conc_{name}": "not measured" for name in names}
    ratios = {r["preset"]: r["ratio"] for r in bench.get("cpu", {}).get("results", [])}
    for config, target in TARGETS.items():
        ratio = ratios.get(config)
        # enough digits to judge a target
        out[f"perf_{config}_ratio"] = (
            "not measured" if ratio is None else f"{ratio:.3f}×"
        )
        out[f"perf_{config}_target"] = (
            "not measured"
            if ratio is None
            else f"{target}× ({'met' if ratio >= target else 'not met'})"
        )
    out["perf_gpu"] = (
        "measured, see the cuda rows"
        if "cuda" in bench
        else "not measured yet; make bench on a CUDA machine adds cuda rows "
        "(bf16 autocast for both models)"
    )
    out["perf_machines"] = (
        "; ".join(
            f"{kind}: {e['machine']}, torch {e['torch']}, "
            f"transformers {e['transformers']}, measured matmul peak "
            f"{e['matmul_peak_flops'] / 1e9:.0f} GFLOP/s"
            for kind, e in bench.items()
        )
        or "none recorded"
    )
    return out
