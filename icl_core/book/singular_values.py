"""The chapter "Singular values": its table, and each text it quotes, from the mean
leading singular values of the residual stream along the mean shift."""

from __future__ import annotations

import numpy as np

from ..core.results import Table, format_range
from .glue import as_text


def neutral_index(shifts: list[float]) -> int:
    """The shift the growth of σ1 is measured from: c = 0, else the first."""
    return shifts.index(0) if 0 in shifts else 0


def sigma_table(s1: np.ndarray, shifts: list[float]) -> Table:
    """σ1 at the neutral and the largest shift, and their ratio, at every layer; `s1`
    is (seeds, layers, shifts)."""
    neutral = neutral_index(shifts)
    return (
        ["layer", f"σ1, c = {shifts[neutral]}", f"σ1, c = {shifts[-1]}", "ratio"],
        [
            [
                layer,
                *[format_range(s1[:, layer, k], ".3g") for k in (neutral, -1)],
                format_range(s1[:, layer, -1] / s1[:, layer, neutral], ".1f"),
            ]
            for layer in range(s1.shape[1])
        ],
    )


def texts(
    s1: np.ndarray,
    s1_other: np.ndarray,
    s1_untrained: np.ndarray,
    shifts: list[float],
    other_family: str,
    preset: str,
    n_prompts: int,
) -> dict[str, str]:
    """Every text the chapter quotes, by glue name. `s1`, `s1_untrained`: the mean σ1
    of the trained and the untrained model along x_mean, (seeds, layers, shifts);
    `s1_other`: the trained model's along `other_family`."""
    neutral = neutral_index(shifts)
    growth = s1 / s1[:, :, [neutral]]
    untrained = s1_untrained / s1_untrained[:, :, [neutral]]
    input_only = np.maximum(growth[:, 0, -1], untrained[:, -1, -1])
    above = growth[:, -1, -1] > input_only
    larger_at = [
        c
        for k, c in enumerate(shifts)
        if s1[:, -1, k].mean() > s1[:, -1, neutral].mean()
    ]
    larger = (s1[:, :, -1] > s1[:, :, neutral]).sum(axis=1)  # layers where σ1 grew
    return {
        "sv_preset": preset,
        "sv_n_prompts": as_text(n_prompts),
        "sv_n_seeds": as_text(len(s1)),
        "sv_layers": as_text(s1.shape[1]),
        "sv_larger_layers": format_range(larger, ".1f"),
        "sv_shift_max": as_text(max(shifts)),
        "sv_ratio_last": format_range(s1[:, -1, -1] / s1[:, -1, neutral], ".1f"),
        "sv_ratio_first": format_range(s1[:, 0, -1] / s1[:, 0, neutral], ".1f"),
        "sv_other_family": other_family,
        "sv_other_ratio_last": format_range(
            s1_other[:, -1, -1] / s1_other[:, -1, 0], ".1f"
        ),
        "sv_untrained_last": format_range(untrained[:, -1, -1], ".1f"),
        "sv_versus": f"above the larger of the two for {above.sum()} of {len(above)} "
        "seeds",
        "sv_first_larger": as_text(min(larger_at))
        if larger_at
        else "no shift measured",
    }
