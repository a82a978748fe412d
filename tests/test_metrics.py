import numpy as np
import pytest
import torch

from icl_core.analysis.metrics import (
    accuracy,
    correlations,
    normalized_squared_error,
)
from icl_core.core.storage import atomic_write, read_json, write_json


def test_normalised_error_divides_by_dimension():
    assert (
        normalized_squared_error(torch.tensor([3.0]), torch.tensor([1.0]), 4).item()
        == 1.0
    )


def test_accuracy_counts_prompts_below_tolerance():
    errors = np.array([[0.01, 0.5], [0.2, 0.05], [0.09, 0.09], [1.0, 0.0]])
    assert accuracy(errors, 0.1).tolist() == [0.5, 0.75]
    with pytest.raises(ValueError, match="tolerance="):
        accuracy(errors, 0.0)


def test_correlations_of_monotone_data():
    x = np.linspace(0, 1, 200)
    result = correlations(x, np.exp(5 * x))
    assert result["spearman"] == pytest.approx(1.0) and result["pearson"] < 0.95
    assert result["pearson_low"] <= result["pearson"] <= result["pearson_high"]
    anti = correlations(x, -x + 0.01 * np.random.default_rng(0).normal(size=200))
    assert anti["spearman"] < -0.95


def test_atomic_write_leaves_nothing_behind_on_failure(tmp_path):
    target = tmp_path / "out.json"
    write_json(target, {"a": np.float64(1.5), "b": np.arange(2)})
    assert read_json(target) == {"a": 1.5, "b": [0, 1]}

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    assert read_json(target) == {"a": 1.5, "b": [0, 1]}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
