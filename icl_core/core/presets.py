"""Named presets (the scales at which the book runs) and named pretraining
distributions."""

from __future__ import annotations

import dataclasses

from .config import (
    CurriculumConfig,
    ExperimentConfig,
    ModelConfig,
    PromptDistribution,
    TrainConfig,
    check,
)

# Every model of the book on two CPU cores in under 50 minutes. Prompts of 2d + 1
# points as in Garg et al.; the exact GELU, which differs from GPT-2's tanh
# approximation by at most 0.0005 and trains faster on a CPU (`make bench`).
CPU = ExperimentConfig(
    name="cpu",
    model=ModelConfig(
        n_dims=5, n_points=11, n_layer=4, n_head=4, n_embd=64, activation="gelu"
    ),
    task=PromptDistribution(),
    curriculum=CurriculumConfig(
        dims_start=2,
        dims_end=5,
        dims_inc=1,
        points_start=5,
        points_end=11,
        points_inc=2,
        interval=1000,
    ),
    # dimensions and points reach d and 2d + 1 together at step 3000, as in Garg et
    # al.'s curriculum shape, then 3000 steps at full size
    train=TrainConfig(
        steps=6000, batch_size=64, lr=1e-3, checkpoint_every=1000, log_every=50
    ),
)

# Garg et al.'s "small" architecture (6 layers, 4 heads, width 128) at d = 10, on two
# CPU cores in about 70 minutes. Their curriculum shape scaled to d: dimensions from
# about d/4 and points from 2·dims + 1, both full at step 7000, then 9000 steps at
# full size; the cpu preset's learning rate, as 500,000 steps at 1e-4 do not fit.
SMALL = ExperimentConfig(
    name="small",
    model=ModelConfig(
        n_dims=10, n_points=21, n_layer=6, n_head=4, n_embd=128, activation="gelu"
    ),
    task=PromptDistribution(),
    curriculum=CurriculumConfig(
        dims_start=3,
        dims_end=10,
        dims_inc=1,
        points_start=7,
        points_end=21,
        points_inc=2,
        interval=1000,
    ),
    train=TrainConfig(
        steps=16_000, batch_size=64, lr=1e-3, checkpoint_every=1000, log_every=100
    ),
)

PRESETS: dict[str, ExperimentConfig] = {
    # Seconds on a laptop: exercises every code path, no scientific claim.
    "smoke": ExperimentConfig(
        name="smoke",
        model=ModelConfig(n_dims=2, n_points=8, n_layer=2, n_head=2, n_embd=32),
        task=PromptDistribution(),
        curriculum=CurriculumConfig(
            dims_start=2,
            dims_end=2,
            dims_inc=0,
            points_start=5,
            points_end=8,
            points_inc=1,
            interval=200,
        ),
        train=TrainConfig(
            steps=800, batch_size=64, lr=1e-3, checkpoint_every=200, log_every=20
        ),
    ),
    "cpu": CPU,
    # Scale, one factor at a time: the cpu model with small's 21 points at d = 5, the
    # points growing by 6 instead of 2 at each of cpu's stages (5, 11, 17, 21), so that
    # they are full, as at cpu, at step 3000 of 6000 ...
    "cpu-p21": CPU.with_changes(
        name="cpu-p21",
        model={"n_points": 21},
        curriculum={"points_end": 21, "points_inc": 6},
    ),
    # ... the same at small's d = 10 over cpu-p21's stages, the dimensions growing by 3 at
    # each (2, 5, 8, 10); its models do not learn the task in these 6000 steps (the Scale
    # chapter), so the next preset shortens the stages ...
    "cpu-p21-d10": CPU.with_changes(
        name="cpu-p21-d10",
        model={"n_dims": 10, "n_points": 21},
        curriculum={"dims_end": 10, "dims_inc": 3, "points_end": 21, "points_inc": 6},
    ),
    # ... and at d = 10 with the dimensions growing 2 → 10 and the points 5 → 21 by
    # cpu's steps over shorter stages, full at step 3000 as well ...
    "cpu-d10": CPU.with_changes(
        name="cpu-d10",
        model={"n_dims": 10, "n_points": 21},
        curriculum={"dims_end": 10, "points_end": 21, "interval": 375},
    ),
    # ... and the cpu model trained for small's 16,000 steps, everything else as at cpu.
    "cpu-16k": CPU.with_changes(name="cpu-16k", train={"steps": 16_000}),
    # ... and small with the cpu model's size (4 layers, 4 heads, width 64), everything
    # else (d, points, curriculum, 16,000 steps) as at small: from cpu-d10 to here only
    # the training length changes (the curriculum stretched with it), from here to
    # small only the model's size.
    "small-4x64": SMALL.with_changes(
        name="small-4x64", model={"n_layer": 4, "n_embd": 64}
    ),
    "small": SMALL,
    # Garg et al.'s standard linear-regression run; needs a GPU.
    "paper": ExperimentConfig(
        name="paper",
        model=ModelConfig(n_dims=20, n_points=41, n_layer=12, n_head=8, n_embd=256),
        task=PromptDistribution(),
        curriculum=CurriculumConfig(
            dims_start=5,
            dims_end=20,
            dims_inc=1,
            points_start=11,
            points_end=41,
            points_inc=2,
            interval=2000,
        ),
        train=TrainConfig(
            steps=500_000, batch_size=64, lr=1e-4, checkpoint_every=2000, log_every=100
        ),
    ),
}

# Pretraining distributions compared in the chapter on the role of pretraining.
PRETRAINING: dict[str, PromptDistribution] = {
    "standard": PromptDistribution(),
    "x_shifted": PromptDistribution(x_mean=2.0),
    "x_wide": PromptDistribution(x_scale=3.0),
    # pretraining coverage: every prompt's mean of x drawn from c ~ U[-4, 4] along 1, or
    # along its own random direction (scaled by √d, so the mean's norm is as along 1)
    "x_mean_spread": PromptDistribution(x_mean_spread=4.0),
    "x_mean_spread_random": PromptDistribution(
        x_mean_spread=4.0, x_mean_direction="random"
    ),
    # priors that might remove the failure (the chapter "What removes the failure"):
    # every prompt's x at its own scale s, log-uniform from 1 to √65, the root mean
    # square of x's coordinates at the mean shift c = 8 ...
    "x_scale_spread": PromptDistribution(x_scale_max=65**0.5),
    # ... every point moved along 1 by its own c ~ U[-8, 8], a mean of zero ...
    "x_point_offsets": PromptDistribution(x_offset_spread=8.0),
    # ... and y = w·x + b, b ~ N(0, 18²): 18 ≈ 8√5 is the spread of w·(8·1) at d = 5
    "intercept": PromptDistribution(intercept_scale=18.0),
}

# Architectures that might remove the failure, each pretrained on the standard
# distribution: the model's fields that differ from the preset's.
ARCHITECTURES: dict[str, dict] = {
    "rmsnorm": {"norm": "rmsnorm"},
    "raw_embedding": {"normalise_embedding": False},
    "relative_to_first": {"relative_to_first": True},
}

# every named model a preset can train: a pretraining distribution or an architecture
VARIANTS = (*PRETRAINING, *ARCHITECTURES)


def get_preset(name: str) -> ExperimentConfig:
    check(name in PRESETS, "preset", name, f"one of {', '.join(PRESETS)}")
    return PRESETS[name]


def pretraining_config(preset: str, distribution: str) -> ExperimentConfig:
    """The preset's run with its pretraining distribution replaced by a named one, or
    its architecture changed as a named one of `ARCHITECTURES` says."""
    check(
        distribution in VARIANTS,
        "distribution",
        distribution,
        f"one of {', '.join(VARIANTS)}",
    )
    base = get_preset(preset)
    if distribution == "standard":
        return base
    name = f"{base.name}-{distribution.replace('_', '-')}"
    if distribution in ARCHITECTURES:
        return base.with_changes(name=name, model=ARCHITECTURES[distribution])
    return dataclasses.replace(base, name=name, task=PRETRAINING[distribution])


def run_config(
    preset: str, distribution: str, seed: int, final_layernorm: bool = True
) -> ExperimentConfig:
    """The preset's run for a pretraining distribution and a training seed (initial
    weights and data); with `final_layernorm` False, the same run without the final
    LayerNorm (named `...-no-final-ln`)."""
    config = pretraining_config(preset, distribution)
    if seed != config.train.seed:
        config = config.with_changes(train={"seed": seed})
    if not final_layernorm:
        config = config.with_changes(
            name=f"{config.name}-no-final-ln", model={"final_layernorm": False}
        )
    return config
