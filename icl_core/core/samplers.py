"""Prompt samplers: x, w and y for a batch of prompts, and named families of
distribution shifts.

Sampling draws only from the `torch.Generator` it is given, so the same generator
state gives the same prompts on the same device."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

import torch

from .config import PromptDistribution, Vector, check


class Prompts(NamedTuple):
    xs: torch.Tensor  # (B, n, d)
    ys: torch.Tensor  # (B, n)
    ws: torch.Tensor  # (B, d)


def _as_vector(
    value: Vector, field: str, n_dims: int, device: torch.device | str
) -> torch.Tensor:
    if isinstance(value, tuple):
        check(
            len(value) == n_dims,
            field,
            value,
            f"a scalar or a tuple of length n_dims={n_dims}",
        )
        return torch.tensor(value, dtype=torch.float32, device=device)
    return torch.full((n_dims,), float(value), device=device)


def _x_transform(dist: PromptDistribution, n_dims: int, device) -> torch.Tensor | None:
    """Cholesky factor L with Σ = L Lᵀ, or None where Σ is x_scale² I."""
    if dist.x_cov is None:
        return None
    check(len(dist.x_cov) == n_dims, "x_cov", "matrix", f"a {n_dims}×{n_dims} matrix")
    cov = torch.tensor(dist.x_cov, dtype=torch.float64)
    factor, info = torch.linalg.cholesky_ex(cov)
    check(int(info) == 0, "x_cov", "matrix", "a positive-definite matrix")
    return factor.to(device=device, dtype=torch.float32)


def _mean_offsets(
    dist: PromptDistribution, batch_size: int, n_dims: int, generator: torch.Generator
) -> torch.Tensor:
    """Each prompt's own move of the mean of x, (B, d): c·v with c ~ U[-spread,
    spread] and v = 1, or √d times a uniformly random unit vector."""
    device = generator.device
    c = (2 * torch.rand(batch_size, 1, generator=generator, device=device) - 1) * (
        dist.x_mean_spread
    )
    if dist.x_mean_direction == "ones":
        return c.expand(batch_size, n_dims)
    u = torch.randn(batch_size, n_dims, generator=generator, device=device)
    return c * u / u.norm(dim=1, keepdim=True) * n_dims**0.5


def sample_prompts(
    dist: PromptDistribution,
    batch_size: int,
    n_points: int,
    n_dims: int,
    generator: torch.Generator,
    active_dims: int | None = None,
) -> Prompts:
    """Draw `batch_size` prompts of `n_points` examples in `n_dims` dimensions.

    With `active_dims` < n_dims the trailing coordinates of x are zeroed, as in Garg et
    al.'s curriculum."""
    device = generator.device
    z = torch.randn(batch_size, n_points, n_dims, generator=generator, device=device)
    factor = _x_transform(dist, n_dims, device)
    xs = z @ factor.T if factor is not None else z * dist.x_scale
    if dist.x_scale_max is not None:
        low, high = math.log(dist.x_scale), math.log(dist.x_scale_max)
        u = torch.rand(batch_size, 1, 1, generator=generator, device=device)
        xs = xs * torch.exp(low + (high - low) * u) / dist.x_scale
    xs = xs + _as_vector(dist.x_mean, "x_mean", n_dims, device)
    if dist.x_mean_spread > 0:
        xs = xs + _mean_offsets(dist, batch_size, n_dims, generator).unsqueeze(1)
    if dist.x_offset_spread > 0:
        u = torch.rand(batch_size, n_points, 1, generator=generator, device=device)
        xs = xs + (2 * u - 1) * dist.x_offset_spread
    if active_dims is not None and active_dims < n_dims:
        xs[:, :, active_dims:] = 0
    ws = (
        torch.randn(batch_size, n_dims, generator=generator, device=device)
        * dist.w_scale
    )
    ws = ws + _as_vector(dist.w_mean, "w_mean", n_dims, device)
    if dist.w_orthogonal_to_ones:
        ws = ws - ws.mean(dim=1, keepdim=True)
    ys = torch.einsum("bnd,bd->bn", xs, ws)
    if dist.intercept_scale > 0:
        b = torch.randn(batch_size, 1, generator=generator, device=device)
        ys = ys + dist.intercept_scale * b
    if dist.noise_std > 0:
        ys = ys + dist.noise_std * torch.randn(
            ys.shape, generator=generator, device=device
        )
    return Prompts(xs, ys, ws)


def generator_for(
    seed: int, step: int, device: torch.device | str = "cpu"
) -> torch.Generator:
    """A generator whose state is a function of (seed, step) alone, so any step can be
    replayed."""
    return torch.Generator(device=device).manual_seed(seed * 1_000_003 + step)


@dataclass(frozen=True)
class ShiftFamily:
    """A one-parameter family of prompt distributions; `neutral` is the parameter of no
    shift."""

    description: str
    apply: Callable[[PromptDistribution, float], PromptDistribution]
    neutral: float


SHIFT_FAMILIES: dict[str, ShiftFamily] = {
    "x_mean": ShiftFamily(
        "x ~ N(c·1, I)", lambda d, c: dataclasses.replace(d, x_mean=c), 0.0
    ),
    "x_scale": ShiftFamily(
        "x ~ N(0, c² I)", lambda d, c: dataclasses.replace(d, x_scale=c), 1.0
    ),
    "w_mean": ShiftFamily(
        "w ~ N(c·1, I)", lambda d, c: dataclasses.replace(d, w_mean=c), 0.0
    ),
    "w_scale": ShiftFamily(
        "w ~ N(0, c² I)", lambda d, c: dataclasses.replace(d, w_scale=c), 1.0
    ),
    # the control for x_mean: x moves exactly as there, y = w·x stays in its range
    "x_mean_w_perp": ShiftFamily(
        "x ~ N(c·1, I), w ⊥ 1",
        lambda d, c: dataclasses.replace(d, x_mean=c, w_orthogonal_to_ones=True),
        0.0,
    ),
}


def shifted(
    family: str, c: float, base: PromptDistribution = PromptDistribution()
) -> PromptDistribution:
    """`base` with the parameter of shift family `family` set to `c`."""
    check(
        family in SHIFT_FAMILIES,
        "family",
        family,
        f"one of {', '.join(SHIFT_FAMILIES)}",
    )
    return SHIFT_FAMILIES[family].apply(base, float(c))
