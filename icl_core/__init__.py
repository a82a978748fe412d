"""icl_core: the library behind the book replicating "Transformers Don't In-Context
Learn Least Squares Regression" (Hill, Eyre and Creager, 2025)."""

from .checkpoint import CheckpointError, load_checkpoint
from .config import (
    CurriculumConfig,
    ExperimentConfig,
    ModelConfig,
    PromptDistribution,
    TrainConfig,
)
from .model import InContextRegressor
from .presets import PRESETS, PRETRAINING, get_preset, pretraining_config
from .samplers import SHIFT_FAMILIES, sample_prompts, shifted
from .train import TrainedModel, train

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
