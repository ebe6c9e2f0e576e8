import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from naswot.search import Budgeted, BudgetError, RandomSampling, pareto_front, run_search
from naswot.spaces import NasBench201Space


def brute_force_front(scores: list[float], costs: list[float]) -> set[int]:
    ok = [i for i in range(len(scores)) if math.isfinite(scores[i]) and math.isfinite(costs[i])]
    return {
        i
        for i in ok
        if not any(
            scores[j] >= scores[i]
            and costs[j] <= costs[i]
            and (scores[j] > scores[i] or costs[j] < costs[i])
            for j in ok
        )
    }


values = st.sampled_from([0.0, 1.0, 2.0, 3.0, 5.0, -math.inf, math.inf]) | st.floats(-10, 10)


@given(st.lists(st.tuples(values, values), max_size=40))
def test_pareto_front_is_the_brute_force_non_dominated_set(
    points: list[tuple[float, float]],
) -> None:
    scores = [p[0] for p in points]
    costs = [p[1] for p in points]
    front = pareto_front(scores, costs)
    assert set(front) == brute_force_front(scores, costs)
    assert len(front) == len(set(front))
    assert [costs[i] for i in front] == sorted(costs[i] for i in front)


def test_budgeted_never_yields_an_over_budget_architecture() -> None:
    space = NasBench201Space()
    convs = lambda cell: sum(op.startswith("nor_conv") for op in space.key(cell).split("|"))  # noqa: E731
    strategy = Budgeted(RandomSampling(space, seed=0), lambda c: convs(c) <= 1, max_draws=10_000)
    seen: list[int] = []

    def score(archs: list[object]) -> list[float]:
        seen.extend(convs(a) for a in archs)
        return [float(i) for i in range(len(archs))]

    result = run_search(strategy, score, budget=50)
    assert len(result.history) == 50 and max(seen) <= 1
    assert strategy.draws == 50 + strategy.rejected and strategy.rejected > 0


def test_a_budget_that_admits_too_few_is_a_clear_error() -> None:
    space = NasBench201Space()
    strategy = Budgeted(
        RandomSampling(space, seed=0), lambda c: False, max_draws=30, describe="params <= 0 M"
    )
    with pytest.raises(BudgetError, match=r"params <= 0 M admitted only 0 of 30 draws"):
        run_search(strategy, lambda archs: [0.0] * len(archs), budget=5)
