"""The proxy leaderboard: every proxy and ensemble measured the same way on one pool of cells.

Given each proxy's scores over the same pool of architectures and the benchmark accuracies of
that pool, :func:`leaderboard` computes per row (a proxy or an ensemble):

* Kendall tau and Spearman rho (95 % bootstrap intervals) against the accuracy of each dataset;
* the simulated search at N: over ``n_runs`` runs, N cells drawn with replacement from the pool,
  the best-scored one is kept; the mean and std of its accuracy (the same draws for every row);
* Spearman rho with ``params`` (the size bias), when ``params`` is among the proxies;
* whether it finds the top cells: VKDNW's nDCG@k (gain ``2^acc - 1``, k = 1000 capped at the
  pool's size; :func:`~naswot.evaluation.correlation.ndcg`) and the precision of its top 10 %
  (the share of the truly best 10 % of the pool that the row also ranks in its top 10 %).

Orientation: every statistic is of the *oriented* score (a lower-is-better proxy such as ``ntk``
is negated), so a higher correlation is always better. Failures (a NaN score: the proxy could not
score the cell) rank below every real score of that proxy, as in a search, which never picks
them (``failed="omit"`` leaves them out of the correlations instead); ``-inf`` (a singular
kernel) ranks lowest among real scores. The number of failed cells is
part of each row. Ensembles are ranked over the whole pool for the correlations and over each
run's N cells for the search (their rank-based scores depend on the set they rank).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from naswot.ensembles import EnsembleSpec, oriented_ranks
from naswot.evaluation.correlation import NDCG_K, Interval, correlate, top_k_precision
from naswot.exceptions import InvalidParameterError

__all__ = ["LeaderboardRow", "leaderboard", "render_markdown"]


@dataclass(frozen=True)
class LeaderboardRow:
    """One proxy's (or ensemble's) figures.

    Attributes:
        label: ``name``, ``name:variant`` or an ensemble's ``METHOD:a+b+c``.
        kind: ``proxy`` or ``ensemble``.
        n: cells in the pool; ``n_failed`` of them failed for this row (for an ensemble: cells
            where any member failed); with ``failed="omit"`` the correlations use the other
            ``n - n_failed``.
        kendall_tau, spearman_rho: per dataset.
        search_mean, search_std: accuracy of the search's pick at N, per dataset.
        rho_params: Spearman rho with the ``params`` proxy (None without it).
        seconds_per_cell: mean scoring time (for an ensemble: the sum of its members').
        delta_rho: per dataset, this row's Spearman rho minus the baseline's, with a paired
            bootstrap interval (empty without a baseline).
        ndcg: per dataset, nDCG at cut-off ``ndcg_k`` (NaN when the row has no ranking).
        precision: per dataset, the precision of the row's top ``precision_fraction``.
    """

    label: str
    kind: str
    n: int
    n_failed: int
    kendall_tau: dict[str, Interval]
    spearman_rho: dict[str, Interval]
    search_mean: dict[str, float]
    search_std: dict[str, float]
    rho_params: float | None
    seconds_per_cell: float | None
    members: tuple[str, ...] = field(default=())
    delta_rho: dict[str, Interval] = field(default_factory=dict)
    ndcg: dict[str, float] = field(default_factory=dict)
    ndcg_k: int = 0
    precision: dict[str, float] = field(default_factory=dict)
    precision_fraction: float = 0.10


def leaderboard(
    scores: Mapping[str, Sequence[float] | NDArray[np.float64]],
    higher_is_better: Mapping[str, bool],
    accuracy: Mapping[str, Sequence[float] | NDArray[np.float64]],
    *,
    ensembles: Sequence[EnsembleSpec] = (),
    seconds: Mapping[str, float] | None = None,
    n_search: int = 100,
    n_runs: int = 500,
    n_bootstrap: int = 1000,
    seed: int = 1,
    failed: Literal["worst", "omit"] = "worst",
    baseline: str | None = None,
    ndcg_k: int = NDCG_K,
    precision_fraction: float = 0.10,
) -> list[LeaderboardRow]:
    """The rows of the leaderboard, proxies first (in the given order), then ensembles.

    Args:
        scores: proxy label -> one score per pool cell (NaN = failed; ``-inf`` allowed).
        higher_is_better: proxy label -> orientation.
        accuracy: dataset name -> the pool cells' accuracies, same order.
        ensembles: aggregations over proxies of ``scores``.
        seconds: proxy label -> mean seconds per cell.
        n_search: N of the simulated search.
        n_runs: runs of the simulated search.
        n_bootstrap: bootstrap resamples of the correlation intervals.
        seed: seed of the search draws and of the bootstrap.
        failed: ``worst`` ranks a failed cell below all of the row's scores in the
            correlations (as a search treats it); ``omit`` leaves it out of that row's
            correlations (as most published figures do: e.g. epsinas's reference code drops its
            NaN cells). A proxy's search never picks a cell it failed either way; an
            ensemble's may pick a cell where some of its members failed (ranked lowest there).
        baseline: a proxy label: every other row gets ``delta_rho``, its Spearman rho minus the
            baseline's on the same cells, with a paired bootstrap interval (the same
            ``n_bootstrap`` resamples of the cells for both).
        ndcg_k: the cut-off of nDCG (VKDNW's 1000; capped at the cells a row uses).
        precision_fraction: the top fraction whose precision is reported (0.10: top 10 %).
    """
    if not isinstance(ndcg_k, int) or ndcg_k < 1:
        raise InvalidParameterError(f"The 'ndcg_k' parameter must be an int >= 1. Got {ndcg_k!r}.")
    if not 0 < precision_fraction <= 1:
        raise InvalidParameterError(
            f"The 'precision_fraction' parameter must be in (0, 1]. Got {precision_fraction!r}."
        )
    top = (ndcg_k, precision_fraction)
    if failed not in ("worst", "omit"):
        raise InvalidParameterError(
            f"The 'failed' parameter must be 'worst' or 'omit'. Got {failed!r} instead."
        )
    if not scores:
        raise InvalidParameterError("The leaderboard needs at least one proxy's scores.")
    values = {k: np.asarray(v, dtype=np.float64) for k, v in scores.items()}
    acc = {k: np.asarray(v, dtype=np.float64) for k, v in accuracy.items()}
    m = {len(v) for v in (*values.values(), *acc.values())}
    if len(m) != 1:
        raise InvalidParameterError("Every score and accuracy array must cover the same cells.")
    n = m.pop()
    if n < 3:
        raise InvalidParameterError(f"The leaderboard needs at least 3 cells; got {n}.")
    missing = [k for k in values if k not in higher_is_better]
    if missing:
        raise InvalidParameterError(f"No orientation given for {', '.join(missing)}.")
    if baseline is not None and baseline not in values:
        raise InvalidParameterError(
            f"The baseline {baseline!r} is not among the proxies ({', '.join(values)})."
        )
    for spec in ensembles:
        absent = [k for k in spec.members if k not in values]
        if absent:
            raise InvalidParameterError(
                f"Ensemble {spec.label!r} needs scores of {', '.join(absent)}."
            )
    # Oriented scores: higher is better, NaN = failed.
    oriented = {k: v if higher_is_better[k] else -v for k, v in values.items()}
    ranks, _ = oriented_ranks(oriented, higher_is_better=dict.fromkeys(oriented, True))
    pool_rank = dict(zip(oriented, ranks, strict=True))
    params_rank = pool_rank.get("params")
    draws = np.random.default_rng(seed).integers(0, n, size=(n_runs, n_search))
    seconds = seconds or {}

    rows: list[LeaderboardRow] = []
    vectors: dict[str, tuple[NDArray[np.float64], NDArray[np.bool_]]] = {}
    for label, rank in pool_rank.items():
        vectors[label] = (rank, ~np.isnan(values[label]) if failed == "omit" else _all(n))
        picks = _first_argmax(rank[draws])
        rows.append(
            _row(
                label,
                "proxy",
                rank,
                draws[np.arange(n_runs), picks],
                acc,
                n_failed=int(np.isnan(values[label]).sum()),
                used=~np.isnan(values[label]) if failed == "omit" else None,
                params_rank=params_rank,
                seconds=seconds.get(label),
                n_bootstrap=n_bootstrap,
                seed=seed,
                top=top,
            )
        )
    for spec in ensembles:
        members = {k: oriented[k] for k in spec.members}
        up = dict.fromkeys(members, True)
        # under "omit" ranked among the complete cells only
        combined = spec.combine(members, higher_is_better=up, nan_policy=failed)
        picked = np.empty(n_runs, dtype=np.intp)
        for r, idx in enumerate(draws):
            local = spec.combine({k: v[idx] for k, v in members.items()}, higher_is_better=up)
            picked[r] = idx[_first_argmax(local[None, :])[0]]
        member_seconds = [seconds.get(k) for k in spec.members]
        incomplete = np.isnan(np.array(list(members.values()))).any(axis=0)
        vectors[spec.label] = (combined, ~incomplete if failed == "omit" else _all(n))
        rows.append(
            _row(
                spec.label,
                "ensemble",
                combined,
                picked,
                acc,
                n_failed=int(incomplete.sum()),
                used=~incomplete if failed == "omit" else None,
                params_rank=params_rank,
                seconds=None
                if any(s is None for s in member_seconds)
                else float(sum(s for s in member_seconds if s is not None)),
                n_bootstrap=n_bootstrap,
                seed=seed,
                members=spec.members,
                top=top,
            )
        )
    if baseline is None:
        return rows
    return [
        row
        if row.label == baseline
        else replace(
            row,
            delta_rho=_paired_delta(
                vectors[row.label], vectors[baseline], acc, n_bootstrap=n_bootstrap, seed=seed
            ),
        )
        for row in rows
    ]


def _all(n: int) -> NDArray[np.bool_]:
    return np.ones(n, dtype=np.bool_)


def _paired_delta(
    row: tuple[NDArray[np.float64], NDArray[np.bool_]],
    base: tuple[NDArray[np.float64], NDArray[np.bool_]],
    acc: Mapping[str, NDArray[np.float64]],
    *,
    n_bootstrap: int,
    seed: int,
) -> dict[str, Interval]:
    """Spearman rho of ``row`` minus that of ``base`` per dataset, on the cells both use."""
    both = row[1] & base[1]
    x, y = row[0][both], base[0][both]
    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, len(x), len(x)) for _ in range(n_bootstrap)]
    out: dict[str, Interval] = {}
    from scipy import stats  # here: scipy.stats takes ~0.6 s to import, every CLI command

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        for dataset, a in acc.items():
            a = a[both]
            value = _rho(x, a) - _rho(y, a)
            samples = [_rho(x[i], a[i]) - _rho(y[i], a[i]) for i in draws]
            finite = [s for s in samples if math.isfinite(s)]
            low, high = np.percentile(finite, [2.5, 97.5]) if finite else (math.nan, math.nan)
            out[dataset] = Interval(value, float(low), float(high))
    return out


def _rho(x: NDArray[np.float64], a: NDArray[np.float64]) -> float:
    from scipy import stats

    return float(stats.spearmanr(x, a).statistic) if len(x) >= 3 else math.nan


def _first_argmax(values: NDArray[np.float64]) -> NDArray[np.intp]:
    return np.asarray(np.argmax(values, axis=1), dtype=np.intp)


def _row(
    label: str,
    kind: str,
    value: NDArray[np.float64],
    picked: NDArray[np.intp],
    acc: Mapping[str, NDArray[np.float64]],
    *,
    n_failed: int,
    used: NDArray[np.bool_] | None,
    params_rank: NDArray[np.float64] | None,
    seconds: float | None,
    n_bootstrap: int,
    seed: int,
    top: tuple[int, float],
    members: tuple[str, ...] = (),
) -> LeaderboardRow:
    taus: dict[str, Interval] = {}
    rhos: dict[str, Interval] = {}
    gains: dict[str, float] = {}
    precision: dict[str, float] = {}
    search_mean = {d: float(a[picked].mean()) for d, a in acc.items()}
    search_std = {d: float(a[picked].std(ddof=0)) for d, a in acc.items()}
    pool = len(value)
    if used is not None:  # the cells this row's correlations use
        value = value[used]
        acc = {d: a[used] for d, a in acc.items()}
        params_rank = None if params_rank is None else params_rank[used]
    for dataset, a in acc.items():
        if len(value) < 3 or np.all(value == value[0]):
            nan = Interval(math.nan, math.nan, math.nan)
            taus[dataset], rhos[dataset] = nan, nan
            gains[dataset], precision[dataset] = math.nan, math.nan
            continue
        report = correlate(value, a, n_bootstrap=n_bootstrap, seed=seed, top_k=(), ndcg_k=top[0])
        taus[dataset], rhos[dataset] = report.kendall_tau, report.spearman_rho
        gains[dataset] = report.ndcg
        precision[dataset] = top_k_precision(value, a, top[1])
    rho_params = None
    if params_rank is not None and len(value) >= 3 and not np.all(value == value[0]):
        # a plain rank correlation: the scores (raw parameter counts, -inf) are no accuracies
        rho_params = _rho(params_rank, value)
    return LeaderboardRow(
        label=label,
        kind=kind,
        n=pool,
        n_failed=n_failed,
        kendall_tau=taus,
        spearman_rho=rhos,
        search_mean=search_mean,
        search_std=search_std,
        rho_params=rho_params,
        seconds_per_cell=seconds,
        members=members,
        ndcg=gains,
        ndcg_k=min(top[0], len(value)),
        precision=precision,
        precision_fraction=top[1],
    )


_SHORT = {"cifar10": "C10", "cifar100": "C100", "imagenet16-120": "IN16"}


def render_markdown(rows: Sequence[LeaderboardRow], *, n_search: int) -> str:
    """Markdown tables: correlations, search and cost, the top of the ranking, and Δρ.

    The third table holds nDCG@k and the top-10 % precision; the last, each row's Spearman rho
    minus the baseline's, if computed. Proxies come first, then ensembles, each group sorted by
    the mean of its Spearman rho over the datasets.
    """
    datasets = list(rows[0].kendall_tau) if rows else []
    short = [_SHORT.get(d, d) for d in datasets]

    def mean_rho(row: LeaderboardRow) -> float:
        vals = [ci.value for ci in row.spearman_rho.values() if not math.isnan(ci.value)]
        return sum(vals) / len(vals) if vals else -math.inf

    ordered = [
        row
        for kind in ("proxy", "ensemble")
        for row in sorted((r for r in rows if r.kind == kind), key=mean_rho, reverse=True)
    ]
    head = ["proxy", "failed"]
    for d in short:
        head += [f"τ {d}", f"ρ {d}"]
    corr = [_md_row(head), "|" + "---|" * len(head)]
    for row in ordered:
        cells = [f"`{row.label}`", str(row.n_failed)]
        for d in datasets:
            cells += [_ci(row.kendall_tau[d]), _ci(row.spearman_rho[d])]
        corr.append(_md_row(cells))
    head = ["proxy", *(f"search N={n_search} {d}" for d in short), "ρ params", "s/cell"]
    search = [_md_row(head), "|" + "---|" * len(head)]
    for row in ordered:
        cells = [f"`{row.label}`"]
        cells += [f"{row.search_mean[d]:.2f} ± {row.search_std[d]:.2f}" for d in datasets]
        cells.append("–" if row.rho_params is None else f"{row.rho_params:.2f}")
        seconds = row.seconds_per_cell
        cells.append("–" if seconds is None or math.isnan(seconds) else f"{seconds:.2f}")
        search.append(_md_row(cells))
    text = "\n".join(corr) + "\n\n" + "\n".join(search) + "\n"
    with_top = [row for row in ordered if row.ndcg]
    if with_top:
        ks = sorted({row.ndcg_k for row in with_top})
        k = str(ks[0]) if len(ks) == 1 else "k"
        share = f"{with_top[0].precision_fraction * 100:g}%"
        head = ["proxy", *(f"nDCG@{k} {d}" for d in short), *(f"P@{share} {d}" for d in short)]
        found = [_md_row(head), "|" + "---|" * len(head)]
        for row in with_top:
            cells = [f"`{row.label}`"]
            cells += [_num(row.ndcg.get(d, math.nan)) for d in datasets]
            cells += [_num(row.precision.get(d, math.nan)) for d in datasets]
            found.append(_md_row(cells))
        text += "\n" + "\n".join(found) + "\n"
    with_delta = [row for row in ordered if row.delta_rho]
    if with_delta:
        head = ["proxy", *(f"Δρ {d}" for d in short)]
        delta = [_md_row(head), "|" + "---|" * len(head)]
        for row in with_delta:
            delta.append(
                _md_row([f"`{row.label}`", *(_ci(row.delta_rho[d], signed=True) for d in datasets)])
            )
        text += "\n" + "\n".join(delta) + "\n"
    return text


def _num(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.3f}"


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _ci(ci: Interval, *, signed: bool = False) -> str:
    """``value [low, high]``; differences (``signed``) keep the sign and three decimals."""
    value, bound = ("+.3f", "+.3f") if signed else (".3f", ".2f")
    if math.isnan(ci.value):
        return "–"
    if math.isnan(ci.low):
        return f"{ci.value:{value}}"
    return f"{ci.value:{value}} [{ci.low:{bound}}, {ci.high:{bound}}]"
