import dataclasses

import numpy as np
import pytest
import torch

from icl_core import InContextRegressor, ModelConfig, load_checkpoint
from icl_core.core.convert import convert_garg_state_dict

CFG = ModelConfig(n_dims=4, n_points=9, n_layer=3, n_head=4, n_embd=32)


def prompts(batch=6, n=9, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, n, d, generator=g), torch.randn(batch, n, generator=g)


def test_shapes_of_predictions_and_residual_stream():
    model = InContextRegressor(CFG).eval()
    xs, ys = prompts(n=7)
    preds, hidden = model(xs, ys, return_hidden=True)
    assert preds.shape == (6, 7)
    assert hidden.shape == (CFG.n_layer + 1, 6, 14, CFG.n_embd)


def test_training_path_computes_the_last_block_at_x_tokens_only_and_agrees_with_the_full_one():
    model = InContextRegressor(CFG).double().eval()
    # weights far from their initialisation, so every term matters
    for param in model.parameters():
        torch.nn.init.normal_(param, std=0.3)
    xs, ys = (t.double() for t in prompts(n=7))
    full, _ = model(xs, ys, return_hidden=True)
    assert (model(xs, ys) - full).abs().max() < 1e-12


def test_continuing_from_any_layer_reproduces_the_forward_pass():
    model = InContextRegressor(CFG).double().eval()
    for param in model.parameters():
        torch.nn.init.normal_(param, std=0.3)
    xs, ys = (t.double() for t in prompts())
    with torch.no_grad():
        full, hidden = model(xs, ys, return_hidden=True)
        for layer in range(CFG.n_layer + 1):
            assert (
                model.continue_from(layer, hidden[layer]) - full
            ).abs().max() < 1e-12


VARIANTS = [
    {},
    {"norm": "rmsnorm"},
    {"normalise_embedding": False},
    {"relative_to_first": True},
]


@pytest.mark.parametrize("changes", VARIANTS)
def test_prediction_i_ignores_everything_after_x_i(changes):
    torch.manual_seed(0)
    model = InContextRegressor(dataclasses.replace(CFG, **changes)).eval()
    xs, ys = prompts()
    before = model(xs, ys)
    for i in range(CFG.n_points):
        xs2, ys2 = xs.clone(), ys.clone()
        xs2[:, i + 1 :] = torch.randn_like(xs2[:, i + 1 :]) * 10
        # y_i itself is not visible to prediction i
        ys2[:, i:] = torch.randn_like(ys2[:, i:]) * 10
        after = model(xs2, ys2)
        assert torch.allclose(after[:, : i + 1], before[:, : i + 1], atol=1e-6)
        if i + 1 < CFG.n_points:
            assert not torch.allclose(after[:, i + 1], before[:, i + 1])


def test_too_many_points_is_a_clear_error():
    xs, ys = prompts(n=10)
    with pytest.raises(ValueError, match="n_points=10"):
        InContextRegressor(CFG)(xs, ys)


def _garg_reference(cfg: ModelConfig):
    """Garg et al.'s TransformerModel, rebuilt from transformers.GPT2Model, with
    non-trivial weights."""
    transformers = pytest.importorskip("transformers")
    config = transformers.GPT2Config(
        n_positions=2 * cfg.n_points,
        n_embd=cfg.n_embd,
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        use_cache=False,
    )
    torch.manual_seed(1)
    modules = torch.nn.ModuleDict(
        {
            "_read_in": torch.nn.Linear(cfg.n_dims, cfg.n_embd),
            "_backbone": transformers.GPT2Model(config),
            "_read_out": torch.nn.Linear(cfg.n_embd, 1),
        }
    ).eval()
    with torch.no_grad():
        for param in modules.parameters():
            param.add_(torch.randn_like(param) * 0.1)

    def forward(xs, ys):
        b, n, d = xs.shape
        ys_wide = torch.cat((ys.view(b, n, 1), torch.zeros(b, n, d - 1)), dim=2)
        zs = torch.stack((xs, ys_wide), dim=2).view(b, 2 * n, d)
        out = modules["_backbone"](
            inputs_embeds=modules["_read_in"](zs), output_hidden_states=True
        )
        return modules["_read_out"](out.last_hidden_state)[:, ::2, 0], out.hidden_states

    return modules, forward


def test_matches_garg_architecture_built_from_huggingface_gpt2(tmp_path):
    modules, reference = _garg_reference(CFG)
    state = dict(modules.state_dict())
    for i in range(CFG.n_layer):  # buffers that old transformers releases saved
        state[f"_backbone.h.{i}.attn.bias"] = torch.tril(torch.ones(18, 18)).view(
            1, 1, 18, 18
        )
        state[f"_backbone.h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    optimizer = torch.optim.Adam(modules.parameters())
    # zero gradients: Adam fills its state and leaves the weights
    for param in modules.parameters():
        param.grad = torch.zeros_like(param)
    # Garg et al.'s state.pt also holds the optimiser state: it must load safely too
    optimizer.step()
    torch.save(
        {
            "model_state_dict": state,
            "optimizer_state_dict": optimizer.state_dict(),
            "train_step": 5,
        },
        tmp_path / "state.pt",
    )

    model, config = load_checkpoint(tmp_path / "state.pt", n_head=CFG.n_head)
    assert config is None and model.config == CFG and not model.training
    xs, ys = prompts()
    with torch.no_grad():
        expected, expected_hidden = reference(xs, ys)
        preds, hidden = model(xs, ys, return_hidden=True)
    assert (preds - expected).abs().max() < 1e-5
    assert (model(xs, ys) - expected).abs().max() < 1e-5
    # HuggingFace's last hidden state has ln_f applied; ours does not
    for layer in range(CFG.n_layer):
        assert (hidden[layer] - expected_hidden[layer]).abs().max() < 1e-5


def test_conversion_drops_only_buffers_and_unused_token_embedding():
    modules, _ = _garg_reference(CFG)
    converted = convert_garg_state_dict(dict(modules.state_dict()))
    assert set(converted) == set(InContextRegressor(CFG).state_dict())


def test_a_converted_garg_checkpoint_runs_through_the_book_experiments(tmp_path):
    from icl_core import PromptDistribution
    from icl_core.analysis.evaluation import errors
    from icl_core.analysis.shift_sweeps import spectral_sweep, sweep_prompts
    from icl_core.analysis.spectral import mean_signature, signature_reference

    modules, _ = _garg_reference(CFG)
    torch.save({"model_state_dict": modules.state_dict()}, tmp_path / "state.pt")
    model, _ = load_checkpoint(tmp_path / "state.pt", n_head=CFG.n_head)
    for prompts in sweep_prompts(model.config, "x_mean", [0, 4], 20, seed=0):
        error = errors(model, prompts, ("transformer", "ols"))
        assert error["ols"][:, -1].max() < 1e-8
        assert np.isfinite(error["transformer"]).all()
    reference = signature_reference(model, PromptDistribution(), n_prompts=20, seed=0)
    scores = mean_signature(
        spectral_sweep(model, "x_mean", [0, 4], 20, seed=0), [0, 4], reference
    )
    assert (
        scores.shape == (CFG.n_layer + 1, 2)
        and ((0 <= scores) & (scores <= 1 + 1e-9)).all()
    )


def test_the_identity_intervention_reproduces_the_predictions_exactly():
    model = InContextRegressor(CFG).eval()
    xs, ys = prompts()
    with torch.no_grad():
        plain, hidden = model(xs, ys, return_hidden=True)
        seen = []
        hooked = model(xs, ys, intervene=lambda layer, h: seen.append(layer) or h)
    assert torch.equal(hooked, plain) and seen == list(range(CFG.n_layer + 1))
    # the x-token-only path agrees up to rounding
    assert (model(xs, ys) - hooked).abs().max() < 1e-5


def test_an_intervention_at_one_layer_changes_only_what_comes_after_it():
    model = InContextRegressor(CFG).eval()
    xs, ys = prompts()

    # the last x token is the second-to-last token
    def zero_last_query_at_layer_2(layer, h):
        return (
            torch.cat((h[:, :-2], torch.zeros_like(h[:, -2:-1]), h[:, -1:]), dim=1)
            if layer == 2
            else h
        )

    with torch.no_grad():
        plain = model(xs, ys, return_hidden=True)[0]
        changed = model(xs, ys, intervene=zero_last_query_at_layer_2)
    # causal: earlier queries never see the last one
    assert torch.equal(changed[:, :-1], plain[:, :-1])
    assert not torch.allclose(changed[:, -1], plain[:, -1])


def test_the_activation_is_gpt2s_tanh_gelu_unless_the_exact_one_is_asked_for():
    import dataclasses

    torch.manual_seed(0)
    tanh = InContextRegressor(CFG).eval()
    exact = InContextRegressor(dataclasses.replace(CFG, activation="gelu")).eval()
    exact.load_state_dict(tanh.state_dict())  # same weights, other activation
    h = torch.linspace(-6, 6, 1001)
    gelu_new = 0.5 * h * (1 + torch.tanh((2 / torch.pi) ** 0.5 * (h + 0.044715 * h**3)))
    torch.testing.assert_close(tanh.h[0].mlp.act(h), gelu_new)
    torch.testing.assert_close(exact.h[0].mlp.act(h), torch.nn.functional.gelu(h))
    xs, ys = prompts()
    difference = (tanh(xs, ys) - exact(xs, ys)).abs().max()
    assert 0 < difference < 1e-2


def test_the_architecture_variants_change_only_what_they_name():
    rms = InContextRegressor(dataclasses.replace(CFG, norm="rmsnorm"))
    assert all(
        isinstance(m, torch.nn.RMSNorm)
        for m in (rms.h[0].ln_1, rms.h[-1].ln_2, rms.ln_f)
    )
    raw = InContextRegressor(dataclasses.replace(CFG, normalise_embedding=False))
    assert isinstance(raw.h[0].ln_1, torch.nn.Identity)
    assert isinstance(raw.h[1].ln_1, torch.nn.LayerNorm)


def test_a_model_relative_to_the_first_point_cannot_see_a_common_shift():
    torch.manual_seed(0)
    model = InContextRegressor(dataclasses.replace(CFG, relative_to_first=True))
    model = model.double().eval()
    xs, ys = (t.double() for t in prompts())
    ws = torch.randn(6, 4, dtype=torch.float64)
    ys = torch.einsum("bnd,bd->bn", xs, ws)
    moved = xs + 5.0
    before, after = model(xs, ys), model(moved, ys + 5.0 * ws.sum(dim=1, keepdim=True))
    # every prediction after the first moves with the targets, exactly
    gap = after[:, 1:] - before[:, 1:] - 5.0 * ws.sum(dim=1, keepdim=True)
    assert gap.abs().max() < 1e-10
    assert (after[:, 0] - before[:, 0]).abs().max() < 1e-10
