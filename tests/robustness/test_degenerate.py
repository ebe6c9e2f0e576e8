"""Degenerate networks get named statuses, are stored (not retried) and skipped by search."""

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from naswot.data import load_batch
from naswot.exceptions import DegenerateNetworkError
from naswot.networks import build_nb201
from naswot.proxies import DEGENERATE, PROXIES, ScoreResult, Status
from naswot.scoring import score_architectures, score_one
from naswot.search import RandomSampling, run_search
from naswot.spaces import NasBench201Space
from naswot.store import ResultStore

SPACE = NasBench201Space()
NO_PATH = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
GOOD = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
BIG = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
BATCH = load_batch("cifar10", batch_size=8, seed=1)

# What each proxy reports for a cell whose output does not depend on its input.
NO_PATH_STATUS = {
    "naswot": Status.SINGULAR,  # every code is 0: K is constant, log|K| = -inf
    "jacob_cov": Status.CONSTANT,
    "epe_nas": Status.CONSTANT,
    "zen": Status.CONSTANT,
    "epsinas": Status.CONSTANT,
    "zico": Status.CONSTANT,
    "ntk": Status.SINGULAR,  # no score: an infinite condition number
}


def score(name: str, arch: str, variant: str = "default") -> ScoreResult:
    proxy = PROXIES.get(name)(variant)
    result, _ = score_one(
        SPACE.parse(arch),
        space=SPACE,
        builder=build_nb201,
        proxy=proxy,
        batch=BATCH,
        seed=1,
        device=torch.device("cpu"),
        n_classes=10 if proxy.needs_classes else 1,
    )
    return result


@pytest.mark.parametrize("name", sorted(NO_PATH_STATUS))
def test_output_independent_of_input_has_a_named_status(name: str) -> None:
    result = score(name, NO_PATH)
    assert result.status is NO_PATH_STATUS[name], result.error
    if result.status is not Status.SINGULAR or name == "ntk":
        assert result.score is None and result.error
    assert score(name, GOOD).status is Status.OK


def test_synflow_float32_overflows_by_name_and_float64_does_not() -> None:
    result = score("synflow", BIG, "float32")
    assert result.status is Status.OVERFLOW and result.score is None
    assert "non-finite" in (result.error or "")
    assert score("synflow", BIG).status is Status.OK


def test_a_model_without_relu_is_no_relu() -> None:
    from naswot import score as naswot_score

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten())

    result = naswot_score(model, BATCH.inputs, on_error="record")
    assert result.status is Status.NO_RELU and result.score is None


def test_degenerate_results_are_stored_and_not_retried(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "s.sqlite")
    proxy = PROXIES.get("jacob_cov")("default")
    kwargs = dict(space=SPACE, builder=build_nb201, proxy=proxy, batch=BATCH, seed=1, store=store)
    first = score_architectures([NO_PATH, GOOD], **kwargs)  # type: ignore[arg-type]
    assert [r.status for r in first] == ["constant", "ok"]
    again = score_architectures([NO_PATH, GOOD], **kwargs)  # type: ignore[arg-type]
    assert all(r.cached for r in again)
    assert [(r.status, r.score, r.error) for r in again] == [
        (r.status, r.score, r.error) for r in first
    ]
    assert not again[0].usable and again[1].usable
    store.close()


def test_search_skips_every_degenerate_status_by_rule() -> None:
    statuses = [Status.CONSTANT, Status.NO_RELU, Status.OVERFLOW, Status.SINGULAR, Status.OK]
    values: dict[str, float | None] = {}

    def score_fn(archs: list[str]) -> list[float | None]:
        out: list[float | None] = []
        for i, a in enumerate(archs):
            status = statuses[i % len(statuses)]
            # what the scoring runner returns: a score only for ok (and -inf for singular)
            v = 1e9 if status is Status.OK else (-math.inf if status is Status.SINGULAR else None)
            values[SPACE.key(a)] = v if v is None else float(v) - i  # distinct ok scores
            out.append(values[SPACE.key(a)])
        return out

    result = run_search(RandomSampling(SPACE, seed=0), score_fn, budget=10)  # type: ignore[arg-type]
    assert result.best is not None and result.best.score is not None
    assert math.isfinite(result.best.score)
    assert result.n_skipped == 8
    assert {Status.CONSTANT, Status.NO_RELU, Status.OVERFLOW} == DEGENERATE


def deep_bn_net(depth: int) -> nn.Module:
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Conv2d(3, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU()]
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(3 * 8 * 8, 2))


def test_epsinas_underflow_is_overflow_in_float32_and_scored_in_float64() -> None:
    from naswot.data import Batch
    from naswot.proxies import Epsinas

    x = torch.randn(6, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    net = deep_bn_net(12)
    small = Epsinas._outputs(net, x, 1e-7, torch.float32)
    assert float(small.max() - small.min()) == 0.0  # float32 loses the spread
    wide = Epsinas._outputs(net, x, 1e-7, torch.float64)
    assert float(wide.max() - wide.min()) > 0.0
    with pytest.raises(DegenerateNetworkError, match=r"float32.*epsinas:float64") as info:
        Epsinas()(net, Batch(inputs=x))  # the reference's float32 gets NaN here
    assert info.value.status == Status.OVERFLOW.value
    result = Epsinas("float64")(net, Batch(inputs=x))
    assert result.status is Status.OK and result.score is not None and result.score >= 0
    shallow = deep_bn_net(2)  # no underflow: both variants agree
    a = Epsinas()(shallow, Batch(inputs=x)).score
    b = Epsinas("float64")(shallow, Batch(inputs=x)).score
    assert a is not None and b is not None and abs(a - b) < 1e-5


def test_zen_leaves_dead_branches_out_instead_of_failing() -> None:
    # node 1 is fed only by `none`, so the conv on edge 1->3 sees zeros: its BatchNorm input has
    # zero variance. The output still depends on the input through edge 0->3.
    dead_branch = "|none~0|+|none~0|avg_pool_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|none~2|"
    result = score("zen", dead_branch)
    assert result.status is Status.OK and result.score is not None
    assert math.isfinite(result.score)


def test_degenerate_errors_pickle_and_refuse_unknown_statuses() -> None:
    import pickle

    from naswot.exceptions import InvalidParameterError

    e = pickle.loads(pickle.dumps(DegenerateNetworkError("flat", status="constant")))
    assert isinstance(e, DegenerateNetworkError) and e.status == "constant" and str(e) == "flat"
    with pytest.raises(InvalidParameterError, match="must be one of"):
        DegenerateNetworkError("x", status="dead")
