"""The alignment chapter's per-seed arrays, tables and quoted texts, from each training
seed's spectral profiles (trained and untrained, uncentred and centred), so that the
chapter holds its prose and figures."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..analysis.input_controls import MODELS, SpectralProfile
from ..core.results import Table, format_range
from ..verdicts.claims import Thresholds
from .glue import as_text

BEYOND_INPUT = {
    "nothing": "In distribution, the trained blocks add nothing to it beyond what the "
    "input alone gives.",
    "little": "In distribution, the trained blocks add to it less than the margin of "
    "{margin:g} over the input alone that the scorecard asks for.",
    "more": "In distribution, the trained blocks add to it more than the margin of "
    "{margin:g} over the input alone that the scorecard asks for.",
}


@dataclass(frozen=True)
class AlignmentSummary:
    """`controls`: each seed's `spectral_controls` (model -> centred -> profile), over
    the sweep `evaluated`; `shifts` the shifts the chapter reads, `layer` the layer its
    numbers quote and `center` its main reading (centred or not)."""

    controls: list[dict[str, dict[bool, SpectralProfile]]]
    evaluated: list[float]
    shifts: list[float]
    layer: int
    center: bool

    def stacked(self, model: str, centring: bool, field: str) -> np.ndarray:
        """One profile field over the seeds (seeds, layers, shifts, ...), the shifts
        restricted to `shifts`."""
        kept = [self.evaluated.index(s) for s in self.shifts]
        return np.stack(
            [getattr(s[model][centring], field)[:, kept] for s in self.controls]
        )

    def aligned(self, centring: bool) -> np.ndarray:
        """The trained model's mean |cos| with the reference (seeds, shifts, layers, 2)."""
        return self.stacked("trained", centring, "alignment").transpose(0, 2, 1, 3)

    def drop(self, model: str, centring: bool) -> np.ndarray:
        """The score's fall from c = 0 (seeds, layers, shifts)."""
        score = self.stacked(model, centring, "score")
        return score[:, :, :1] - score

    def drop_beyond_input(self, layer: int) -> np.ndarray:
        """The trained model's drop at `layer` less the larger of its layer 0's and the
        untrained model's at that layer (seeds, shifts)."""
        trained, untrained = (self.drop(m, self.center) for m in MODELS)
        return trained[:, layer] - np.maximum(trained[:, 0], untrained[:, layer])

    def mean_token(self, model: str, key: str) -> np.ndarray:
        """(seeds, layers): how the mean token sits in the uncentred stream."""
        return np.stack([s[model][False].mean_token[key] for s in self.controls])

    def layer_table(self) -> Table:
        """The trained model's alignment at every layer for the first, middle and last
        shift."""
        picked = (0, len(self.shifts) // 2, len(self.shifts) - 1)
        aligned = self.aligned(self.center).mean(axis=-1)  # (seeds, shifts, layers)
        return (
            ["layer", *(f"c = {self.shifts[k]}" for k in picked)],
            [
                [l, *(format_range(aligned[:, k, l]) for k in picked)]
                for l in range(aligned.shape[-1])
            ],
        )

    def mean_token_table(self) -> Table:
        """At every layer, |cos| of the first reference direction with the mean token
        and the mean token's share of the energy, trained and untrained."""
        columns = [
            self.mean_token(m, key)
            for key in ("first_reference_cosine", "energy_share")
            for m in MODELS
        ]
        return (
            [
                "layer",
                "first reference direction: |cos| with the mean token, trained",
                "untrained",
                "mean token's share of energy, trained",
                "untrained",
            ],
            [
                [l, *(format_range(c[:, l]) for c in columns)]
                for l in range(columns[0].shape[1])
            ],
        )

    def texts(self) -> dict[str, str]:
        """The chapter's quoted numbers at `layer`, by glue name (seed mean [range])."""
        layer, center = self.layer, self.center

        def at_layer(centring, k):  # mean over both reference directions
            return self.aligned(centring)[:, k, layer].mean(axis=-1)

        def score(model, centring, l=layer):  # at c = 0
            return self.stacked(model, centring, "score")[:, l, 0]

        trained, layer0, untrained = (
            score("trained", center),
            score("trained", center, 0),
            score("untrained", center),
        )
        drops = {(m, c): self.drop(m, c) for m in MODELS for c in (center, not center)}
        texts = {
            "al_id": at_layer(center, 0),
            "al_max": at_layer(center, -1),
            "al_other_id": at_layer(not center, 0),
            "al_other_max": at_layer(not center, -1),
            "al_trained_id": trained,
            "al_layer0_id": layer0,
            "al_untrained_id": untrained,
            "al_trained_centred": score("trained", not center),
            "al_untrained_centred": score("untrained", not center),
            "al_beyond_id": trained - np.maximum(layer0, untrained),
            "al_drop": drops["trained", center][:, layer, -1],
            "al_drop_layer0": drops["trained", center][:, 0, -1],
            "al_drop_untrained": drops["untrained", center][:, layer, -1],
            "al_centred_drop": drops["trained", not center][:, layer, -1],
            "al_centred_drop_layer0": drops["trained", not center][:, 0, -1],
            "al_centred_drop_untrained": drops["untrained", not center][:, layer, -1],
            "al_mean_cos": self.mean_token("trained", "first_reference_cosine")[
                :, layer
            ],
            "al_mean_cos_untrained": self.mean_token(
                "untrained", "first_reference_cosine"
            )[:, layer],
            "al_energy": self.mean_token("trained", "energy_share")[:, layer],
            "al_energy_untrained": self.mean_token("untrained", "energy_share")[
                :, layer
            ],
            **{
                f"al_{model}_{name}": self.stacked(model, center, "alignment")[
                    :, layer, 0, j
                ]
                for name, j in (("v1", 0), ("v2", 1))
                for model in MODELS
            },
        }
        margin = Thresholds().input_margin
        beyond = texts["al_beyond_id"].mean()
        case = "nothing" if beyond <= 0 else "little" if beyond < margin else "more"
        return {
            **{name: format_range(values) for name, values in texts.items()},
            "al_beyond_sentence": BEYOND_INPUT[case].format(margin=margin),
        }


def setting_texts(
    preset: str,
    n_prompts: int,
    seeds: list[int],
    reference_prompts: int,
    heatmap_prompts: int,
    heatmap_shift: float,
    shown_layer: int,
    shifts: list[float],
    center: bool,
) -> dict[str, str]:
    """The chapter's settings as it quotes them, by glue name."""
    return {
        "al_reference_prompts": as_text(reference_prompts),
        "al_heatmap_prompts": as_text(heatmap_prompts),
        "al_heatmap_shift": as_text(heatmap_shift),
        "al_layer": as_text(shown_layer),
        "al_preset": preset,
        "al_n_prompts": as_text(n_prompts),
        "al_n_seeds": as_text(len(seeds)),
        "al_first_seed": as_text(seeds[0]),
        "al_centering": "centred" if center else "not centred",
        "al_shift_max": as_text(shifts[-1]),
        "al_other_centering": "centred" if not center else "not centred",
    }
