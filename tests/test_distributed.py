"""Several processes train one model with the trajectory of a single process;
`train_all` runs many models as jobs."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from icl_core import get_preset
from icl_core.core.presets import run_config
from icl_core.core.train import run_dir, train_all

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
STEPS = 60


def _losses(out: Path) -> np.ndarray:
    folder = run_dir(get_preset("smoke").with_changes(train={"steps": STEPS}), out)
    return torch.load(folder / "model.pt")["losses"].numpy()


def test_two_process_ddp_follows_the_single_process_trajectory(tmp_path):
    train = [
        "-m",
        "icl_core",
        "train",
        "--preset",
        "smoke",
        "--steps",
        str(STEPS),
        "--device",
        "cpu",
    ]
    subprocess.run(
        [sys.executable, *train, "--out", str(tmp_path / "one")],
        env=ENV,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            "--master_port=29517",
            *train,
            "--out",
            str(tmp_path / "two"),
        ],
        env=ENV,
        check=True,
        capture_output=True,
    )
    single, ddp = _losses(tmp_path / "one"), _losses(tmp_path / "two")
    assert np.allclose(single, ddp, rtol=1e-3, atol=1e-5), np.abs(single - ddp).max()


def test_train_all_runs_every_job_and_reuses_the_cache(tmp_path):
    configs = [
        run_config("smoke", name, 0).with_changes(train={"steps": 20})
        for name in ("standard", "x_shifted")
    ]
    train_all(configs, tmp_path, devices=["cpu"])
    finished = sorted(tmp_path.glob("*/model.pt"))
    assert len(finished) == 2
    stamps = [p.stat().st_mtime_ns for p in finished]
    train_all(configs, tmp_path, devices=["cpu"])  # second time: both reused
    assert [p.stat().st_mtime_ns for p in finished] == stamps


def test_a_failed_run_is_named(tmp_path):
    bad = run_config("smoke", "standard", 0).with_changes(train={"lr": 1e9})
    with pytest.raises(RuntimeError, match="smoke, seed 0"):
        train_all([bad, run_config("smoke", "x_shifted", 0)], tmp_path, ["cpu"])
