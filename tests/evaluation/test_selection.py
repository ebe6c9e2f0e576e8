import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from naswot.evaluation.leaderboard import leaderboard
from naswot.evaluation.selection import select_ensemble
from naswot.exceptions import InvalidParameterError


def _pool(seed: int, n: int = 200) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    acc = rng.normal(size=n)
    scores = {
        "good_a": acc + rng.normal(scale=1.0, size=n),
        "good_b": acc + rng.normal(scale=1.0, size=n),
        "noise": rng.normal(size=n),
        "inverted": -acc + rng.normal(scale=1.0, size=n),  # lower is better
    }
    return scores, {"c10": acc, "c100": acc + rng.normal(scale=0.1, size=n)}


ORIENT = {"good_a": True, "good_b": True, "noise": True, "inverted": False}


def test_picks_the_informative_members_and_respects_orientation() -> None:
    scores, acc = _pool(0)
    result = select_ensemble(scores, ORIENT, acc, max_members=3)
    assert set(result.spec.members) == {"good_a", "good_b", "inverted"}
    assert "noise" not in result.spec.members
    assert result.ranking[0][0] == result.spec.label
    # 2 methods x (C(4,2) + C(4,3)) candidates
    assert result.n_tried == 2 * (6 + 4)


def test_objective_is_the_scipy_spearman_of_the_combined_score() -> None:
    scores, acc = _pool(1)
    result = select_ensemble(scores, ORIENT, acc)
    combined = result.spec.combine(scores, higher_is_better=ORIENT)
    for column, a in acc.items():
        expected = stats.spearmanr(combined, a).statistic
        assert result.spearman[column] == pytest.approx(expected, abs=1e-12)
    assert result.objective == pytest.approx(np.mean(list(result.spearman.values())))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(5, 40), nan_at=st.integers(0, 4))
def test_objective_matches_scipy_with_failures(seed: int, n: int, nan_at: int) -> None:
    scores, acc = _pool(seed, n)
    scores["good_a"][nan_at] = math.nan  # a failed cell ranks lowest
    result = select_ensemble(scores, ORIENT, acc, min_members=1, max_members=2)
    combined = result.spec.combine(scores, higher_is_better=ORIENT)
    expected = np.mean([stats.spearmanr(combined, a).statistic for a in acc.values()])
    assert result.objective == pytest.approx(expected, abs=1e-9)
    assert all(result.objective >= obj - 1e-12 for _, obj in result.ranking)


def test_ties_go_to_the_smaller_ensemble() -> None:
    acc = {"c10": np.arange(10.0)}
    scores = {"a": np.arange(10.0), "b": np.arange(10.0)}
    result = select_ensemble(scores, {"a": True, "b": True}, acc, min_members=1)
    assert result.spec.members == ("a",)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"methods": ("vote",)}, "methods"),
        ({"min_members": 3, "max_members": 2}, "min_members"),
    ],
)
def test_bad_parameters(kwargs: dict[str, object], message: str) -> None:
    scores, acc = _pool(2, 20)
    with pytest.raises(InvalidParameterError, match=message):
        select_ensemble(scores, ORIENT, acc, **kwargs)  # type: ignore[arg-type]


def test_missing_orientation_and_lengths() -> None:
    scores, acc = _pool(3, 20)
    with pytest.raises(InvalidParameterError, match="orientation"):
        select_ensemble(scores, {"good_a": True}, acc)
    with pytest.raises(InvalidParameterError, match="same cells"):
        select_ensemble(scores, ORIENT, {"c10": np.zeros(5)})


def _top_versus_order(n: int = 400) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """'top' knows the best 5 % of cells exactly and nothing else; 'order' knows the order
    of the rest and shuffles the best 5 % among the bottom half."""
    rng = np.random.default_rng(7)
    acc = np.sort(rng.normal(size=n))  # cell i is the i-th worst
    top = rng.normal(size=n) - 10.0
    top[-n // 20 :] = acc[-n // 20 :]
    order = acc.copy()
    order[-n // 20 :] = rng.uniform(acc[0], acc[n // 2], size=n // 20)
    return {"top": top, "order": order}, {"c10": acc}


def test_the_search_objective_rewards_the_top_of_the_order() -> None:
    scores, acc = _top_versus_order()
    orient = {"top": True, "order": True}
    by_rho = select_ensemble(scores, orient, acc, min_members=1, max_members=1)
    by_search = select_ensemble(
        scores, orient, acc, min_members=1, max_members=1, objective="search", search_n=50
    )
    assert by_rho.spec.members == ("order",) and by_rho.criterion == "spearman"
    assert by_search.spec.members == ("top",) and by_search.criterion == "search@50"
    assert by_search.objective == by_search.search["c10"]
    assert by_search.spearman["c10"] < by_rho.spearman["c10"]


@pytest.mark.parametrize("method", ["log_rank", "rank_sum"])
def test_the_search_objective_is_the_leaderboards_search_column(method: str) -> None:
    scores, acc = _pool(4, 300)
    scores["good_a"][[3, 50, 51]] = math.nan  # failures stay lowest within each draw
    result = select_ensemble(
        scores, ORIENT, acc, methods=(method,), objective="search", search_n=20,
        search_runs=300, seed=3,
    )  # fmt: skip
    rows = leaderboard(
        scores, ORIENT, acc, ensembles=[result.spec], n_bootstrap=0, n_search=20, n_runs=300,
        seed=3,
    )  # fmt: skip
    row = next(r for r in rows if r.label == result.spec.label)
    assert result.search == pytest.approx(row.search_mean, abs=1e-12)
    assert result.objective == pytest.approx(np.mean(list(row.search_mean.values())), abs=1e-12)
    assert all(result.objective >= obj for _, obj in result.ranking)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"objective": "kendall"}, "objective"),
        ({"objective": "search", "search_n": 0}, "search_n"),
        ({"objective": "search", "search_runs": 0}, "search_runs"),
    ],
)
def test_bad_search_parameters(kwargs: dict[str, object], message: str) -> None:
    scores, acc = _pool(5, 20)
    with pytest.raises(InvalidParameterError, match=message):
        select_ensemble(scores, ORIENT, acc, **kwargs)  # type: ignore[arg-type]
