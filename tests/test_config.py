import dataclasses

import pytest

from icl_core import PRESETS, ExperimentConfig, get_preset, pretraining_config
from icl_core.core.config import (
    CurriculumConfig,
    ModelConfig,
    PromptDistribution,
    TrainConfig,
)

BAD_VALUES = {
    PromptDistribution: {
        "x_mean": float("nan"),
        "x_scale": 0.0,
        "x_cov": ((1.0, 2.0),),
        "w_mean": "a",
        "w_scale": -1.0,
        "noise_std": -0.1,
        "x_mean_spread": -4.0,
        "x_mean_direction": "diagonal",
        "w_orthogonal_to_ones": 1,
        "x_scale_max": 0.5,
        "x_offset_spread": -1.0,
        "intercept_scale": float("inf"),
    },
    ModelConfig: {
        "n_dims": 0,
        "n_points": -3,
        "n_layer": 1.5,
        "n_head": 3,
        "n_embd": 0,
        "activation": "relu",
        "final_layernorm": "no",
        "norm": "batchnorm",
        "normalise_embedding": 0,
        "relative_to_first": "yes",
    },
    CurriculumConfig: {
        "dims_start": 0,
        "dims_end": -1,
        "dims_inc": -1,
        "points_start": 0,
        "points_end": 0,
        "points_inc": -2,
        "interval": 0,
    },
    TrainConfig: {
        "steps": 0,
        "batch_size": -1,
        "lr": 0.0,
        "seed": -1,
        "checkpoint_every": 0,
        "log_every": 0,
    },
}


def test_every_field_has_a_bad_value_listed():
    for kind, bad in BAD_VALUES.items():
        assert set(bad) == {f.name for f in dataclasses.fields(kind)}


@pytest.mark.parametrize(
    "kind,field,value",
    [(k, f, v) for k, bad in BAD_VALUES.items() for f, v in bad.items()],
)
def test_bad_field_raises_naming_it(kind, field, value):
    with pytest.raises(ValueError, match=rf"\b{field}="):
        kind(**{field: value})


def test_cross_section_checks_name_the_field():
    cpu = get_preset("cpu")
    with pytest.raises(ValueError, match=r"curriculum\.dims_end="):
        dataclasses.replace(cpu, model=dataclasses.replace(cpu.model, n_dims=7))
    with pytest.raises(ValueError, match=r"task\.x_mean="):
        dataclasses.replace(cpu, task=PromptDistribution(x_mean=(1.0, 2.0)))
    with pytest.raises(ValueError, match=r"name="):
        dataclasses.replace(cpu, name="a b")


def test_unknown_preset_lists_allowed_names():
    allowed = (
        "smoke, cpu, cpu-p21, cpu-p21-d10, cpu-d10, cpu-16k, small-4x64, small, paper"
    )
    with pytest.raises(ValueError, match=rf"preset='gpu'.*{allowed}"):
        get_preset("gpu")


def test_paper_preset_is_garg_standard_run():
    paper = get_preset("paper")
    assert (
        paper.model.n_dims,
        paper.model.n_points,
        paper.model.n_layer,
        paper.model.n_head,
        paper.model.n_embd,
    ) == (20, 41, 12, 8, 256)
    c = paper.curriculum
    assert (
        c.dims_start,
        c.dims_end,
        c.dims_inc,
        c.points_start,
        c.points_end,
        c.points_inc,
        c.interval,
    ) == (5, 20, 1, 11, 41, 2, 2000)
    assert (paper.train.batch_size, paper.train.lr, paper.train.steps) == (
        64,
        1e-4,
        500_000,
    )


@pytest.mark.parametrize("name", list(PRESETS))
def test_config_round_trips_through_dict(name):
    config = pretraining_config(name, "x_shifted")
    again = ExperimentConfig.from_dict(config.to_dict())
    assert again == config and again.fingerprint() == config.fingerprint()


def test_fingerprint_ignores_name_but_not_content():
    cpu = get_preset("cpu")
    assert dataclasses.replace(cpu, name="other").fingerprint() == cpu.fingerprint()
    assert cpu.with_changes(train={"seed": 1}).fingerprint() != cpu.fingerprint()


def test_with_changes_rejects_unknown_fields():
    with pytest.raises(ValueError, match=r"train\.stepz="):
        get_preset("cpu").with_changes(train={"stepz": 3})
    with pytest.raises(ValueError, match=r"section='optim'"):
        get_preset("cpu").with_changes(optim={"lr": 3})
