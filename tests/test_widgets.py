"""The alignment explorer that the alignment chapter offers to readers running it live."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from icl_core import InContextRegressor, ModelConfig  # noqa: E402
from icl_core.book.widgets import alignment_explorer  # noqa: E402


def test_the_explorer_offers_layer_family_and_shift_and_draws_on_request():
    model = InContextRegressor(
        ModelConfig(n_dims=3, n_points=5, n_layer=2, n_head=2, n_embd=16)
    ).eval()
    explorer = alignment_explorer(model, n_prompts=4)
    controls = {
        child.description: child
        for child in explorer.children[:-1]
        if child is not explorer.manual_button
    }
    assert (
        set(controls) == {"layer", "family", "shift c"} and controls["layer"].max == 2
    )
    drawn = len(plt.get_fignums())
    controls["layer"].value = 0
    assert len(plt.get_fignums()) == drawn  # nothing drawn before the button
    # ipywidgets swallows a callback's error outside IPython: check the figure instead
    explorer.manual_button.click()
    assert len(plt.get_fignums()) == drawn + 1
    titles = [
        ax.get_title()
        for ax in plt.figure(plt.get_fignums()[-1]).axes
        if ax.get_title()
    ]
    assert titles == ["v1, layer 0, x_mean = 1", "v2, layer 0, x_mean = 1"]
    plt.close("all")
