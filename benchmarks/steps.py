"""The workload every measurement times: batches of a preset's full-length prompts and
one training step over them, so that each model and variant is timed on the same work."""

from __future__ import annotations

import torch

from icl_core import ExperimentConfig
from icl_core.core.curriculum import curriculum_at
from icl_core.core.samplers import generator_for, sample_prompts


def full_prompt_batches(
    config: ExperimentConfig, device: torch.device, count: int
) -> tuple[int, list]:
    """The prompt length of the curriculum's last stage, and `count` batches of
    (xs, ys) at it."""
    dims, points = curriculum_at(config.curriculum, 10**9)
    batches = [
        sample_prompts(
            config.task,
            config.train.batch_size,
            points,
            config.model.n_dims,
            generator_for(0, i, device),
            active_dims=dims,
        )[:2]
        for i in range(count)
    ]
    return points, batches


def make_step(model, optimizer, batches, device, autocast: bool, forward=None):
    """One training step of `model` on batch `i` (cycling), as a callable of `i`;
    `forward` stands in for the model's own forward pass if given."""
    forward = model if forward is None else forward

    def step(i: int) -> None:
        xs, ys = batches[i % len(batches)]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            loss = (forward(xs, ys).float() - ys).pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step
