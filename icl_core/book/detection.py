"""The chapter "The signature as a detector": its figure data, its table and every
text it quotes, from `analysis.detection.measure`'s record per training seed."""

from __future__ import annotations

import numpy as np

from ..analysis.detection import DETECTORS, INPUT_ONLY
from ..core.results import Table, format_range, read_results
from ..verdicts.claims import Thresholds, Verdict
from ..verdicts.findings import FINDINGS
from ..verdicts.scorecard import judge_all
from .glue import as_text

SHORT = {
    "signature": "signature",
    "signature_typicality": "signature, typ.",
    "mean_x_norm": "‖x̄‖",
    "nll_x": "NLL of x",
    "rms_y": "rms of y",
    "mahalanobis": "Mahalanobis",
    "knn": "k-NN",
}


def per_seed_matrix(per_seed: list[dict], key: str, names: list[str]) -> np.ndarray:
    """AUROC (seeds, conditions, detectors) under `key` ("auroc_shift" or
    "auroc_failure"), NaN where a condition had no failure to flag or only failures."""
    return np.array(
        [
            [
                [np.nan if r[key][n][d] is None else r[key][n][d] for d in DETECTORS]
                for n in names
            ]
            for r in per_seed
        ],
        dtype=float,
    )


def verdict_table(per_seed: list[dict], conditions: list[dict], t: Thresholds) -> Table:
    """Per condition that leaves x in distribution: the signature's AUROC, the best
    input-only detector's, the advantage, and the seeds in which it reaches the
    margin."""
    names = [c["name"] for c in conditions if c["x_in_distribution"]]
    shift = per_seed_matrix(per_seed, "auroc_shift", names)
    signature = shift[:, :, list(DETECTORS).index("signature")]
    inputs = shift[:, :, [list(DETECTORS).index(d) for d in INPUT_ONLY]].max(axis=2)
    headers = [
        "shift",
        "signature",
        "best on the input alone",
        "advantage",
        f"seeds ≥ {t.detector_margin:g}",
    ]
    rows = [
        [
            name,
            format_range(signature[:, i]),
            format_range(inputs[:, i]),
            format_range(signature[:, i] - inputs[:, i], "+.2f"),
            f"{int((signature[:, i] - inputs[:, i] >= t.detector_margin).sum())} of "
            f"{len(per_seed)}",
        ]
        for i, name in enumerate(names)
    ]
    return headers, rows


def finding(folder, t: Thresholds) -> Verdict:
    """Finding H judged on the results file just written in `folder`, as the findings
    table judges it."""
    data = read_results(folder, ["detection"])
    (claim,) = [c for c in FINDINGS if c.key == "H"]
    return judge_all((claim,), data, t)[0]


FAMILY_TITLES = {
    "x_mean": "x ~ N(c·1, I)",
    "x_mean_w_perp": "x ~ N(c·1, I), w ⊥ 1",
    "x_mean_random": "mean c√d·u, u random",
    "x_scale": "x ~ N(0, c² I)",
    "w_mean": "w ~ N(c·1, I)",
    "w_scale": "w ~ N(0, c² I)",
}

# the AUROCs the prose quotes: glue name -> (condition, detector)
QUOTED = {
    "sig_x_mean": ("x_mean=1", "signature"),
    "norm_x_mean": ("x_mean=1", "mean_x_norm"),
    "sig_x_mean_big": ("x_mean=4", "signature"),
    "sig_w_mean": ("w_mean=2", "signature"),
    "typ_w_mean": ("w_mean=2", "signature_typicality"),
    "rms_y_w_mean": ("w_mean=2", "rms_y"),
    "maha_w_mean": ("w_mean=2", "mahalanobis"),
    "sig_small_y": ("scale-y=0.333", "signature"),
    "rms_y_small_y": ("scale-y=0.333", "rms_y"),
}


def failure_medians(per_seed: list[dict]) -> np.ndarray:
    """Per training seed and detector, the median over conditions of the AUROC of
    flagging failing prompts (conditions where none or all fail left out)."""
    names = list(per_seed[0]["auroc_failure"])
    return np.nanmedian(per_seed_matrix(per_seed, "auroc_failure", names), axis=1)


def texts(
    per_seed: list[dict],
    verdict: Verdict,
    t: Thresholds,
    preset: str,
    n_prompts: int,
    fit_prompts: int,
    neighbours: int,
    failure_factor: float,
) -> dict[str, str]:
    """Every text the chapter quotes, by glue name."""
    medians = failure_medians(per_seed)
    detectors = list(DETECTORS)
    inputs = [detectors.index(d) for d in INPUT_ONLY]
    streams = [detectors.index(d) for d in ("mahalanobis", "knn")]
    best_input = max(inputs, key=lambda k: medians[:, k].mean())
    best_stream = max(streams, key=lambda k: medians[:, k].mean())
    failure = (
        "Over the conditions, the signature's median AUROC of flagging failing prompts "
        f"is {format_range(medians[:, 0])}, against "
        f"{format_range(medians[:, best_input])} for the best statistic of the input "
        f"({DETECTORS[detectors[best_input]]}) and "
        f"{format_range(medians[:, best_stream])} for the best detector on the "
        f"residual stream ({DETECTORS[detectors[best_stream]]})."
    )

    def at(condition: str, detector: str) -> list[float]:
        return [r["auroc_shift"][condition][detector] for r in per_seed]

    quoted = {
        f"det_{name}": format_range(at(condition, detector))
        for name, (condition, detector) in QUOTED.items()
    }
    below = sum(a < 0.5 for a in at("w_mean=2", "signature"))
    return {
        **quoted,
        "det_below_half": f"{below} of {len(per_seed)}",
        "det_preset": preset,
        "det_n_prompts": as_text(n_prompts),
        "det_fit_prompts": as_text(fit_prompts),
        "det_neighbours": as_text(neighbours),
        "det_failure_factor": f"{failure_factor:g}",
        "det_margin": f"{t.detector_margin:g}",
        "det_seed_share": f"{t.seed_share:g}",
        "det_measured": verdict.measured,
        "det_passing": f"{verdict.seeds_holding} of {verdict.seeds}",
        "det_verdict": USEFUL[bool(verdict.holds)],
        "det_short": USEFUL_SHORT[bool(verdict.holds)],
        "det_failure_sentence": failure,
        "det_failure_reading": STREAMS_BEST[
            bool(
                medians[:, best_stream].mean()
                > max(medians[:, 0].mean(), medians[:, best_input].mean())
            )
        ],
    }


USEFUL = {
    True: "By the rule, the signature is a useful detector: on some shift that leaves "
    "x in distribution it beats every statistic of the input by the margin.",
    False: "By the rule, the signature is not a useful detector: on no shift that "
    "leaves x in distribution does it beat every statistic of the input by the "
    "margin, on the seed mean and in enough seeds.",
}

# the intro's sentence
USEFUL_SHORT = {
    True: "the signature detects some shift of w or y better than the input does",
    False: "the signature detects shifts of w or y no better than the input does",
}

# whether the best residual-stream detector flags failing prompts better (median AUROC,
# seed mean) than both the signature and the best statistic of the input
STREAMS_BEST = {
    True: "The distances on the residual stream flag the failing prompts better than "
    "the signature and the input do: they are fitted on the states the prediction is "
    "read from, and a failing prediction tends to be read from an unusual state.",
    False: "The distances on the residual stream do not flag the failing prompts "
    "better than the signature or the input does.",
}
