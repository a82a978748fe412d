"""What the transformer computes instead of least squares.

For a fixed context the model's prediction is read as a function of the query: fitted
over many queries as ŷ = a + ŵ·x, it gives the implied weights ŵ and intercept a. The
implied ŵ is compared with what known in-context algorithms compute from the same
context, followed as the context, the query or both move away from the training
distribution, and traced through the layers with linear probes; one causal edit tests
the account of the failure that the LayerNorm suggests."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..core.baselines import least_squares_fit, ridge_fit
from ..core.config import check
from ..core.model import InContextRegressor
from ..core.results import write_chapter_file
from ..core.samplers import generator_for
from .evaluation import EVAL_SEED_OFFSET, predict
from .metrics import normalized_squared_error
from .output_range import output_bound

# the ways the x of a prompt are moved by a size c, each with the same second moment
# E[x xᵀ] growth (c² d in trace) except "ones_w_perp", the mean shift's control family
KINDS = {
    "ones": "mean c·1",
    "ones_w_perp": "mean c·1, w ⊥ 1",
    "random": "mean of the same norm along a random direction",
    "offsets": "zero-mean offsets a_i·1, a_i ~ N(0, c²)",
    "scale": "x ~ N(0, (1 + c²) I)",
}
WHERE = ("context", "query", "both")  # what the shift moves
FAMILIES = ("ones", "ones_w_perp")  # the mean shift and its control


# prompts ------------------------------------------------------------------------


@dataclass
class Context:
    """k examples of a prompt and M queries for each: x (B, k, d), y (B, k), w (B, d),
    queries (B, M, d) with their targets (B, M)."""

    xs: torch.Tensor
    ys: torch.Tensor
    ws: torch.Tensor
    queries: torch.Tensor
    targets: torch.Tensor


def moved(
    z: torch.Tensor, kind: str, c: float, direction: torch.Tensor, unit: torch.Tensor
) -> torch.Tensor:
    """Standard normal points z (B, m, d) moved by size c as `kind` says: `direction`
    (B, d) is each prompt's unit vector ("random"), `unit` (B, m) each point's standard
    normal offset ("offsets")."""
    d = z.shape[-1]
    if kind in ("ones", "ones_w_perp"):
        return z + c
    if kind == "random":
        return z + c * math.sqrt(d) * direction[:, None]
    if kind == "offsets":
        return z + c * unit[..., None]
    return z * math.sqrt(1 + c**2)


def contexts(
    n_prompts: int,
    k: int,
    d: int,
    n_queries: int,
    seed: int,
    kind: str = "ones",
    c: float = 0.0,
    where: str = "both",
) -> Context:
    """Prompts with k examples and `n_queries` queries each, the x of the context and/or
    the queries (`where`) moved by `kind` at size c. The same `seed` gives the same
    underlying draws for every kind, c and `where`, so that conditions differ only by
    the shift."""
    check(kind in KINDS, "kind", kind, f"one of {', '.join(KINDS)}")
    check(where in WHERE, "where", where, f"one of {', '.join(WHERE)}")
    gen = generator_for(seed + EVAL_SEED_OFFSET, 7 + k)
    z = torch.randn(n_prompts, k + n_queries, d, generator=gen)
    ws = torch.randn(n_prompts, d, generator=gen)
    direction = torch.randn(n_prompts, d, generator=gen)
    direction = direction / direction.norm(dim=1, keepdim=True)
    unit = torch.randn(n_prompts, k + n_queries, generator=gen)
    if kind == "ones_w_perp":
        ws = ws - ws.mean(dim=1, keepdim=True)
    x = moved(z, kind, c, direction, unit)
    xs = x[:, :k] if where in ("context", "both") else z[:, :k]
    queries = x[:, k:] if where in ("query", "both") else z[:, k:]
    ys = torch.einsum("bkd,bd->bk", xs, ws)
    return Context(xs, ys, ws, queries, torch.einsum("bmd,bd->bm", queries, ws))


# the implied map ----------------------------------------------------------------


@dataclass
class ImpliedMap:
    """ŷ = a + ŵ·x fitted to the model's predictions over each context's queries."""

    weights: torch.Tensor  # ŵ, (B, d)
    intercept: torch.Tensor  # a, (B,)
    r2: torch.Tensor  # how much of ŷ's variation over the queries the fit explains
    predictions: torch.Tensor  # the model's ŷ at every query, (B, M)


def _layer_norm(ln: torch.nn.LayerNorm, h: torch.Tensor, scale=None) -> torch.Tensor:
    """`ln(h)`, or with each token divided by `scale` (…, T) instead of its own size."""
    if scale is None:
        return ln(h)
    return (h - h.mean(-1, keepdim=True)) / scale[..., None] * ln.weight + ln.bias


def _size(h: torch.Tensor, eps: float) -> torch.Tensor:
    return (h.var(dim=-1, unbiased=False) + eps).sqrt()


@torch.inference_mode()
def query_predictions(
    model: InContextRegressor, ctx: Context, removed: tuple | None = None
) -> torch.Tensor:
    """The model's prediction at each query of each context, (B, M), each query read
    as the (k + 1)-th x after the context. The context is run once and every query
    attends to its keys and values, which gives what M full forward passes give.

    `removed` = (offsets of the context's x, of the queries' x): the first block's
    LayerNorm then divides each x token by the size it has with that offset removed
    (the causal edit); the rest of the forward pass is unchanged."""
    device = next(model.parameters()).device
    xs, ys, queries = (t.to(device) for t in (ctx.xs, ctx.ys, ctx.queries))
    k = xs.shape[1]
    h = model.embed(xs, ys)  # (B, 2k, C)
    q = model.read_in(queries) + model.wpe.weight[2 * k]  # (B, M, C)
    scales = (None, None)
    if removed is not None:
        eps = model.h[0].ln_1.eps
        h_ref = model.embed(xs - removed[0].to(device), ys)
        q_ref = model.read_in(queries - removed[1].to(device)) + model.wpe.weight[2 * k]
        scales = (_size(h_ref, eps), _size(q_ref, eps))
    for layer, block in enumerate(model.h):
        attn = block.attn
        h_scale, q_scale = scales if layer == 0 else (None, None)
        a_h = _layer_norm(block.ln_1, h, h_scale)
        a_q = _layer_norm(block.ln_1, q, q_scale)
        C = h.shape[-1]
        own, keys, values = attn.heads(attn.c_attn(a_h).split(C, dim=2))
        mine = attn.heads(attn.c_attn(a_q).split(C, dim=2))  # (B, nh, M, hs)
        scores = torch.cat(
            (mine[0] @ keys.mT, (mine[0] * mine[1]).sum(-1, keepdim=True)), dim=-1
        ) / math.sqrt(keys.shape[-1])
        weights = scores.softmax(dim=-1)
        out = weights[..., :-1] @ values + weights[..., -1:] * mine[2]
        q = q + attn.c_proj(out.transpose(1, 2).reshape(*q.shape))
        q = q + block.mlp(block.ln_2(q))
        # the context's own update (its tokens never attend to a query)
        out = F.scaled_dot_product_attention(own, keys, values, is_causal=True)
        h = h + attn.c_proj(out.transpose(1, 2).reshape(*h.shape))
        h = h + block.mlp(block.ln_2(h))
    return model.read_out(model.ln_f(q))[..., 0].double().cpu()


def fit_map(queries: torch.Tensor, preds: torch.Tensor) -> ImpliedMap:
    """The least-squares fit ŷ ≈ a + ŵ·x over each context's queries."""
    q = queries.double()
    design = torch.cat((torch.ones_like(q[..., :1]), q), dim=-1)
    coef = torch.linalg.lstsq(design, preds[..., None]).solution[..., 0]
    fitted = (design @ coef[..., None])[..., 0]
    spread = (preds - preds.mean(dim=1, keepdim=True)).pow(2).sum(dim=1)
    r2 = 1 - (preds - fitted).pow(2).sum(dim=1) / spread.clamp_min(1e-12)
    return ImpliedMap(coef[:, 1:], coef[:, 0], r2, preds)


def implied_map(model, ctx: Context, removed: tuple | None = None) -> ImpliedMap:
    return fit_map(ctx.queries, query_predictions(model, ctx, removed))


def weight_measures(weights: torch.Tensor, ws: torch.Tensor) -> dict[str, float]:
    """Weights (B, d) against the task's w: the share of w they recover (ŵ·w/|w|²),
    their cosine with w and norm over |w|, and their error along 1 and orthogonal to
    it (each the error it adds on in-distribution queries, ‖·‖²/d), with the share of
    the error per dimension that lies along 1 (½: spread evenly over the dimensions)."""
    d = ws.shape[1]
    w = ws.double()
    # a diverging estimate is held at 10³⁰ per entry, so that every measure stays finite
    gap = torch.nan_to_num(weights.double() - w, nan=1e30).clamp(-1e30, 1e30)
    estimate = gap + w
    along = gap.mean(dim=1, keepdim=True)  # the component along 1 is along·1
    error_along = float(along.pow(2).mean())
    error_orthogonal = float((gap - along).pow(2).sum(1).mean() / d)
    return {
        "shrinkage": float((estimate * w).sum(1).div(w.pow(2).sum(1)).mean()),
        "cosine": float(F.cosine_similarity(estimate, w).mean()),
        "norm_ratio": float((estimate.norm(dim=1) / w.norm(dim=1)).mean()),
        "error_along_ones": error_along,
        "error_orthogonal": error_orthogonal,
        "along_share": along_share(error_along, error_orthogonal / (d - 1)),
    }


def along_share(along: float, orthogonal_per_dimension: float) -> float:
    """along / (along + orthogonal per dimension), ½ where both are zero, and finite
    even where a diverging estimate makes either huge."""
    total = along + orthogonal_per_dimension
    return 0.5 if total == 0 else float(min(1.0, max(0.0, along / total)))


def map_measures(m: ImpliedMap, ctx: Context, bound: float) -> dict[str, float]:
    """The implied map against the task: the median error at the queries, in the
    book's units and in units of each context's own spread of y; the same for the
    predictors that ignore x (the context's mean of y, and 0); the share of targets
    beyond the read-out's bound; `weight_measures`; the rms intercept, the mean R² and
    the spread of the predictions over the queries against that of the targets."""
    d = ctx.ws.shape[1]
    targets = ctx.targets.double()
    unit = ctx.ys.double().var(dim=1, keepdim=True) / d if ctx.ys.shape[1] > 1 else 1.0
    error = normalized_squared_error(m.predictions, targets, d)
    context_mean = ctx.ys.double().mean(dim=1, keepdim=True)
    spread = m.predictions.std(dim=1) / targets.std(dim=1).clamp_min(1e-12)
    return {
        "median_error": float(error.median()),
        "normalised_error": float((error / unit).median()),
        "context_mean_error": float(
            normalized_squared_error(context_mean, targets, d).median()
        ),
        "zero_error": float(normalized_squared_error(0, targets, d).median()),
        "beyond_bound": float((targets.abs() > bound).double().mean()),
        **weight_measures(m.weights, ctx.ws),
        "intercept": float(m.intercept.pow(2).mean().sqrt()),
        "r2": float(m.r2.mean()),
        "spread_ratio": float(spread.mean()),
    }


# the candidate algorithms ---------------------------------------------------------


def newton_fit(X: torch.Tensor, y: torch.Tensor, iterations: int) -> torch.Tensor:
    """Iterative Newton on S = XᵀX (Fu et al., 2023): M₀ = αS, M ← 2M − MSM, then
    ŵ = M Xᵀy. Their α = 2/‖SSᵀ‖₂ leaves I − M₀S at −1 along S's top eigenvector,
    where the iteration never converges; α = 1/‖SSᵀ‖₂ converges along every
    direction, to the minimum-norm least-squares estimate."""
    S = X.mT @ X
    alpha = 1 / torch.linalg.matrix_norm(S @ S.mT, ord=2).clamp_min(1e-12)
    M = alpha[:, None, None] * S
    for _ in range(iterations):
        M = 2 * M - M @ S @ M
    return (M @ (X.mT @ y[..., None]))[..., 0]


def gradient_descent_after(
    X: torch.Tensor, y: torch.Tensor, steps: int, step_size: float | None
) -> torch.Tensor:
    """`baselines.gradient_descent_fit` in closed form, so that thousands of steps
    cost one eigendecomposition: from w = 0 on the loss ‖Xw − y‖²/2k, along each
    eigenvector of XᵀX/k with eigenvalue λ the weights reach (1 − (1 − ηλ)^steps)/λ
    times that direction's part of Xᵀy/k (η·steps where λ = 0). `step_size=None`:
    η = 1/λ_max of each prompt."""
    n = X.shape[1]
    lam, vec = torch.linalg.eigh(X.mT @ X / n)
    lam = lam.clamp_min(0)
    eta = 1 / lam[:, -1:].clamp_min(1e-12) if step_size is None else step_size
    decay = (1 - eta * lam) ** steps
    safe = lam.clamp_min(1e-12)
    gain = torch.where(
        lam > 1e-12, (1 - decay) / safe, eta * steps * torch.ones_like(lam)
    )
    part = (vec.mT @ (X.mT @ y[..., None]))[..., 0] / n
    return (vec @ (gain * part)[..., None])[..., 0]


def correlation_vector(X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Xᵀy/k: what one step of linear attention reads from the context."""
    return (X.mT @ y[..., None])[..., 0] / X.shape[1]


def fit_preconditioner(X, y, target) -> torch.Tensor:
    """The fixed d×d matrix Γ that best maps Xᵀy/k to `target` weights over prompts:
    linear self-attention's estimate (Zhang, Frei & Bartlett; von Oswald et al.)."""
    v = correlation_vector(X, y)
    return torch.linalg.lstsq(v, target).solution.mT


# family -> (grid of its parameter, fit (X, y, parameter) -> ŵ)
RIDGE_GRID = [float(a) for a in np.logspace(-3, 1, 25)]
GD_STEPS = [1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]
GD_ETAS = [float(e) for e in np.logspace(-2, 0.3, 24)]
CANDIDATES: dict[str, tuple[list, Callable]] = {
    "least_squares": ([None], lambda X, y, _: least_squares_fit(X, y)),
    "ridge": (RIDGE_GRID, lambda X, y, a: ridge_fit(X, y, a)),
    "gradient_descent": (
        [(s, e) for s in GD_STEPS for e in GD_ETAS],
        lambda X, y, p: gradient_descent_after(X, y, p[0], p[1]),
    ),
    "normalised_gd": (
        GD_STEPS,
        lambda X, y, s: gradient_descent_after(X, y, s, None),
    ),
    "newton": (list(range(21)), newton_fit),
    "linear_attention": ([None], None),  # Γ fitted, see `closest_algorithm`
}
LABELS = {
    "least_squares": "Least squares (minimum norm)",
    "ridge": "Ridge regression",
    "gradient_descent": "Fixed-step gradient descent",
    "normalised_gd": "Normalised-step gradient descent",
    "newton": "Iterative Newton",
    "linear_attention": "Linear attention, fixed Γ",
}


def weight_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """‖a − b‖²/d per prompt: on in-distribution queries, the mean squared gap between
    the two predictions, in the book's units of error."""
    return (a - b).pow(2).sum(-1) / a.shape[-1]


@dataclass
class Fitted:
    """Each candidate's fitted parameter and the weight distance it leaves on held-out
    prompts, for one number of examples k."""

    parameters: dict
    distances: dict[str, float]
    preconditioner: torch.Tensor


def closest_algorithm(implied: torch.Tensor, X, y) -> Fitted:
    """Each candidate fitted on the first half of the prompts (the parameter that
    brings its weights nearest the model's implied ŵ) and its distance measured on the
    second half."""
    X, y = X.double(), y.double()
    half = len(X) // 2
    fit, held = slice(0, half), slice(half, None)
    parameters, distances = {}, {}
    for name, (grid, estimate) in CANDIDATES.items():
        if estimate is None:
            gamma = fit_preconditioner(X[fit], y[fit], implied[fit])
            parameters[name] = float(torch.diagonal(gamma).mean())
            held_w = correlation_vector(X[held], y[held]) @ gamma.mT
            distances[name] = float(weight_distance(implied[held], held_w).mean())
            continue
        scores = [
            float(
                torch.nan_to_num(
                    weight_distance(implied[fit], estimate(X[fit], y[fit], p)), nan=1e30
                ).mean()
            )
            for p in grid
        ]
        best = grid[int(np.argmin(scores))]
        parameters[name] = best
        distances[name] = float(
            weight_distance(implied[held], estimate(X[held], y[held], best)).mean()
        )
    return Fitted(parameters, distances, gamma)


# the shift ------------------------------------------------------------------------


def shift_measures(
    model, n_prompts: int, n_queries: int, seed: int, kind: str, shifts, where: str
) -> dict[str, list[float]]:
    """`map_measures` at the last query for each shift size, one list per measure."""
    cfg = model.config
    k, d = cfg.n_points - 1, cfg.n_dims
    rows = []
    for c in shifts:
        ctx = contexts(n_prompts, k, d, n_queries, seed, kind, c, where)
        rows.append(map_measures(implied_map(model, ctx), ctx, output_bound(model)))
    return {key: [r[key] for r in rows] for key in rows[0]}


def causal_edit(
    model, n_prompts: int, n_queries: int, seed: int, shifts, where: str
) -> dict[str, dict[str, list[float]]]:
    """The mean shift along 1 (`where`: the context's x, or the context's and the
    queries') with the first LayerNorm dividing each moved x token by the size it would
    have unshifted ("edit"), or moved by the same c along a random direction of the
    same norm instead of 1 ("control", a size change of the same kind that does not
    undo the shift): median error and shrinkage at the last query. At c = 0 both
    change nothing, which checks the edited forward pass."""
    cfg = model.config
    k, d = cfg.n_points - 1, cfg.n_dims
    u = torch.randn(d, generator=torch.Generator().manual_seed(seed + 97))
    ones = torch.ones(d)
    # what is removed from x before its size is taken: the shift, or the shift traded
    # for one along u
    removed = {"edit": ones, "control": ones - u / u.norm() * math.sqrt(d)}
    out = {name: {"median_error": [], "shrinkage": []} for name in removed}
    bound = output_bound(model)
    for c in shifts:
        ctx = contexts(n_prompts, k, d, n_queries, seed, "ones", c, where)
        for name, offset in removed.items():
            query_offset = c * offset if where == "both" else torch.zeros(d)
            m = implied_map(model, ctx, (c * offset, query_offset))
            measures = map_measures(m, ctx, bound)
            for key in out[name]:
                out[name][key].append(measures[key])
    return out


# the accounts ----------------------------------------------------------------------

# the accounts of the shift a chapter judges: five candidate algorithms run on the moved
# contexts, and "layernorm": the first LayerNorm divides each x token by its size, so the
# shrinkage falls with that size
ACCOUNTS = (
    "ridge",
    "gradient_descent",
    "normalised_gd",
    "newton",
    "linear_attention",
    "layernorm",
)


def account_predictions(
    model,
    fitted: Fitted,
    n_prompts: int,
    n_queries: int,
    seed: int,
    shifts,
    family: str,
    measured_shrinkage: list[float],
) -> dict[str, dict[str, list[float] | None]]:
    """What each account predicts for the implied weights when only the context is
    moved along 1 (`family`: "ones", or "ones_w_perp" with w ⊥ 1; queries in range),
    every parameter fitted in distribution: an
    algorithm's own weights on the moved contexts; for the LayerNorm, the shrinkage at
    c = 0 scaled by the first LayerNorm's mean size of the context's x tokens at c = 0
    over that at c."""
    cfg = model.config
    k, d = cfg.n_points - 1, cfg.n_dims
    rows: dict[str, list[dict]] = {name: [] for name in ACCOUNTS}
    sizes = []
    for c in shifts:
        ctx = contexts(n_prompts, k, d, n_queries, seed, family, c, "context")
        X, y = ctx.xs.double(), ctx.ys.double()
        for name in ACCOUNTS:
            if name == "layernorm":
                continue
            if name == "linear_attention":
                weights = correlation_vector(X, y) @ fitted.preconditioner.mT
            else:
                weights = CANDIDATES[name][1](X, y, fitted.parameters[name])
            rows[name].append(weight_measures(weights, ctx.ws))
        xs = torch.cat((ctx.xs, ctx.queries[:, :1]), dim=1)
        ys = torch.cat((ctx.ys, ctx.targets[:, :1]), dim=1)
        device = next(model.parameters()).device
        with torch.inference_mode():
            size = _size(model.embed(xs.to(device), ys.to(device)), model.h[0].ln_1.eps)
        sizes.append(float(size[:, 0 : 2 * k : 2].mean().cpu()))
    zero = shifts.index(0)
    out = {
        name: {key: [r[key] for r in rows[name]] for key in rows[name][0]}
        for name in ACCOUNTS
        if rows[name]
    }
    # the LayerNorm account predicts the shrinkage alone
    out["layernorm"] = {key: None for key in out["ridge"]}
    out["layernorm"]["shrinkage"] = [
        measured_shrinkage[zero] * sizes[zero] / float(s) for s in sizes
    ]
    return out


# probes -----------------------------------------------------------------------------

# what the probes read: "z", each context x token's own deviation x − c·1; at the query
# token "w" (at the last query, with k ≥ d noiseless examples, also the least-squares
# estimate), "correlation", Xᵀy/k, what one step of linear attention reads, and
# "target", the query's w·x
PROBE_TARGETS = ("z", "w", "correlation", "target")


def probe_data(model, n_prompts: int, seed: int, c: float):
    """Per layer, the features and targets each probe reads, from full prompts moved
    along 1 by c: {target: (features (layers, N, C), values (N, t))}."""
    cfg = model.config
    k, d = cfg.n_points - 1, cfg.n_dims
    ctx = contexts(n_prompts, k, d, 1, seed, "ones", c, "both")
    xs = torch.cat((ctx.xs, ctx.queries), dim=1)
    ys = torch.cat((ctx.ys, ctx.targets), dim=1)
    _, hidden = predict(model, xs, ys, return_hidden=True)
    hidden = hidden.double()
    context = hidden[:, :, 0 : 2 * k : 2]  # (layers, B, k, C)
    query = hidden[:, :, 2 * k]
    return {
        "z": (context.flatten(1, 2), (ctx.xs - c).reshape(-1, d).double()),
        "w": (query, ctx.ws.double()),
        "correlation": (query, correlation_vector(ctx.xs.double(), ctx.ys.double())),
        "target": (query, ctx.targets.double()),
    }


def probe_r2(
    train: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    ridge: float = 1.0,
) -> float:
    """R² on `test` of a ridge regression from features to targets fitted on `train`
    (features standardised on `train`)."""
    (F, T), (G, U) = train, test
    mean, std = F.mean(0), F.std(0).clamp_min(1e-8)
    F, G = (F - mean) / std, (G - mean) / std
    F = torch.cat((F, torch.ones_like(F[:, :1])), dim=1)
    G = torch.cat((G, torch.ones_like(G[:, :1])), dim=1)
    eye = torch.eye(F.shape[1], dtype=F.dtype)
    eye[-1, -1] = 0  # the intercept is not shrunk
    beta = torch.linalg.solve(F.T @ F + ridge * eye, F.T @ T)
    residual = (G @ beta - U).pow(2).sum()
    return float(1 - residual / (U - U.mean(0)).pow(2).sum().clamp_min(1e-12))


def probes(model, n_prompts: int, seed: int, shifts) -> dict:
    """{target: {"in_distribution_fit", "own_fit": R² (layers, shifts)}}: probes fitted
    on in-distribution prompts and on prompts of the same shift, each tested on held-out
    prompts of every shift (the first half of each set trains, the second tests)."""
    half = n_prompts // 2
    base = probe_data(model, n_prompts, seed, 0.0)
    out = {t: {"in_distribution_fit": [], "own_fit": []} for t in PROBE_TARGETS}
    for c in shifts:
        data = probe_data(model, n_prompts, seed, c)
        for t in PROBE_TARGETS:
            (F0, T0), (F, T) = base[t], data[t]
            cut = half * (len(T) // n_prompts)  # whole prompts on each side
            rows = {"in_distribution_fit": [], "own_fit": []}
            for layer in range(len(F)):
                test = (F[layer, cut:], T[cut:])
                rows["in_distribution_fit"].append(
                    probe_r2((F0[layer, :cut], T0[:cut]), test)
                )
                rows["own_fit"].append(probe_r2((F[layer, :cut], T[:cut]), test))
            for key, values in rows.items():
                out[t][key].append(values)
    # (shifts, layers) -> (layers, shifts)
    return {
        t: {key: np.asarray(v).T.tolist() for key, v in fits.items()}
        for t, fits in out.items()
    }


# one model, and algorithm.json -------------------------------------------------------

SIZE_KINDS = ("ones", "random", "offsets", "scale")  # moved by size c, both shifted


def fitted_record(fits: list[Fitted], implied, tasks) -> dict:
    """Per candidate and number of examples k: the held-out distance, and the fitted
    parameter (gradient descent's steps and step size apart)."""
    distance = {name: [f.distances[name] for f in fits] for name in CANDIDATES}
    distance["task"] = [
        float(weight_distance(w_, t).mean()) for w_, t in zip(implied, tasks)
    ]
    parameter = {
        "ridge": [f.parameters["ridge"] for f in fits],
        "gradient_descent_steps": [f.parameters["gradient_descent"][0] for f in fits],
        "gradient_descent_step_size": [
            f.parameters["gradient_descent"][1] for f in fits
        ],
        "normalised_gd": [f.parameters["normalised_gd"] for f in fits],
        "newton": [f.parameters["newton"] for f in fits],
        "linear_attention": [f.parameters["linear_attention"] for f in fits],
    }
    return {"distance": distance, "parameter": parameter}


def measure(
    model: InContextRegressor,
    untrained: InContextRegressor,
    n_prompts: int,
    n_queries: int,
    seed: int,
    shifts: list[float],
    probe_prompts: int,
) -> dict:
    """Everything `algorithm.json` records for one model (see the module docstring);
    `untrained` is its untrained twin, for the probes."""
    cfg = model.config
    d = cfg.n_dims
    per_k, fits, implied, tasks = [], [], [], []
    for k in range(1, cfg.n_points):
        ctx = contexts(2 * n_prompts, k, d, n_queries, seed)
        m = implied_map(model, ctx)
        per_k.append(map_measures(m, ctx, output_bound(model)))
        fits.append(closest_algorithm(m.weights, ctx.xs, ctx.ys))
        implied.append(m.weights[n_prompts:])
        tasks.append(ctx.ws[n_prompts:].double())
    where = {
        family: {
            w: shift_measures(model, n_prompts, n_queries, seed, family, shifts, w)
            for w in WHERE
        }
        for family in FAMILIES
    }
    size_matched = {
        kind: where["ones"]["both"]
        if kind == "ones"
        else shift_measures(model, n_prompts, n_queries, seed, kind, shifts, "both")
        for kind in SIZE_KINDS
    }
    return {
        "implied_map": {
            "per_k": {key: [r[key] for r in per_k] for key in per_k[0]},
            "per_shift": where["ones"]["both"],
        },
        "closest_algorithm": fitted_record(fits, implied, tasks),
        "context_query": where,
        "size_matched": size_matched,
        "accounts": {
            family: account_predictions(
                model,
                fits[-1],
                n_prompts,
                n_queries,
                seed,
                shifts,
                family,
                where[family]["context"]["shrinkage"],
            )
            for family in FAMILIES
        },
        "probes": {
            "trained": probes(model, probe_prompts, seed, shifts),
            "untrained": probes(untrained, probe_prompts, seed, shifts),
        },
        "causal_edit": {
            w: {
                "none": {
                    key: where["ones"][w][key] for key in ("median_error", "shrinkage")
                },
                **causal_edit(model, n_prompts, n_queries, seed, shifts, w),
            }
            for w in ("context", "both")
        },
    }


def write_algorithm(results, preset, runs, per_seed, **settings) -> None:
    """`per_seed`: `measure`'s record per training seed. Lists run over the shifts
    (`shifts`, increasing) or the numbers of examples (k = 1 … n − 1); each probe's
    R² is a list over layers (0: the embedding) of lists over the shifts."""
    write_chapter_file(results, preset, "algorithm", runs, per_seed, **settings)
