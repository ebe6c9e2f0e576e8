"""The ask/tell strategy protocol and the loop that drives it."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from naswot.exceptions import InvalidParameterError

__all__ = ["Candidate", "ScoreFn", "SearchResult", "Strategy", "run_search"]

A = TypeVar("A", bound=Hashable)

# Scores a batch of architectures; None marks a failure. -inf (singular) and None are never chosen.
ScoreFn = Callable[[Sequence[A]], Sequence[float | None]]


class Strategy(Protocol[A]):
    """A search strategy: proposes architectures (``ask``) and learns their scores (``tell``)."""

    def ask(self) -> A:
        """The next architecture to evaluate."""
        ...

    def tell(self, arch: A, score: float | None) -> None:
        """The score of an architecture from ``ask`` (None if scoring failed)."""
        ...


@dataclass(frozen=True, slots=True)
class Candidate(Generic[A]):
    """One evaluated architecture."""

    arch: A
    score: float | None


@dataclass(frozen=True, slots=True)
class SearchResult(Generic[A]):
    """The outcome of one search run.

    Attributes:
        best: the best candidate with a finite score, or None if no candidate had one.
        history: every evaluation in order.
        n_skipped: candidates that could not be chosen (singular ``-inf`` or failed).
    """

    best: Candidate[A] | None
    history: tuple[Candidate[A], ...]
    n_skipped: int


def run_search(
    strategy: Strategy[A], score: ScoreFn[A], *, budget: int, batch_size: int | None = None
) -> SearchResult[A]:
    """Runs ``strategy`` for ``budget`` evaluations and returns the best finite-scored candidate.

    Args:
        strategy: proposes architectures.
        score: scores a list of architectures.
        budget: the number of evaluations (N).
        batch_size: how many ``ask`` calls are scored together (default: all ``budget`` at once,
            which suits strategies that do not learn, such as random sampling).
    """
    if not isinstance(budget, int) or budget < 1:
        raise InvalidParameterError(
            f"The 'budget' parameter of run_search must be an int >= 1. Got {budget!r} instead."
        )
    step = budget if batch_size is None else batch_size
    history: list[Candidate[A]] = []
    while len(history) < budget:
        archs = [strategy.ask() for _ in range(min(step, budget - len(history)))]
        for arch, value in zip(archs, score(archs), strict=True):
            strategy.tell(arch, value)
            history.append(Candidate(arch, value))
    finite = [c for c in history if c.score is not None and math.isfinite(c.score)]
    # First maximum wins ties, like numpy's argmax.
    best = max(finite, key=lambda c: c.score, default=None)  # type: ignore[arg-type,return-value]
    return SearchResult(best=best, history=tuple(history), n_skipped=len(history) - len(finite))
