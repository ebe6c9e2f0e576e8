import math

import numpy as np
import pytest

from naswot.ensembles import EnsembleSpec
from naswot.evaluation.leaderboard import leaderboard, render_markdown
from naswot.exceptions import InvalidParameterError

ACC = np.arange(20, dtype=np.float64)  # cell i has accuracy i


def rows_by_label(**kwargs: object) -> dict[str, object]:
    rows = leaderboard(**kwargs)  # type: ignore[arg-type]
    return {r.label: r for r in rows}


def test_perfect_and_reversed_proxies_are_oriented() -> None:
    rows = rows_by_label(
        scores={"good": ACC * 3, "ntk": -ACC, "params": ACC**2},
        higher_is_better={"good": True, "ntk": False, "params": True},
        accuracy={"cifar10": ACC, "cifar100": ACC + 1},
        n_bootstrap=20,
        n_search=5,
        n_runs=50,
    )
    for label in ("good", "ntk", "params"):
        row = rows[label]
        assert row.kendall_tau["cifar10"].value == pytest.approx(1.0)  # type: ignore[attr-defined]
        assert row.spearman_rho["cifar100"].value == pytest.approx(1.0)  # type: ignore[attr-defined]
        assert row.rho_params == pytest.approx(1.0)  # type: ignore[attr-defined]
        assert row.n_failed == 0  # type: ignore[attr-defined]


def test_rho_params_of_a_rank_sum_over_many_cells() -> None:
    # a rank sum over 600 cells reaches 1,200: a score, not a percent accuracy (nDCG's domain)
    acc = np.arange(600, dtype=np.float64) / 10
    rows = rows_by_label(
        scores={"a": acc, "params": acc**2},
        higher_is_better={"a": True, "params": True},
        accuracy={"cifar10": acc},
        ensembles=[EnsembleSpec.parse("rank_sum:a+params")],
        n_bootstrap=0,
        n_search=5,
        n_runs=20,
    )
    assert rows["rank_sum:a+params"].rho_params == pytest.approx(1.0)  # type: ignore[attr-defined]


def test_search_picks_the_best_of_each_draw_and_failures_never_win() -> None:
    scores = ACC.copy()
    scores[19] = math.nan  # the best cell fails: a search never picks it
    rows = rows_by_label(
        scores={"p": scores},
        higher_is_better={"p": True},
        accuracy={"cifar10": ACC},
        n_bootstrap=0,
        n_search=20,
        n_runs=200,
        seed=3,
    )
    row = rows["p"]
    assert row.n_failed == 1  # type: ignore[attr-defined]
    draws = np.random.default_rng(3).integers(0, 20, size=(200, 20))
    expected = np.where(draws == 19, -1, draws).max(axis=1)
    assert row.search_mean["cifar10"] == pytest.approx(expected.mean())  # type: ignore[attr-defined]


def test_ensemble_rows_combine_members_and_sum_their_time() -> None:
    rng = np.random.default_rng(0)
    a = ACC + rng.normal(0, 4, 20)
    b = ACC + rng.normal(0, 4, 20)
    rows = leaderboard(
        {"a": a, "b": b},
        {"a": True, "b": True},
        {"cifar10": ACC},
        ensembles=[EnsembleSpec.parse("rank_sum:a+b"), EnsembleSpec.parse("log_rank:a+b")],
        seconds={"a": 0.5, "b": 0.25},
        n_bootstrap=0,
        n_search=4,
        n_runs=30,
    )
    assert [r.kind for r in rows] == ["proxy", "proxy", "ensemble", "ensemble"]
    assert rows[2].seconds_per_cell == pytest.approx(0.75)
    assert rows[2].members == ("a", "b")
    md = render_markdown(rows, n_search=4)
    assert "`rank_sum:a+b`" in md and "search N=4 C10" in md and "τ C10" in md
    assert md.count("\n") == 3 * (2 + len(rows)) + 2  # correlations, search, top of the ranking


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="same cells"):
        leaderboard({"a": [1.0, 2.0, 3.0]}, {"a": True}, {"cifar10": [1.0, 2.0]})
    with pytest.raises(InvalidParameterError, match="orientation"):
        leaderboard({"a": [1.0, 2.0, 3.0]}, {}, {"cifar10": [1.0, 2.0, 3.0]})
    with pytest.raises(InvalidParameterError, match="needs scores of b"):
        leaderboard(
            {"a": [1.0, 2.0, 3.0]},
            {"a": True},
            {"cifar10": [1.0, 2.0, 3.0]},
            ensembles=[EnsembleSpec.parse("vote:a+b")],
        )


def test_a_constant_proxy_has_no_correlation_but_a_row() -> None:
    rows = rows_by_label(
        scores={"flat": np.ones(20)},
        higher_is_better={"flat": True},
        accuracy={"cifar10": ACC},
        n_bootstrap=0,
    )
    assert math.isnan(rows["flat"].kendall_tau["cifar10"].value)  # type: ignore[attr-defined]
    assert "–" in render_markdown(list(rows.values()), n_search=100)  # type: ignore[arg-type]


def test_omit_leaves_failed_cells_out_of_the_correlations_only() -> None:
    scores = ACC.copy()
    scores[:8] = math.nan  # the 8 worst cells fail; the rest are perfectly ranked
    kwargs = dict(
        scores={"p": scores, "q": ACC},
        higher_is_better={"p": True, "q": True},
        accuracy={"cifar10": ACC},
        ensembles=[EnsembleSpec.parse("rank_sum:p+q")],
        n_bootstrap=0,
        n_search=5,
        n_runs=40,
    )
    worst = {r.label: r for r in leaderboard(**kwargs)}  # type: ignore[arg-type]
    omit = {r.label: r for r in leaderboard(**kwargs, failed="omit")}  # type: ignore[arg-type]
    assert omit["p"].kendall_tau["cifar10"].value == pytest.approx(1.0)
    assert omit["rank_sum:p+q"].kendall_tau["cifar10"].value == pytest.approx(1.0)
    assert worst["p"].kendall_tau["cifar10"].value < 1.0  # the 8 failures tie at the bottom
    assert omit["p"].n_failed == worst["p"].n_failed == 8
    assert omit["p"].search_mean == worst["p"].search_mean
    with pytest.raises(InvalidParameterError, match="'worst' or 'omit'"):
        leaderboard(**kwargs, failed="drop")  # type: ignore[arg-type]


def test_baseline_gives_paired_differences_of_rho() -> None:
    rng = np.random.default_rng(0)
    noisy = ACC + rng.normal(0, 6, 20)
    rows = leaderboard(
        {"base": noisy, "good": ACC, "same": noisy},
        {"base": True, "good": True, "same": True},
        {"cifar10": ACC},
        ensembles=[EnsembleSpec.parse("rank_sum:base+good")],
        n_bootstrap=200,
        baseline="base",
    )
    by = {r.label: r for r in rows}
    assert by["base"].delta_rho == {}
    assert by["same"].delta_rho["cifar10"].value == pytest.approx(0.0)
    assert by["same"].delta_rho["cifar10"].low == pytest.approx(0.0)
    good = by["good"].delta_rho["cifar10"]
    rho_base = by["base"].spearman_rho["cifar10"].value
    assert good.value == pytest.approx(1.0 - rho_base)
    assert 0 < good.low <= good.value <= good.high
    assert "rank_sum:base+good" in by and by["rank_sum:base+good"].delta_rho
    md = render_markdown(rows, n_search=100)
    assert "Δρ C10" in md and "`good` | +" in md
    with pytest.raises(InvalidParameterError, match="baseline 'nope'"):
        leaderboard({"a": ACC}, {"a": True}, {"cifar10": ACC}, baseline="nope")
