from pathlib import Path

import torch

from naswot.costs import Cost, LatencyCache, count_cost, measure_latency, network_cost
from naswot.data.batch import Batch
from naswot.networks import build_nb201
from naswot.proxies.flops import Flops
from naswot.spaces import NasBench201Space

CELL = "|nor_conv_1x1~0|+|none~0|skip_connect~1|+|none~0|avg_pool_3x3~1|none~2|"


def test_costs_agree_with_the_params_and_flops_proxies() -> None:
    space = NasBench201Space()
    cell = space.parse(CELL)
    cost = network_cost(space, build_nb201, cell, dataset="cifar10")
    net = build_nb201(cell, n_classes=10)
    flops = Flops()(net, Batch(inputs=torch.zeros(4, 3, 32, 32))).score
    assert cost == Cost(params=sum(p.numel() for p in net.parameters()), flops=int(flops or 0))
    assert network_cost(space, build_nb201, cell, dataset="cifar100").params > cost.params


def test_a_hand_counted_linear_layer() -> None:
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 5))
    assert count_cost(net, (3, 2, 2)) == Cost(params=12 * 5 + 5, flops=12 * 5)


def test_latency_is_a_median_of_repeats_and_cached(tmp_path: Path) -> None:
    ticks = iter([0.0, 0.0, 0.003, 0.0, 0.002, 0.0, 0.100])  # warmup untimed; then 3, 2, 100 ms
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 5))
    ms = measure_latency(net, (3, 2, 2), repeats=3, warmup=1, clock=lambda: next(ticks))
    assert abs(ms - 3.0) < 1e-9
    cache = LatencyCache(tmp_path / "s.sqlite")
    calls = []

    def measure() -> float:
        calls.append(1)
        return 4.5

    device = torch.device("cpu")
    assert cache.get_or_measure("nb201", CELL, "cifar10", device, measure, repeats=20) == 4.5
    cache.close()
    again = LatencyCache(tmp_path / "s.sqlite")
    assert again.get_or_measure("nb201", CELL, "cifar10", device, measure, repeats=20) == 4.5
    assert calls == [1] and again.hits == 1
    again.close()
