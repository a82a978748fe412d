"""Results over training seeds: the summary is the seeds' mean, every seed's values stay
readable."""

import numpy as np
import pytest

from icl_core.book.parameters import check_parameters, parsed
from icl_core.core.results import format_range, mean_over_seeds


def test_mean_over_seeds_averages_numbers_elementwise_and_keeps_settings():
    per_seed = [
        {
            "error": {"median": [1.0, 3.0]},
            "holds": [True, False],
            "family": "x_mean",
            "n": 4,
        },
        {
            "error": {"median": [3.0, 5.0]},
            "holds": [True, True],
            "family": "x_mean",
            "n": 6,
        },
    ]
    mean = mean_over_seeds(per_seed)
    assert np.allclose(mean["error"]["median"], [2.0, 4.0])
    assert np.allclose(mean["holds"], [1.0, 0.5])  # booleans: the share of seeds
    assert mean["family"] == "x_mean" and mean["n"] == 5


def test_seeds_that_disagree_on_a_setting_are_an_error():
    with pytest.raises(ValueError, match="seeds disagree"):
        mean_over_seeds([{"family": "x_mean"}, {"family": "x_scale"}])


def test_a_range_reads_mean_then_seed_extremes():
    assert format_range([0.85, 0.88, 0.91]) == "0.88 [0.85, 0.91]"
    assert format_range([0.5]) == "0.50"


def test_a_seed_list_from_papermills_command_line_is_accepted_and_bad_lists_are_named():
    check_parameters(seeds=parsed("[0, 1]"), pretraining_seeds=[0, 1, 2])
    for bad in ([], [0, 0], [-1], "[0, 1", [0.5]):
        with pytest.raises(ValueError, match=r"seeds=.*distinct integers >= 0"):
            check_parameters(seeds=parsed(bad))


def test_the_own_distribution_advantage_is_the_diagonal_over_the_best_other():
    from icl_core.analysis.shift_sweeps import own_advantage

    score = np.array([[0.9, 0.5, 0.7], [0.2, 0.4, 0.6], [0.1, 0.1, 0.3]])
    assert own_advantage(score) == pytest.approx([0.2, -0.2, 0.2])


def test_a_model_that_did_not_learn_the_task_is_set_aside_by_its_training_seed():
    from types import SimpleNamespace

    import torch

    from icl_core import InContextRegressor, ModelConfig
    from icl_core.book.runs import set_aside
    from icl_core.core.presets import PRETRAINING

    torch.manual_seed(0)
    model = InContextRegressor(ModelConfig(n_dims=3, n_points=7, n_layer=1)).eval()

    def run(seed):
        config = SimpleNamespace(
            train=SimpleNamespace(seed=seed), task=PRETRAINING["standard"]
        )
        return SimpleNamespace(config=config, model=model)

    # an untrained model has not learned the task: its error is far above 0.05
    aside = set_aside([run(3), run(5)])
    assert list(aside) == ["3", "5"] and min(aside.values()) > 0.2
    assert set_aside([run(3)], match_error=10.0) == {}
