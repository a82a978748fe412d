import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from icl_core import CheckpointError, get_preset, load_checkpoint, train
from icl_core.core.curriculum import curriculum_at, stage_starts
from icl_core.core.train import run_dir

ROOT = Path(__file__).resolve().parents[1]
SMOKE = get_preset("smoke")


def test_curriculum_follows_garg_schedule():
    paper = get_preset("paper").curriculum
    assert curriculum_at(paper, 0) == (5, 11)
    assert curriculum_at(paper, 1999) == (5, 11)
    assert curriculum_at(paper, 2000) == (6, 13)
    assert curriculum_at(paper, 10**6) == (20, 41)
    assert (
        stage_starts(paper, 40_000)[:2] == [2000, 4000]
        and len(stage_starts(paper, 10**6)) == 15
    )


def test_smoke_loss_falls(tmp_path):
    losses = train(SMOKE, tmp_path, progress=False).losses
    assert losses[-100:].mean() < 0.7 * losses[:100].mean()


def test_finished_run_is_reused_not_retrained(tmp_path):
    first = train(SMOKE, tmp_path, progress=False)
    second = train(SMOKE, tmp_path, progress=False)
    assert not first.reused and second.reused
    assert first.path == second.path == run_dir(SMOKE, tmp_path) / "model.pt"
    assert all(
        torch.equal(a, b)
        for a, b in zip(
            first.model.state_dict().values(), second.model.state_dict().values()
        )
    )
    model, config = load_checkpoint(first.path)
    assert config == SMOKE and not model.training


def _train_command(out: Path, steps: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "icl_core",
        "train",
        "--preset",
        "smoke",
        "--out",
        str(out),
        "--steps",
        str(steps),
        "--device",
        "cpu",
    ]


def test_killed_run_resumes_to_identical_weights(tmp_path):
    steps = 300
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        _train_command(tmp_path / "straight", steps),
        env=env,
        check=True,
        capture_output=True,
    )

    out = tmp_path / "killed"
    folder = run_dir(SMOKE.with_changes(train={"steps": steps}), out)
    proc = subprocess.Popen(
        _train_command(out, steps),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while not (folder / "state.pt").exists() and time.time() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (folder / "state.pt").exists() and not (
        folder / "model.pt"
    ).exists(), "killed too late"
    assert not list(folder.glob("*.tmp")), "a temporary file survived the kill"

    subprocess.run(_train_command(out, steps), env=env, check=True, capture_output=True)
    resumed = torch.load(folder / "model.pt")["model"]
    straight = torch.load(next((tmp_path / "straight").glob("*/model.pt")))["model"]
    assert all(torch.equal(resumed[k], straight[k]) for k in straight)


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    path = train(SMOKE, tmp_path, progress=False).path
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(path)
    state = path.with_name("state.pt")
    path.rename(state)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        train(SMOKE, tmp_path, progress=False)


def test_non_finite_loss_stops_training_with_a_message(tmp_path):
    config = SMOKE.with_changes(task={"x_scale": 1e30})
    with pytest.raises(
        FloatingPointError, match=r"non-finite at step \d+ \(train\.lr="
    ):
        train(config, tmp_path, progress=False)
    assert not (run_dir(config, tmp_path) / "model.pt").exists()


def test_bad_device_is_named(tmp_path):
    with pytest.raises(ValueError, match="device='tpu'"):
        train(SMOKE, tmp_path, device="tpu", progress=False)


def test_command_line_help_and_errors():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    help_text = subprocess.run(
        [sys.executable, "-m", "icl_core", "--help"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "train" in help_text and "presets" in help_text
    bad = subprocess.run(
        [sys.executable, "-m", "icl_core", "train", "--preset", "big", "--out", "x"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "invalid choice: 'big'" in bad.stderr


def test_a_chapter_says_what_it_will_train_and_trains_it_into_its_run_folder(
    tmp_path, capsys
):
    from icl_core.book.runs import Wanted, estimated_minutes, trained_models
    from icl_core.core.presets import run_config

    published, own = tmp_path / "results", tmp_path / "runs"
    trained_models("smoke", published, "cpu", {"standard": [0]}, own)
    said = capsys.readouterr().err
    assert "training 1 missing model(s), smoke (seed 0)" in said
    assert "800 steps each" in said and "one step timed now" in said
    assert not published.exists() and len(list(own.rglob("model.pt"))) == 1
    wanted = [Wanted("smoke", "standard", 1, True, run_config("smoke", "standard", 1))]
    _, basis = estimated_minutes(wanted, [published / "smoke", own / "smoke"], "cpu")
    assert "finished runs of this architecture took" in basis and "(1 runs," in basis
    trained_models("smoke", published, "cpu", {"standard": [0]}, own)  # found
    assert "training" not in capsys.readouterr().err


def test_a_training_above_the_budget_is_refused_with_the_command_that_trains_it(
    tmp_path,
):
    from icl_core.book.runs import TrainingRefused, trained_seeds

    published, own = tmp_path / "results", tmp_path / "runs"
    with pytest.raises(TrainingRefused) as refused:
        trained_seeds("smoke", published, "cpu", [0, 1], own, training_budget=0)
    message = str(refused.value)
    assert "2 missing model(s)" in message and "training_budget=0 minutes" in message
    assert not list(tmp_path.rglob("model.pt"))  # nothing was trained
    command = message.split("Train them first with\n")[1].split("\nor ")[0].strip()
    assert "train-many --preset smoke --pretraining standard --seeds 0 1" in command
    subprocess.run(command, shell=True, check=True, capture_output=True)
    runs = trained_seeds("smoke", published, "cpu", [0, 1], own, training_budget=0)
    assert [r.config.train.seed for r in runs] == [0, 1] and all(r.reused for r in runs)
