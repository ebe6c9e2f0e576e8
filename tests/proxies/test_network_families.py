"""Every registered proxy and variant on one small network of every family naswot builds.

The other conformance tests score a tiny NB201 network; the families differ in what proxies read
from their structure (AZ-NAS's feature blocks, the pre-pooling map of Zen, the heads), and a
proxy that assumed NB201's layout failed on the others (az_trainability raised IndexError on
every NDS network). A degenerate network may end in a status with its reason
(:class:`DegenerateNetworkError`: epsinas underflows in float32 on deep networks, as its
reference code); any other exception, or an ``ok`` score that is not finite, fails.
"""

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

from naswot.data import Batch
from naswot.exceptions import DegenerateNetworkError
from naswot.networks.nasbench101 import NB101Network
from naswot.networks.natsbench_sss import NatsSizeNetwork
from naswot.networks.nds import NdsNetwork
from naswot.networks.nds_anynet import AnyNetwork
from naswot.proxies import PROXIES, Status
from naswot.spaces import SPACES
from naswot.spaces.nds_anynet import parse_anynet
from naswot.testing.fixtures import tiny_genotype

_GENOTYPE = tiny_genotype()

FAMILIES: dict[str, tuple[Callable[[int], nn.Module], int]] = {  # builder of n_classes, image size
    "nds": (lambda k: NdsNetwork(_GENOTYPE, width=4, depth=3, n_classes=k), 32),
    "nds-imagenet": (
        lambda k: NdsNetwork(_GENOTYPE, width=4, depth=3, n_classes=k, imagenet=True),
        64,  # the stems divide by 8: at 32 pixels meco's one image has 1x1 maps in train mode
    ),
    "anynet-basic": (lambda k: AnyNetwork(parse_anynet("basic:d1w8,d2w16s2"), n_classes=k), 32),
    "anynet-bottleneck": (
        lambda k: AnyNetwork(parse_anynet("bottleneck:d1w16b2g4"), n_classes=k),
        32,
    ),
    "nb101": (
        lambda k: NB101Network(
            SPACES.get("nb101").sample(np.random.default_rng(0)),
            n_classes=k,
            stem_channels=8,
            n_stacks=2,
            n_cells=1,
        ),
        32,
    ),
    "nats-sss": (
        lambda k: NatsSizeNetwork(
            SPACES.get("nats-sss").sample(np.random.default_rng(0)), n_classes=k
        ),
        32,
    ),
}
PAIRS = [(name, v) for name in PROXIES.names() for v in PROXIES.get(name).variants]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_proxy_scores_every_family(family: str) -> None:
    make, size = FAMILIES[family]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 3, size, size, generator=g)
    batch = Batch(x, targets=torch.randint(0, 10, (8,), generator=g), dataset="cifar10")
    failures = []
    for name, variant in PAIRS:
        factory = PROXIES.get(name)
        torch.manual_seed(0)
        net = make(10 if factory.needs_classes else 1)
        try:
            result = factory(variant)(net, batch)
        except DegenerateNetworkError:
            continue
        except Exception as error:  # noqa: BLE001 - collected, reported together below
            failures.append(f"{name}:{variant} raised {type(error).__name__}: {error}")
            continue
        if result.status is Status.OK and not math.isfinite(result.score):
            failures.append(f"{name}:{variant} ok with score {result.score}")
    assert not failures, "\n".join(failures)


def test_one_value_per_channel_in_train_mode_is_explained() -> None:
    """ImageNet stems on 32x32 images leave 1x1 maps; meco's one image then fails in BatchNorm."""
    from naswot.exceptions import ScoringError
    from naswot.proxies import Meco

    make, _ = FAMILIES["nds-imagenet"]
    torch.manual_seed(0)
    batch = Batch(torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0)))
    with pytest.raises(ScoringError, match=r"one value per channel.*ImageNet stems on 32x32"):
        Meco()(make(1), batch)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_grasp_pass_gives_the_gradient_proxies_their_scores_bit_for_bit(family: str) -> None:
    """With grasp planned, snip & co. read its double back-propagation's gradients (engine)."""
    from naswot.proxies import Fisher, GradNorm, Grasp, Plain, Snip
    from naswot.proxies._shared import SharedPasses

    make, size = FAMILIES[family]
    g = torch.Generator().manual_seed(1)
    batch = Batch(
        torch.randn(8, 3, size, size, generator=g),
        targets=torch.randint(0, 10, (8,), generator=g),
        dataset="cifar10",
    )
    torch.manual_seed(0)
    net = make(10)
    proxies = [Snip(), GradNorm(), Plain(), Fisher(), Fisher("per_channel"), Grasp()]
    passes = SharedPasses(net, batch, planned={"ce_grads", "ce_hessian"})
    for proxy in proxies:
        together, alone = proxy.score_shared(net, batch, passes), proxy(net, batch)
        assert together.score == alone.score, f"{proxy!r} on {family}"
    assert passes.misses == 2  # ce_hessian, and ce_grads for fisher's summed loss
