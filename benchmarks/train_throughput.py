"""Training steps per second of icl_core's model against Garg et al.'s reference
architecture.

The reference is their `TransformerModel` (HuggingFace `GPT2Model` backbone, linear
read-in and read-out), rebuilt here from `transformers`. Both train on the same batches,
each with its own code's Adam, alternating in one process; the script prints medians,
the ratio and achieved FLOP/s against a measured matmul peak. It then times icl_core
with each of its choices undone (or one more idea added) against its default, and writes
everything to results/benchmarks.json.

python benchmarks/train_throughput.py                # cpu and paper configurations
python benchmarks/train_throughput.py --configs cpu --repeats 7 --no-ablations python
benchmarks/train_throughput.py --only-concurrent   # side-by-side training runs only

On a CPU it also times two cpu-preset training runs side by side against one after the
other, the choice the book's concurrent training sweep makes."""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import platform
import re
import statistics
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from icl_core import ExperimentConfig, InContextRegressor, get_preset, train
from icl_core.curriculum import curriculum_at, stage_starts
from icl_core.samplers import generator_for, sample_prompts
from icl_core.storage import read_json, write_json
from icl_core.train import make_optimizer


class GargTransformer(torch.nn.Module):
    """Garg et al.'s TransformerModel, as in their src/models.py."""

    def __init__(
        self, n_dims: int, n_positions: int, n_embd: int, n_layer: int, n_head: int
    ):
        super().__init__()
        from transformers import GPT2Config, GPT2Model

        config = GPT2Config(
            n_positions=2 * n_positions,
            n_embd=n_embd,
            n_layer=n_layer,
            n_head=n_head,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            use_cache=False,
        )
        self._read_in = torch.nn.Linear(n_dims, n_embd)
        self._backbone = GPT2Model(config)
        self._read_out = torch.nn.Linear(n_embd, 1)

    def forward(self, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        b, n, d = xs.shape
        ys_wide = torch.cat(
            (ys.view(b, n, 1), torch.zeros(b, n, d - 1, device=ys.device)), dim=2
        )
        zs = torch.stack((xs, ys_wide), dim=2).view(b, 2 * n, d)
        out = self._backbone(inputs_embeds=self._read_in(zs)).last_hidden_state
        return self._read_out(out)[:, ::2, 0]


def matmul_peak(device: torch.device, size: int = 2048, repeats: int = 10) -> float:
    """Measured float32 matrix-multiply FLOP/s: the ceiling for achieved throughput."""
    a, b = (
        torch.randn(size, size, device=device),
        torch.randn(size, size, device=device),
    )
    for _ in range(2):
        a @ b
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
    return 2 * size**3 * repeats / (time.perf_counter() - start)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def make_step(model, optimizer, batches, device, autocast: bool, forward=None):
    forward = model if forward is None else forward

    def step(i: int) -> None:
        xs, ys = batches[i % len(batches)]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            loss = (forward(xs, ys).float() - ys).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def timed(step, steps: int, device) -> float:
    sync(device)
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    sync(device)
    return steps / (time.perf_counter() - start)


def race(runners: dict, steps: int, repeats: int, device) -> dict:
    """Steps per second of each runner, alternating them so that drifts in machine load
    hit all alike."""
    for run in runners.values():  # warm-up
        timed(run, max(2, steps // 5), device)
    rates = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            rates[name].append(timed(run, steps, device))
    return rates


def step_flops(model, xs, ys) -> int:
    with FlopCounterMode(display=False) as counter:
        (model(xs, ys) - ys).pow(2).mean().backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def every_token_last_block(model: InContextRegressor):
    """icl_core's forward with the last block run at every token, as the reference
    does."""

    def forward(xs, ys):
        h = model.embed(xs, ys)
        for block in model.h:
            h = block(h)
        return model.read_out(model.ln_f(h[:, ::2]))[..., 0]

    return forward


def with_threads(step, n: int):
    def run(i: int) -> None:
        before = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            step(i)
        finally:
            torch.set_num_threads(before)

    return run


def ablations(m, batches, device, autocast: bool) -> dict:
    """Builders of icl_core's training step with one of its choices undone or one idea
    added."""

    def step(forward=None, optimizer=None, use_autocast=autocast, config=m):
        torch.manual_seed(0)
        model = InContextRegressor(config).to(device)
        opt = optimizer(model) if optimizer else make_optimizer(model, 1e-4)
        return make_step(
            model,
            opt,
            batches,
            device,
            use_autocast,
            forward(model) if forward else None,
        )

    variants = {
        "last block at every token": lambda: step(forward=every_token_last_block),
        "Adam without the fused kernel": lambda: step(
            optimizer=lambda model: torch.optim.Adam(model.parameters(), lr=1e-4)
        ),
        "torch.compile": lambda: step(
            forward=lambda model: torch.compile(model, dynamic=False)
        ),
    }
    if m.activation == "gelu":
        variants["GPT-2's tanh GELU"] = lambda: step(
            config=dataclasses.replace(m, activation="gelu_new")
        )
    if device.type == "cpu":  # on CUDA, bf16 autocast is already the default
        variants["bf16 autocast"] = lambda: step(use_autocast=True)
        variants["one thread"] = lambda: with_threads(step(), 1)
    return variants


def step_memory(preset: str, device_name: str) -> int:
    """Peak bytes that training icl_core's model at the preset's full prompt length
    adds to a process.

    CUDA's allocator statistics on a GPU; on a CPU the growth of this fresh
    process's peak resident set."""
    device = torch.device(device_name)
    config = get_preset(preset)
    dims, points = curriculum_at(config.curriculum, 10**9)
    before = peak_resident_bytes()
    model = InContextRegressor(config.model).to(device)
    step = make_step(
        model,
        make_optimizer(model, 1e-4),
        [
            sample_prompts(
                config.task,
                config.train.batch_size,
                points,
                config.model.n_dims,
                generator_for(0, 0, device),
                active_dims=dims,
            )[:2]
        ],
        device,
        autocast=device.type == "cuda",
    )
    for i in range(2):  # the second step holds Adam's state as well
        step(i)
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device)
    return peak_resident_bytes() - before


def peak_resident_bytes() -> int:
    """This process's peak resident set (Linux's VmHWM, which unlike ru_maxrss starts
    afresh at exec)."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024


def train_in_fresh_process(config_dict: dict, out: str, threads: int) -> float:
    """Seconds to train a config from scratch with `threads` threads (run in a spawned
    process)."""
    torch.set_num_threads(threads)
    start = time.perf_counter()
    train(
        ExperimentConfig.from_dict(config_dict),
        out,
        device="cpu",
        resume=False,
        progress=False,
    )
    return time.perf_counter() - start


def concurrent_training(preset: str, steps: int, repeats: int) -> dict:
    """Two training runs side by side with one thread each against the same two one
    after the other with every core each: the choice `icl_core.sweep` makes on a
    CPU. The runs pass through the preset's whole curriculum, shortened to `steps`
    steps; wall time includes starting each process."""
    import tempfile

    cores = os.cpu_count() or 1
    base = get_preset(preset)
    interval = max(
        1, steps // (len(stage_starts(base.curriculum, base.train.steps)) + 1)
    )
    configs = [
        base.with_changes(
            curriculum={"interval": interval}, train={"steps": steps, "seed": s}
        ).to_dict()
        for s in (101, 102)
    ]
    context = multiprocessing.get_context("spawn")
    seconds = {"one_after_the_other": [], "side_by_side": []}
    for repeat in range(repeats):
        order = (
            ("one_after_the_other", "side_by_side")
            if repeat % 2 == 0
            else ("side_by_side", "one_after_the_other")
        )
        for mode in order:
            with tempfile.TemporaryDirectory() as out:
                start = time.perf_counter()
                if mode == "side_by_side":
                    with context.Pool(2) as pool:
                        pool.starmap(
                            train_in_fresh_process,
                            [(c, out, max(1, cores // 2)) for c in configs],
                        )
                else:
                    for config in configs:
                        with context.Pool(1) as pool:
                            pool.apply(train_in_fresh_process, (config, out, cores))
                seconds[mode].append(time.perf_counter() - start)
    medians = {mode: statistics.median(v) for mode, v in seconds.items()}
    speedup = medians["one_after_the_other"] / medians["side_by_side"]
    print(
        f"{preset:6s}   two training runs side by side: {speedup:.2f}x faster than one "
        f"after the other ({medians['side_by_side']:.1f} s against "
        f"{medians['one_after_the_other']:.1f} s, {cores} cores)"
    )
    return {
        "preset": preset,
        "steps": steps,
        "curriculum_interval": interval,
        "cores": cores,
        "seconds": seconds,
        "median_seconds": medians,
        "speedup": speedup,
    }


def bench(
    preset: str, steps: int, repeats: int, device: torch.device, with_ablations: bool
) -> dict:
    config = get_preset(preset)
    m = config.model
    # the last stage: full prompts
    dims, points = curriculum_at(config.curriculum, 10**9)
    batches = [
        sample_prompts(
            config.task,
            config.train.batch_size,
            points,
            m.n_dims,
            generator_for(0, i, device),
            active_dims=dims,
        )[:2]
        for i in range(8)
    ]
    torch.manual_seed(0)
    ours = InContextRegressor(m).to(device)
    reference = GargTransformer(m.n_dims, m.n_points, m.n_embd, m.n_layer, m.n_head).to(
        device
    )
    autocast = device.type == "cuda"
    # Each side trains as its own code does: icl_core with its optimiser, the reference
    # with plain Adam.
    runners = {
        "icl_core": make_step(
            ours, make_optimizer(ours, 1e-4), batches, device, autocast
        ),
        "reference": make_step(
            reference,
            torch.optim.Adam(reference.parameters(), lr=1e-4),
            batches,
            device,
            autocast,
        ),
    }
    rates = race(runners, steps, repeats, device)
    medians = {name: statistics.median(r) for name, r in rates.items()}
    flops = {
        "icl_core": step_flops(ours, *batches[0]),
        "reference": step_flops(reference, *batches[0]),
    }
    row = {
        "preset": preset,
        "batch_size": config.train.batch_size,
        "points": points,
        "steps_per_repeat": steps,
        "repeats": repeats,
        "steps_per_second": rates,
        "median_steps_per_second": medians,
        "ratio": medians["icl_core"] / medians["reference"],
        "flops_per_step": flops,
        "achieved_flops": {k: v * flops[k] for k, v in medians.items()},
    }
    # a fresh process, so its peak is this step's
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        row["step_memory_bytes"] = pool.apply(step_memory, (preset, str(device)))
    if with_ablations:
        row["ablations"] = {}
        default = make_step(ours, make_optimizer(ours, 1e-4), batches, device, autocast)
        for name, build in ablations(m, batches, device, autocast).items():
            rates = race(
                {"default": default, "variant": build()}, steps, repeats, device
            )
            medians = {k: statistics.median(r) for k, r in rates.items()}
            # the spread shows the noise
            paired = [v / d for v, d in zip(rates["variant"], rates["default"])]
            row["ablations"][name] = {
                "median_steps_per_second": medians,
                "relative_per_repeat": paired,
                "relative": medians["variant"] / medians["default"],
            }
            print(
                f"{preset:6s}   {name:32s} "
                f"{row['ablations'][name]['relative']:.2f}x icl_core's default "
                f"(per repetition {min(paired):.2f}-{max(paired):.2f})"
            )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--configs", nargs="+", default=["cpu", "paper"], help="presets to time"
    )
    parser.add_argument(
        "--steps",
        type=int,
        nargs="+",
        default=[50, 3],
        help="steps per repetition, one per config",
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--device", default="cuda" if torch.cuda.is_available() else "cpu"
    )
    parser.add_argument("--out", default="results/benchmarks.json")
    parser.add_argument(
        "--no-ablations",
        dest="ablations",
        action="store_false",
        help="skip timing icl_core with each of its choices undone",
    )
    parser.add_argument(
        "--concurrent-steps",
        type=int,
        default=800,
        help="steps of each cpu-preset run in the side-by-side training comparison (0: skip)",
    )
    parser.add_argument(
        "--only-concurrent",
        action="store_true",
        help="run only the side-by-side training comparison, keeping the other results",
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    peak = matmul_peak(device)
    machine = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    )
    import transformers

    print(
        f"device: {machine}; torch {torch.__version__}, transformers {transformers.__version__}; "
        f"measured matmul peak {peak / 1e9:.1f} GFLOP/s"
    )
    try:
        recorded = read_json(args.out)
    except FileNotFoundError:
        recorded = {}
    entry = recorded.get(device.type, {})
    if device.type == "cpu" and args.concurrent_steps:
        entry["concurrent_training"] = concurrent_training(
            "cpu", args.concurrent_steps, repeats=3
        )
    if args.only_concurrent:
        recorded[device.type] = entry
        write_json(args.out, recorded)
        return
    rows = []
    for preset, steps in zip(
        args.configs, args.steps + args.steps[-1:] * len(args.configs)
    ):
        row = bench(preset, steps, args.repeats, device, args.ablations)
        rows.append(row)
        med = row["median_steps_per_second"]
        print(
            f"{preset:6s} icl_core {med['icl_core']:8.2f} steps/s   "
            f"reference {med['reference']:8.2f} steps/s   ratio {row['ratio']:.2f}x   "
            f"achieved {row['achieved_flops']['icl_core'] / peak:.1%} of peak   "
            f"training needs {row['step_memory_bytes'] / 2**30:.2f} GiB"
        )
    recorded[device.type] = {
        **entry,
        "machine": machine,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "matmul_peak_flops": peak,
        "results": rows,
    }
    write_json(args.out, recorded)


if __name__ == "__main__":
    main()
