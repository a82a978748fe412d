"""icl_core: the library behind the book replicating "Transformers Don't In-Context
Learn Least Squares Regression" (Hill, Eyre and Creager, 2025)."""

from .core.checkpoint import CheckpointError, load_checkpoint
from .core.config import (
    CurriculumConfig,
    ExperimentConfig,
    ModelConfig,
    PromptDistribution,
    TrainConfig,
)
from .core.model import InContextRegressor
from .core.presets import PRESETS, PRETRAINING, get_preset, pretraining_config
from .core.samplers import SHIFT_FAMILIES, sample_prompts, shifted
from .core.train import TrainedModel, train

__all__ = [
    "CheckpointError",
    "load_checkpoint",
    "CurriculumConfig",
    "ExperimentConfig",
    "ModelConfig",
    "PromptDistribution",
    "TrainConfig",
    "InContextRegressor",
    "PRESETS",
    "PRETRAINING",
    "get_preset",
    "pretraining_config",
    "SHIFT_FAMILIES",
    "sample_prompts",
    "shifted",
    "TrainedModel",
    "train",
]
