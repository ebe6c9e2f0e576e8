import pytest
import torch
from torch import nn

from naswot.exceptions import InvalidParameterError
from naswot.networks import NETWORKS, NB201Network, build_nb201
from naswot.spaces import SPACES, NasBench201Space, parse_arch

ALL_3X3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
NO_PATH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|none~0|none~1|none~2|"


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def expected_params(n_conv3: int, n_conv1: int, n_classes: int) -> int:
    """Parameter count worked out by hand for C=16, N=5."""
    total = 3 * 16 * 9 + 2 * 16  # stem conv + BN
    for c in (16, 32, 64):
        per_cell = n_conv3 * (c * c * 9 + 2 * c) + n_conv1 * (c * c + 2 * c)
        total += 5 * per_cell
    for c_in, c_out in ((16, 32), (32, 64)):  # reduction blocks
        total += c_in * c_out * 9 + 2 * c_out + c_out * c_out * 9 + 2 * c_out + c_in * c_out
    total += 2 * 64 + 64 * n_classes + n_classes  # last BN + classifier
    return total


def test_largest_cell_has_the_benchmarks_parameter_count() -> None:
    net = build_nb201(parse_arch(ALL_3X3), n_classes=10)
    assert n_params(net) == 1_531_546 == expected_params(6, 0, 10)


@pytest.mark.parametrize(
    ("arch", "n3", "n1"),
    [
        (NO_PATH, 2, 1),
        (
            "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
            0,
            2,
        ),
    ],
)
def test_parameter_counts_by_hand(arch: str, n3: int, n1: int) -> None:
    assert n_params(build_nb201(parse_arch(arch), n_classes=10)) == expected_params(n3, n1, 10)
    assert n_params(build_nb201(parse_arch(arch))) == expected_params(n3, n1, 1)


def test_cell_without_path_gives_constant_output() -> None:
    torch.manual_seed(0)
    net = build_nb201(parse_arch(NO_PATH))
    out = net(torch.randn(8, 3, 32, 32))
    assert torch.allclose(out, out[0].expand_as(out))


def test_output_shape_and_scoring_head() -> None:
    net = build_nb201(parse_arch(ALL_3X3))
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 1)
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 1)


def test_every_relu_is_a_module_and_runs() -> None:
    net = build_nb201(parse_arch(ALL_3X3))
    relus = [m for m in net.modules() if isinstance(m, nn.ReLU)]
    calls: list[int] = []
    handles = [m.register_forward_hook(lambda *_: calls.append(1)) for m in relus]
    net(torch.randn(2, 3, 32, 32))
    for h in handles:
        h.remove()
    # 6 conv edges x 15 cells + 2 x 2 in the reduction blocks + the final ReLU
    assert len(relus) == len(calls) == 6 * 15 + 4 + 1


def test_ops_are_built_as_in_the_benchmark() -> None:
    net = NB201Network(
        parse_arch(
            "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|nor_conv_3x3~1|none~2|"
        )
    )
    cell = net.cells[0]
    pool = cell.layers[0]
    assert isinstance(pool, nn.AvgPool2d)
    assert (pool.kernel_size, pool.stride, pool.padding, pool.count_include_pad) == (3, 1, 1, False)
    assert isinstance(cell.layers[1], nn.Identity)
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(cell.layers[2](x), torch.zeros_like(x))
    conv = cell.layers[4].op
    assert isinstance(conv[0], nn.ReLU) and not conv[0].inplace
    assert conv[1].bias is None and conv[1].kernel_size == (3, 3)
    assert isinstance(net.lastact[1], nn.ReLU)


def test_invalid_sizes_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="n_classes"):
        NB201Network(parse_arch(ALL_3X3), n_classes=0)


def test_every_space_has_a_builder() -> None:
    assert set(SPACES.names()) <= set(NETWORKS.names())
    assert isinstance(SPACES.get("nb201"), NasBench201Space)
