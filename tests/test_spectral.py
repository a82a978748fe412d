import pytest
import torch

from icl_core.analysis.spectral import (
    alignment_with_reference,
    pairwise_alignment,
    prompt_svd,
    reference_directions,
    signature_score,
)


def orthonormal(rows, cols, seed):
    q, _ = torch.linalg.qr(
        torch.randn(
            cols,
            rows,
            generator=torch.Generator().manual_seed(seed),
            dtype=torch.float64,
        )
    )
    return q.T  # (rows, cols) with orthonormal rows


def constructed(values, V, seed):
    """A (tokens × width) matrix with singular values `values` and right singular
    vectors V's rows."""
    U = orthonormal(len(values), 10, seed).T  # (tokens=10, k)
    return U @ torch.diag(torch.tensor(values, dtype=torch.float64)) @ V


def test_recovers_known_singular_values_and_vectors():
    V = orthonormal(3, 8, seed=0)
    # (1, 4, 10, 8)
    hidden = torch.stack([constructed([5.0, 2.0, 1.0], V, seed=s) for s in range(4)])[
        None
    ]
    S, Vh = prompt_svd(hidden)
    assert torch.allclose(
        S[..., :3], torch.tensor([5.0, 2.0, 1.0], dtype=torch.float64), atol=1e-10
    )
    assert torch.allclose(S[..., 3:], torch.zeros(1, dtype=torch.float64), atol=1e-10)
    assert torch.allclose(
        alignment_with_reference(Vh, V[None, :2]),
        torch.ones(1, 4, 2, dtype=torch.float64),
    )
    assert torch.allclose(
        pairwise_alignment(Vh, 1), torch.ones(1, 4, 4, dtype=torch.float64)
    )


def test_signature_score_is_one_inside_and_zero_orthogonal_to_the_reference():
    basis = orthonormal(4, 8, seed=1)
    inside = constructed([3.0, 1.0], basis[:2], seed=2)
    # same plane, swapped
    rotated = constructed([3.0, 1.0], torch.stack([basis[1], basis[0]]), seed=3)
    outside = constructed([3.0, 1.0], basis[2:], seed=4)
    hidden = torch.stack([inside, rotated, outside])[None]
    _, Vh = prompt_svd(hidden)
    score = signature_score(Vh, basis[None, :2])
    assert torch.allclose(
        score, torch.tensor([[1.0, 1.0, 0.0]], dtype=torch.float64), atol=1e-10
    )
    per_vector = alignment_with_reference(Vh, basis[None, :2])
    assert torch.allclose(
        per_vector[0, 1], torch.zeros(2, dtype=torch.float64), atol=1e-10
    )


def test_reference_is_the_shared_direction_of_stacked_prompts():
    shared = orthonormal(2, 8, seed=5)
    hidden = torch.stack([constructed([10.0, 4.0], shared, seed=s) for s in range(6)])[
        None
    ]
    reference = reference_directions(hidden, k=2)
    assert torch.allclose(
        signature_score(reference[:, None], shared[None]),
        torch.ones(1, 1, dtype=torch.float64),
    )


def test_centering_removes_the_token_mean_direction():
    mean_direction = torch.zeros(8, dtype=torch.float64)
    mean_direction[0] = 1.0
    noise = torch.randn(
        1, 3, 10, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    hidden = noise + 100 * mean_direction
    _, raw = prompt_svd(hidden)
    _, centred = prompt_svd(hidden, center=True)
    assert (raw[..., 0, :] @ mean_direction).abs().min() > 0.99
    assert (centred[..., 0, :] @ mean_direction).abs().max() < 0.9


def test_bad_shape_is_named():
    with pytest.raises(ValueError, match="hidden="):
        prompt_svd(torch.zeros(3, 4, 5))
