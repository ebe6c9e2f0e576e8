"""Choosing an ensemble on one pool of cells, so that it can be reported on another.

An ensemble whose members were chosen on the cells it is reported on is fitted to them: its
figure does not hold on new cells. :func:`select_ensemble` searches member sets and aggregation
methods on a *selection* pool only; the caller then measures the winner on a disjoint *report*
pool (``benchmarks/honest_ensemble.py`` does both, from one seeded draw split in two).

The objective is the mean Spearman rho over the given accuracy columns (e.g. CIFAR-10,
CIFAR-100 and ImageNet16-120 test accuracy), of the combined score over the whole selection pool.
Failed scores (NaN) rank below every real score of their proxy, as a search treats them
(``nan_policy="worst"`` of :mod:`naswot.ensembles`). Ties in the objective go to the
smaller ensemble, then to the label that sorts first, so the choice is deterministic.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from naswot.ensembles import EnsembleSpec, oriented_ranks
from naswot.exceptions import InvalidParameterError

__all__ = ["SelectionResult", "select_ensemble"]

SELECTABLE_METHODS = ("rank_sum", "log_rank")
"""Methods whose combined score is a sum over members (so a subset search is cheap)."""


@dataclass(frozen=True)
class SelectionResult:
    """The ensemble chosen on the selection pool.

    Attributes:
        spec: the winner, ``METHOD:a+b+...``.
        objective: its mean Spearman rho over the accuracy columns, on the selection pool.
        spearman: its Spearman rho per accuracy column, on the selection pool.
        n_tried: candidate ensembles evaluated.
        ranking: the best ``keep`` candidates as ``(label, objective)``, best first.
    """

    spec: EnsembleSpec
    objective: float
    spearman: dict[str, float]
    n_tried: int
    ranking: tuple[tuple[str, float], ...]


def select_ensemble(
    scores: Mapping[str, Sequence[float] | NDArray[np.float64]],
    higher_is_better: Mapping[str, bool],
    accuracy: Mapping[str, Sequence[float] | NDArray[np.float64]],
    *,
    methods: Sequence[str] = SELECTABLE_METHODS,
    min_members: int = 2,
    max_members: int = 5,
    keep: int = 10,
) -> SelectionResult:
    """Every member set of ``min_members..max_members`` proxies under every method; the best wins.

    Args:
        scores: candidate proxy label -> one score per selection-pool cell (NaN = failed).
        higher_is_better: label -> orientation, for every candidate.
        accuracy: column name -> the selection-pool cells' accuracies (ground truth is read
            here, on the selection pool only; the members themselves never read it).
        methods: aggregation methods to try (sums of per-member terms: ``rank_sum``,
            ``log_rank``).
        min_members: the smallest ensemble size tried.
        max_members: the largest ensemble size tried (every size in between, exhaustively).
        keep: how many of the best candidates to return in ``ranking``.

    Raises:
        InvalidParameterError: no candidates, arrays of different lengths, fewer than 3 cells,
            a missing orientation, a method that is not a sum, or sizes out of range.
    """
    if not scores:
        raise InvalidParameterError("select_ensemble needs at least one candidate proxy.")
    if not accuracy:
        raise InvalidParameterError("select_ensemble needs at least one accuracy column.")
    bad = [m for m in methods if m not in SELECTABLE_METHODS]
    if bad or not methods:
        raise InvalidParameterError(
            f"The 'methods' parameter must name methods among {', '.join(SELECTABLE_METHODS)}. "
            f"Got {list(methods)!r} instead."
        )
    labels = list(scores)
    if not 1 <= min_members <= max_members:
        raise InvalidParameterError(
            f"Need 1 <= min_members <= max_members; got {min_members} and {max_members}."
        )
    missing = [k for k in labels if k not in higher_is_better]
    if missing:
        raise InvalidParameterError(f"No orientation given for {', '.join(missing)}.")
    values = {k: np.asarray(scores[k], dtype=np.float64) for k in labels}
    acc = {k: np.asarray(v, dtype=np.float64) for k, v in accuracy.items()}
    lengths = {len(v) for v in (*values.values(), *acc.values())}
    if len(lengths) != 1:
        raise InvalidParameterError("Every score and accuracy array must cover the same cells.")
    n = lengths.pop()
    if n < 3:
        raise InvalidParameterError(f"Selection needs at least 3 cells; got {n}.")
    ranks, _ = oriented_ranks(
        values, higher_is_better={k: higher_is_better[k] for k in labels}, nan_policy="worst"
    )
    terms = {"rank_sum": ranks, "log_rank": np.log(ranks / n)}
    from scipy.stats import rankdata  # here: scipy.stats takes ~0.6 s to import

    acc_ranks = {k: _standardised(rankdata(v)) for k, v in acc.items()}

    results: list[tuple[float, int, str, dict[str, float]]] = []
    for method in methods:
        t = terms[method]
        for size in range(min_members, min(max_members, len(labels)) + 1):
            for subset in itertools.combinations(range(len(labels)), size):
                combined = t[list(subset)].sum(axis=0)
                z = _standardised(rankdata(combined))
                rho = {k: float(np.mean(z * a)) for k, a in acc_ranks.items()}
                objective = float(np.mean(list(rho.values())))
                label = EnsembleSpec(method, tuple(labels[i] for i in subset)).label
                results.append((objective, size, label, rho))
    if not results:
        raise InvalidParameterError(
            f"No ensemble of {min_members}..{max_members} members from {len(labels)} candidates."
        )
    # best objective first; ties: fewer members, then label
    results.sort(key=lambda r: (-r[0] if math.isfinite(r[0]) else math.inf, r[1], r[2]))
    best = results[0]
    return SelectionResult(
        spec=EnsembleSpec.parse(best[2]),
        objective=best[0],
        spearman=best[3],
        n_tried=len(results),
        ranking=tuple((r[2], r[0]) for r in results[:keep]),
    )


def _standardised(ranks: NDArray[np.float64]) -> NDArray[np.float64]:
    """Ranks centred and scaled so that the mean of a product of two is their Pearson r."""
    centred = ranks - ranks.mean()
    scale = centred.std()
    out: NDArray[np.float64] = centred / scale if scale > 0 else centred * math.nan
    return out
