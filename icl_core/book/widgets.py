"""An interactive explorer of prompt-by-prompt alignment, for readers running a chapter
live."""

from __future__ import annotations

import matplotlib.pyplot as plt

from ..analysis.shift_sweeps import sweep_prompts
from ..analysis.spectral import pairwise_alignment, spectral_sample
from ..core.samplers import SHIFT_FAMILIES


def alignment_heatmap(ax, top_vectors, layer: int, index: int = 0):
    """|cos| between the `index`-th right singular vectors of every pair of prompts at
    one layer."""
    image = ax.imshow(
        pairwise_alignment(top_vectors, index)[layer].numpy(),
        vmin=0,
        vmax=1,
        cmap="viridis",
    )
    ax.set(xticks=[], yticks=[])
    return image


def alignment_explorer(model, n_prompts: int = 60, seed: int = 0):
    """Sliders for layer, shift family and shift size, and a button that draws the
    prompt × prompt heatmaps. Nothing is drawn until the button is pressed: built
    while a chapter executes headless, a widget that draws at once can stall the
    kernel on its output (seen twice in the alignment chapter)."""
    import ipywidgets as widgets

    cfg = model.config

    def draw(layer: int, family: str, shift: float) -> None:
        prompts = sweep_prompts(cfg, family, [shift], n_prompts, seed)[0]
        sample = spectral_sample(model, prompts)
        fig, axes = plt.subplots(1, 2, figsize=(7, 3.4))
        for index, ax in enumerate(axes):
            image = alignment_heatmap(ax, sample.top_vectors, layer, index)
            ax.set_title(f"v{index + 1}, layer {layer}, {family} = {shift:g}")
        fig.colorbar(image, ax=axes, shrink=0.8, label="|cos|")
        plt.show()

    return widgets.interactive(
        draw,
        {"manual": True, "manual_name": "draw"},
        layer=widgets.IntSlider(
            value=cfg.n_layer, min=0, max=cfg.n_layer, description="layer"
        ),
        family=widgets.Dropdown(options=list(SHIFT_FAMILIES), description="family"),
        shift=widgets.FloatSlider(
            value=1.0, min=0.0, max=16.0, step=0.5, description="shift c"
        ),
    )
