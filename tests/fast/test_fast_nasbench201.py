import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from naswot._seeding import torch_seeded
from naswot.exceptions import InvalidParameterError
from naswot.fast import FAST_SCORERS, FastNB201
from naswot.fast._common import avg_pool_3x3 as _avg_pool_3x3
from naswot.networks import build_nb201
from naswot.proxies import log_abs_det
from naswot.spaces import NasBench201Space
from naswot.testing.conformance import check_fast_scorer

SPACE = NasBench201Space()
X = torch.randn(24, 3, 32, 32, generator=torch.Generator().manual_seed(0))
SPECIAL = [
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
    "|none~0|+|none~0|nor_conv_1x1~1|+|none~0|nor_conv_3x3~1|none~2|",
    "|nor_conv_1x1~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|avg_pool_3x3~1|none~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|none~0|none~1|none~2|",
    "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
]
CELLS = [SPACE.parse(a) for a in SPECIAL] + [
    SPACE.sample(np.random.default_rng(s)) for s in range(8)
]


def module_and_fast(cell, variant="default", precision="fp32"):
    fast = FastNB201(variant, precision=precision)
    with torch_seeded(3):
        net = build_nb201(cell).train()
    with torch_seeded(3):
        weights = fast.draw_weights(cell)
    return net, fast, weights


@pytest.mark.parametrize("cell", CELLS[:5], ids=SPECIAL[:5])
def test_weights_are_drawn_exactly_like_the_module(cell) -> None:
    net, _, weights = module_and_fast(cell)
    convs = [m.weight for m in net.modules() if isinstance(m, nn.Conv2d)]
    drawn = [w for w in weights if w is not None]
    assert len(convs) == len(drawn)
    assert all(torch.equal(a, b) for a, b in zip(convs, drawn, strict=True))


@pytest.mark.parametrize("variant", ["default", "official"])
def test_same_scores_as_the_module_scorer(variant: str) -> None:
    check_fast_scorer(SPACE, CELLS, module_and_fast, X, variant=variant)


def test_bf16_keeps_the_ranking() -> None:
    exact, fast16 = [], []
    for cell in CELLS[5:]:
        _, fast, weights = module_and_fast(cell)
        _, fast_b, _ = module_and_fast(cell, precision="bf16")
        with torch.no_grad():
            exact.append(log_abs_det(fast.kernel(cell, X, weights)[0]))
            fast16.append(log_abs_det(fast_b.kernel(cell, X, weights)[0]))
    assert stats.spearmanr(exact, fast16).statistic > 0.95
    assert max(abs(a - b) for a, b in zip(exact, fast16, strict=True)) < 1.0


def test_pool_matches_avg_pool2d() -> None:
    x = torch.randn(4, 8, 7, 5).contiguous(memory_format=torch.channels_last)
    expected = torch.nn.functional.avg_pool2d(x, 3, 1, 1, count_include_pad=False)
    torch.testing.assert_close(_avg_pool_3x3(x), expected)


def test_invalid_options() -> None:
    with pytest.raises(InvalidParameterError, match="variant"):
        FastNB201("paper")
    with pytest.raises(InvalidParameterError, match="precision"):
        FastNB201(precision="fp16")
    with pytest.raises(InvalidParameterError, match="'n_cells' parameter of FastNB201"):
        FastNB201(n_cells=0)
    with pytest.raises(InvalidParameterError, match="'channels'"):
        FastNB201(channels=0)


def test_registered_for_nb201() -> None:
    assert FAST_SCORERS.names() == ["nb101", "nb201"]
    assert isinstance(FAST_SCORERS.get("nb201")("official", precision="bf16"), FastNB201)
