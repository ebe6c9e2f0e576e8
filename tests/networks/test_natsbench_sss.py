import math
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from torch import nn

import naswot
from naswot.networks.nasbench201 import NB201Network
from naswot.networks.natsbench_sss import NatsSizeNetwork, SizeCell, build_nats_sss
from naswot.spaces.nasbench201 import parse_arch
from naswot.spaces.natsbench_sss import CELL, NatsSizeSpace, parse_size

SPACE = NatsSizeSpace()


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny networks: one torch thread; two spin-wait for CPU on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def conv_bn(c_in: int, c_out: int, k: int) -> int:
    return c_in * c_out * k * k + 2 * c_out


def expected_params(c: tuple[int, ...], n_classes: int) -> int:
    """By hand: the fixed cell has 5 3x3 convs and a skip (a 1x1 conv + BN between widths)."""
    total = conv_bn(3, c[0], 3)
    c_prev = c[0]
    for index, c_out in enumerate(c):
        if index % 2:  # reduction block: two 3x3 ReLU-conv-BN and a 1x1 conv shortcut
            total += conv_bn(c_prev, c_out, 3) + conv_bn(c_out, c_out, 3) + c_prev * c_out
        else:  # two convs from the cell input, three inside, the skip from the input
            total += 2 * conv_bn(c_prev, c_out, 3) + 3 * conv_bn(c_out, c_out, 3)
            total += 0 if c_prev == c_out else conv_bn(c_prev, c_out, 1)
        c_prev = c_out
    return total + 2 * c[-1] + c[-1] * n_classes + n_classes


@pytest.mark.parametrize("key", ["64:64:64:64:64", "8:8:8:8:8", "8:16:24:32:40", "64:8:16:56:24"])
def test_parameter_counts_by_hand(key: str) -> None:
    arch = parse_size(key)
    assert n_params(build_nats_sss(arch, n_classes=10)) == expected_params(arch.channels, 10)


def test_largest_network() -> None:
    assert n_params(build_nats_sss(parse_size("64:64:64:64:64"), n_classes=10)) == 713_674


def test_matches_nb201_with_one_cell_per_stage() -> None:
    """16:32:32:64:64 is the NB201 network of the fixed cell with N=1: same modules, same init."""
    x = torch.randn(4, 3, 16, 16)
    torch.manual_seed(0)
    nats = build_nats_sss(parse_size("16:32:32:64:64"))
    torch.manual_seed(0)
    nb201 = NB201Network(parse_arch(CELL), n_cells=1)
    assert n_params(nats) == n_params(nb201)
    assert torch.equal(nats(x), nb201(x))


def test_cells_change_width_like_the_benchmark() -> None:
    cell = parse_arch("|avg_pool_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|none~2|")
    x = torch.randn(2, 8, 6, 6)
    assert SizeCell(cell, 8, 24)(x).shape == (2, 24, 6, 6)
    assert SizeCell(cell, 8, 8)(x).shape == (2, 8, 6, 6)


def test_every_relu_is_a_module_and_runs() -> None:
    net = build_nats_sss(parse_size("8:16:24:32:40"))
    relus = [m for m in net.modules() if isinstance(m, nn.ReLU)]
    calls: list[int] = []
    handles = [m.register_forward_hook(lambda *_: calls.append(1)) for m in relus]
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 1)
    for h in handles:
        h.remove()
    # 5 convs x 3 cells + 2 x 2 in the reduction blocks + the final ReLU
    assert len(relus) == len(calls) == 5 * 3 + 4 + 1


def test_naswot_scores_sampled_networks_and_the_gate_keeps_every_relu() -> None:
    rng = np.random.default_rng(0)
    x = torch.randn(8, 3, 12, 12)
    for arch in [SPACE.sample(rng) for _ in range(2)]:
        torch.manual_seed(1)
        net = build_nats_sss(arch)
        result = naswot.score(net, x)
        assert result.status.value == "ok" and math.isfinite(result.score)
        gated = naswot.score(net, x, gate=True)
        assert (gated.score, gated.n_units) == (result.score, result.n_units)


def test_invalid_head_is_refused() -> None:
    with pytest.raises(ValueError, match="n_classes"):
        NatsSizeNetwork(parse_size("8:8:8:8:8"), n_classes=0)
