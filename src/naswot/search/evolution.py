"""Regularised evolution (REA) and NASWOT-assisted REA (AREA), as ask/tell strategies.

REA: Real et al., AAAI 2019. AREA: Mellor et al., ICML 2021, Algorithm 2.

Both learn fitness only through ``tell`` (a trained accuracy given by whoever runs them): they
never read a benchmark. AREA additionally gets a training-free ``score`` callable to pick its
initial population.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

import numpy as np

from naswot._seeding import as_generator
from naswot.exceptions import InvalidParameterError
from naswot.spaces import MutableSpace

__all__ = ["AssistedRegularizedEvolution", "RegularizedEvolution"]

A = TypeVar("A", bound=Hashable)


class RegularizedEvolution(Generic[A]):
    """REA: a population of the ``population_size`` most recent trained cells.

    The first ``population_size`` asks are random cells; after that each ask mutates the fittest of
    ``tournament_size`` members drawn without replacement, and each tell adds the child and
    removes the oldest member (aging).

    Args:
        space: a space with ``sample`` and ``mutate``.
        population_size: P (10 in the NASWOT paper and NAS-Bench-201's REA).
        tournament_size: S (3 in NAS-Bench-201's REA example; the paper does not say).
        seed: an int or a numpy Generator.
    """

    def __init__(
        self,
        space: MutableSpace[A],
        *,
        population_size: int = 10,
        tournament_size: int = 3,
        seed: int | np.random.Generator = 0,
    ) -> None:
        if population_size < 1 or not 1 <= tournament_size <= population_size:
            raise InvalidParameterError(
                "REA needs population_size >= 1 and 1 <= tournament_size <= population_size. "
                f"Got {population_size} and {tournament_size} instead."
            )
        self.space = space
        self.population_size = population_size
        self.tournament_size = tournament_size
        self.rng = as_generator(seed)
        self.population: collections.deque[tuple[A, float]] = collections.deque(
            maxlen=population_size
        )
        self._initial: list[A] = []

    def _initial_arch(self) -> A:
        return self.space.sample(self.rng)

    def ask(self) -> A:
        """A random cell while the population fills, else a mutated tournament winner."""
        if len(self.population) < self.population_size:
            return self._initial_arch()
        members = list(self.population)
        picks = self.rng.choice(len(members), size=self.tournament_size, replace=False)
        parent = max((members[int(i)] for i in picks), key=lambda m: m[1])[0]
        return self.space.mutate(parent, self.rng)

    def tell(self, arch: A, score: float | None) -> None:
        """Adds a trained cell with its fitness (None: training failed, the cell is dropped)."""
        if score is not None:
            self.population.append((arch, score))


class AssistedRegularizedEvolution(RegularizedEvolution[A]):
    """AREA: REA seeded with the best-scored cells instead of random ones.

    The initial population is the top ``population_size`` of ``n_scored`` random cells by a
    training-free score (NASWOT).

    Args:
        space: a space with ``sample`` and ``mutate``.
        score: scores a list of cells without training (higher is better; None or ``-inf`` for
            cells that could not be scored, which rank last).
        n_scored: M, the random cells scored (20 in the paper).
        population_size, tournament_size, seed: as for :class:`RegularizedEvolution`.
    """

    def __init__(
        self,
        space: MutableSpace[A],
        score: Callable[[Sequence[A]], Sequence[float | None]],
        *,
        n_scored: int = 20,
        population_size: int = 10,
        tournament_size: int = 3,
        seed: int | np.random.Generator = 0,
    ) -> None:
        super().__init__(
            space, population_size=population_size, tournament_size=tournament_size, seed=seed
        )
        if n_scored < population_size:
            raise InvalidParameterError(
                f"AREA needs n_scored >= population_size. Got {n_scored} < {population_size}."
            )
        candidates = [space.sample(self.rng) for _ in range(n_scored)]
        values = [-np.inf if v is None else v for v in score(candidates)]
        order = np.argsort(-np.asarray(values, dtype=float), kind="stable")
        # the best first; asked in that order until the population is full
        self._initial = [candidates[int(i)] for i in order[:population_size]][::-1]
        self.n_scored = n_scored

    def _initial_arch(self) -> A:
        return self._initial.pop() if self._initial else self.space.sample(self.rng)
