"""Several processes train one model with the trajectory of a single process; sweeps
run as jobs."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from icl_core import get_preset
from icl_core.core.sweep import run_sweep, sweep_jobs
from icl_core.core.train import run_dir

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


def test_sweep_runs_every_job_and_reuses_the_cache(tmp_path):
    jobs = sweep_jobs("smoke", ["standard", "x_shifted"], [0], str(tmp_path))
    jobs = [job + ["--steps", "20"] for job in jobs]
    assert run_sweep(jobs, devices=["cpu"]) == [0, 0]
    assert len(list(tmp_path.glob("*/model.pt"))) == 2
    assert run_sweep(jobs, devices=["cpu"]) == [0, 0]  # second time: both reused
