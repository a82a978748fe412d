"""Training with a curriculum, atomic checkpoints, exact resume and a cache keyed by the
config hash."""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from . import checkpoint
from .config import ExperimentConfig, check
from .curriculum import curriculum_at
from .jobs import Job, run_side_by_side
from .model import InContextRegressor
from .samplers import generator_for, sample_prompts


@dataclass
class TrainedModel:
    model: InContextRegressor  # on CPU, in eval mode
    config: ExperimentConfig
    losses: np.ndarray  # training loss of every step
    seconds: float  # wall time spent training, summed over resumed pieces
    device: str  # where it was trained
    path: Path
    reused: bool  # True when the cache already held the finished run


def resolve_device(device: str) -> torch.device:
    ok = device in ("auto", "cpu", "cuda") or device.startswith("cuda:")
    check(ok, "device", device, "'auto', 'cpu', 'cuda' or 'cuda:N'")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    check(
        device == "cpu" or torch.cuda.is_available(),
        "device",
        device,
        "'cpu' (no CUDA device is present)",
    )
    return torch.device(device)


def run_dir(config: ExperimentConfig, root: str | Path) -> Path:
    """Where a run lives: one folder per config fingerprint, so a finished run is found
    again."""
    return Path(root) / f"{config.name}-{config.fingerprint()}"


def make_optimizer(model: torch.nn.Module, lr: float) -> torch.optim.Adam:
    """Adam as in Garg et al., with PyTorch's fused kernel (one pass over all parameters
    per step)."""
    return torch.optim.Adam(model.parameters(), lr=lr, fused=True)


def _world() -> tuple[int, int]:
    return (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)


def _finished(path: Path, reused: bool) -> TrainedModel:
    payload = checkpoint.read(path)
    model, config = checkpoint.model_from_payload(payload, path)
    return TrainedModel(
        model,
        config,
        payload["losses"].numpy(),
        payload["seconds"],
        payload["device"],
        path,
        reused,
    )


def train(
    config: ExperimentConfig,
    root: str | Path,
    device: str = "auto",
    resume: bool = True,
    progress: bool = True,
    compile: bool = False,
) -> TrainedModel:
    """Train `config` under `root`, or return the finished run the cache already holds.

    Under torchrun each process takes an equal slice of every global batch; the data,
    the curriculum and hence the trajectory are those of a single process."""
    folder = run_dir(config, root)
    final, state_path = folder / "model.pt", folder / "state.pt"
    if final.exists():
        return _finished(final, reused=True)
    rank, world, dev = _placement(config, device)
    run = _Run.start(config, dev, state_path if resume else None)
    step_fn = (
        run.model
        if world == 1
        else torch.nn.parallel.DistributedDataParallel(run.model)
    )
    if compile:
        step_fn = torch.compile(step_fn)
    run.model.train()
    tc = config.train
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=dev.type == "cuda")
    # read back every log_every steps, not every step
    on_device = torch.zeros(tc.steps, device=dev)
    bar = tqdm(
        range(run.step, tc.steps),
        initial=run.step,
        total=tc.steps,
        disable=not progress or rank > 0,
        desc=config.name,
        mininterval=1.0,
    )
    recorded = run.step  # losses before this step are on the host
    for step in bar:
        dims, points = curriculum_at(config.curriculum, step)
        xs, ys = _batch(config, step, dims, points, dev, rank, world)
        with autocast:
            loss = (step_fn(xs, ys).float() - ys).pow(2).mean()
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        on_device[step] = loss.detach()
        done = step + 1
        if (
            done % tc.log_every == 0
            or done % tc.checkpoint_every == 0
            or done == tc.steps
        ):
            _record(run.losses, on_device, recorded, done, world, tc.lr)
            recorded = done
            bar.set_postfix(
                loss=f"{float(run.losses[done - 1]):.4f}", dims=dims, points=points
            )
        if done % tc.checkpoint_every == 0 and done < tc.steps and rank == 0:
            run.save_state(state_path, config, done)
    bar.close()
    if rank == 0:
        run.save_final(final, config, _device_name(dev))
        state_path.unlink(missing_ok=True)
    if world > 1:
        dist.barrier()
    return _finished(final, reused=False)


def _placement(config: ExperimentConfig, device: str) -> tuple[int, int, torch.device]:
    """(rank, world size, device) of this process; under torchrun each GPU process
    takes its local GPU and an equal slice of the batch."""
    rank, world = _world()
    check(
        config.train.batch_size % world == 0,
        "train.batch_size",
        config.train.batch_size,
        f"a multiple of the number of processes ({world})",
    )
    dev = resolve_device(device)
    if dev.type == "cuda" and world > 1:
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return rank, world, dev


def _batch(
    config: ExperimentConfig,
    step: int,
    dims: int,
    points: int,
    dev: torch.device,
    rank: int,
    world: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """This process's slice of step `step`'s global batch, a function of (seed, step)."""
    prompts = sample_prompts(
        config.task,
        config.train.batch_size,
        points,
        config.model.n_dims,
        generator_for(config.train.seed, step, dev),
        active_dims=dims,
    )
    local = config.train.batch_size // world
    return tuple(t[rank * local : (rank + 1) * local] for t in (prompts.xs, prompts.ys))


@dataclass
class _Run:
    """A training run in progress: what a resumed run restores, and what a checkpoint
    of it saves."""

    model: InContextRegressor
    optimizer: torch.optim.Adam
    step: int  # the first step still to take
    seconds: float  # wall time spent before this piece
    losses: torch.Tensor  # every step's training loss, on the host
    started: float  # when this piece began

    @classmethod
    def start(cls, config: ExperimentConfig, dev, state_path: Path | None) -> "_Run":
        """A new run, or the one saved at `state_path` resumed exactly."""
        with torch.random.fork_rng(devices=[]):
            # the initial weights are a function of the config
            torch.manual_seed(config.train.seed)
            model = InContextRegressor(config.model).to(dev)
        optimizer = make_optimizer(model, config.train.lr)
        step, seconds, losses = 0, 0.0, torch.zeros(config.train.steps)
        if state_path is not None and state_path.exists():
            state = checkpoint.read(state_path)
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            torch.set_rng_state(state["rng"]["torch"])
            step, seconds, losses = state["step"], state["seconds"], state["losses"]
        return cls(model, optimizer, step, seconds, losses, time.perf_counter())

    def elapsed(self) -> float:
        return self.seconds + time.perf_counter() - self.started

    def save_state(self, path: Path, config: ExperimentConfig, done: int) -> None:
        """Everything an exact resume after step `done` needs."""
        checkpoint.save(
            path,
            {
                "config": config.to_dict(),
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "step": done,
                "losses": self.losses,
                "seconds": self.elapsed(),
                "rng": {"torch": torch.get_rng_state()},
            },
        )

    def save_final(self, path: Path, config: ExperimentConfig, device: str) -> None:
        checkpoint.save(
            path,
            {
                "config": config.to_dict(),
                "model": self.model.state_dict(),
                "losses": self.losses,
                "seconds": self.elapsed(),
                "device": device,
            },
        )


def _record(
    losses: torch.Tensor,
    on_device: torch.Tensor,
    first: int,
    done: int,
    world: int,
    lr: float,
) -> None:
    """Copy steps [first, done) of the loss to the host (averaged over processes) and
    check them."""
    block = on_device[first:done].clone()
    if world > 1:
        dist.all_reduce(block)
        block /= world
    losses[first:done] = block.cpu()
    bad = (~torch.isfinite(losses[first:done])).nonzero()
    if len(bad):
        raise FloatingPointError(
            f"training loss became non-finite at step {first + int(bad[0])} "
            f"(train.lr={lr}); lower the learning rate or check the pretraining "
            "distribution"
        )


def _device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    threads = torch.get_num_threads()
    return f"cpu ({threads} thread{'s' if threads != 1 else ''})"


def seconds_per_step(
    config: ExperimentConfig, device: str = "cpu", steps: int = 3
) -> float:
    """One training step's wall time on `device` (on a CPU, on one thread, as a
    training sweep runs each job), at the largest prompts of the curriculum: an upper
    bound on the mean step, to estimate a run that has no finished twin to go by."""
    dev = resolve_device(device)
    threads = torch.get_num_threads()
    if dev.type == "cpu":
        torch.set_num_threads(1)
    try:
        model = InContextRegressor(config.model).to(dev)
        optimizer = make_optimizer(model, config.train.lr)
        prompts = sample_prompts(
            config.task,
            config.train.batch_size,
            config.curriculum.points_end,
            config.model.n_dims,
            generator_for(config.train.seed, 0, dev),
        )
        times = []
        for _ in range(steps + 1):  # the first warms up
            start = time.perf_counter()
            loss = (model(prompts.xs, prompts.ys) - prompts.ys).pow(2).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            times.append(time.perf_counter() - start)
        return min(times[1:])
    finally:
        torch.set_num_threads(threads)


# many runs side by side --------------------------------------------------------------


def default_devices() -> list[str]:
    return [f"cuda:{i}" for i in range(torch.cuda.device_count())] or ["cpu"]


def _train(config: dict, root: str, device: str, threads: int) -> None:
    torch.set_num_threads(threads)
    train(ExperimentConfig.from_dict(config), root, device=device)


def train_in_fresh_process(
    config: ExperimentConfig, root: str | Path, device: str, threads: int
) -> int:
    """Train `config` under `root` in a new process using `threads` CPU threads (its
    own torch, so runs side by side do not share a thread pool); its exit code."""
    process = multiprocessing.get_context("spawn").Process(
        target=_train, args=(config.to_dict(), str(root), device, threads)
    )
    process.start()
    process.join()
    return process.exitcode


def train_all(
    configs: list[ExperimentConfig],
    root: str | Path,
    devices: list[str] | None = None,
    cpu_jobs: int | None = None,
) -> None:
    """Train every config under `root`: one at a time per GPU and `cpu_jobs` at a time
    (default: one per core) on the CPU. Raise naming the runs that failed."""
    devices = devices or default_devices()
    per_cpu = cpu_jobs or os.cpu_count() or 1
    slots = [
        d for d in dict.fromkeys(devices) for _ in range(per_cpu if d == "cpu" else 1)
    ]
    jobs = [
        Job(f"{c.name}, seed {c.train.seed}", partial(train_in_fresh_process, c, root))
        for c in configs
    ]
    codes = run_side_by_side(jobs, slots)
    failed = [name for name, code in codes.items() if code]
    if failed:
        raise RuntimeError(f"training failed for: {'; '.join(failed)}")
