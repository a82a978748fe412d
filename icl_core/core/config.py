"""Frozen configuration dataclasses: the complete, validated description of a training
run.

Every field is checked once, here, so that a bad value fails before any work starts,
with a message that names the field, the value and what is allowed."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

Vector = float | tuple[float, ...]
MEAN_DIRECTIONS = ("ones", "random")
ACTIVATIONS = ("gelu_new", "gelu")
NORMS = ("layernorm", "rmsnorm")


def check(ok: bool, field: str, value: Any, allowed: str) -> None:
    """Raise a ValueError naming `field`, its bad `value` and the `allowed` values
    unless `ok`."""
    if not ok:
        raise ValueError(f"{field}={value!r} is not allowed; expected {allowed}")


def _positive_int(field: str, value: Any) -> None:
    check(
        isinstance(value, int) and not isinstance(value, bool) and value > 0,
        field,
        value,
        "a positive integer",
    )


def finite_number(value: Any) -> bool:
    """A real number that is not a bool, NaN or infinite: what every numeric setting
    of a config or a chapter must be."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _vector(field: str, value: Any) -> None:
    ok = finite_number(value) or (
        isinstance(value, tuple) and len(value) > 0 and all(map(finite_number, value))
    )
    check(
        ok,
        field,
        value,
        "a finite number c (meaning c·1) or a non-empty tuple of finite numbers",
    )


@dataclass(frozen=True)
class PromptDistribution:
    """Where prompts come from: x ~ N(x_mean, Σ), w ~ N(w_mean, w_scale² I), y = w·x +
    noise.

    Σ is `x_cov` when given, else `x_scale² I`. A scalar mean c stands for the vector
    c·1."""

    x_mean: Vector = 0.0
    x_scale: float = 1.0
    x_cov: tuple[tuple[float, ...], ...] | None = None
    w_mean: Vector = 0.0
    w_scale: float = 1.0
    noise_std: float = 0.0
    # each prompt's x mean moves by c·v, c ~ U[-spread, spread] drawn per prompt, v the
    # all-ones vector ("ones") or √d times a random unit vector per prompt ("random")
    x_mean_spread: float = 0.0
    x_mean_direction: str = "ones"
    # w projected orthogonal to 1 after it is drawn: a mean shift of x along 1 then
    # leaves y = w·x where it was (the control family `x_mean_w_perp`)
    w_orthogonal_to_ones: bool = False
    # each prompt's x scaled by s, log s ~ U[log x_scale, log x_scale_max] drawn per
    # prompt (None: every prompt at x_scale)
    x_scale_max: float | None = None
    # each point's x moves by c_i·1, c_i ~ U[-spread, spread] drawn per point
    x_offset_spread: float = 0.0
    # y = w·x + b with an intercept b ~ N(0, intercept_scale²) drawn per prompt
    intercept_scale: float = 0.0

    def __post_init__(self) -> None:
        _vector("x_mean", self.x_mean)
        for name in ("x_offset_spread", "intercept_scale"):
            value = getattr(self, name)
            check(
                finite_number(value) and value >= 0, name, value, "a finite number >= 0"
            )
        check(
            isinstance(self.w_orthogonal_to_ones, bool),
            "w_orthogonal_to_ones",
            self.w_orthogonal_to_ones,
            "True or False",
        )
        check(
            finite_number(self.x_mean_spread) and self.x_mean_spread >= 0,
            "x_mean_spread",
            self.x_mean_spread,
            "a finite number >= 0",
        )
        check(
            self.x_mean_direction in MEAN_DIRECTIONS,
            "x_mean_direction",
            self.x_mean_direction,
            f"one of {', '.join(MEAN_DIRECTIONS)}",
        )
        _vector("w_mean", self.w_mean)
        check(
            finite_number(self.x_scale) and self.x_scale > 0,
            "x_scale",
            self.x_scale,
            "a finite number > 0",
        )
        check(
            self.x_scale_max is None
            or (finite_number(self.x_scale_max) and self.x_scale_max >= self.x_scale),
            "x_scale_max",
            self.x_scale_max,
            f"None or a finite number >= x_scale={self.x_scale}",
        )
        check(
            finite_number(self.w_scale) and self.w_scale > 0,
            "w_scale",
            self.w_scale,
            "a finite number > 0",
        )
        check(
            finite_number(self.noise_std) and self.noise_std >= 0,
            "noise_std",
            self.noise_std,
            "a finite number >= 0",
        )
        if self.x_cov is not None:
            square = isinstance(self.x_cov, tuple) and all(
                isinstance(row, tuple)
                and len(row) == len(self.x_cov)
                and all(map(finite_number, row))
                for row in self.x_cov
            )
            check(
                square and len(self.x_cov) > 0,
                "x_cov",
                self.x_cov,
                "None or a square tuple of tuples of finite numbers",
            )
            symmetric = all(
                abs(self.x_cov[i][j] - self.x_cov[j][i]) < 1e-9
                for i in range(len(self.x_cov))
                for j in range(i)
            )
            check(symmetric, "x_cov", self.x_cov, "a symmetric matrix")

    def describe_x(self) -> str:
        """The distribution of x in words, e.g. 'N(2·1, I)' or 'N(0, 9 I)'."""
        mean = (
            "μ"
            if isinstance(self.x_mean, tuple)
            else ("0" if self.x_mean == 0 else f"{self.x_mean:g}·1")
        )
        if self.x_mean_spread:
            v = "1" if self.x_mean_direction == "ones" else "√d u"
            mean = f"{'' if mean == '0' else mean + ' + '}c·{v}"
        if self.x_offset_spread:
            mean = f"{'' if mean == '0' else mean + ' + '}a_i·1"
        cov = (
            "Σ"
            if self.x_cov is not None
            else ("I" if self.x_scale == 1 else f"{self.x_scale ** 2:g} I")
        )
        if self.x_scale_max is not None:
            cov = f"s² {cov}"
        return f"N({mean}, {cov})"


@dataclass(frozen=True)
class ModelConfig:
    """GPT-2-style decoder over interleaved (x, y) tokens; `n_points` is the longest
    prompt."""

    n_dims: int = 20
    n_points: int = 41
    n_layer: int = 12
    n_head: int = 8
    n_embd: int = 256
    # GPT-2's tanh approximation ("gelu_new"), or the exact GELU ("gelu")
    activation: str = "gelu_new"
    # False reads the prediction straight off the residual stream: without the final
    # LayerNorm no bound on |prediction| is fixed by the weights (see `output_range`)
    final_layernorm: bool = True
    # the blocks' and the final normalisation: GPT-2's LayerNorm, or RMSNorm (no
    # centring)
    norm: str = "layernorm"
    # False: the first block's attention reads the embedding as it is, unnormalised
    normalise_embedding: bool = True
    # True: every point enters as its difference from the prompt's first point, (x_i -
    # x_1, y_i - y_1), and y_1 is added back to the prediction, so that moving every x
    # by the same vector (and y with it) cannot change a prediction
    relative_to_first: bool = False

    def __post_init__(self) -> None:
        for name in ("n_dims", "n_points", "n_layer", "n_head", "n_embd"):
            _positive_int(name, getattr(self, name))
        for name in ("final_layernorm", "normalise_embedding", "relative_to_first"):
            value = getattr(self, name)
            check(isinstance(value, bool), name, value, "True or False")
        check(self.norm in NORMS, "norm", self.norm, f"one of {', '.join(NORMS)}")
        check(
            self.activation in ACTIVATIONS,
            "activation",
            self.activation,
            f"one of {', '.join(ACTIVATIONS)}",
        )
        check(
            self.n_embd % self.n_head == 0,
            "n_embd",
            self.n_embd,
            f"a multiple of n_head={self.n_head}",
        )


@dataclass(frozen=True)
class CurriculumConfig:
    """Garg et al.'s schedule: every `interval` steps the active dimensions and points
    grow."""

    dims_start: int = 5
    dims_end: int = 20
    dims_inc: int = 1
    points_start: int = 11
    points_end: int = 41
    points_inc: int = 2
    interval: int = 2000

    def __post_init__(self) -> None:
        for name in (
            "dims_start",
            "dims_end",
            "points_start",
            "points_end",
            "interval",
        ):
            _positive_int(name, getattr(self, name))
        for name in ("dims_inc", "points_inc"):
            value = getattr(self, name)
            check(
                isinstance(value, int) and not isinstance(value, bool) and value >= 0,
                name,
                value,
                "an integer >= 0",
            )
        check(
            self.dims_start <= self.dims_end,
            "dims_start",
            self.dims_start,
            f"at most dims_end={self.dims_end}",
        )
        check(
            self.points_start <= self.points_end,
            "points_start",
            self.points_start,
            f"at most points_end={self.points_end}",
        )


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation: Adam with a constant learning rate; data is a function of (seed,
    step)."""

    steps: int = 500_000
    batch_size: int = 64
    lr: float = 1e-4
    seed: int = 0
    checkpoint_every: int = 2000
    log_every: int = 100

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "checkpoint_every", "log_every"):
            _positive_int(name, getattr(self, name))
        check(
            finite_number(self.lr) and self.lr > 0, "lr", self.lr, "a finite number > 0"
        )
        check(
            isinstance(self.seed, int)
            and not isinstance(self.seed, bool)
            and self.seed >= 0,
            "seed",
            self.seed,
            "an integer >= 0",
        )


# (section, field) -> default of the fields added after the first trained models
LATER_FIELDS = {
    ("model", "final_layernorm"): True,
    ("task", "w_orthogonal_to_ones"): False,
    ("model", "norm"): "layernorm",
    ("model", "normalise_embedding"): True,
    ("model", "relative_to_first"): False,
    ("task", "x_scale_max"): None,
    ("task", "x_offset_spread"): 0.0,
    ("task", "intercept_scale"): 0.0,
}

_SECTIONS = {
    "model": ModelConfig,
    "task": PromptDistribution,
    "curriculum": CurriculumConfig,
    "train": TrainConfig,
}


def _tupled(value: Any) -> Any:
    """JSON turns tuples into lists; turn them back so configs compare and hash equal."""
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value


@dataclass(frozen=True)
class ExperimentConfig:
    """One training run: the model, its pretraining distribution, curriculum and
    optimiser."""

    name: str
    model: ModelConfig
    task: PromptDistribution
    curriculum: CurriculumConfig
    train: TrainConfig

    def __post_init__(self) -> None:
        check(
            isinstance(self.name, str)
            and self.name.replace("-", "").replace("_", "").isalnum(),
            "name",
            self.name,
            "a non-empty string of letters, digits, '-' and '_'",
        )
        check(
            self.curriculum.dims_end == self.model.n_dims,
            "curriculum.dims_end",
            self.curriculum.dims_end,
            f"equal to model.n_dims={self.model.n_dims}",
        )
        check(
            self.curriculum.points_end <= self.model.n_points,
            "curriculum.points_end",
            self.curriculum.points_end,
            f"at most model.n_points={self.model.n_points}",
        )
        for field, value in (
            ("task.x_mean", self.task.x_mean),
            ("task.w_mean", self.task.w_mean),
        ):
            check(
                not isinstance(value, tuple) or len(value) == self.model.n_dims,
                field,
                value,
                f"a scalar or a tuple of length model.n_dims={self.model.n_dims}",
            )
        if self.task.x_cov is not None:
            check(
                len(self.task.x_cov) == self.model.n_dims,
                "task.x_cov",
                "matrix",
                f"a {self.model.n_dims}×{self.model.n_dims} matrix",
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ExperimentConfig":
        unknown = set(data) - set(_SECTIONS) - {"name"}
        check(
            not unknown,
            "config",
            sorted(unknown),
            f"only the sections name, {', '.join(_SECTIONS)}",
        )
        sections = {
            key: kind(**{k: _tupled(v) for k, v in data[key].items()})
            for key, kind in _SECTIONS.items()
        }
        return cls(name=data["name"], **sections)

    def fingerprint(self) -> str:
        """A hash of everything that determines the trained weights (the name is only a
        label)."""
        content = {k: v for k, v in self.to_dict().items() if k != "name"}
        # fields added later hash, at their default, as before they existed
        for (section, field), default in LATER_FIELDS.items():
            if content[section][field] == default:
                del content[section][field]
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[
            :12
        ]

    def with_changes(self, **sections: dict[str, Any]) -> "ExperimentConfig":
        """A copy with some fields of some sections replaced, e.g. `train={"steps":
        100}`."""
        changed = {}
        for key, updates in sections.items():
            if key == "name":
                changed["name"] = updates
                continue
            check(
                key in _SECTIONS,
                "section",
                key,
                f"one of {', '.join(_SECTIONS)} or name",
            )
            known = {f.name for f in dataclasses.fields(_SECTIONS[key])}
            for field in updates:
                check(
                    field in known,
                    f"{key}.{field}",
                    updates[field],
                    f"a field among {sorted(known)}",
                )
            changed[key] = dataclasses.replace(getattr(self, key), **updates)
        return dataclasses.replace(self, **changed)
