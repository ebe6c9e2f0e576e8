"""Every registered proxy on a tiny NAS-Bench-201 network: conformance, state, determinism."""

import math

import pytest
import torch
from torch import nn

from naswot.data import Batch
from naswot.networks import build_nb201
from naswot.networks.nasbench201 import NB201Network
from naswot.proxies import (
    PROXIES,
    AzTrainability,
    Meco,
    Naswot,
    Proxy,
    ProxyClass,
    Status,
    Vkdnw,
    Zen,
)
from naswot.spaces import parse_arch
from naswot.testing import check_proxy

CELL = parse_arch(
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
)
PAIRS = [(name, v) for name in PROXIES.names() for v in PROXIES.get(name).variants]
EXPECTED = {
    "naswot", "jacob_cov", "params", "flops", "synflow", "snip", "grasp", "fisher", "grad_norm",
    "l2_norm", "plain", "epe_nas", "zen", "zico", "meco", "swap", "epsinas", "ntk",
    "linear_regions", "az_expressivity", "az_progressivity", "az_trainability", "az_complexity",
    "vkdnw",
}  # fmt: skip


def tiny_batch(seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 3, 16, 16, generator=g)
    return Batch(x, targets=torch.randint(0, 10, (8,), generator=g), dataset="cifar10")


def tiny(factory: ProxyClass) -> nn.Module:
    torch.manual_seed(0)
    n_classes = 10 if factory.needs_classes else 1
    return NB201Network(CELL, n_classes=n_classes, channels=4, n_cells=1)


def test_registry_holds_the_suite_with_its_requirements() -> None:
    assert set(PROXIES.names()) == EXPECTED
    for name in PROXIES.names():
        factory = PROXIES.get(name)
        assert factory.name == name
        assert isinstance(factory.higher_is_better, bool)
        assert isinstance(factory.needs_labels, bool)
        assert isinstance(factory.needs_classes, bool)
        assert not factory.needs_labels or factory.needs_classes  # labels need a class head
        assert factory.variants[0] == "default"
        for variant in factory.variants:
            proxy = factory(variant)
            assert isinstance(proxy, Proxy)
            assert proxy.variant == variant
    assert not PROXIES.get("ntk").higher_is_better
    assert {"relu_forward_all", "noise", "normalised"} <= set(Naswot.variants)


@pytest.mark.parametrize(("name", "variant"), PAIRS)
def test_proxy_conforms_on_a_tiny_nb201_network(name: str, variant: str) -> None:
    factory = PROXIES.get(name)
    proxy = factory(variant)
    b = tiny_batch()
    model = tiny(factory).eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    result = check_proxy(proxy, lambda: tiny(factory), b)
    assert result.status is Status.OK and math.isfinite(float(result))
    # state: mode, parameters, BatchNorm statistics and gradients are as they were
    again = proxy(model, b)
    assert again.score == result.score  # eval mode before the call does not matter
    assert not model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k
        assert v.dtype == state[k].dtype, k
    assert all(p.grad is None for p in model.parameters())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


@pytest.mark.parametrize(
    "proxy",
    [
        Zen(seed=1),
        Meco("conv_noise", seed=1),
        Naswot("noise", seed=1),
        AzTrainability(seed=1),
        Vkdnw(seed=1),
    ],
)
def test_seeded_proxies_depend_on_their_seed_only(proxy: Proxy) -> None:
    factory = PROXIES.get(proxy.name)
    first = proxy(tiny(factory), tiny_batch(0)).score
    assert proxy(tiny(factory), tiny_batch(1)).score == first  # the batch values are not used
    other = type(proxy)(proxy.variant, seed=2)  # type: ignore[call-arg]
    assert other(tiny(factory), tiny_batch(0)).score != first


def test_ntk_and_zen_batch_size_checks() -> None:
    single = Batch(torch.randn(1, 3, 16, 16))
    for name in ("ntk", "zen", "jacob_cov", "linear_regions", "swap"):
        factory = PROXIES.get(name)
        with pytest.raises(Exception, match="at least 2"):
            factory()(tiny(factory), single)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "variant"), PAIRS)
def test_proxy_conforms_on_the_benchmark_network(name: str, variant: str) -> None:
    factory = PROXIES.get(name)

    def make() -> nn.Module:
        torch.manual_seed(0)
        return build_nb201(CELL, n_classes=10 if factory.needs_classes else 1)

    b = tiny_batch()
    assert check_proxy(factory(variant), make, b).status is Status.OK
