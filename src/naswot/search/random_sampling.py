"""Random sampling: the NASWOT paper's search (Algorithm 1): N uniform samples, keep the argmax."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

import numpy as np

from naswot._seeding import as_generator
from naswot.spaces import SearchSpace

__all__ = ["RandomSampling"]

A = TypeVar("A", bound=Hashable)


class RandomSampling(Generic[A]):
    """Samples architectures uniformly, with replacement (as the paper's code does).

    Args:
        space: the space to sample from.
        seed: an int or a numpy Generator; the only source of randomness.
    """

    def __init__(self, space: SearchSpace[A], *, seed: int | np.random.Generator) -> None:
        self.space = space
        self.rng = as_generator(seed)

    def ask(self) -> A:
        """A uniform sample of the space."""
        return self.space.sample(self.rng)

    def tell(self, arch: A, score: float | None) -> None:
        """Random sampling does not learn."""
