"""The presets side by side, read from results files as the chapters write them."""

import pytest
import torch
from conftest import spectral_controls_record

from icl_core.book.scale import (
    factors_flipping,
    moved_by,
    quantity_rows,
    seeds_text,
    summary_text,
    training_time,
    verdict_cell,
)
from icl_core.core import checkpoint
from icl_core.core.presets import get_preset
from icl_core.core.results import StaleResultsError, checkpoint_record
from icl_core.core.storage import write_json
from icl_core.verdicts.claims import CLAIMS as DEFINED
from icl_core.verdicts.scale import (
    FACTORS,
    attribution,
    chance_separation,
    change,
    key_values,
    preset_summary,
    presets_with_results,
    scale_parts,
    trend,
    verdict_of,
)

CLAIMS = [f"{k}. claim" for k in ("1", "2", "3", "4", "5", "6", "7a", "7b")]
STATUS = {True: "holds", False: "does not hold", None: "not tested"}


def write_preset(
    results, preset, errors, score0, holds, n_models=3, n_seeds=2, unlearned=()
):
    """A preset's results: `errors` the transformer's median error at c = 0, 4, 16 and
    `score0` its signature score at c = 0 (the same for every seed but the last,
    which is 10% worse); `holds` the scorecard's verdict per claim. The seeds of
    `unlearned` have an in-distribution error of 0.2, and only in_distribution.json
    and pretraining.json keep them, as the chapters do."""
    folder = results / preset
    paths = []
    for seed in range(n_seeds):
        path = folder / f"{preset}-{seed}" / "model.pt"
        config = get_preset(preset).with_changes(train={"seed": seed})
        weights = {"w": torch.zeros(10), "b": torch.full((5,), float(seed))}
        checkpoint.save(
            path,
            {"config": config.to_dict(), "model": weights, "seconds": 60.0 * seed},
        )
        paths.append(path)
    record = checkpoint_record(paths, results)

    def seed_values(i):
        worse = 1.1 if i == n_seeds - 1 else 1.0
        return {
            "in_distribution": {
                "error_median": {
                    "transformer": [1.0, 0.2 if i in unlearned else errors[0] * worse],
                    "ols": [1.0, 1e-15],
                }
            },
            "distribution_shift": {
                "shifts": [0, 4, 16],
                "tolerance": 0.1,
                "transformer_error": {"median": [e * worse for e in errors]},
                **{
                    f"{m}_error": {"median": [1e-3] * 3} for m in ("ols", "ridge", "gd")
                },
                "transformer_accuracy": [0.9, 0.5, 0.1],
                "ols_accuracy": [1.0] * 3,
            },
            "spectral": {
                "shifts": [0, 16],
                "layer": 4,
                "signature_score": [score0 / worse, 0.3],
                "leading_singular_values": {"sigma1": [10.0, 30.0]},
                "spearman_signature_vs_loss": {
                    "value": 0.6,
                    "low": 0.5,
                    "high": 0.7,
                    "pooled_prompts": 100,
                },
                **spectral_controls_record(),
            },
            "pretraining": {
                "models": ["standard", "x_shifted", "x_wide"][:n_models],
                "lowest_error_is_own_model": [True, False, True][:n_models],
                # own ÷ best other: 0.5, 2, 0.5
                "median_error": [[0.1, 0.4, 0.6], [0.2, 0.8, 0.6], [0.3, 0.5, 0.3]][
                    :n_models
                ],
                "highest_score_is_own_distribution": [True] * n_models,
            },
        }

    seeds = [seed_values(i) for i in range(n_seeds)]
    for name in seeds[0]:
        kept = [
            (i, s)
            for i, s in enumerate(seeds)
            if i not in unlearned or name in ("in_distribution", "pretraining")
        ]
        top = {**kept[0][1][name], "checkpoint": f"{preset}/{preset}-0/model.pt"}
        write_json(
            folder / f"{name}.json",
            {
                **top,
                "seeds": [{"seed": i, **s[name]} for i, s in kept],
                "checkpoints": checkpoint_record([paths[i] for i, _ in kept], results),
            },
        )
    claims = [
        {
            "claim": claim,
            "measured": "",
            "criterion": "",
            "holds": h,
            "seeds_holding": 0 if h is None else n_seeds * bool(h),
            "seeds": 0 if h is None else n_seeds,
            "key": claim.split(".")[0],
            "status": STATUS[h],
        }
        for claim, h in zip(CLAIMS, holds)
    ]
    write_json(folder / "scorecard.json", {"claims": claims, "checkpoints": record})
    return folder


def test_presets_are_compared_smallest_first_with_their_size_and_seeds(tmp_path):
    write_preset(
        tmp_path, "small", [0.01, 0.5, 5.0], 0.95, [True] * 6 + [None] * 2, 1, 1
    )
    write_preset(tmp_path, "cpu", [0.02, 2.0, 20.0], 0.7, [True] * 3 + [False] * 5)
    assert presets_with_results(tmp_path, ["small", "cpu", "paper"]) == ["cpu", "small"]
    cpu, small = (preset_summary(tmp_path, p) for p in ("cpu", "small"))
    assert (cpu.n_parameters, cpu.n_dims, cpu.steps) == (15, 5, 6000)
    assert (small.n_dims, small.n_points, small.seeds) == (10, 21, [0])
    assert training_time(small) == "0 min on unknown"
    assert cpu.quantities["error_growth_4"] == pytest.approx([100, 100])
    assert cpu.quantities["in_distribution_error"] == pytest.approx([0.02, 0.022])
    assert cpu.quantities["own_error_ratio"] == pytest.approx([2.0] * 2)
    assert cpu.quantities["own_highest_score_share"] == pytest.approx([1.0] * 2)
    assert small.quantities["own_error_ratio"] == [None]
    rows = {row[0]: row[1:] for row in quantity_rows([cpu, small])}
    assert rows["error growth, c = 4 vs c = 0"] == ["100 [100, 100]×", "50×"]
    assert rows["in-distribution error, last query"] == ["0.021 [0.02, 0.022]", "0.011"]
    assert verdict_cell(small.verdicts[6]) == "not tested"
    assert verdict_cell(cpu.verdicts[0]) == "holds (2 of 2 seeds)"


def test_the_trend_says_whether_a_claim_flips_strengthens_or_weakens(tmp_path):
    write_preset(tmp_path, "cpu", [0.02, 2.0, 20.0], 0.7, [True] * 3 + [False] * 5)
    write_preset(tmp_path, "small", [0.01, 0.5, 5.0], 0.95, [True] * 6 + [None] * 2, 1)
    summaries = [preset_summary(tmp_path, p) for p in ("cpu", "small")]
    trends = [trend(summaries, c) for c in DEFINED]
    assert trends[0] == "strengthens (yes at both)"  # error 0.02, 0.022 → 0.01, 0.011
    assert trends[2] == "weakens (yes at both)"  # growth 1000× → 500×
    assert trends[1] == "no clear change (yes at both)"  # 0.11 in both
    assert trends[3] == "flips (no → yes)"  # score 0.67 → 0.95
    assert trends[6] == "tested at one scale"
    assert trend(summaries[:1], DEFINED[0]) == "tested at one scale"
    # a range of one seed against another is no comparison
    write_preset(tmp_path, "cpu-16k", [0.01, 0.5, 5.0], 0.95, [True] * 8, 1, 1)
    one = preset_summary(tmp_path, "cpu-16k")
    assert change(summaries[0], one, DEFINED[0]) == "one seed: not compared"


def test_each_preset_is_judged_over_its_own_seeds(tmp_path):
    # two presets' seeds share at most an ID, never their weights: none is paired, and
    # each side keeps all its seeds (5 against 3), with its own verdict
    write_preset(tmp_path, "cpu", [0.02, 2.0, 20.0], 0.95, [True] * 8, n_seeds=5)
    write_preset(tmp_path, "cpu-16k", [0.02, 2.0, 20.0], 0.95, [False] * 8, n_seeds=3)
    cpu, longer = (preset_summary(tmp_path, p) for p in ("cpu", "cpu-16k"))
    claim4 = DEFINED[3]
    assert verdict_cell(verdict_of(cpu, claim4)) == "holds (5 of 5 seeds)"
    assert [len(key_values(s, claim4)) for s in (cpu, longer)] == [5, 3]
    # the ranges overlap, so the verdicts differ without a flip
    assert change(cpu, longer, claim4) == "verdict differs, ranges overlap (yes → no)"


def test_a_preset_whose_checkpoint_changed_is_refused(tmp_path):
    folder = write_preset(tmp_path, "cpu", [0.02, 2.0, 20.0], 0.7, [True] * 8)
    (folder / "cpu-1" / "model.pt").write_bytes(b"retrained")
    with pytest.raises(StaleResultsError, match="cpu-1"):
        preset_summary(tmp_path, "cpu")


def test_each_factor_is_read_from_the_pair_of_presets_that_varies_it_alone(tmp_path):
    write_preset(tmp_path, "cpu", [0.02, 2.0, 20.0], 0.7, [True] * 3 + [False] * 5)
    # more training moves nothing; d moves claim 4 from no to yes
    write_preset(tmp_path, "cpu-16k", [0.02, 2.0, 20.0], 0.7, [True] * 3 + [False] * 5)
    write_preset(tmp_path, "cpu-p21", [0.02, 2.0, 20.0], 0.7, [True] * 3 + [False] * 5)
    write_preset(tmp_path, "cpu-d10", [0.02, 2.0, 20.0], 0.95, [True] * 4 + [False] * 4)
    names = ("cpu", "cpu-p21", "cpu-d10", "cpu-16k")
    summaries = [preset_summary(tmp_path, p) for p in names]
    claim4 = attribution(summaries, DEFINED[3])
    assert claim4 == {
        "prompt length": "no clear change (no at both)",
        "d with shorter stages": "flips (no → yes)",
        "training length at d = 5": "no clear change (no at both)",
        "training length and curriculum at d = 10": "not run",
        "depth and width": "not run",
    }
    assert moved_by(claim4) == "d with shorter stages: flips"
    assert factors_flipping(summaries, DEFINED) == {"d with shorter stages": ["4"]}
    assert summary_text(summaries).endswith(
        "Changing d with shorter stages alone flips claim 4."
    )
    assert moved_by(attribution(summaries, DEFINED[1])) == "no clear change"


def test_seeds_that_did_not_learn_the_task_are_set_aside_and_named(tmp_path):
    write_preset(tmp_path, "small", [0.01, 2.0, 20.0], 0.95, [True] * 8, 3, 3, [1])
    summary = preset_summary(tmp_path, "small")
    assert summary.seeds == [0, 2]
    assert summary.unlearned == {"1": 0.2}
    # claim 1, whether the model learns the task, counts every seed
    assert summary.quantities["in_distribution_error"] == pytest.approx(
        [0.01, 0.2, 0.011]
    )
    assert summary.seed_holds["1"] == [True, False, True]
    assert summary.seed_holds["4"] == [True, False]  # seed 2 scores 10% lower
    assert seeds_text(summary) == (
        "2 training seeds that learned the task (1 set aside)"
    )
    rows = {row[0]: row[1:] for row in quantity_rows([summary])}
    assert rows["training seeds that learned the task (standard model)"] == ["2 of 3"]
    assert moved_by({"a": "not run", "b": "not tested"}) == "not tested"
    assert moved_by({"a": "not run", "b": "one seed: not compared"}) == (
        "one seed: not compared"
    )


def test_results_that_average_in_a_seed_that_did_not_learn_are_refused(tmp_path):
    import json

    folder = write_preset(tmp_path, "small", [0.01, 2.0, 20.0], 0.95, [True] * 8, 3, 3)
    ind = json.loads((folder / "in_distribution.json").read_text())
    ind["seeds"][1]["error_median"]["transformer"][-1] = 0.2
    write_json(folder / "in_distribution.json", ind)
    with pytest.raises(StaleResultsError, match=r"averages in training seeds \['1'\]"):
        preset_summary(tmp_path, "small")


def test_each_pair_of_factor_presets_differs_in_its_factor_and_named_curriculum_alone():
    def fields(name):
        config = get_preset(name).to_dict()
        return {
            f"{section}.{key}": value
            for section, values in config.items()
            if isinstance(values, dict)
            for key, value in values.items()
        }

    # a factor's own curriculum: where its schedule ends and how fast it grows there
    points = {"model.n_points", "curriculum.points_end", "curriculum.points_inc"}
    # at d = 10 the stages are shorter (the points grow by cpu's 2 again), so that both
    # quantities grow by cpu's steps and are full at step 3000 as at cpu-p21
    dims = {"model.n_dims", "curriculum.dims_end"}
    stages = {"curriculum.points_inc", "curriculum.interval"}
    # small's curriculum: later starts and longer stages, full at step 7000
    small_schedule = {
        "curriculum.dims_start",
        "curriculum.points_start",
        "curriculum.interval",
    }
    varied = {
        "prompt length": points,
        "d with shorter stages": dims | stages,
        "training length at d = 5": {"train.steps"},
        "training length and curriculum at d = 10": {"train.steps", *small_schedule},
        "depth and width": {"model.n_layer", "model.n_embd"},
    }
    for factor, before, after in FACTORS:
        a, b = fields(before), fields(after)
        # logging moves no result
        changed = {k for k in a if a[k] != b[k]} - {"train.log_every"}
        assert changed == varied[factor], factor


def test_a_verdict_that_changes_within_overlapping_seed_ranges_is_no_flip(tmp_path):
    write_preset(tmp_path, "cpu", [0.02, 2.0, 20.0], 0.7, [True] * 8)
    write_preset(tmp_path, "cpu-16k", [0.02, 2.0, 20.0], 0.7, [False] + [True] * 7)
    summaries = [preset_summary(tmp_path, p) for p in ("cpu", "cpu-16k")]
    claim1 = attribution(summaries, DEFINED[0])
    assert (
        claim1["training length at d = 5"]
        == "verdict differs, ranges overlap (yes → no)"
    )
    assert moved_by(claim1) == "no clear change"
    assert factors_flipping(summaries, DEFINED) == {}
    # three seeds against three separate by chance one time in ten
    assert chance_separation(3, 3) == pytest.approx(0.1)
    assert chance_separation(5, 3) == pytest.approx(2 / 56)


def test_the_committed_scale_record_is_current():
    """`results/scale.json` was written with today's factors and rule, from the
    committed results and checkpoints, unchanged."""
    import hashlib
    import json
    from pathlib import Path

    results = Path(__file__).resolve().parents[1] / "results"
    record = json.loads((results / "scale.json").read_text())
    assert record["attribution"]["factors"] == [list(f) for f in FACTORS]
    for path, digest in record["checkpoints"].items():
        data = (results / path).read_bytes()
        assert f"sha256:{hashlib.sha256(data).hexdigest()}" == digest, path
    summaries = [preset_summary(results, p) for p in record["presets"]]
    for claim in (*DEFINED, *scale_parts()):
        recorded = record["attribution"]["claims"][claim.key]
        assert attribution(summaries, claim) == recorded, claim.key
    for s in summaries:
        assert record["by_preset"][s.preset]["seed_holds"] == s.seed_holds


def test_the_report_holds_every_table_and_text_the_chapter_quotes(tmp_path):
    import json
    import re
    from pathlib import Path

    from icl_core.book.scale import scale_report

    for preset, score0, holds in (
        ("cpu", 0.7, [True] * 3 + [False] * 5),
        ("small", 0.95, [True] * 8),
    ):
        folder = write_preset(tmp_path, preset, [0.02, 2.0, 20.0], score0, holds)
        scorecard = json.loads((folder / "scorecard.json").read_text())
        scorecard["parts"] = [
            {"claim": f"{p.key}. part", "measured": "", "criterion": "", "key": p.key,
             "holds": False, "seeds_holding": 0, "seeds": 2, "status": "does not hold"}
            for p in scale_parts()
        ]  # fmt: skip
        write_json(folder / "scorecard.json", scorecard)
    report = scale_report(tmp_path, ["small", "cpu", "paper"])
    header, rows = report.verdicts
    assert header == ["claim", "`cpu`", "`small`", "smallest → largest"]
    order = ["1", "2", "3", "4", "↳ 4a", "↳ 4b", "5", "↳ 5a", "↳ 5b", "6", "↳ 6a"]
    assert [row[0].split(".")[0] for row in rows] == [
        *order,
        "↳ 6b",
        "7a",
        "↳ 7aa",
        "7b",
        "↳ 7ba",
    ]
    assert rows[3][1:] == [
        "does not hold (0 of 2 seeds)",
        "holds (2 of 2 seeds)",
        "flips (no → yes)",
    ]
    header, rows = report.attribution
    assert header[1:-1] == [f"{f}: `{a}` → `{b}`" for f, a, b in FACTORS]
    assert {row[-1] for row in rows} == {"not tested"}  # no factor pair has results
    assert report.texts["scale_not_run"] == "paper"
    assert report.texts["scale_held"] == "3 of 8 at cpu and 8 of 8 at small"
    book = Path(__file__).resolve().parents[1] / "book"
    chapter = (book / "scale.ipynb").read_text()
    quoted = set(re.findall(r"glue:text\}`(scale_\w+)`", chapter))
    quoted |= set(
        re.findall(r"scale\.ipynb::(scale_\w+)", (book / "intro.md").read_text())
    )
    assert quoted and quoted <= report.texts.keys()


def test_claims_1_and_3_can_be_read_at_an_earlier_query():
    from icl_core.analysis.shift_sweeps import quantities_at_query

    ind = {"error_median": {"transformer": [0.5, 0.1, 0.01]}}
    by_query = {"0": [0.5, 0.1, 0.01], "4": [0.6, 0.5, 0.4], "16": [1.0, 2.0, 3.0]}
    shift = {"shifts": [0, 4, 16], "transformer_error_by_query": by_query}
    assert quantities_at_query(ind, shift, 2) == pytest.approx(
        {
            "in_distribution_error": 0.1,
            "error_growth_largest": 20.0,
            "transformer_error_largest": 2.0,
        }
    )
    assert quantities_at_query(ind, shift, 3)["error_growth_largest"] == 300.0
    # a file written before the per-query record reads as not measured
    assert set(quantities_at_query(ind, {"shifts": [0, 16]}, 2).values()) == {None}


def test_the_per_query_record_ends_at_each_prompts_last_query():
    """Where a committed distribution_shift.json records every query, its last entry is
    the last-query median the verdicts read."""
    import json
    from pathlib import Path

    results = Path(__file__).resolve().parents[1] / "results"
    checked = 0
    for path in results.glob("*/distribution_shift.json"):
        record = json.loads(path.read_text())
        for seed in record["seeds"]:
            by_query = seed.get("transformer_error_by_query")
            if by_query is None:
                continue
            last = [by_query[str(c)][-1] for c in record["shifts"]]
            assert last == pytest.approx(seed["transformer_error"]["median"]), path
            checked += 1
    assert checked > 0


def test_the_verdict_grid_colours_each_cell_by_status_and_the_trend_names_a_change(
    tmp_path,
):
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from icl_core.book.plotting import STATUS_COLORS, verdict_grid
    from icl_core.verdicts.scale import trend

    write_preset(tmp_path, "cpu", [0.02, 2.0, 20.0], 0.7, [True] * 3 + [False] * 5)
    folder = write_preset(tmp_path, "small", [0.01, 0.5, 5.0], 0.95, [True] * 8)
    scorecard = json.loads((folder / "scorecard.json").read_text())
    scorecard["claims"][1]["status"] = "holds only before its controls"
    write_json(folder / "scorecard.json", scorecard)
    summaries = [preset_summary(tmp_path, p) for p in ("cpu", "small")]
    fig, ax = plt.subplots()
    verdict_grid(ax, summaries)
    colours = [matplotlib.colors.to_hex(p.get_facecolor()) for p in ax.patches]
    expected = [
        STATUS_COLORS[s]
        for claim in range(8)
        for s in (
            "holds" if claim < 3 else "does not hold",
            "holds only before its controls" if claim == 1 else "holds",
        )
    ]
    assert colours == [c.lower() for c in expected]
    dots = [line for line in ax.lines if line.get_marker() == "o"]
    assert len(dots) == 8 * 2 * 2  # a dot per seed, two seeds at each preset
    plt.close(fig)
    assert trend(summaries, DEFINED[1]).endswith(
        "holds → holds only before its controls"
    )
