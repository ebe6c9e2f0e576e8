"""Simulated evolutionary search: REA/AREA with benchmark accuracy as the trained fitness.

The driver, not the strategy, reads the benchmark: each asked cell is "trained" by looking up its
fitness column (by default the 200-epoch CIFAR-10 validation accuracy, or a 12-epoch column when
the table has one, as NAS-Bench-201's REA protocol uses). The budget is a number of trained cells
(150 by default), or seconds when the table has a training-time column. The result of a run is
the fittest cell it trained; its final accuracies are reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from naswot.benchmarks import BenchmarkTable
from naswot.exceptions import InvalidParameterError
from naswot.search import Strategy

__all__ = ["EvolutionRun", "simulate_evolution"]


@dataclass(frozen=True)
class EvolutionRun:
    """One simulated run: the chosen (fittest trained) cell and what it cost."""

    best: str
    best_fitness: float
    n_trained: int
    seconds: float | None


def simulate_evolution(
    strategy: Strategy[Any],
    table: BenchmarkTable,
    key: Callable[[Any], str],
    *,
    fitness_column: str,
    budget: int | None = 150,
    budget_seconds: float | None = None,
    time_column: str | None = None,
) -> EvolutionRun:
    """Runs ``strategy`` against the benchmark until the budget is spent.

    Args:
        strategy: REA, AREA or any ask/tell strategy.
        table: the benchmark.
        key: turns the strategy's architectures into table keys.
        fitness_column: the accuracy told to the strategy as fitness.
        budget: the number of cells to train (ignored when ``budget_seconds`` is given).
        budget_seconds: a training-time budget; needs ``time_column``.
        time_column: the column with each cell's training time in seconds.
    """
    if budget_seconds is not None and time_column is None:
        raise InvalidParameterError("A budget in seconds needs a training-time column.")
    if budget_seconds is None and (budget is None or budget < 1):
        raise InvalidParameterError(f"The budget must be >= 1 trained cells. Got {budget}.")
    best: tuple[str, float] | None = None
    spent = 0.0
    trained = 0
    while True:
        if budget_seconds is None and trained >= (budget or 0):
            break
        arch = strategy.ask()
        k = key(arch)
        row = table.lookup(k)
        if fitness_column not in row:
            raise InvalidParameterError(f"The benchmark has no {fitness_column!r} for {k}.")
        if budget_seconds is not None and time_column is not None:
            cost = row.get(time_column)
            if cost is None:
                raise InvalidParameterError(f"The benchmark has no {time_column!r} for {k}.")
            if not cost > 0:  # a free cell would make the budget endless
                raise InvalidParameterError(
                    f"The benchmark's {time_column!r} of {k} is {cost}; training times must be "
                    "> 0 seconds."
                )
            if spent + cost > budget_seconds:
                break
            spent += cost
        fitness = row[fitness_column]
        strategy.tell(arch, fitness)
        trained += 1
        if best is None or fitness > best[1]:
            best = (k, fitness)
    if best is None:
        raise InvalidParameterError("The budget did not allow training a single cell.")
    return EvolutionRun(
        best=best[0],
        best_fitness=best[1],
        n_trained=trained,
        seconds=spent if budget_seconds is not None else None,
    )
