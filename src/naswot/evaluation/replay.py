"""Simulated NASWOT search over a scored space (the paper's Table 2).

Each run samples N cells with replacement, picks the best-scored one (first on ties; ``-inf`` and
failed cells only when nothing else is there, never counted as a choice of a failed cell), and
records its accuracies. ``Random`` is one random cell per run; ``Optimal (N)`` the best of the same
N cells by the benchmark's own accuracy, per column.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from naswot.benchmarks import BenchmarkTable
from naswot.evaluation.scores import ScoreTable
from naswot.evaluation.targets import DATASET_COLUMNS
from naswot.exceptions import InvalidParameterError

__all__ = ["ReplayRow", "replay"]


@dataclass(frozen=True)
class ReplayRow:
    """One row of the table: mean and std over runs per (dataset, split)."""

    method: str
    n: int | None
    mean: dict[tuple[str, str], float]
    std: dict[tuple[str, str], float]

    def as_json(self) -> dict[str, object]:
        """The row in the ``--json`` layout."""
        out: dict[str, object] = {"method": self.method, "n": self.n}
        for (dataset, split), mean in self.mean.items():
            name = dataset.replace("-", "_")
            entry = out.setdefault(name, {})
            assert isinstance(entry, dict)
            entry[split] = {"mean": mean, "std": self.std[(dataset, split)]}
        return out


def replay(
    scores: ScoreTable,
    table: BenchmarkTable,
    *,
    n_samples: Sequence[int] = (10, 100, 1000),
    n_runs: int = 500,
    seed: int = 1,
    method: str = "NASWOT",
) -> list[ReplayRow]:
    """The replay table: per N a ``method`` row and an ``Optimal`` row, then one ``Random`` row.

    Cells are drawn from those with a score (or a failure) that the benchmark knows.
    """
    if n_runs < 2:
        raise InvalidParameterError(f"The 'n_runs' parameter of replay must be >= 2. Got {n_runs}.")
    if not n_samples or any(n < 1 for n in n_samples):
        raise InvalidParameterError(f"The 'n_samples' must be ints >= 1. Got {list(n_samples)}.")
    keys = [k for k in [*scores.scores, *scores.failed] if k in table.rows]
    if not keys:
        raise InvalidParameterError("No scored architecture is in the benchmark table.")
    columns = [c for c in DATASET_COLUMNS.items() if all(c[1] in table.rows[k] for k in keys)]
    if not columns:
        raise InvalidParameterError(
            f"The benchmark {table.path} has none of the accuracy columns "
            f"{sorted(DATASET_COLUMNS.values())}."
        )
    # failed cells rank below -inf: they are chosen only if the whole sample failed
    value = np.array([scores.scores.get(k, -math.inf) for k in keys])
    rank = np.where(
        np.array([k in scores.failed for k in keys]), -2.0, np.where(np.isneginf(value), -1.0, 0.0)
    )
    acc = {name: np.array([table.rows[k][col] for k in keys]) for name, col in columns}
    rng = np.random.default_rng(seed)
    rows = []
    for n in n_samples:
        idx = rng.integers(0, len(keys), size=(n_runs, n))
        # lexicographic: valid before -inf before failed, then by score; first maximum wins
        finite = np.where(np.isfinite(value), value, 0.0)
        chosen = _argmax_rows(rank[idx], finite[idx])
        picked = idx[np.arange(n_runs), chosen]
        rows.append(_row(method, n, {k: a[picked] for k, a in acc.items()}))
        rows.append(_row("Optimal", n, {k: a[idx].max(axis=1) for k, a in acc.items()}))
    single = rng.integers(0, len(keys), size=n_runs)
    rows.append(_row("Random", None, {k: a[single] for k, a in acc.items()}))
    return rows


def _argmax_rows(primary: NDArray[np.float64], secondary: NDArray[np.float64]) -> NDArray[np.intp]:
    """Per row, the first index maximising (primary, secondary) lexicographically."""
    best_primary = primary.max(axis=1, keepdims=True)
    masked = np.where(primary == best_primary, secondary, -np.inf)
    return np.asarray(np.argmax(masked, axis=1), dtype=np.intp)


def _row(
    method: str, n: int | None, values: dict[tuple[str, str], NDArray[np.float64]]
) -> ReplayRow:
    return ReplayRow(
        method=method,
        n=n,
        mean={k: float(v.mean()) for k, v in values.items()},
        std={k: float(v.std(ddof=0)) for k, v in values.items()},
    )
