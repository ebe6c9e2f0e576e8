"""Choosing an ensemble on one pool of cells, so that it can be reported on another.

An ensemble whose members were chosen on the cells it is reported on is fitted to them: its
figure does not hold on new cells. :func:`select_ensemble` searches member sets and aggregation
methods on a *selection* pool only; the caller then measures the winner on a disjoint *report*
pool (``benchmarks/honest_ensemble.py`` does both, from one seeded draw split in two).

Two objectives, each a mean over the given accuracy columns (e.g. CIFAR-10, CIFAR-100 and
ImageNet16-120 test accuracy):

* ``"spearman"`` (default): the Spearman rho of the combined score over the whole selection
  pool: an ensemble that orders every cell well.
* ``"search"``: the mean accuracy of the cell a simulated search picks: ``search_runs`` seeded
  draws of ``search_n`` pool cells (with replacement), each draw's members ranked *within the
  draw* (as ``naswot search`` ranks the cells it sampled) and the best combined cell taken
  (first maximum): the leaderboard's "search N" column (:mod:`naswot.evaluation.leaderboard`,
  same draws for the same seed). Every candidate sees the same draws, so their differences
  are not draw noise. This rewards the top of the order, which a search reads, and nothing
  below it.

Failed scores (NaN) rank below every real score of their proxy, as a search treats them
(``nan_policy="worst"`` of :mod:`naswot.ensembles`). Ties in the objective go to the
smaller ensemble, then to the label that sorts first, so the choice is deterministic.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from naswot.ensembles import EnsembleSpec, oriented_ranks
from naswot.exceptions import InvalidParameterError

__all__ = ["Objective", "SelectionResult", "select_ensemble"]

Objective = Literal["spearman", "search"]
OBJECTIVES: tuple[Objective, ...] = ("spearman", "search")

SELECTABLE_METHODS = ("rank_sum", "log_rank")
"""Methods whose combined score is a sum over members (so a subset search is cheap)."""


@dataclass(frozen=True)
class SelectionResult:
    """The ensemble chosen on the selection pool.

    Attributes:
        spec: the winner, ``METHOD:a+b+...``.
        criterion: what ``objective`` measures: ``spearman`` or ``search@N``.
        objective: its value of the criterion (mean over the accuracy columns), on the
            selection pool.
        spearman: its Spearman rho per accuracy column, on the selection pool.
        search: the mean accuracy per column of the cell its simulated search picks (the
            ``search`` objective's draws; with ``spearman``, the same draws as it would use).
        n_tried: candidate ensembles evaluated.
        ranking: the best ``keep`` candidates as ``(label, objective)``, best first.
    """

    spec: EnsembleSpec
    criterion: str
    objective: float
    spearman: dict[str, float]
    search: dict[str, float]
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
    objective: Objective = "spearman",
    search_n: int = 100,
    search_runs: int = 1000,
    seed: int = 1,
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
        objective: ``spearman`` or ``search`` (see the module docstring).
        search_n: cells per simulated search (the ``N`` of ``naswot replay``).
        search_runs: simulated searches per candidate.
        seed: seed of the simulated searches' draws.

    Raises:
        InvalidParameterError: no candidates, arrays of different lengths, fewer than 3 cells,
            a missing orientation, a method that is not a sum, sizes out of range, an unknown
            objective, or search_n / search_runs below 1.
    """
    if objective not in OBJECTIVES:
        raise InvalidParameterError(
            f"The 'objective' parameter must be one of {', '.join(OBJECTIVES)}. "
            f"Got {objective!r} instead."
        )
    if search_n < 1 or search_runs < 1:
        raise InvalidParameterError(
            f"Need search_n >= 1 and search_runs >= 1; got {search_n} and {search_runs}."
        )
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
    draws = np.random.default_rng(seed).integers(0, n, size=(search_runs, search_n))
    # each draw's own ranks (failures stay tied lowest): (proxy, run, cell of the draw)
    local = rankdata(ranks[:, draws], axis=2)
    local_terms = {"rank_sum": local, "log_rank": np.log(local / search_n)}

    def searched(method: str, subset: list[int]) -> dict[str, float]:
        combined = local_terms[method][subset].sum(axis=0)
        picked = draws[np.arange(search_runs), np.argmax(combined, axis=1)]
        return {k: float(v[picked].mean()) for k, v in acc.items()}

    results: list[tuple[float, int, str, tuple[str, tuple[int, ...]]]] = []
    for method in methods:
        t = terms[method]
        for size in range(min_members, min(max_members, len(labels)) + 1):
            for subset in itertools.combinations(range(len(labels)), size):
                if objective == "search":
                    value = float(np.mean(list(searched(method, list(subset)).values())))
                else:
                    z = _standardised(rankdata(t[list(subset)].sum(axis=0)))
                    value = float(np.mean([np.mean(z * a) for a in acc_ranks.values()]))
                label = EnsembleSpec(method, tuple(labels[i] for i in subset)).label
                results.append((value, size, label, (method, subset)))
    if not results:
        raise InvalidParameterError(
            f"No ensemble of {min_members}..{max_members} members from {len(labels)} candidates."
        )
    # best objective first; ties: fewer members, then label
    results.sort(key=lambda r: (-r[0] if math.isfinite(r[0]) else math.inf, r[1], r[2]))
    best = results[0]
    method, subset = best[3]
    combined = terms[method][list(subset)].sum(axis=0)
    z = _standardised(rankdata(combined))
    return SelectionResult(
        spec=EnsembleSpec.parse(best[2]),
        criterion="spearman" if objective == "spearman" else f"search@{search_n}",
        objective=best[0],
        spearman={k: float(np.mean(z * a)) for k, a in acc_ranks.items()},
        search=searched(method, list(subset)),
        n_tried=len(results),
        ranking=tuple((r[2], r[0]) for r in results[:keep]),
    )


def _standardised(ranks: NDArray[np.float64]) -> NDArray[np.float64]:
    """Ranks centred and scaled so that the mean of a product of two is their Pearson r."""
    centred = ranks - ranks.mean()
    scale = centred.std()
    out: NDArray[np.float64] = centred / scale if scale > 0 else centred * math.nan
    return out
