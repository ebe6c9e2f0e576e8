import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from naswot._seeding import torch_seeded
from naswot.exceptions import InvalidParameterError
from naswot.fast import FAST_SCORERS, FastNB101
from naswot.networks import build_nb101
from naswot.networks.nasbench101 import Cell101
from naswot.proxies import log_abs_det, naswot_kernel
from naswot.spaces import NasBench101Space, Spec101
from naswot.testing.conformance import check_fast_scorer

SPACE = NasBench101Space()
X = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(0))
SPECIAL = [
    # input -> output only: each cell is one projection
    Spec101(((0, 1), (0, 0)), ("input", "output")),
    # a max-pool vertex and the input -> output projection
    Spec101(((0, 1, 1), (0, 0, 1), (0, 0, 0)), ("input", "maxpool3x3", "output")),
    # a chain with truncation (vertex 1 feeds vertex 2 and the output)
    Spec101(
        ((0, 1, 0, 0), (0, 0, 1, 1), (0, 0, 0, 1), (0, 0, 0, 0)),
        ("input", "conv3x3-bn-relu", "conv1x1-bn-relu", "output"),
    ),
]
CELLS = SPECIAL + [SPACE.sample(np.random.default_rng(s)) for s in range(5)]


def module_and_fast(cell, variant="default", precision="fp32"):
    fast = FastNB101(variant, precision=precision)
    with torch_seeded(3):
        net = build_nb101(cell).train()
    with torch_seeded(3):
        weights = fast.draw_weights(cell)
    return net, fast, weights


def construction_order(net) -> list[torch.Tensor]:
    """The module's conv weights in the order its forward uses them."""
    convs = [net.stem.op[0].weight]
    for cell in net.cells:
        if not isinstance(cell, Cell101):
            continue
        for t in range(1, cell.spec.n_vertices - 1):
            for group in (cell.projections, cell.vertex_ops):
                unit = dict(group.items()).get(str(t))
                if unit is not None and hasattr(unit, "op"):
                    convs.append(unit.op[0].weight)
        if "out" in cell.projections:
            convs.append(cell.projections["out"].op[0].weight)
    assert len(convs) == sum(isinstance(m, nn.Conv2d) for m in net.modules())
    return convs


@pytest.mark.parametrize("cell", CELLS[:5], ids=range(5))
def test_weights_are_drawn_exactly_like_the_module(cell) -> None:
    net, _, weights = module_and_fast(cell)
    convs = construction_order(net)
    assert len(convs) == len(weights)
    assert all(torch.equal(a, b) for a, b in zip(convs, weights, strict=True))


@pytest.mark.parametrize("variant", ["default", "official"])
def test_same_scores_as_the_module_scorer(variant: str) -> None:
    check_fast_scorer(SPACE, CELLS, module_and_fast, X, variant=variant)


def test_the_gate_is_a_no_op_so_the_gated_module_score_agrees() -> None:
    cell = CELLS[4]
    net, fast, weights = module_and_fast(cell)
    k_gated, _ = naswot_kernel(net, X, gate=True)
    with torch.no_grad():
        k_fast = fast.kernel(cell, X, weights)[0]
    assert abs(log_abs_det(k_gated) - log_abs_det(k_fast)) < 1e-3


def test_bf16_keeps_the_ranking() -> None:
    exact, fast16 = [], []
    for cell in CELLS[2:]:
        _, fast, weights = module_and_fast(cell)
        with torch.no_grad():
            exact.append(log_abs_det(fast.kernel(cell, X, weights)[0]))
            fast16.append(log_abs_det(FastNB101(precision="bf16").kernel(cell, X, weights)[0]))
    assert stats.spearmanr(exact, fast16).statistic > 0.9
    assert max(abs(a - b) for a, b in zip(exact, fast16, strict=True)) < 1.0


def test_invalid_options_and_cells() -> None:
    with pytest.raises(InvalidParameterError, match="variant"):
        FastNB101("paper")
    with pytest.raises(InvalidParameterError, match="precision"):
        FastNB101(precision="fp16")
    disconnected = Spec101(((0, 0), (0, 0)), ("input", "output"))
    with pytest.raises(InvalidParameterError, match="valid"):
        FastNB101().draw_weights(disconnected)


def test_registered_for_nb101() -> None:
    assert isinstance(FAST_SCORERS.get("nb101")("official", precision="bf16"), FastNB101)
