"""Error, accuracy, confidence intervals and correlations, all over a leading axis of
prompts."""

from __future__ import annotations

import numpy as np
import torch
from scipy import stats

from ..core.config import check


def normalized_squared_error(
    preds: torch.Tensor, ys: torch.Tensor, n_dims: int
) -> torch.Tensor:
    """Garg et al.'s metric: squared error divided by d, the error of predicting 0 in
    distribution."""
    return (preds - ys).pow(2) / n_dims


def accuracy(errors: np.ndarray, tolerance: float, axis: int = 0) -> np.ndarray:
    """Share of prompts (along `axis`) whose normalised squared error is below
    `tolerance`."""
    check(tolerance > 0, "tolerance", tolerance, "a number > 0")
    return (np.asarray(errors) < tolerance).mean(axis=axis)


def accuracy_curve(errors: np.ndarray, tolerances) -> np.ndarray:
    """Accuracy of one set of prompts (1-D errors) at each tolerance."""
    return np.array([accuracy(errors, t) for t in tolerances])


def correlations(
    a: np.ndarray, b: np.ndarray, n_resamples: int = 1000, seed: int = 0
) -> dict[str, float]:
    """Pearson and Spearman correlation of paired samples with 95% bootstrap intervals."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    check(
        a.shape == b.shape and a.ndim == 1 and len(a) > 2,
        "a, b",
        (a.shape, b.shape),
        "two 1-D arrays of the same length > 2",
    )
    out: dict[str, float] = {}
    for name, func in (("pearson", stats.pearsonr), ("spearman", stats.spearmanr)):
        boot = stats.bootstrap(
            (a, b),
            lambda x, y, axis=-1: _rowwise(func, x, y),
            paired=True,
            vectorized=True,
            n_resamples=n_resamples,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
        out[name] = float(func(a, b).statistic)
        out[f"{name}_low"] = float(boot.confidence_interval.low)
        out[f"{name}_high"] = float(boot.confidence_interval.high)
    return out


def _rowwise(func, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if x.ndim == 1:
        return np.asarray(func(x, y).statistic)
    return np.array([func(xi, yi).statistic for xi, yi in zip(x, y)])
