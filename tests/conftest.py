import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


def spectral_controls_record(n_layers: int = 5) -> dict:
    """The input-only references and loss-predictor entries of a `spectral.json` with
    shifts [0, 16], at which every "beyond the input" part holds (scores of the trained
    model 0.95 → 0.3, σ1 10 → 80)."""
    return {
        "layer0": {
            "signature_score": [0.5, 0.45],
            "sigma1": [10.0, 12.0],
            "centred_signature_score": [0.5, 0.45],
        },
        "untrained": {
            "signature_score": [[0.5, 0.45]] * n_layers,
            "sigma1": [[10.0, 12.0]] * n_layers,
            "centred_signature_score": [[0.5, 0.45]] * n_layers,
        },
        "centred": {"signature_score": [[0.92, 0.4]] * n_layers},
        "within_shift_spearman": {"value": 0.7, "low": 0.6, "high": 0.8},
        "partial_spearman": {"value": 0.6, "low": 0.5, "high": 0.7},
        "model_free_spearman": {
            "rms_x": {"pooled": -0.3, "within_shift": 0.0},
            "mean_x_norm": {"pooled": 0.1, "within_shift": 0.0},
        },
    }
