"""Training steps per second of icl_core's model against Garg et al.'s reference
architecture.

The reference is their `TransformerModel` (HuggingFace `GPT2Model` backbone, linear
read-in and read-out), rebuilt here from `transformers`. Both train on the same batches,
each with its own code's Adam, alternating in one process; the script prints medians,
the ratio and achieved FLOP/s against a measured matmul peak. It then times icl_core
with each of its choices undone (or one more idea added) against its default, and writes
everything to results/benchmarks.json.

python benchmarks/train_throughput.py                # cpu and paper configurations
python benchmarks/train_throughput.py --configs cpu --repeats 7 --no-ablations
python benchmarks/train_throughput.py --only-concurrent   # side-by-side runs only

On a CPU it also times two cpu-preset training runs side by side against one after the
other, the choice the book makes when it trains many models at once."""

from __future__ import annotations

import argparse
import platform
import statistics

import torch
from ablations import time_ablations
from concurrency import concurrent_training
from memory import step_memory_in_fresh_process
from reference import GargTransformer
from steps import full_prompt_batches, make_step
from timing import matmul_peak, race, step_flops

from icl_core import InContextRegressor, get_preset
from icl_core.core.storage import read_json, write_json
from icl_core.core.train import make_optimizer


def bench(
    preset: str, steps: int, repeats: int, device: torch.device, with_ablations: bool
) -> dict:
    """icl_core against the reference on the preset's full-length prompts: steps per
    second, FLOPs per step, the memory training needs and, if asked, the ablations."""
    config = get_preset(preset)
    m = config.model
    points, batches = full_prompt_batches(config, device, 8)
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
        "step_memory_bytes": step_memory_in_fresh_process(preset, device),
    }
    if with_ablations:
        row["ablations"] = time_ablations(
            preset, ours, batches, device, autocast, steps, repeats
        )
    return row


def parse_args() -> argparse.Namespace:
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
    return parser.parse_args()


def describe_machine(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def report(row: dict, peak: float) -> None:
    med = row["median_steps_per_second"]
    print(
        f"{row['preset']:6s} icl_core {med['icl_core']:8.2f} steps/s   "
        f"reference {med['reference']:8.2f} steps/s   ratio {row['ratio']:.2f}x   "
        f"achieved {row['achieved_flops']['icl_core'] / peak:.1%} of peak   "
        f"training needs {row['step_memory_bytes'] / 2**30:.2f} GiB"
    )


def main() -> None:
    args = parse_args()
    device = torch.device(args.device)
    peak = matmul_peak(device)
    machine = describe_machine(device)
    # imported here, so that the processes spawned below (which import this script)
    # start without loading transformers
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
        rows.append(bench(preset, steps, args.repeats, device, args.ablations))
        report(rows[-1], peak)
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
