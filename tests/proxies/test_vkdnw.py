"""VKDNW against a direct numpy formula on a linear classifier."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from naswot.data import Batch
from naswot.proxies import Vkdnw
from naswot.proxies.vkdnw import ALPHA, decile_entropy, fisher_matrix


def np_decile_entropy(lam: np.ndarray) -> float:
    d = np.quantile(lam, np.arange(1, 10) / 10)
    q = d / (np.abs(d).sum() + 1e-10)
    return float(-(q * np.log(q + 1e-10)).sum())


def test_decile_entropy_by_hand() -> None:
    lam = np.arange(1.0, 11.0)  # deciles 1.9, 2.8, ..., 9.1
    assert decile_entropy(torch.tensor(lam)) == pytest.approx(np_decile_entropy(lam), rel=1e-12)
    assert decile_entropy(torch.full((20,), 3.0)) == pytest.approx(math.log(9), abs=1e-8)


def test_fisher_matrix_is_the_expected_score_outer_product() -> None:
    g = torch.Generator().manual_seed(0)
    jac, logits = torch.randn(5, 3, 4, generator=g), torch.randn(5, 3, generator=g)
    expected = np.zeros((4, 4))
    for j, z in zip(jac.double().numpy(), logits.double().numpy(), strict=True):
        p = np.exp(z) / np.exp(z).sum() * (1 - ALPHA) + ALPHA / 3
        expected += j.T @ (np.diag(p) - np.outer(p, p)) @ j / 5
    assert np.allclose(fisher_matrix(jac, logits).numpy(), expected, atol=1e-12)


def expected_linear_score(model: nn.Linear, x: torch.Tensor, seed: int) -> float:
    """A linear head z = W x + b: dz_c/dW[i, j] = [c = i] x_j and dz_c/db[i] = [c = i]."""
    g = torch.Generator().manual_seed(seed)
    c, d = model.weight.shape
    pick_w = int(torch.randint(0, c * d, (1,), generator=g))
    pick_b = int(torch.randint(0, c, (1,), generator=g))
    xs = x.flatten(1).double().numpy()
    z = (x.flatten(1) @ model.weight.T + model.bias).detach().double().numpy()
    fisher = np.zeros((2, 2))
    for xi, zi in zip(xs, z, strict=True):
        j = np.zeros((c, 2))
        j[pick_w // d, 0] = xi[pick_w % d]
        j[pick_b, 1] = 1.0
        p = np.exp(zi) / np.exp(zi).sum() * (1 - ALPHA) + ALPHA / c
        fisher += j.T @ (np.diag(p) - np.outer(p, p)) @ j / len(xs)
    return np_decile_entropy(np.clip(np.linalg.eigvalsh(fisher), 0, None))


def test_vkdnw_as_built_on_a_linear_classifier_matches_numpy() -> None:
    torch.manual_seed(0)
    head = nn.Linear(6, 3)
    model = nn.Sequential(nn.Flatten(), head)
    x = torch.randn(8, 1, 2, 3, generator=torch.Generator().manual_seed(1))
    expected = expected_linear_score(head, x, seed=5)
    assert Vkdnw("as_built", seed=5)(model, Batch(x)).score == pytest.approx(expected, rel=1e-9)
    # VKDNW_single puts the number of parameter tensors (2) first
    single = Vkdnw("single", seed=5)(model, Batch(x)).score
    assert single is not None and 2 < single < 3


def test_default_protocol_is_seeded_and_ignores_the_images() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 3 * 3, 5))  # fmt: skip
    b0 = Batch(torch.randn(6, 3, 5, 5, generator=torch.Generator().manual_seed(0)))
    b1 = Batch(torch.randn(6, 3, 5, 5, generator=torch.Generator().manual_seed(1)))
    first = Vkdnw(seed=1)(model, b0).score
    assert first is not None and 0 < first <= math.log(9)
    assert Vkdnw(seed=1)(model, b1).score == first
    assert Vkdnw(seed=2)(model, b0).score != first
    with pytest.raises(Exception, match="n_tensors"):
        Vkdnw(n_tensors=0)
