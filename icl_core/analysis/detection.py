"""The signature as an out-of-distribution detector, beside the detectors a
practitioner would use: statistics of the input alone, and distances of the query
token's last-layer state to in-distribution states (the Mahalanobis distance, Lee et
al. 2018; the distance to the k-th nearest neighbour, Sun et al. 2022).

Every detector is fitted on in-distribution prompts apart from those it is evaluated
on, and oriented so that a larger value means "more unusual". None reads the target:
the residual stream stops before the last y token, whose state has seen it."""

from __future__ import annotations

import numpy as np
import torch
from scipy import stats

from ..core.presets import PRETRAINING
from ..core.results import write_chapter_file
from ..core.samplers import Prompts, shifted
from .battery import KINDS, SETTINGS, battery_prompts, last_defined_prompt
from .evaluation import eval_prompts, residual_streams
from .loss_predictors import prompt_statistics
from .metrics import normalized_squared_error
from .remedies import moved_prompts
from .spectral import prompt_svd, reference_directions, signature_score

DETECTORS = {
    "signature": "signature score, last layer",
    # added after the first results showed the score rising under some shifts: not
    # part of finding H's rule
    "signature_typicality": "signature score, typicality",
    "mean_x_norm": "‖x̄‖, typicality",
    "nll_x": "NLL of x under N(0, I), typicality",
    "rms_y": "rms of the context's y, typicality",
    "mahalanobis": "Mahalanobis distance",
    "knn": "k-NN distance",
}
INPUT_ONLY = ("mean_x_norm", "nll_x", "rms_y")
# the shift families and their levels; a level of "x_mean_random" is the size c of a
# mean of norm c√d along a random direction per prompt
FAMILIES = {
    "x_mean": (0.25, 0.5, 1.0, 2.0, 4.0),
    "x_mean_w_perp": (0.25, 0.5, 1.0, 2.0, 4.0),
    "x_mean_random": (0.25, 0.5, 1.0, 2.0, 4.0),
    "x_scale": (1.25, 1.5, 2.0, 3.0),
    "w_mean": (0.5, 1.0, 2.0),
    "w_scale": (1.5, 2.0, 3.0),
}
# Garg et al.'s settings but the unshifted one and orthogonal queries, whose prompts
# stop at d points: any detector that reads positions would flag them for that alone
BATTERY = tuple(s for s in SETTINGS if s not in ("standard", "orthogonal_train_test"))
# the shifts that leave x in distribution: only w or y moves
X_IN_DISTRIBUTION = ("w_mean", "w_scale", "scale-y", "noisyLR")


def auroc(inliers: np.ndarray, outliers: np.ndarray) -> float:
    """The probability that an outlier scores above an inlier (ties count half): 1 for
    a detector that separates them perfectly, 0.5 for one that cannot tell them
    apart."""
    ranks = stats.rankdata(np.concatenate([inliers, outliers]))
    n_in, n_out = len(inliers), len(outliers)
    return float((ranks[n_in:].sum() - n_out * (n_out + 1) / 2) / (n_in * n_out))


class Fitted:
    """What the detectors learn from in-distribution prompts: the signature, and the
    query token's last-layer states (their mean and precision; their unit vectors)."""

    def __init__(self, model, n_prompts: int, seed: int, k: int):
        cfg = model.config
        dist = PRETRAINING["standard"]
        prompts = eval_prompts(dist, n_prompts, cfg.n_points, cfg.n_dims, seed + 1)
        hidden = residual_streams(model, prompts)[1][:, :, :-1]
        self.reference = reference_directions(hidden, k=2)
        _, Vh = prompt_svd(hidden[-1:])
        score = signature_score(Vh[..., :2, :], self.reference[-1:])[0].numpy()
        self.typical_score = float(np.median(score))
        states = hidden[-1, :, -1].double()
        self.mean = states.mean(dim=0)
        centred = states - self.mean
        cov = centred.T @ centred / (len(states) - 1)
        ridge = 1e-6 * cov.trace() / len(cov) * torch.eye(len(cov), dtype=cov.dtype)
        self.precision = torch.linalg.inv(cov + ridge)
        self.bank = states / states.norm(dim=1, keepdim=True)
        self.k = k
        self.typical = {
            name: float(np.median(v)) for name, v in input_statistics(prompts).items()
        }


def input_statistics(prompts: Prompts) -> dict[str, np.ndarray]:
    """Per prompt, on a log scale: ‖x̄‖, the average negative log-likelihood of x
    under N(0, I) (up to its constant), and the rms of the context's y."""
    statistics = prompt_statistics(prompts)
    nll = 0.5 * prompts.xs.double().pow(2).sum(dim=-1).mean(dim=1).numpy()
    return {
        "mean_x_norm": np.log(statistics["mean_x_norm"]),
        "nll_x": np.log(nll),
        "rms_y": np.log(statistics["rms_y"]),
    }


def detector_values(
    model, prompts: Prompts, fitted: Fitted, every_layer: bool = False
) -> dict[str, np.ndarray]:
    """Each detector's value per prompt (P,), the signature score at the last layer or
    at `every_layer` (layers, P), and the transformer's error at the last query
    (P,)."""
    preds, hidden = residual_streams(model, prompts)
    hidden = hidden[:, :, :-1]  # the target's token left out
    layers = slice(None) if every_layer else slice(-1, None)
    _, Vh = prompt_svd(hidden[layers])  # the SVDs are most of the work
    score = signature_score(Vh[..., :2, :], fitted.reference[layers]).numpy()
    states = hidden[-1, :, -1].double()
    centred = states - fitted.mean
    mahalanobis = torch.einsum("pc,cd,pd->p", centred, fitted.precision, centred)
    unit = states / states.norm(dim=1, keepdim=True)
    distances = torch.cdist(unit, fitted.bank)
    knn = distances.kthvalue(fitted.k, dim=1).values
    # a statistic of the input flags a prompt by how far it lies from its typical
    # in-distribution value, in either direction (a typicality test)
    typicality = {
        name: np.abs(v - fitted.typical[name])
        for name, v in input_statistics(prompts).items()
    }
    return {
        "signature": -score[-1],
        "signature_typicality": np.abs(score[-1] - fitted.typical_score),
        **typicality,
        "mahalanobis": mahalanobis.numpy(),
        "knn": knn.numpy(),
        "layers": -score,
        "error": normalized_squared_error(
            preds[:, -1].double(), prompts.ys[:, -1].double(), prompts.xs.shape[-1]
        ).numpy(),
    }


def shifted_prompts(
    family: str, level, n_prompts: int, n_points: int, n_dims: int, seed: int
) -> Prompts:
    """Prompts of a shift family at a level, or of a battery setting (`level` None),
    whole up to the last position the setting defines."""
    if level is None:
        return last_defined_prompt(
            battery_prompts(family, n_prompts, n_points, n_dims, seed)
        )
    if family == "x_mean_random":
        return moved_prompts("random", level, n_prompts, n_points, n_dims, seed)
    dist = shifted(family, level, PRETRAINING["standard"])
    return eval_prompts(dist, n_prompts, n_points, n_dims, seed)


def conditions(families=FAMILIES, battery=BATTERY) -> list[tuple[str, float | None]]:
    """Every (family, level) evaluated, the battery's settings with level None."""
    return [(f, c) for f, levels in families.items() for c in levels] + [
        (s, None) for s in battery
    ]


def condition_name(family: str, level) -> str:
    return family if level is None else f"{family}={level:g}"


def measure(
    model, n_prompts: int, fit_prompts: int, seed: int, k: int, failure_factor: float
) -> dict:
    """For one trained model, per condition (`conditions`): each detector's AUROC of
    telling its prompts from in-distribution ones (`auroc_shift`), the signature's at
    every layer (for the largest level of each family), and within the condition each
    detector's AUROC of flagging the prompts whose error exceeds `failure_factor`
    times the in-distribution median (`auroc_failure`, None where every prompt or none
    fails), with that share."""
    cfg = model.config
    fitted = Fitted(model, fit_prompts, seed, k)
    standard = eval_prompts(
        PRETRAINING["standard"], n_prompts, cfg.n_points, cfg.n_dims, seed
    )
    inliers = detector_values(model, standard, fitted, every_layer=True)
    # the signature at every layer for the largest level of each family only
    plotted = {(f, levels[-1]) for f, levels in FAMILIES.items()}
    limit = failure_factor * float(np.median(inliers["error"]))
    out: dict = {"auroc_shift": {}, "auroc_failure": {}, "failure_share": {}}
    out["signature_layers"] = {}
    for family, level in conditions():
        name = condition_name(family, level)
        prompts = shifted_prompts(
            family, level, n_prompts, cfg.n_points, cfg.n_dims, seed
        )
        every_layer = (family, level) in plotted
        values = detector_values(model, prompts, fitted, every_layer)
        failed = values["error"] > limit
        out["auroc_shift"][name] = {d: auroc(inliers[d], values[d]) for d in DETECTORS}
        if every_layer:
            out["signature_layers"][name] = [
                auroc(a, b) for a, b in zip(inliers["layers"], values["layers"])
            ]
        both = 0 < failed.sum() < len(failed)
        out["auroc_failure"][name] = {
            d: auroc(values[d][~failed], values[d][failed]) if both else None
            for d in DETECTORS
        }
        out["failure_share"][name] = float(failed.mean())
    return out


def write_detection(results, preset, runs, per_seed, **settings) -> None:
    """`per_seed`: `measure`'s record per training seed of the standard model."""
    write_chapter_file(results, preset, "detection", runs, per_seed, **settings)


def condition_records(families=FAMILIES, battery=BATTERY) -> list[dict]:
    """The conditions as the results file lists them: name, family, level (None for a
    battery setting) and whether x stays in distribution."""
    return [
        {
            "name": condition_name(f, c),
            "family": f,
            "level": c,
            "x_in_distribution": (f if c is not None else KINDS[f][0])
            in X_IN_DISTRIBUTION,
        }
        for f, c in conditions(families, battery)
    ]


def detection_quantities(data: dict) -> dict:
    """Over the conditions that leave x in distribution, the largest advantage of the
    signature's AUROC over the best input-only detector's, where it is reached, and
    the two AUROCs there (from the seed mean, or one seed's record)."""
    best = None
    for condition in (c for c in data["conditions"] if c["x_in_distribution"]):
        auroc = data["auroc_shift"][condition["name"]]
        inputs = {d: auroc[d] for d in INPUT_ONLY}
        strongest = max(inputs, key=inputs.get)
        advantage = auroc["signature"] - inputs[strongest]
        if best is None or advantage > best["signature_auroc_advantage"]:
            best = {
                "signature_auroc_advantage": advantage,
                "signature_best_condition": condition["name"],
                "signature_auroc": auroc["signature"],
                "input_auroc": inputs[strongest],
                "input_detector": DETECTORS[strongest],
            }
    return best
