"""Interventions on the residual stream: does restoring the spectral signature restore
the loss?

Each intervention edits the residual stream of a batch of prompts at one layer (0:
after the embedding, l: after block l) through the model's `intervene` hook; the
rest of the forward pass runs as usual.

- transplant: a prompt's component in its own top-2 right singular subspace, Σ_j s_j
  u_j v_jᵀ, is replaced by Σ_j s_j u_j r_jᵀ, the same singular values and left
  vectors along the in-distribution reference directions r_j (each signed to agree
  with v_j).
- mean repair: the mean residual (per token position) that shifted prompts have in
  excess of in-distribution ones is subtracted.
- random: a change of the same Frobenius norm as another intervention's, per prompt,
  along a random direction of the (tokens × width) space: the control for "any edit
  of this size"."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core.presets import PRETRAINING
from ..core.samplers import shifted
from .evaluation import eval_prompts, predict, residual_streams
from .metrics import normalized_squared_error
from .spectral import signature_reference


def transplant_change(h: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """The change that moves each prompt's top-2 right singular directions onto
    `reference` (k, C)."""
    k = reference.shape[-2]
    U, S, Vh = torch.linalg.svd(h.double(), full_matrices=False)
    v = Vh[..., :k, :]  # (B, k, C)
    sign = torch.sign(torch.einsum("bkc,kc->bk", v, reference.double()))
    sign[sign == 0] = 1
    target = sign[..., None] * reference.double()
    return ((U[..., :k] * S[..., None, :k]) @ (target - v)).to(h.dtype)


def random_change(h: torch.Tensor, norms: torch.Tensor, seed: int) -> torch.Tensor:
    """Per prompt, a Gaussian direction of the (T, C) space scaled to the given
    Frobenius norm."""
    g = torch.randn(
        h.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )
    g = g / g.flatten(1).norm(dim=1)[:, None, None]
    return (g * norms[:, None, None]).to(h.dtype)


@dataclass
class References:
    """What the interventions restore towards, at every layer: the in-distribution
    signature (L, 2, C) and mean residual (L, T, C), and the shifted prompts' mean
    residual (L, T, C)."""

    signature: torch.Tensor
    id_mean: torch.Tensor
    shifted_mean: torch.Tensor


def mean_stream(model, dist, n_prompts: int, seed: int) -> torch.Tensor:
    """Mean residual stream (L, T, C) of prompts drawn apart from the evaluated ones
    (seed + 1), as the signature reference is."""
    cfg = model.config
    prompts = eval_prompts(dist, n_prompts, cfg.n_points, cfg.n_dims, seed + 1)
    return residual_streams(model, prompts)[1].mean(dim=1)


def changes(
    stream: torch.Tensor, layer: int, ref: References, seed: int
) -> dict[str, torch.Tensor]:
    """Every intervention and control, as the change it makes to the stream (P, T, C) at
    `layer`.

    An edit at one layer sees the unedited stream of that layer, so the changes are
    computed once from it and added during the forward pass."""
    transplant = transplant_change(stream, ref.signature[layer])
    repair = (ref.id_mean[layer] - ref.shifted_mean[layer]).expand_as(stream)
    both = repair + transplant_change(stream + repair, ref.signature[layer])
    return {
        "signature transplant": transplant,
        "mean repair": repair,
        "mean repair, then transplant": both,
        "random, transplant's norm": random_change(
            stream, transplant.flatten(1).norm(dim=1), seed + layer
        ),
        "random, repair's norm": random_change(
            stream, repair.flatten(1).norm(dim=1), seed + layer
        ),
    }


CONTROLS = ("random, transplant's norm", "random, repair's norm")


@torch.inference_mode()
def last_query_error(
    model, prompts, layer: int = 0, change: torch.Tensor | None = None
) -> np.ndarray:
    """Normalised squared error at each prompt's last query, with `change` added to the
    stream at `layer`."""
    if change is None:
        preds = predict(model, prompts.xs, prompts.ys)
    else:
        device = next(model.parameters()).device
        change = change.to(device)
        preds = model(
            prompts.xs.to(device),
            prompts.ys.to(device),
            intervene=lambda l, h: h + change if l == layer else h,
        ).cpu()
    return normalized_squared_error(
        preds[:, -1].double(), prompts.ys[:, -1].double(), prompts.xs.shape[-1]
    ).numpy()


def intervention_sweep(
    model, shifts, n_prompts: int, reference_prompts: int, seed: int
) -> dict[str, np.ndarray]:
    """Median error at the last query along the mean shift of x: 'baseline' (shifts,)
    and each intervention and control (layers, shifts)."""
    cfg, base = model.config, PRETRAINING["standard"]
    signature = signature_reference(model, base, reference_prompts, seed)
    id_mean = mean_stream(model, base, reference_prompts, seed)
    out = {"baseline": np.zeros(len(shifts))}
    for j, c in enumerate(shifts):
        dist = shifted("x_mean", c, base)
        prompts = eval_prompts(dist, n_prompts, cfg.n_points, cfg.n_dims, seed)
        out["baseline"][j] = np.median(last_query_error(model, prompts))
        ref = References(
            signature, id_mean, mean_stream(model, dist, reference_prompts, seed)
        )
        streams = residual_streams(model, prompts)[1]
        for layer in range(cfg.n_layer + 1):
            for name, change in changes(streams[layer], layer, ref, seed).items():
                out.setdefault(name, np.full((cfg.n_layer + 1, len(shifts)), np.nan))
                out[name][layer, j] = np.median(
                    last_query_error(model, prompts, layer, change)
                )
    return out


def share_removed(
    baseline: np.ndarray, edited: np.ndarray, unshifted: int
) -> np.ndarray:
    """Share of the shift-induced error an edit removes, on a log scale: 1 brings the
    error back to the in-distribution baseline, 0 leaves it, below 0 makes it worse.
    NaN where the shift added no error."""
    added = np.log(baseline) - np.log(baseline[unshifted])
    with np.errstate(divide="ignore", invalid="ignore"):
        share = (np.log(baseline) - np.log(edited)) / added
    return np.where(added > np.log(1.5), share, np.nan)


def conclusion(
    transplant_share: float,
    control_share: float,
    in_distribution_ratio: float,
    causal: float = 0.5,
    partial: float = 0.1,
    margin: float = 0.1,
) -> str:
    """'causal', 'partly causal' or 'only correlated', from the transplant's share of
    the shift-induced error removed (at its best layer), the same for the random
    control, and how much the transplant changes the in-distribution error (a ratio;
    a causal reading needs it near 1)."""
    beats_control = transplant_share - control_share >= margin
    harmless = 0.5 <= in_distribution_ratio <= 2
    if transplant_share >= causal and beats_control and harmless:
        return "causal"
    if transplant_share >= partial and beats_control:
        return "partly causal"
    return "only correlated"


def intervention_record(sweep: dict[str, np.ndarray], shifts) -> dict:
    """One seed's results in the layout of `signature_intervention.json`: median errors,
    and the share of the shift-induced error each intervention or control removes,
    (layers, shifts) each; the in-distribution transplant control as the ratio of edited
    to unedited error by layer."""
    unshifted = list(shifts).index(0)
    base = sweep["baseline"]

    def entry(name):
        return {
            "median_error": sweep[name],
            "share_removed": share_removed(base, sweep[name], unshifted),
        }

    edited = [name for name in sweep if name != "baseline"]
    return {
        "baseline_median_error": base,
        "interventions": {name: entry(name) for name in edited if name not in CONTROLS},
        "controls": {
            **{name: entry(name) for name in CONTROLS},
            "transplant in distribution": {
                "error_ratio": sweep["signature transplant"][:, unshifted]
                / base[unshifted]
            },
        },
    }


def over_seeds(per_seed: list[dict], name: str, field: str) -> np.ndarray:
    """One intervention's or control's `field` from every seed's `intervention_record`, stacked:
    (seeds, ...)."""
    group = "controls" if name in per_seed[0]["controls"] else "interventions"
    return np.stack([s[group][name][field] for s in per_seed])


def mean_share_removed(per_seed: list[dict], name: str) -> np.ndarray:
    """(seeds, layers) share of the shift-induced error an edit removes, averaged over
    the shifted c."""
    return np.nanmean(over_seeds(per_seed, name, "share_removed"), axis=2)


@dataclass
class InterventionVerdict:
    """The verdict at the transplant's best layer (by the seed mean), for the seed mean
    and for each seed alone."""

    layer: int
    conclusion: str
    by_seed: list[str]
    transplant: np.ndarray  # (seeds, layers) share removed by the transplant
    control: np.ndarray  # (seeds, layers) the same for a random edit of its norm
    in_distribution: (
        np.ndarray
    )  # (seeds, layers) the transplant's in-distribution ratio


def intervention_verdict(per_seed: list[dict]) -> InterventionVerdict:
    """Judge the seeds' `intervention_record` results with `conclusion`."""
    transplant = mean_share_removed(per_seed, "signature transplant")
    control = mean_share_removed(per_seed, "random, transplant's norm")
    in_distribution = over_seeds(per_seed, "transplant in distribution", "error_ratio")
    layer = int(np.argmax(transplant.mean(axis=0)))
    at_layer = transplant[:, layer], control[:, layer], in_distribution[:, layer]
    return InterventionVerdict(
        layer=layer,
        conclusion=conclusion(*(values.mean() for values in at_layer)),
        by_seed=[conclusion(*seed) for seed in zip(*at_layer)],
        transplant=transplant,
        control=control,
        in_distribution=in_distribution,
    )
