"""Reading a checkpoint never runs code from it: files that need more than tensors are
refused."""

import os

import pytest
import torch

from icl_core import (
    CheckpointError,
    InContextRegressor,
    ModelConfig,
    get_preset,
    load_checkpoint,
    train,
)
from icl_core.core.checkpoint import FORMAT
from icl_core.core.train import run_dir

SMOKE = get_preset("smoke").with_changes(train={"steps": 20, "checkpoint_every": 10})


class CreatesAFile:
    """Unpickling this with the full unpickler would run `os.system` and create `path`."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.system, (f"touch {self.path}",)


def test_our_format_with_a_code_running_pickle_is_refused(tmp_path):
    marker, path = tmp_path / "ran", tmp_path / "model.pt"
    torch.save({"format": FORMAT, "config": CreatesAFile(marker), "model": {}}, path)
    with pytest.raises(
        CheckpointError, match=rf"checkpoint {path} was refused.*posix\.system"
    ):
        load_checkpoint(path)
    assert not marker.exists()


def test_a_garg_style_state_dict_with_a_code_running_pickle_is_refused(tmp_path):
    marker, path = tmp_path / "ran", tmp_path / "state.pt"
    state = dict(
        InContextRegressor(
            ModelConfig(n_dims=2, n_points=4, n_layer=1, n_head=1, n_embd=8)
        ).state_dict()
    )
    state = {f"_backbone.{k}": v for k, v in state.items()} | {
        "_backbone.extra": CreatesAFile(marker)
    }
    torch.save({"model_state_dict": state, "train_step": 1}, path)
    with pytest.raises(CheckpointError, match=rf"checkpoint {path} was refused"):
        load_checkpoint(path)
    assert not marker.exists()


def test_a_training_state_with_a_code_running_pickle_is_refused_on_resume(tmp_path):
    marker = tmp_path / "ran"
    state = run_dir(SMOKE, tmp_path) / "state.pt"
    state.parent.mkdir(parents=True)
    torch.save(
        {"format": FORMAT, "model": {}, "rng": {"torch": CreatesAFile(marker)}}, state
    )
    with pytest.raises(CheckpointError, match=rf"checkpoint {state} was refused"):
        train(SMOKE, tmp_path, progress=False)
    assert not marker.exists()


def test_our_own_checkpoints_and_training_states_load_weights_only(tmp_path):
    """Every file training writes is tensors in plain containers, so the safe reader
    accepts it."""
    run = train(SMOKE.with_changes(train={"steps": 30}), tmp_path, progress=False)
    torch.load(run.path, weights_only=True)
    model, config = load_checkpoint(run.path)
    assert config.train.steps == 30 and not model.training


def test_a_file_that_is_not_a_dict_is_a_clear_error(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([torch.zeros(2)], path)
    with pytest.raises(CheckpointError, match="holds a list"):
        load_checkpoint(path)
