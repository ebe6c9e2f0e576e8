import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

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
