"""AZ-NAS's components against hand-computed values on tiny networks."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from naswot.data import Batch
from naswot.exceptions import ScoringError
from naswot.proxies import AzExpressivity, AzProgressivity, AzTrainability, Status
from naswot.proxies.az_nas import (
    feature_entropy,
    feature_modules,
    kaiming_fan_in,
    trainability_term,
)


class StemCells(nn.Module):
    """The layout AZ-NAS reads: ``stem`` then ``cells``."""

    def __init__(self, stem: nn.Module, *cells: nn.Module) -> None:
        super().__init__()
        self.stem = stem
        self.cells = nn.Sequential(*cells)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cells(self.stem(x)).mean(dim=(2, 3))  # type: ignore[no-any-return]


def batch(seed: int = 0, shape: tuple[int, ...] = (4, 3, 5, 5)) -> Batch:
    return Batch(torch.randn(shape, generator=torch.Generator().manual_seed(seed)))


def np_entropy(feature: np.ndarray) -> float:
    x = np.moveaxis(feature, 1, -1).reshape(-1, feature.shape[1]).astype(np.float64)
    x = x - x.mean(axis=0)
    s = np.clip(np.linalg.eigvalsh(x.T @ x / len(x)), 0, None)
    p = s / s.sum()
    return float(-(p * np.log(p + 1e-8)).sum())


def test_feature_entropy_by_hand() -> None:
    # covariance diag(0.5, 2): p = (0.2, 0.8)
    x = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]])
    expected = -(0.2 * math.log(0.2 + 1e-8) + 0.8 * math.log(0.8 + 1e-8))
    assert feature_entropy(x) == pytest.approx(expected, rel=1e-12)
    # isotropic C channels: log C
    eye = torch.cat([torch.eye(3), -torch.eye(3)])
    assert feature_entropy(eye) == pytest.approx(math.log(3), abs=1e-7)


def test_constant_feature_is_degenerate() -> None:
    from naswot.exceptions import DegenerateNetworkError

    with pytest.raises(DegenerateNetworkError):
        feature_entropy(torch.ones(4, 3, 2, 2))


def test_trainability_term_by_hand() -> None:
    g_out = torch.tensor([[1.0], [-1.0]])
    # M = (2*1 + 2*1) / 2 = 2: -2 - 1/2 + 2
    assert trainability_term(2 * g_out, g_out) == pytest.approx(-0.5, abs=1e-6)
    assert trainability_term(g_out, g_out) == pytest.approx(0.0, abs=1e-5)  # the maximum
    # a 2x reduction: g_in (1, 1, 2, 2) is pixel-unshuffled to (1, 4, 1, 1); M = ones(4, 4)
    term = trainability_term(torch.ones(1, 1, 2, 2), torch.ones(1, 4, 1, 1))
    assert term == pytest.approx(-4 - 1 / (4 + 1e-6) + 2)


def test_expressivity_and_progressivity_as_built_match_numpy() -> None:
    torch.manual_seed(0)
    model = StemCells(nn.Conv2d(3, 4, 1), nn.Sequential(nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1)))
    b = batch()
    with torch.no_grad():
        f0 = model.stem(b.inputs)
        f1 = model.cells[0](f0)
    h = [np_entropy(f.numpy()) for f in (f0, f1)]
    assert AzExpressivity("as_built")(model, b).score == pytest.approx(sum(h), rel=1e-9)
    assert AzProgressivity("as_built")(model, b).score == pytest.approx(h[1] - h[0], abs=1e-9)


def test_trainability_of_a_linear_block_is_its_weight() -> None:
    torch.manual_seed(0)
    cell = nn.Conv2d(4, 6, 1, bias=False)
    model = StemCells(nn.Conv2d(3, 4, 1), cell)
    b = batch()
    # as_built draws nothing before the probes: the first probe is the last block's
    probe = torch.randint(0, 2, (4, 6, 5, 5), generator=torch.Generator().manual_seed(3)) * 2 - 1
    w = cell.weight.detach().double()[:, :, 0, 0]  # (out, in): g_in = W^T g_out per position
    g_out = probe.double().movedim(1, -1).reshape(-1, 6)
    g_in = g_out @ w
    sigma = np.linalg.svd((g_in.T @ g_out / len(g_out)).numpy(), compute_uv=False).max()
    expected = -sigma - 1 / (sigma + 1e-6) + 2
    assert AzTrainability("as_built", seed=3)(model, b).score == pytest.approx(expected, rel=1e-5)


def test_an_identity_block_is_singular_as_the_authors_minus_inf() -> None:
    model = StemCells(nn.Conv2d(3, 4, 1), nn.Identity())
    result = AzTrainability()(model, batch())
    assert result.status is Status.SINGULAR and result.score == -math.inf


def test_kaiming_fan_in_draws_the_authors_init_without_changing_the_model() -> None:
    model = nn.Sequential(nn.Linear(1000, 400), nn.BatchNorm1d(400))
    nn.init.constant_(model[1].weight, 3.0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    params = kaiming_fan_in(model, torch.Generator().manual_seed(0))
    assert float(params["0.weight"].std()) == pytest.approx(math.sqrt(2 / 1000), rel=0.02)
    assert torch.all(params["0.bias"] == 0) and torch.all(params["1.weight"] == 1)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_kaiming_fan_in_keeps_each_parameters_memory_layout() -> None:
    """A channels_last network's re-initialised weights stay channels_last (the same draws)."""
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
    last = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
    last = last.to(memory_format=torch.channels_last)
    plain = kaiming_fan_in(model, torch.Generator().manual_seed(0))
    kept = kaiming_fan_in(last, torch.Generator().manual_seed(0))
    assert kept["0.weight"].is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(plain["0.weight"], kept["0.weight"])


def test_default_protocol_uses_the_batch_shape_only_and_its_seed() -> None:
    torch.manual_seed(0)
    model = StemCells(nn.Conv2d(3, 4, 1), nn.Sequential(nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1)))
    proxy = AzTrainability(seed=1)
    first = proxy(model, batch(0)).score
    assert proxy(model, batch(1)).score == first  # Gaussian inputs: the images do not matter
    assert AzTrainability(seed=2)(model, batch(0)).score != first
    assert (
        AzExpressivity()(model, batch(0)).score != AzExpressivity("as_built")(model, batch(0)).score
    )


@pytest.mark.parametrize("imagenet", [False, True])
@pytest.mark.parametrize("proxy", [AzExpressivity, AzProgressivity, AzTrainability])
def test_nds_networks_give_their_stems_and_cells_as_features(proxy: type, imagenet: bool) -> None:
    """A DARTS-style network has ``stem0``/``stem1`` and a ModuleList of cells: without
    ``feature_blocks()`` the features were the stem, the pooled map and the head, and
    trainability failed on the head's 2-d output (IndexError)."""
    from naswot.networks.nds import NdsNetwork
    from naswot.testing.fixtures import tiny_genotype

    net = NdsNetwork(tiny_genotype(), width=4, depth=3,
                     imagenet=imagenet)  # fmt: skip
    blocks = feature_modules(net)
    assert blocks == [net.stem0, *([net.stem1] if imagenet else []), *net.cells]
    size = 64 if imagenet else 16
    result = proxy()(net, batch(shape=(4, 3, size, size)))
    assert result.status is Status.OK and math.isfinite(result.score)


@pytest.mark.parametrize("proxy", [AzExpressivity, AzProgressivity, AzTrainability])
def test_resnet_networks_give_their_stem_and_blocks_as_features(proxy: type) -> None:
    from naswot.networks.nds_anynet import AnyNetwork
    from naswot.spaces.nds_anynet import parse_anynet

    net = AnyNetwork(parse_anynet("basic:d1w8,d2w16s2"))
    assert feature_modules(net) == [net.stem, *net.blocks]
    result = proxy()(net, batch(shape=(4, 3, 16, 16)))
    assert result.status is Status.OK and math.isfinite(result.score)


def test_trainability_of_blocks_it_cannot_compare_is_a_clear_error() -> None:
    with pytest.raises(ScoringError, match="feature_blocks"):
        trainability_term(torch.ones(2, 3, 1, 1), torch.ones(2, 3))
    with pytest.raises(ScoringError, match="integer downsampling"):
        trainability_term(torch.ones(2, 3, 5, 5), torch.ones(2, 3, 2, 2))
