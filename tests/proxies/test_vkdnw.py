"""VKDNW against a direct numpy formula on a linear classifier; its batched Jacobian against the
vmap/jacrev reference."""

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call

from naswot.data import Batch
from naswot.networks.nasbench201 import NB201Network
from naswot.proxies import Vkdnw, vkdnw
from naswot.proxies.az_nas import kaiming_fan_in
from naswot.proxies.vkdnw import (
    ALPHA,
    N_TENSORS,
    _batched_jacobian,
    _jacobian,
    _vmap_jacobian,
    _with_frozen_norms,
    decile_entropy,
    fisher_matrix,
)
from naswot.spaces import parse_arch


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


# The batched formulation (one forward, one backward per class) against the vmap/jacrev
# reference, in float64 so that the two summation orders agree to ~1e-15.

CELL = parse_arch(
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
)


def _grouped_net() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, bias=True),
        nn.BatchNorm2d(6),
        nn.ReLU(inplace=True),  # changes the BatchNorm's output in place
        nn.Conv2d(6, 6, (3, 2), padding=(2, 1), dilation=2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 5),
    )
    norm = net[1]
    assert isinstance(norm, nn.BatchNorm2d) and norm.running_mean is not None
    with torch.no_grad():  # non-trivial statistics and affine parameters
        norm.running_mean.normal_()
        norm.running_var.uniform_(0.5, 2.0)
        norm.weight.normal_()
        norm.bias.normal_()
    return net


class _Unused(nn.Module):
    """Conv1d, a Linear on a 3-D input (its leading positions summed), and an unused Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(2, 3, 3, stride=2, padding=1)
        self.unused = nn.Linear(3, 3)
        self.mix = nn.Linear(4, 2)
        self.head = nn.Linear(6, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.mix(self.conv(x)).flatten(1))  # type: ignore[no-any-return]


class _Twice(nn.Module):
    """A module run twice in one forward pass (the fast path does not handle it)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(3 * 5 * 5, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(torch.relu(self.conv(x))))  # type: ignore[no-any-return]


def _layer_norm_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.LayerNorm([4, 3, 3]), nn.Flatten(),
                         nn.Linear(36, 5))  # fmt: skip


def _picks(model: nn.Module, seed: int) -> tuple[dict[str, torch.Tensor], list[str], list[int]]:
    g = torch.Generator().manual_seed(seed)
    params = kaiming_fan_in(model, g)
    names = list(params)[:N_TENSORS]
    picks = [int(torch.randint(0, params[n].numel(), (1,), generator=g)) for n in names]
    return params, names, picks


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda: NB201Network(CELL, n_classes=10, channels=4, n_cells=1), (5, 3, 16, 16)),
        (_grouped_net, (5, 4, 9, 9)),
        (_Unused, (5, 2, 8)),
    ],
    ids=["nb201", "grouped_conv", "conv1d_unused"],
)
def test_batched_jacobian_equals_the_vmap_reference(
    make: Callable[[], nn.Module], shape: tuple[int, ...]
) -> None:
    torch.manual_seed(0)
    model = make().double().eval()
    x = torch.randn(shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    for seed in range(1, 7):  # several positions in every tensor (both conv groups)
        params, names, picks = _picks(model, seed)
        if seed % 2:  # the model's own weights (as_built): non-zero biases, trained-like norms
            params = {n: p.detach() for n, p in model.named_parameters()}
        fast = _batched_jacobian(model, params, names, picks, x)
        assert fast is not None
        ref = _vmap_jacobian(_with_frozen_norms(model), params, names, picks, x)
        assert fast[0].shape == ref[0].shape == (shape[0], fast[1].shape[1], len(names))
        assert float(ref[0].abs().max()) > 0.1
        assert torch.allclose(fast[0], ref[0], rtol=1e-12, atol=1e-13)
        assert torch.allclose(fast[1], ref[1], rtol=1e-12, atol=1e-13)


def test_batched_jacobian_float32_is_close_to_the_reference() -> None:
    torch.manual_seed(0)
    model = NB201Network(CELL, n_classes=10, channels=4, n_cells=1).eval()
    x = torch.randn(6, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    params, names, picks = _picks(model, 3)
    fast = _batched_jacobian(model, params, names, picks, x)
    assert fast is not None
    ref = _vmap_jacobian(_with_frozen_norms(model), params, names, picks, x)
    assert torch.allclose(fast[0], ref[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [_Twice, _layer_norm_net], ids=["run_twice", "layer_norm"])
def test_unsupported_networks_take_the_reference_path(make: Callable[[], nn.Module]) -> None:
    torch.manual_seed(0)
    model = make().double().eval()
    x = torch.randn(4, 3, 5, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    params, names, picks = _picks(model, 1)
    assert _batched_jacobian(model, params, names, picks, x) is None
    jacobian, _ = _jacobian(model, params, names, picks, x)
    # the reference, checked by finite differences on one weight entry of each tensor
    for p, (name, pick) in enumerate(zip(names, picks, strict=True)):
        shifted = []
        for step in (1e-6, -1e-6):
            moved = params[name].clone()
            moved.view(-1)[pick] += step
            shifted.append(functional_call(model, {**params, name: moved}, (x,)))
        numeric = (shifted[0] - shifted[1]) / 2e-6
        assert torch.allclose(jacobian[:, :, p], numeric, atol=1e-7), name


def test_batch_statistics_norm_takes_the_reference_path() -> None:
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.BatchNorm2d(2, track_running_stats=False),
                          nn.Flatten(), nn.Linear(18, 3)).eval()  # fmt: skip
    x = torch.randn(4, 3, 5, 5, generator=torch.Generator().manual_seed(2))
    params, names, picks = _picks(model, 1)
    assert _batched_jacobian(model, params, names, picks, x) is None


@pytest.mark.parametrize("variant", ["default", "single", "as_built"])
def test_scores_match_the_reference_path(variant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cells = [CELL, parse_arch(
        "|avg_pool_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|"
    )]  # fmt: skip
    x = torch.randn(8, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    for cell in cells:
        torch.manual_seed(0)
        model = NB201Network(cell, n_classes=10, channels=4, n_cells=1)
        fast = Vkdnw(variant, seed=3)(model, Batch(x)).score
        with monkeypatch.context() as m:
            m.setattr(vkdnw, "_batched_jacobian", lambda *args: None)
            ref = Vkdnw(variant, seed=3)(model, Batch(x)).score
        assert fast is not None and ref is not None
        assert fast == pytest.approx(ref, rel=1e-6)
