import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from naswot.evaluation import correlate, ndcg, top_k_precision
from naswot.exceptions import InvalidParameterError

pairs = st.integers(3, 60).flatmap(
    lambda n: st.tuples(
        st.lists(st.one_of(st.floats(-1e3, 1e3), st.just(-math.inf)), min_size=n, max_size=n),
        st.lists(st.floats(0, 100), min_size=n, max_size=n),
    )
)


@settings(max_examples=60, deadline=None)
@given(pairs)
def test_matches_scipy(data: tuple[list[float], list[float]]) -> None:
    s, a = np.array(data[0]), np.array(data[1])
    if np.all(s == s[0]) or np.all(a == a[0]):
        with pytest.raises(InvalidParameterError, match="all equal"):
            correlate(s, a, n_bootstrap=0)
        return
    report = correlate(s, a, n_bootstrap=0)
    tau = stats.kendalltau(s, a).statistic
    rho = stats.spearmanr(s, a).statistic
    assert report.kendall_tau.value == pytest.approx(tau, nan_ok=True)
    assert report.spearman_rho.value == pytest.approx(rho, nan_ok=True)
    assert report.n_singular == int(np.sum(s == -math.inf))


def test_bootstrap_interval_brackets_the_value() -> None:
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 100, 300)
    s = a + rng.normal(0, 20, 300)
    report = correlate(s, a, n_bootstrap=200, seed=1)
    assert report.kendall_tau.low < report.kendall_tau.value < report.kendall_tau.high
    assert report.spearman_rho.low < report.spearman_rho.value < report.spearman_rho.high
    assert correlate(s, a, n_bootstrap=200, seed=1) == report


def test_top_k_precision_by_hand() -> None:
    acc = np.array([10.0, 20, 30, 40, 50, 60, 70, 80, 90, 100])
    assert top_k_precision(acc, acc, 0.2) == 1.0
    assert top_k_precision(-acc, acc, 0.2) == 0.0
    scores = np.array([0.0, 0, 0, 0, 0, 0, 0, 0, 5, 1])  # ranks cell 8 first, then 9
    assert top_k_precision(scores, acc, 0.1) == 0.0
    assert top_k_precision(scores, acc, 0.2) == 1.0


def test_invalid_input() -> None:
    with pytest.raises(InvalidParameterError, match="NaN"):
        correlate(np.array([1.0, np.nan, 2.0]), np.array([1.0, 2.0, 3.0]))
    with pytest.raises(InvalidParameterError, match="at least 3"):
        correlate(np.array([1.0, 2.0]), np.array([1.0, 2.0]))


def test_ndcg_by_hand() -> None:
    acc = np.array([1.0, 2.0, 3.0])  # gains 2^a - 1 = 1, 3, 7
    worst_first = np.array([3.0, 2.0, 1.0])
    dcg = 1 + 3 / math.log2(3) + 7 / 2
    idcg = 7 + 3 / math.log2(3) + 1 / 2
    assert ndcg(worst_first, acc, k=3) == pytest.approx(dcg / idcg)
    assert ndcg(worst_first, acc, k=1) == pytest.approx(1 / 7)
    assert ndcg(-worst_first, acc, k=1000) == pytest.approx(1.0)  # k capped at n


@given(st.lists(st.floats(0, 100), min_size=3, max_size=30), st.integers(1, 40))
@settings(max_examples=50, deadline=None)
def test_ndcg_is_in_0_1_and_1_for_the_accuracy_itself(acc: list[float], k: int) -> None:
    a = np.array(acc)
    scores = np.random.default_rng(0).normal(size=len(a))
    value = ndcg(scores, a, k)
    assert math.isnan(value) or 0.0 <= value <= 1.0 + 1e-12
    if a.max() > 0:
        assert ndcg(a, a, k) == pytest.approx(1.0)


def test_ndcg_does_not_overflow_on_percent_accuracies() -> None:
    acc = np.array([94.0, 93.0, 10.0, 90.0])
    assert 0 < ndcg(np.array([0.0, 1.0, 2.0, 3.0]), acc, k=2) < 1
    report = correlate(np.array([4.0, 3.0, 1.0, 2.0]), acc, n_bootstrap=0, ndcg_k=2)
    assert report.ndcg_k == 2 and report.ndcg == pytest.approx(1.0)
