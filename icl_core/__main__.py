"""Command line: `python -m icl_core train --preset cpu --out results/cpu` and friends."""

from __future__ import annotations

import argparse
import os
import sys

from .core.presets import PRESETS, PRETRAINING, VARIANTS, get_preset, run_config


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m icl_core", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    _train_command(commands)
    _train_many_command(commands)
    _book_command(commands)
    commands.add_parser("presets", help="list the presets and their configurations")
    return parser


def _train_command(commands) -> None:
    train = commands.add_parser(
        "train",
        help="train one model (or reuse the finished run in --out)",
        description="Train one model. Under torchrun, one model with "
        "DistributedDataParallel and the same global batch.",
    )
    train.add_argument(
        "--preset", default="cpu", choices=PRESETS, help="(default: cpu)"
    )
    train.add_argument(
        "--pretraining",
        default="standard",
        choices=VARIANTS,
        help="pretraining distribution or architecture (default: standard)",
    )
    train.add_argument(
        "--out", required=True, help="cache folder; the run goes in OUT/<name>-<hash>/"
    )
    train.add_argument("--steps", type=int, help="override train.steps")
    train.add_argument("--seed", type=int, help="override train.seed")
    train.add_argument(
        "--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)"
    )
    train.add_argument(
        "--no-resume", action="store_true", help="ignore a saved training state"
    )
    train.add_argument("--compile", action="store_true", help="torch.compile the model")
    _final_layernorm_option(train)


def _train_many_command(commands) -> None:
    many = commands.add_parser(
        "train-many", help="train several configurations, one job per available device"
    )
    many.add_argument("--preset", default="cpu", choices=PRESETS, help="(default: cpu)")
    many.add_argument(
        "--pretraining",
        nargs="+",
        default=list(PRETRAINING),
        choices=VARIANTS,
        help="pretraining distributions or architectures (default: every "
        f"distribution, {', '.join(PRETRAINING)}; architectures: "
        f"{', '.join(v for v in VARIANTS if v not in PRETRAINING)})",
    )
    many.add_argument(
        "--seeds", nargs="+", type=int, default=[0], help="training seeds (default: 0)"
    )
    many.add_argument("--out", required=True, help="cache folder, as for train")
    many.add_argument(
        "--devices", nargs="+", help="devices to use (default: every GPU, else cpu)"
    )
    many.add_argument(
        "--cpu-jobs",
        type=int,
        help="jobs side by side on the CPU (default: one per core)",
    )
    _final_layernorm_option(many)


def _book_command(commands) -> None:
    book = commands.add_parser(
        "book", help="execute every chapter with papermill, then build the book"
    )
    book.add_argument("--preset", default="cpu", choices=PRESETS, help="(default: cpu)")
    book.add_argument(
        "--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)"
    )
    book.add_argument(
        "--retrain", action="store_true", help="discard cached models and train anew"
    )
    book.add_argument(
        "--book-dir", default="book", help="the book's folder (default: book)"
    )
    book.add_argument(
        "--results",
        default="results",
        help="checkpoints and numbers (default: results)",
    )
    book.add_argument(
        "--jobs",
        type=int,
        help="chapters side by side (default: one per core on a CPU, 1 on a GPU)",
    )
    book.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        help="training seeds of every model (default: each chapter's own)",
    )
    book.add_argument(
        "--pretraining-seeds",
        nargs="+",
        type=int,
        help="training seeds of the models pretrained on other distributions "
        "(default: --seeds, else each chapter's own)",
    )
    book.add_argument(
        "--bound-free-seeds",
        nargs="*",
        type=int,
        help="training seeds of the models without the final LayerNorm (default: "
        "--seeds, else each chapter's own; none given: none compared)",
    )
    book.add_argument(
        "--pretraining",
        nargs="+",
        help="pretraining distributions to use: each chapter trains and compares "
        "those of its own among them (default: all of its own, drawn from "
        f"{', '.join(PRETRAINING)}; 'standard' always included)",
    )
    book.add_argument(
        "--chapters",
        nargs="+",
        help="run only these chapters (file names without .ipynb; default: all)",
    )
    book.add_argument(
        "--out",
        help="write the executed chapters to this folder and build no book "
        "(default: execute them in place and build the book)",
    )


def _final_layernorm_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--no-final-layernorm",
        dest="final_layernorm",
        action="store_false",
        help="read the prediction off the residual stream without the final LayerNorm",
    )


def _train(args: argparse.Namespace) -> None:
    seed = get_preset(args.preset).train.seed if args.seed is None else args.seed
    config = run_config(args.preset, args.pretraining, seed, args.final_layernorm)
    if args.steps is not None:
        config = config.with_changes(train={"steps": args.steps})
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        import torch
        import torch.distributed as dist

        dist.init_process_group(
            "nccl" if args.device != "cpu" and torch.cuda.is_available() else "gloo"
        )
    from .core.train import train

    result = train(
        config,
        args.out,
        device=args.device,
        resume=not args.no_resume,
        compile=args.compile,
    )
    if not distributed or int(os.environ.get("RANK", "0")) == 0:
        what = "reused" if result.reused else "trained"
        print(
            f"{what} {result.path} in {result.seconds:.1f} s on {result.device}; "
            f"final loss {result.losses[-1]:.5f}"
        )
    if distributed:
        dist.destroy_process_group()


def _chapter_parameters(args: argparse.Namespace) -> dict:
    """The `book` options that reach every chapter as papermill parameters."""
    parameters = {}
    if args.seeds is not None:
        parameters["seeds"] = parameters["pretraining_seeds"] = args.seeds
        parameters["bound_free_seeds"] = args.seeds
    if args.pretraining_seeds is not None:
        parameters["pretraining_seeds"] = args.pretraining_seeds
    if args.bound_free_seeds is not None:
        parameters["bound_free_seeds"] = args.bound_free_seeds
    if args.pretraining is not None:
        parameters["pretraining_available"] = args.pretraining
    return parameters


def _for_chapters(parameters: dict, args: argparse.Namespace) -> dict:
    """`parameters` without the seeds that --seeds sets by default for the chapters
    comparing other models, where none of the chapters named by --chapters takes
    them (given explicitly, they stay, and a chapter run refuses them)."""
    if not args.chapters:
        return parameters
    from .book.pipeline import accepted, chapters

    named = [nb for nb in chapters(args.book_dir) if nb.stem in args.chapters]
    taken = set().union(*map(accepted, named))
    defaults = {"pretraining_seeds", "bound_free_seeds"} - taken
    return {
        k: v
        for k, v in parameters.items()
        if k not in defaults or getattr(args, k) is not None
    }


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "presets":
            for name, config in PRESETS.items():
                print(f"{name}: {config.to_dict()}")
        elif args.command == "train-many":
            from .core.train import train_all

            configs = [
                run_config(args.preset, name, seed, args.final_layernorm)
                for name in args.pretraining
                for seed in args.seeds
            ]
            train_all(configs, args.out, args.devices, args.cpu_jobs)
            print(f"{len(configs)} runs finished in {args.out}")
        elif args.command == "book":
            from .book.pipeline import make_book

            make_book(
                args.preset,
                args.device,
                args.retrain,
                args.book_dir,
                args.results,
                args.jobs,
                _for_chapters(_chapter_parameters(args), args),
                args.out,
                args.chapters,
            )
        else:
            _train(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:  # a run of train-many failed
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
