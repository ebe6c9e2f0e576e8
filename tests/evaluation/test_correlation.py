import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from naswot.evaluation import correlate, top_k_precision
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
