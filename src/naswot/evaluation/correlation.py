"""Rank correlation between scores and benchmark accuracy, with bootstrap intervals.

Policy: a singular score (``-inf``) is a real score that ranks below every finite one; a failed
cell has no score and is left out of the statistics, but counted and reported; a cell missing from
the benchmark is counted and reported. Nothing is dropped silently.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from naswot.exceptions import InvalidParameterError

__all__ = ["NDCG_K", "CorrelationReport", "Interval", "correlate", "ndcg", "top_k_precision"]

NDCG_K = 1000
"""VKDNW's cut-off of nDCG (Tybl & Neumann, CVPR 2025: nDCG@1000 over the NB201 space)."""


@dataclass(frozen=True, slots=True)
class Interval:
    """A statistic with its bootstrap confidence interval."""

    value: float
    low: float
    high: float

    def as_json(self) -> dict[str, float | None]:
        """``{value, low, high}`` with None for NaN (no interval, or no statistic)."""
        return {
            k: None if math.isnan(v) else v
            for k, v in (("value", self.value), ("low", self.low), ("high", self.high))
        }


@dataclass(frozen=True)
class CorrelationReport:
    """Correlation of scores with one accuracy column.

    Attributes:
        n: cells used (scored and in the benchmark); ``n_singular`` of them scored ``-inf``.
        n_failed: scored cells whose scoring failed (left out).
        n_missing: scored cells the benchmark does not know (left out).
        kendall_tau, spearman_rho: with 95 % bootstrap intervals.
        top_k: fraction of the true top k % that the score also ranks in its top k %, per k.
        ndcg: nDCG at cut-off ``ndcg_k`` (:func:`ndcg`): does the score find the top cells.
        ndcg_k: the cut-off used (the requested one, or n when there are fewer cells).
    """

    n: int
    n_singular: int
    n_failed: int
    n_missing: int
    kendall_tau: Interval
    spearman_rho: Interval
    top_k: dict[float, float]
    ndcg: float = math.nan
    ndcg_k: int = 0


def top_k_precision(
    scores: NDArray[np.float64], accuracy: NDArray[np.float64], fraction: float
) -> float:
    """Of the ``fraction`` best cells by accuracy, the share that the score ranks as best too."""
    n = len(scores)
    k = max(1, round(n * fraction))
    # stable sorts: ties broken by position, deterministically
    true_top = set(np.argsort(-accuracy, kind="stable")[:k].tolist())
    score_top = set(np.argsort(-scores, kind="stable")[:k].tolist())
    return len(true_top & score_top) / k


def ndcg(scores: NDArray[np.float64], accuracy: NDArray[np.float64], k: int = NDCG_K) -> float:
    """Normalised discounted cumulative gain of the score's ranking at cut-off ``k``.

    VKDNW's metric (Tybl & Neumann, CVPR 2025), as its code computes it
    (``sklearn.metrics.ndcg_score(2**acc - 1, score, k=1000)``)::

        DCG@k = sum_{i=1..k} (2^{a_(i)} - 1) / log2(i + 1)        nDCG@k = DCG@k / IDCG@k

    where ``a_(i)`` is the accuracy (in %) of the cell the score ranks i-th (best first; ties
    broken by position, a stable sort) and IDCG@k the DCG of the cells sorted by accuracy. The
    exponential gain makes the metric about the very top: 1 means the k best-scored cells are
    the k most accurate, in order. ``k`` larger than the number of cells means all of them.
    Accuracies must be in percent, as the benchmarks give them (the gain is not scale-free).
    """
    scores = np.asarray(scores, dtype=np.float64)
    accuracy = np.asarray(accuracy, dtype=np.float64)
    if k < 1:
        raise InvalidParameterError(f"The 'k' parameter of ndcg must be >= 1. Got {k!r} instead.")
    k = min(k, len(scores))
    with np.errstate(over="ignore"):
        gain = np.expm1(accuracy * math.log(2.0))  # 2^a - 1, exact for small a too
    if not np.isfinite(gain).all():
        raise InvalidParameterError(
            "nDCG's gain 2^acc - 1 overflows: accuracies must be in percent (at most 1023)."
        )
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    order = np.argsort(-scores, kind="stable")[:k]
    ideal = np.sort(gain)[::-1][:k]
    best = float(ideal @ discount)
    return float(gain[order] @ discount) / best if best > 0 else math.nan


def correlate(
    scores: NDArray[np.float64],
    accuracy: NDArray[np.float64],
    *,
    n_failed: int = 0,
    n_missing: int = 0,
    n_bootstrap: int = 1000,
    seed: int = 0,
    top_k: tuple[float, ...] = (0.01, 0.05, 0.10),
    ndcg_k: int = NDCG_K,
) -> CorrelationReport:
    """Kendall tau and Spearman rho (scipy's tau-b and rho) with bootstrap 95 % intervals.

    Args:
        scores: one score per cell; ``-inf`` allowed (ranks lowest), NaN not.
        accuracy: the matching accuracies.
        n_failed: failed cells, reported alongside (not in the arrays).
        n_missing: cells the benchmark lacks, reported alongside (not in the arrays).
        n_bootstrap: resamples for the percentile intervals (0: no interval).
        seed: seed of the resampling.
        top_k: the fractions for :func:`top_k_precision`.
        ndcg_k: the cut-off of :func:`ndcg` (capped at the number of cells).
    """
    scores = np.asarray(scores, dtype=np.float64)
    accuracy = np.asarray(accuracy, dtype=np.float64)
    if scores.shape != accuracy.shape or scores.ndim != 1:
        raise InvalidParameterError("scores and accuracy must be 1-D arrays of the same length.")
    if len(scores) < 3:
        raise InvalidParameterError(f"Correlations need at least 3 cells; got {len(scores)}.")
    if np.isnan(scores).any() or not np.isfinite(accuracy).all():
        raise InvalidParameterError("Scores may not be NaN and accuracies must be finite.")
    if np.all(scores == scores[0]) or np.all(accuracy == accuracy[0]):
        raise InvalidParameterError(
            "The scores or the accuracies are all equal: rank correlation is undefined."
        )
    from scipy import stats  # here: scipy.stats takes ~0.6 s to import, every CLI command

    # Ranks make -inf an ordinary lowest value for every statistic (scipy ranks it so anyway).
    ranked = stats.rankdata(scores)
    tau = float(stats.kendalltau(ranked, accuracy).statistic)
    rho = float(stats.spearmanr(ranked, accuracy).statistic)
    taus, rhos = [], []
    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():
        # A resample can draw only tied scores (e.g. a saturated proxy): its NaN is left out.
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        for _ in range(n_bootstrap):
            idx = rng.integers(0, len(scores), len(scores))
            taus.append(stats.kendalltau(ranked[idx], accuracy[idx]).statistic)
            rhos.append(stats.spearmanr(ranked[idx], accuracy[idx]).statistic)
    return CorrelationReport(
        n=len(scores),
        n_singular=int(np.sum(scores == -math.inf)),
        n_failed=n_failed,
        n_missing=n_missing,
        kendall_tau=_interval(tau, taus),
        spearman_rho=_interval(rho, rhos),
        top_k={k: top_k_precision(scores, accuracy, k) for k in top_k},
        ndcg=ndcg(scores, accuracy, ndcg_k),
        ndcg_k=min(ndcg_k, len(scores)),
    )


def _interval(value: float, samples: list[float]) -> Interval:
    finite = [s for s in samples if math.isfinite(s)]
    if not finite:
        return Interval(value, math.nan, math.nan)
    low, high = np.percentile(finite, [2.5, 97.5])
    return Interval(value, float(low), float(high))
