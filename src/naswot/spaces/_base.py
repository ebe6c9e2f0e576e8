"""Protocols that every search space implements (pure descriptions: no torch here)."""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np

__all__ = ["EnumerableSpace", "MutableSpace", "SearchSpace"]

A = TypeVar("A", bound=Hashable)


@runtime_checkable
class SearchSpace(Protocol[A]):
    """A set of architectures with a canonical string key for each.

    ``key`` and ``parse`` are inverse: ``parse(key(a)) == a``. The key is the join key everywhere
    (store, benchmark tables, CSV files).
    """

    name: str

    def sample(self, rng: np.random.Generator) -> A:
        """Draws one architecture uniformly at random."""
        ...

    def key(self, arch: A) -> str:
        """The canonical string of ``arch``."""
        ...

    def parse(self, key: str) -> A:
        """The architecture of canonical string ``key``; raises ArchParseError if malformed."""
        ...


@runtime_checkable
class EnumerableSpace(SearchSpace[A], Protocol[A]):
    """A space small enough to list."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[A]: ...


@runtime_checkable
class MutableSpace(SearchSpace[A], Protocol[A]):
    """A space with a local move, for evolutionary search."""

    def mutate(self, arch: A, rng: np.random.Generator) -> A:
        """A neighbour of ``arch`` that differs from it."""
        ...
