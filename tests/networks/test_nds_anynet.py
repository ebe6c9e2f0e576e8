"""Networks of the NDS residual spaces (ResNet, ResNeXt-A, ResNeXt-B).

Scored at reduced widths (8-32), depths (1-2 blocks per stage) and input size (16x16 for CIFAR,
32x32 for ImageNet) with batches of 4; sampled architectures of the real ranges are scored only
in the slow test.
"""

import numpy as np
import pytest
import torch
from torch import nn

import naswot
from naswot.networks.nds_anynet import (
    AnyNetwork,
    ResidualBlock,
    build_anynet_cifar,
    build_anynet_imagenet,
)
from naswot.proxies.naswot import naswot_kernel
from naswot.spaces.nds_anynet import (
    NdsResNetSpace,
    NdsResNeXtASpace,
    NdsResNeXtBSpace,
    parse_anynet,
)


def _n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_parameter_counts_of_hand_checked_networks() -> None:
    """CIFAR stem 3->16 conv3x3 + BN: 432 + 32 = 464; head 16 -> 1: 17.

    basic d1w16: two conv3x3 16->16 + BN: 2 * (2304 + 32) = 4672, no projection: 5153.
    bottleneck d1w16b2g4: 1x1 16->8 + BN (128 + 16), grouped 3x3 8->8 in 4 groups + BN
    (8 * 2 * 9 + 16), 1x1 8->16 + BN (128 + 32): 464, no projection: 945.
    """
    assert _n_params(AnyNetwork(parse_anynet("basic:d1w16"))) == 5153
    assert _n_params(AnyNetwork(parse_anynet("bottleneck:d1w16b2g4"))) == 945


def test_projection_shortcut_when_width_or_stride_changes() -> None:
    """Projection: 1x1 conv + BN, only when the width or the resolution changes."""
    same = ResidualBlock("basic", 8, 8, stride=1, ratio=1, groups=1)
    wider = ResidualBlock("basic", 8, 16, stride=1, ratio=1, groups=1)
    strided = ResidualBlock("bottleneck", 8, 8, stride=2, ratio=2, groups=2)
    plain = ResidualBlock("plain", 8, 16, stride=2, ratio=1, groups=1)
    assert same.shortcut is None and plain.shortcut is None
    assert wider.shortcut is not None and _n_params(wider.shortcut) == 8 * 16 + 32
    assert strided.shortcut is not None
    assert strided(torch.randn(2, 8, 9, 9)).shape == (2, 8, 5, 5)


@pytest.mark.parametrize(
    "key",
    ["basic:d1w8,d2w16,d1w32", "bottleneck:d1w16b2g4,d2w32b1g2,d1w32b4g2", "plain:d2w8,d1w16"],
)
@pytest.mark.parametrize("imagenet", [False, True], ids=["cifar", "imagenet"])
def test_networks_build_and_score_finitely(key: str, imagenet: bool) -> None:
    arch = parse_anynet(key)
    torch.manual_seed(0)
    net = (build_anynet_imagenet if imagenet else build_anynet_cifar)(arch, n_classes=2)
    size = 32 if imagenet else 16
    x = torch.randn(4, 3, size, size)
    assert net(x).shape == (4, 2)
    result = naswot.score(net, x)
    assert result.status.value == "ok" and np.isfinite(result.score)
    # every ReLU is on the output path: the gate changes nothing
    k_gate, n_gate = naswot_kernel(net.train(), x, gate=True)
    k_free, n_free = naswot_kernel(net, x, gate=False)
    assert torch.equal(k_gate, k_free) and n_gate == n_free


def test_stem_and_stage_resolutions() -> None:
    arch = parse_anynet("basic:d1w8,d1w8,d1w8s1")
    x = torch.randn(2, 3, 32, 32)
    cifar, imagenet = AnyNetwork(arch), AnyNetwork(arch, imagenet=True)
    assert cifar.blocks(cifar.stem(x)).shape == (2, 8, 16, 16)  # strides 1, 2, 1
    assert imagenet.stem(x).shape[-1] == 8  # 7x7 stride 2, max pool stride 2
    assert imagenet.blocks(imagenet.stem(x)).shape == (2, 8, 4, 4)


@pytest.mark.slow
@pytest.mark.parametrize("cls", [NdsResNetSpace, NdsResNeXtASpace, NdsResNeXtBSpace])
def test_sampled_architectures_score_finitely(cls: type[NdsResNetSpace]) -> None:
    """One sampled architecture per space, at its real size, on 4 inputs of 32x32."""
    arch = cls().sample(np.random.default_rng(0))
    result = naswot.score(build_anynet_cifar(arch), torch.randn(4, 3, 32, 32))
    assert result.status.value == "ok" and np.isfinite(result.score)
