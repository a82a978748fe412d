"""Interchange (activation) patching: is the spectral signature causal for the loss?

Each shifted prompt (x = z + c·1, y = w·x) has a matched counterfactual with the same
z and w at c = 0. At one layer (0: after the embedding, l: after block l) a patch
replaces the receiving prompt's component in a subspace of the width space by the
donor prompt's component in it, h ← h − h P + h_donor P, and the rest of the forward
pass runs as usual. Restoring: the shifted prompt receives from its counterfactual
(does the error come back down?). Breaking: the counterfactual receives from the
shifted prompt (does its error go up?). At c = 0 both prompts are one, so every patch
is the identity there: the first control.

Subspaces: the in-distribution signature (the plane of its two reference directions),
each reference direction alone, and the plane with its component along the read-out
direction removed (what the signature does beyond the direction the prediction reads);
as controls, the read-out direction alone, random planes of the width space
("any edit of this rank"), random planes inside the span of the top reference
directions (edits of this rank along directions the in-distribution stream uses, of a
size nearer the signature's), and the whole stream (the upper bound of what any patch
at that layer can do, and a check of the design)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..core.presets import PRETRAINING
from ..core.results import write_chapter_file
from ..core.samplers import shifted
from .evaluation import eval_prompts, residual_streams
from .metrics import normalized_squared_error
from .spectral import reference_directions

FAMILIES = ("x_mean", "x_mean_w_perp")
SIGNATURE = "signature subspace"
REFERENCE_DIRECTIONS = ("first reference direction", "second reference direction")
WITHOUT_READOUT = "signature plane without the read-out direction"
READOUT = "readout_direction"  # the control: the direction the prediction reads
RANDOM = "random planes"
TOP = "random planes among the top directions"
RANDOMS = (RANDOM, TOP)
TOP_DIRECTIONS = 8  # the span the second random control draws its planes from
FULL = "whole stream"
DIRECTIONS = ("restore", "break")


def projector(directions: torch.Tensor) -> torch.Tensor:
    """The orthogonal projector (C, C) onto the span of `directions` (k, C)."""
    q = torch.linalg.qr(directions.double().T)[0]
    return q @ q.T


def patched(receiver: torch.Tensor, donor: torch.Tensor, P: torch.Tensor | None):
    """`receiver` with its component in the subspace of projector `P` (the whole
    stream when None) replaced by `donor`'s."""
    if P is None:
        return donor.clone()
    P = P.to(receiver.dtype)
    return receiver - receiver @ P + donor @ P


def random_projectors(basis: torch.Tensor, n: int, seed: int) -> list[torch.Tensor]:
    """`n` projectors onto uniformly random planes inside the span of the orthonormal
    rows of `basis` (k, C)."""
    g = torch.Generator().manual_seed(seed)
    coefficients = torch.randn(n, 2, len(basis), generator=g, dtype=torch.float64)
    return [projector(c @ basis.double()) for c in coefficients]


@dataclass
class Subspaces:
    """What the patches need at every layer, from in-distribution prompts drawn apart
    from the evaluated ones: the named projectors, the top reference directions (L, k,
    C) the second random control draws from, and two descriptions of the signature:
    |cos| of its first reference direction with the mean residual (L,), and of each
    reference direction with the read-out at the last layer (2,)."""

    named: list[dict[str, torch.Tensor]]
    top: torch.Tensor
    mean_token_cosine: np.ndarray
    readout_cosine: np.ndarray


def readout_direction(model) -> torch.Tensor:
    """The direction of the last layer's stream that the prediction reads, (C,): after
    the final LayerNorm's centring, w_out ⊙ γ with its mean removed (w_out without a
    final LayerNorm)."""
    w = model.read_out.weight[0].detach().double()
    if isinstance(model.ln_f, torch.nn.LayerNorm):
        w = w * model.ln_f.weight.detach().double()
        w = w - w.mean()
    return w / w.norm()


def without(plane: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """The rows of `plane` (k, C) with their component along the unit `direction`
    removed."""
    plane = plane.double()
    return plane - torch.outer(plane @ direction, direction)


def signature_subspaces(model, reference_prompts: int, seed: int) -> Subspaces:
    """The `Subspaces` of `model`, from `reference_prompts` in-distribution prompts of
    seed + 1."""
    cfg = model.config
    readout = readout_direction(model)
    prompts = eval_prompts(
        PRETRAINING["standard"], reference_prompts, cfg.n_points, cfg.n_dims, seed + 1
    )
    hidden = residual_streams(model, prompts)[1].double()
    top = reference_directions(hidden, k=min(TOP_DIRECTIONS, cfg.n_embd))
    mean = hidden.mean(dim=(1, 2))
    mean = mean / mean.norm(dim=-1, keepdim=True)
    return Subspaces(
        named=[
            {
                SIGNATURE: projector(top[layer, :2]),
                REFERENCE_DIRECTIONS[0]: projector(top[layer, :1]),
                REFERENCE_DIRECTIONS[1]: projector(top[layer, 1:2]),
                WITHOUT_READOUT: projector(without(top[layer, :2], readout)),
                READOUT: projector(readout[None]),
            }
            for layer in range(cfg.n_layer + 1)
        ],
        top=top,
        mean_token_cosine=torch.einsum("lc,lc->l", top[:, 0], mean).abs().numpy(),
        readout_cosine=(top[-1, :2] @ readout).abs().numpy(),
    )


@torch.inference_mode()
def last_query_prediction(model, layer: int, stream: torch.Tensor) -> torch.Tensor:
    """Each prompt's prediction at its last query (P,) from its stream (P, T, C) at
    `layer`."""
    device = next(model.parameters()).device
    stream = stream.to(device=device, dtype=torch.float32)
    return model.continue_from(layer, stream)[:, -1].cpu().double()


def last_query_error(prompts, preds: torch.Tensor) -> np.ndarray:
    """Normalised squared error of last-query predictions (P,)."""
    ys = prompts.ys[:, -1].double()
    return normalized_squared_error(preds, ys, prompts.xs.shape[-1]).numpy()


def _edit_size(before: torch.Tensor, after: torch.Tensor) -> float:
    """Median over prompts of ‖Δh‖ / ‖h‖ at the last query's token, the one whose
    prediction is measured."""
    last = before[:, -2]  # tokens alternate x, y: the last x is second to last
    return float(((after[:, -2] - last).norm(dim=1) / last.norm(dim=1)).median())


def _grid(layers: int, n_shifts: int, *draws: int) -> dict[str, np.ndarray]:
    shape = (layers, n_shifts, *draws)
    return {"median_error": np.full(shape, np.nan), "edit_size": np.full(shape, np.nan)}


def patched_errors(
    model,
    family: str,
    shifts,
    n_prompts: int,
    subspaces: Subspaces,
    n_random: int,
    seed: int,
) -> dict:
    """Median error at the last query of every patch, in both directions, at every
    layer and c: 'baseline' (shifts,) for the unpatched shifted prompts (at c = 0 the
    counterfactuals); under 'restore' and 'break', per subspace, `median_error` and
    `edit_size` (layers, shifts), with a last axis of draws for the random planes;
    'identity' the largest change of any prediction that any patch makes at c = 0, or
    that running the stream on from any layer makes."""
    cfg = model.config
    layers, n_shifts = cfg.n_layer + 1, len(shifts)
    base = shifted(family, 0.0, PRETRAINING["standard"])
    clean = eval_prompts(base, n_prompts, cfg.n_points, cfg.n_dims, seed)
    clean_hidden = residual_streams(model, clean)[1].double()
    out = {"baseline": np.zeros(n_shifts), "identity": 0.0}
    for d in DIRECTIONS:
        out[d] = {name: _grid(layers, n_shifts) for name in (*subspaces.named[0], FULL)}
        out[d].update({name: _grid(layers, n_shifts, n_random) for name in RANDOMS})
    width = torch.eye(cfg.n_embd, dtype=torch.float64)
    draws = [
        {
            RANDOM: random_projectors(width, n_random, seed * 1000 + layer),
            TOP: random_projectors(subspaces.top[layer], n_random, seed * 1000 + layer),
        }
        for layer in range(layers)
    ]
    for j, c in enumerate(shifts):
        prompts = eval_prompts(
            shifted(family, c, base), n_prompts, cfg.n_points, cfg.n_dims, seed
        )
        full_preds, hidden = residual_streams(model, prompts)
        hidden = hidden.double()
        preds = last_query_prediction(model, 0, hidden[0])
        out["baseline"][j] = np.median(last_query_error(prompts, preds))
        for layer in range(layers):
            pairs = {
                "restore": (prompts, hidden[layer], clean_hidden[layer]),
                "break": (clean, clean_hidden[layer], hidden[layer]),
            }
            named = subspaces.named[layer].items()
            cells = [(name, (layer, j), P) for name, P in named]
            cells += [(FULL, (layer, j), None)]
            cells += [
                (name, (layer, j, k), P)
                for name, planes in draws[layer].items()
                for k, P in enumerate(planes)
            ]
            if c == 0:  # running on from `layer` reproduces the forward pass
                unpatched = last_query_prediction(model, layer, hidden[layer])
                change = float((unpatched - full_preds[:, -1].double()).abs().max())
                out["identity"] = max(out["identity"], change)
            for d, (target, receiver, donor) in pairs.items():
                for name, index, P in cells:
                    stream = patched(receiver, donor, P)
                    edited = last_query_prediction(model, layer, stream)
                    if c == 0:
                        change = float((edited - unpatched).abs().max())
                        out["identity"] = max(out["identity"], change)
                    error = last_query_error(target, edited)
                    out[d][name]["median_error"][index] = np.median(error)
                    out[d][name]["edit_size"][index] = _edit_size(receiver, stream)
    return out


def shares(baseline: np.ndarray, edited: np.ndarray, direction: str, shifts):
    """The share of the shift-induced error a patch removes ('restore') or induces
    ('break'), on log medians, pooled over the shifts that at least doubled the median
    error: Σ (log E_none(c) − log E_patch(c)) / Σ (log E_none(c) − log E_none(0)) and
    Σ (log E_patch(c) − log E_none(0)) / the same. `edited` is (layers, shifts, ...);
    NaN where no shift doubled the error."""
    floor = baseline[list(shifts).index(0)]
    used = baseline >= 2 * floor
    if not used.any():
        return np.full(np.delete(edited.shape, 1), np.nan)
    added = np.log(baseline[used] / floor).sum()
    logs = np.log(np.moveaxis(edited, 1, -1)[..., used])
    if direction == "restore":
        moved = np.log(baseline[used]).sum() - logs.sum(axis=-1)
    else:
        moved = logs.sum(axis=-1) - used.sum() * np.log(floor)
    return moved / added


def patching_record(sweep: dict, shifts) -> dict:
    """One family's sweep with the shares each patch removes or induces (layers,) and,
    for the random planes, the largest over draws."""
    out = {"baseline_median_error": sweep["baseline"], "identity": sweep["identity"]}
    for d in DIRECTIONS:
        out[d] = {}
        for name, entry in sweep[d].items():
            share = shares(sweep["baseline"], entry["median_error"], d, shifts)
            out[d][name] = {**entry, "share": share}
            if name in RANDOMS:
                out[d][name]["share_max"] = share.max(axis=-1)
    return out


# what each conclusion says about the signature, for the chapter's prose
MEANING = {
    "causal": "the shift's damage passes through the signature subspace both ways: "
    "repairing it repairs the prediction and spoiling it spoils it",
    "partly causal": "repairing the signature subspace restores part of the error, "
    "beyond any random plane, but not both ways in full",
    "not causal": "repairing the signature subspace does not restore clearly more of "
    "the error than random planes do (not by the rule's margin)",
    "inconclusive": "the test cannot decide, because a control failed",
}


@dataclass(frozen=True)
class PatchRule:
    """The numbers of the conclusion's rule, stated before any result."""

    causal: float = 0.5  # share removed and induced, each, for 'causal'
    partial: float = 0.1  # share removed for 'partly causal'
    margin: float = 0.1  # above the largest share of any random plane
    upper: float = 0.5  # the whole-stream patch must remove at least this
    identity: float = 1e-4  # largest change of a prediction at c = 0


def conclusion(at_layer: dict[str, float], rule: PatchRule = PatchRule()):
    """('causal' | 'partly causal' | 'not causal' | 'inconclusive', why), from one
    layer's shares: `restore` and `break` for the signature subspace, `*_random` the
    largest of any random plane (of either kind), `*_full` the whole stream's, and
    `identity` the largest change of a prediction where none should change. Any failed
    control gives 'inconclusive'; a label with 'causal' in it needs the repair, as
    spoiling a stream with a large foreign component harms whatever it carries."""
    q = at_layer
    if not q["identity"] <= rule.identity:
        moved = q["identity"]
        return "inconclusive", f"a prediction moved by {moved:.2g} where none should"
    if np.isnan(q["restore"]):
        return "inconclusive", "no shift doubled the error"
    if q["restore_full"] < 0:
        return "inconclusive", (
            "patching the whole stream from the unshifted twin adds to the error "
            f"instead of removing it ({-q['restore_full']:.2f} of the shift's error "
            "more), so no patch at this layer can show an effect"
        )
    if q["restore_full"] < rule.upper:
        return "inconclusive", (
            f"patching the whole stream removes only {q['restore_full']:.2f} of the "
            f"error, less than the {rule.upper:g} the rule asks for, so no patch at "
            "this layer can show an effect"
        )
    if q["restore_random"] >= rule.causal:
        return "inconclusive", (
            f"a random plane already removes {q['restore_random']:.2f}"
        )
    beats = {
        d: q[d] >= rule.partial and q[d] - q[f"{d}_random"] >= rule.margin
        for d in DIRECTIONS
    }
    why = (
        f"repairing removes {q['restore']:.2f} (random planes up to "
        f"{q['restore_random']:.2f}); spoiling induces {q['break']:.2f} (random "
        f"planes up to {q['break_random']:.2f})"
    )
    if all(beats.values()) and min(q["restore"], q["break"]) >= rule.causal:
        return "causal", why
    if beats["restore"]:
        return "partly causal", why
    return "not causal", why


def intervention_experiment(
    model,
    shifts,
    n_prompts: int,
    reference_prompts: int,
    n_random: int,
    seed: int,
    families=FAMILIES,
) -> dict:
    """Every patch on every family, for one model: its `intervention_record`."""
    subspaces = signature_subspaces(model, reference_prompts, seed)
    records = {
        f: patching_record(
            patched_errors(model, f, shifts, n_prompts, subspaces, n_random, seed),
            shifts,
        )
        for f in families
    }
    return {
        **intervention_record(records),
        "mean_token_cosine": subspaces.mean_token_cosine,
        "readout_cosine": subspaces.readout_cosine,
    }


def intervention_record(records: dict[str, dict]) -> dict:
    """One seed's `patching_record` per family in the layout of
    `signature_intervention.json`: the signature subspace and its parts under
    "interventions", the identity, random-plane and whole-stream patches under
    "controls",
    each by family, then by direction."""

    def by_family(name):
        return {f: {d: r[d][name] for d in DIRECTIONS} for f, r in records.items()}

    return {
        "baseline_median_error": {
            f: r["baseline_median_error"] for f, r in records.items()
        },
        "interventions": {
            name: by_family(name)
            for name in (SIGNATURE, *REFERENCE_DIRECTIONS, WITHOUT_READOUT)
        },
        "controls": {
            "identity at c = 0": {f: r["identity"] for f, r in records.items()},
            READOUT: by_family(READOUT),
            **{name: by_family(name) for name in RANDOMS},
            FULL: by_family(FULL),
        },
    }


def rule_inputs(record: dict, family: str, layer: int) -> dict[str, float]:
    """The shares `conclusion` reads, at `layer`, from an `intervention_record`."""
    controls = record["controls"]
    q = {"identity": float(controls["identity at c = 0"][family])}
    for d in DIRECTIONS:
        q[d] = float(record["interventions"][SIGNATURE][family][d]["share"][layer])
        q[f"{d}_random"] = max(
            float(controls[name][family][d]["share_max"][layer]) for name in RANDOMS
        )
        q[f"{d}_full"] = float(controls[FULL][family][d]["share"][layer])
    return q


@dataclass
class PatchingVerdict:
    """The rule's conclusion per family at the stated `layer`, for the seed mean of
    its inputs and for each seed alone, and (for the seed mean) at every layer."""

    layer: int
    conclusion: dict[str, str]
    reason: dict[str, str]
    by_seed: dict[str, list[str]]
    by_layer: dict[str, list[str]]


def _mean_inputs(per_seed: list[dict], family: str, layer: int) -> dict[str, float]:
    inputs = [rule_inputs(r, family, layer) for r in per_seed]
    mean = {k: float(np.mean([q[k] for q in inputs])) for k in inputs[0]}
    return {**mean, "identity": max(q["identity"] for q in inputs)}


def patching_verdict(
    per_seed: list[dict], layer: int, rule: PatchRule = PatchRule()
) -> PatchingVerdict:
    """Judge the seeds' `intervention_record`s with `conclusion` at `layer`."""
    families = list(per_seed[0]["baseline_median_error"])
    layers = len(
        per_seed[0]["interventions"][SIGNATURE][families[0]]["restore"]["share"]
    )
    mean = {f: conclusion(_mean_inputs(per_seed, f, layer), rule) for f in families}
    return PatchingVerdict(
        layer=layer,
        conclusion={f: mean[f][0] for f in families},
        reason={f: mean[f][1] for f in families},
        by_seed={
            f: [conclusion(rule_inputs(r, f, layer), rule)[0] for r in per_seed]
            for f in families
        },
        by_layer={
            f: [
                conclusion(_mean_inputs(per_seed, f, l), rule)[0] for l in range(layers)
            ]
            for f in families
        },
    )


def over_seeds(
    per_seed: list[dict], name: str, family: str, direction: str, field: str = "share"
) -> np.ndarray:
    """One patch's `field` in every seed's `intervention_record`, stacked: (seeds, ...)."""
    group = "interventions" if name in per_seed[0]["interventions"] else "controls"
    return np.stack(
        [np.asarray(s[group][name][family][direction][field]) for s in per_seed]
    )


# signature_intervention.json --------------------------------------------------------


def write_signature_intervention(
    results, preset, runs, per_seed, verdict, **settings
) -> None:
    """`per_seed`: each seed's `interventions.intervention_record`; `verdict`: their
    `interventions.PatchingVerdict`."""
    values = [
        {**s, "conclusion": {f: c[i] for f, c in verdict.by_seed.items()}}
        for i, s in enumerate(per_seed)
    ]
    shared = {
        "layer": verdict.layer,
        "conclusion": verdict.conclusion,
        "reason": verdict.reason,
        "conclusion_by_layer": verdict.by_layer,
    }
    write_chapter_file(
        results, preset, "signature_intervention", runs, values, **shared, **settings
    )


# the family on which the finding is judged: there the counterfactual has the same
# targets, so the whole-stream patch restores the error and a patch can show an effect
PATCHED_FAMILY = "x_mean_w_perp"


def signature_intervention_quantities(intervention: dict) -> dict[str, Any]:
    """Finding A's numbers on the family `PATCHED_FAMILY`, at the rule's layer: what
    repairing the signature plane, the read-out direction alone and the plane without
    its read-out component remove, the random planes' most; and, at the layers before
    the last, the largest margin of the plane without its read-out component over the
    random planes. None where the test is inconclusive or the read-out control was not
    run."""
    family, layer = PATCHED_FAMILY, intervention["layer"]
    conclusion = intervention["conclusion"][family]
    patches = {**intervention["interventions"], **intervention["controls"]}

    def restore(name) -> np.ndarray:
        shares = patches[name][family]["restore"]
        # a random control's largest share over its draws
        return np.asarray(shares.get("share_max") or shares["share"], float)

    q = {
        "patching_conclusion": conclusion,
        "patching_conclusion_x_mean": intervention["conclusion"]["x_mean"],
        "patching_reason": intervention["reason"][family],
        "patching_layer": layer,
        "patching_restore": float(restore(SIGNATURE)[layer]),
        "patching_break": patches[SIGNATURE][family]["break"]["share"][layer],
        "patching_beyond_readout": None,
    }
    if conclusion == "inconclusive" or READOUT not in patches:
        return q
    random = np.max([restore(name) for name in RANDOMS], axis=0)
    # before the last layer too, what the plane does beyond the read-out direction
    before = np.asarray(restore(WITHOUT_READOUT) - random)[:layer]
    return {
        **q,
        "patching_random": float(random[layer]),
        "patching_readout": float(restore(READOUT)[layer]),
        "patching_without_readout": float(restore(WITHOUT_READOUT)[layer]),
        "patching_beyond_readout": float(
            restore(WITHOUT_READOUT)[layer] - random[layer]
        ),
        "patching_before_last": float(before.max()) if len(before) else None,
        "patching_before_last_layer": int(before.argmax()) if len(before) else None,
    }
