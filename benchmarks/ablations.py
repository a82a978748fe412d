"""What icl_core's speed owes to each of its choices: its training step with one choice
undone (or one more idea added), raced against its default step."""

from __future__ import annotations

import dataclasses
import statistics

import torch
from steps import make_step
from timing import race

from icl_core import InContextRegressor
from icl_core.core.train import make_optimizer


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
    """`step` run with torch limited to `n` threads."""

    def run(i: int) -> None:
        before = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            step(i)
        finally:
            torch.set_num_threads(before)

    return run


def variants(m, batches, device, autocast: bool) -> dict:
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

    found = {
        "last block at every token": lambda: step(forward=every_token_last_block),
        "Adam without the fused kernel": lambda: step(
            optimizer=lambda model: torch.optim.Adam(model.parameters(), lr=1e-4)
        ),
        "torch.compile": lambda: step(
            forward=lambda model: torch.compile(model, dynamic=False)
        ),
    }
    if m.activation == "gelu":
        found["GPT-2's tanh GELU"] = lambda: step(
            config=dataclasses.replace(m, activation="gelu_new")
        )
    if device.type == "cpu":  # on CUDA, bf16 autocast is already the default
        found["bf16 autocast"] = lambda: step(use_autocast=True)
        found["one thread"] = lambda: with_threads(step(), 1)
    return found


def time_ablations(
    preset: str, model, batches, device, autocast: bool, steps: int, repeats: int
) -> dict:
    """Each variant's speed relative to `model`'s default step, printed as it comes."""
    results = {}
    default = make_step(model, make_optimizer(model, 1e-4), batches, device, autocast)
    for name, build in variants(model.config, batches, device, autocast).items():
        rates = race({"default": default, "variant": build()}, steps, repeats, device)
        medians = {k: statistics.median(r) for k, r in rates.items()}
        # the spread shows the noise
        paired = [v / d for v, d in zip(rates["variant"], rates["default"])]
        results[name] = {
            "median_steps_per_second": medians,
            "relative_per_repeat": paired,
            "relative": medians["variant"] / medians["default"],
        }
        print(
            f"{preset:6s}   {name:32s} "
            f"{results[name]['relative']:.2f}x icl_core's default "
            f"(per repetition {min(paired):.2f}-{max(paired):.2f})"
        )
    return results
