import csv
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import naswot
from naswot.exceptions import InvalidParameterError
from naswot.networks.nasbench101 import Cell101, NB101Network, build_nb101, vertex_channels
from naswot.spaces.nasbench101 import (
    CONV1X1,
    CONV3X3,
    INPUT,
    MAXPOOL3X3,
    OUTPUT,
    NasBench101Space,
    Spec101,
    spec_from_json,
)

C3, C1, MP = CONV3X3, CONV1X1, MAXPOOL3X3
SPACE = NasBench101Space()


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny networks: one torch thread; two spin-wait for CPU on a busy 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def spec(matrix: list[list[int]], ops: list[str]) -> Spec101:
    return Spec101(tuple(map(tuple, matrix)), tuple(ops))


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


# From the benchmark: a tfrecord row (8,555,530 parameters) and the README's Inception-like cell
# (2,694,282 parameters, the colab's trainable_parameters), both with stem 128 and 10 classes.
OFFICIAL = spec(
    [
        [0, 1, 0, 0, 1, 1, 0],
        [0, 0, 1, 0, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 1],
        [0, 0, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 0],
    ],
    [INPUT, C3, MP, C3, C3, C1, OUTPUT],
)
INCEPTION = spec(
    [
        [0, 1, 1, 1, 0, 1, 0],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 1, 0, 0],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 0, 0],
    ],
    [INPUT, C1, C3, C3, C3, MP, OUTPUT],
)
CHAIN = spec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, C3, OUTPUT])


@pytest.mark.parametrize(("cell", "expected"), [(OFFICIAL, 8_555_530), (INCEPTION, 2_694_282)])
def test_parameter_counts_match_the_benchmark(cell: Spec101, expected: int) -> None:
    with torch.device("meta"):
        assert n_params(NB101Network(cell, n_classes=10)) == expected


@pytest.mark.parametrize(
    "step", [5, pytest.param(1, marks=pytest.mark.slow, id="all-rows")], ids=str
)
def test_parameter_counts_match_the_subset_table(shared_data: Path, step: int) -> None:
    path = shared_data / "nb101-naslib-zc-subset" / "nb101_subset.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))[::step]
    with torch.device("meta"):
        for r in rows:
            net = NB101Network(spec_from_json(r["matrix"], r["ops"]), n_classes=10)
            assert n_params(net) == round(float(r["params"]) * 1e6)


def test_parameter_count_by_hand() -> None:
    """in -> conv3x3 -> out: per cell a 1x1 projection and a 3x3 conv, each with BN."""

    def conv_bn(c_in: int, c_out: int, k: int) -> int:
        return c_in * c_out * k * k + 2 * c_out

    total = conv_bn(3, 16, 3)
    c_prev = 16
    for c in (16, 32, 64):
        for _ in range(3):
            total += conv_bn(c_prev, c, 1) + conv_bn(c, c, 3)
            c_prev = c
    total += 64 + 1
    assert total == 160_593
    assert n_params(build_nb101(CHAIN)) == total


def test_vertex_channels_follow_the_benchmark_rules() -> None:
    # Inception-like: 4 vertices feed the output; vertex 3 gets the width of vertex 4.
    assert vertex_channels(128, 128, INCEPTION.matrix) == [128, 32, 32, 32, 32, 32, 128]
    # 10 channels over 3 outputs: the first gets the remainder; vertex 1 feeds vertex 2 too.
    m = ((0, 1, 1, 1, 0), (0, 0, 1, 0, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0))
    assert vertex_channels(5, 10, m) == [5, 4, 3, 3, 10]
    assert vertex_channels(5, 10, ((0, 1), (0, 0))) == [5, 10]


def test_cell_truncates_wider_inputs() -> None:
    m = [[0, 1, 1, 1, 0], [0, 0, 1, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0] * 5]
    cell = Cell101(spec(m, [INPUT, C3, C1, MP, OUTPUT]), 5, 10)
    assert cell(torch.randn(2, 5, 6, 6)).shape == (2, 10, 6, 6)
    plain = Cell101(spec([[0, 1], [0, 0]], [INPUT, OUTPUT]), 5, 10)
    assert plain(torch.randn(2, 5, 6, 6)).shape == (2, 10, 6, 6)


def test_skeleton_and_shapes() -> None:
    net = build_nb101(OFFICIAL)
    assert net.stem.op[0].out_channels == 16
    with torch.device("meta"):
        assert NB101Network(CHAIN).stem.op[0].out_channels == 128
    pools = [m for m in net.cells if isinstance(m, nn.MaxPool2d)]
    assert len(pools) == 2 and len(net.cells) == 11
    for size in (16, 9):
        assert net(torch.randn(2, 3, size, size)).shape == (2, 1)


def test_every_relu_is_a_module_and_runs() -> None:
    net = build_nb101(OFFICIAL)
    relus = [m for m in net.modules() if isinstance(m, nn.ReLU)]
    calls: list[int] = []
    handles = [m.register_forward_hook(lambda *_: calls.append(1)) for m in relus]
    net(torch.randn(2, 3, 8, 8))
    for h in handles:
        h.remove()
    # stem + 9 cells x (3 projections from the input + 4 conv vertices)
    assert len(relus) == len(calls) == 1 + 9 * 7


def test_init_is_the_benchmarks_truncated_normal() -> None:
    torch.manual_seed(0)
    conv = build_nb101(OFFICIAL).stem.op[0]
    std = math.sqrt(1 / 27) / 0.87962566103423978
    assert conv.weight.abs().max() <= 2 * std
    assert torch.equal(build_nb101(OFFICIAL, n_classes=3).classifier.bias, torch.zeros(3))


def test_invalid_cells_and_sizes_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="valid"):
        NB101Network(spec([[0, 1, 0], [0, 0, 0], [0, 0, 0]], [INPUT, C3, OUTPUT]))
    with pytest.raises(InvalidParameterError, match="stem_channels"):
        NB101Network(CHAIN, stem_channels=0)


def test_naswot_scores_sampled_cells_and_the_gate_keeps_every_relu() -> None:
    rng = np.random.default_rng(0)
    x = torch.randn(8, 3, 12, 12)
    for cell in [OFFICIAL, SPACE.sample(rng)]:
        torch.manual_seed(1)
        net = build_nb101(cell)
        result = naswot.score(net, x)
        assert result.status.value == "ok" and math.isfinite(result.score)
        gated = naswot.score(net, x, gate=True)
        assert (gated.score, gated.n_units) == (result.score, result.n_units)
