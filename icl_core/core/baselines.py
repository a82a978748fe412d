"""Reference estimators with one interface: `baseline(xs, ys)` returns a prediction for
every prefix.

`preds[:, i]` predicts `ys[:, i]` at `xs[:, i]` from the first i examples (0 when i =
0), batched over prompts. Linear algebra runs in float64 so that exact estimators are
exact to rounding."""

from __future__ import annotations

import functools
from typing import Callable

import torch

from .config import check

Baseline = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# (X (B,i,d), y (B,i)) -> w (B,d)
Fit = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _every_prefix(fit: Fit, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    xs64, ys64 = xs.double(), ys.double()
    preds = torch.zeros_like(ys64)
    for i in range(1, xs.shape[1]):
        w = fit(xs64[:, :i], ys64[:, :i])
        preds[:, i] = torch.einsum("bd,bd->b", xs64[:, i], w)
    return preds.to(ys.dtype)


def least_squares_fit(X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # minimum-norm when under-determined
    return (torch.linalg.pinv(X) @ y.unsqueeze(-1)).squeeze(-1)


def ridge_fit(X: torch.Tensor, y: torch.Tensor, alpha: float) -> torch.Tensor:
    eye = torch.eye(X.shape[-1], dtype=X.dtype, device=X.device)
    return torch.linalg.solve(X.mT @ X + alpha * eye, (X.mT @ y.unsqueeze(-1))).squeeze(
        -1
    )


def gradient_descent_fit(
    X: torch.Tensor, y: torch.Tensor, steps: int, step_size: float | None
) -> torch.Tensor:
    n = X.shape[1]
    gram = X.mT @ X / n
    # 1/λ_max of the prompt's own second-moment matrix: always stable
    if step_size is None:
        eta = (1.0 / torch.linalg.eigvalsh(gram)[:, -1].clamp_min(1e-12)).view(-1, 1)
    else:
        eta = step_size
    w = torch.zeros(X.shape[0], X.shape[2], dtype=X.dtype, device=X.device)
    target = (X.mT @ y.unsqueeze(-1)).squeeze(-1) / n
    for _ in range(steps):
        w = w - eta * ((gram @ w.unsqueeze(-1)).squeeze(-1) - target)
    return w


def _averaging_fit(X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (X * y.unsqueeze(-1)).mean(dim=1)  # Garg et al.'s estimator: mean of y_i x_i


def least_squares(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    return _every_prefix(least_squares_fit, xs, ys)


def least_squares_intercept(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Least squares on (1, x): exact on noiseless prompts like OLS, and a different
    minimum-norm answer while under-determined."""
    with_one = torch.cat((torch.ones_like(xs[..., :1]), xs), dim=-1)
    return _every_prefix(least_squares_fit, with_one, ys)


def context_mean(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """The mean of the y seen so far (0 before any): what knowing only the y values
    gives, the unit of the normalised error."""
    seen = torch.arange(1, ys.shape[1], device=ys.device, dtype=ys.dtype)
    preds = torch.zeros_like(ys)
    preds[:, 1:] = ys.cumsum(dim=1)[:, :-1] / seen
    return preds


def zero(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(ys)


def ridge(xs: torch.Tensor, ys: torch.Tensor, alpha: float = 0.1) -> torch.Tensor:
    check(alpha > 0, "alpha", alpha, "a number > 0")
    return _every_prefix(functools.partial(ridge_fit, alpha=alpha), xs, ys)


def gradient_descent(
    xs: torch.Tensor, ys: torch.Tensor, steps: int = 10, step_size: float | None = None
) -> torch.Tensor:
    """`steps` steps of gradient descent on the prompt's mean squared error from w = 0.

    `step_size=None` uses 1/λ_max of each prompt's empirical second-moment matrix.
    """
    check(isinstance(steps, int) and steps > 0, "steps", steps, "a positive integer")
    check(
        step_size is None or step_size > 0,
        "step_size",
        step_size,
        "None or a number > 0",
    )
    return _every_prefix(
        functools.partial(gradient_descent_fit, steps=steps, step_size=step_size),
        xs,
        ys,
    )


def averaging(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    return _every_prefix(_averaging_fit, xs, ys)


def nearest_neighbours(xs: torch.Tensor, ys: torch.Tensor, k: int = 3) -> torch.Tensor:
    """Mean y of the k nearest earlier x (all of them while fewer than k are seen)."""
    check(isinstance(k, int) and k > 0, "k", k, "a positive integer")
    preds = torch.zeros_like(ys)
    for i in range(1, xs.shape[1]):
        dist = torch.cdist(xs[:, i : i + 1], xs[:, :i]).squeeze(1)  # (B, i)
        nearest = dist.topk(min(k, i), dim=1, largest=False).indices
        preds[:, i] = ys[:, :i].gather(1, nearest).mean(dim=1)
    return preds


def tuned_step_size(
    xs: torch.Tensor, ys: torch.Tensor, steps: int, grid: torch.Tensor | None = None
) -> float:
    """The fixed step size, from `grid` (default: 40 values from 10⁻³ to 2), with the
    lowest median error at the last query of `steps`-step gradient descent on these
    (in-distribution) prompts."""
    grid = torch.logspace(-3, 0.3, 40) if grid is None else grid
    x64, y64 = xs[:, :-1].double(), ys[:, :-1].double()
    query, target = xs[:, -1].double(), ys[:, -1].double()
    errors = [
        torch.nan_to_num(
            (
                torch.einsum(
                    "bd,bd->b",
                    query,
                    gradient_descent_fit(x64, y64, steps, float(eta)),
                )
                - target
            ).pow(2),
            nan=float("inf"),
        ).median()
        for eta in grid
    ]
    return float(grid[int(torch.stack(errors).argmin())])


BASELINES: dict[str, Baseline] = {
    "ols": least_squares,
    "ridge": ridge,
    "gd": gradient_descent,
    "averaging": averaging,
    "3nn": nearest_neighbours,
    "ols_intercept": least_squares_intercept,
    "context_mean": context_mean,
    "zero": zero,
}

LABELS = {
    "transformer": "Transformer",
    "ols": "Least squares",
    "ridge": "Ridge (α = 0.1)",
    "gd": "Gradient descent (10 steps)",
    "averaging": "Averaging",
    "3nn": "3-nearest neighbours",
    "ols_intercept": "Least squares with intercept",
    "context_mean": "Mean of the context's y",
    "zero": "Zero",
}


def get_baseline(name: str) -> Baseline:
    check(name in BASELINES, "baseline", name, f"one of {', '.join(BASELINES)}")
    return BASELINES[name]
