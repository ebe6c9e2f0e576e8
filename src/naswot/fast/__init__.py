"""Fast scorers: NASWOT for one space, without building modules, giving the same K.

A fast scorer draws the same weights as the space's network builder (same RNG calls, same order),
runs a (pruned) functional forward, and folds each distinct ReLU input into K once with an exact
integer product. ``naswot.scoring`` uses it when given one; the CLI picks it with
``--engine auto`` (the default) where the space has one and the proxy is NASWOT.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

from naswot.fast._common import KERNELS, PRECISIONS
from naswot.fast.nasbench101 import FastNB101
from naswot.fast.nasbench201 import FastNB201
from naswot.registry import Registry

__all__ = [
    "FAST_SCORERS",
    "KERNELS",
    "PRECISIONS",
    "FastNB101",
    "FastNB201",
    "FastScorer",
    "FastScorerFactory",
]


class FastScorer(Protocol):
    """A space-specific NASWOT scorer that gives the kernel of the built network."""

    variant: str
    precision: str

    @property
    def fused(self) -> bool:
        """Whether the elementwise passes run as the fused C kernels (on CPU tensors)."""
        ...

    def draw_weights(self, arch: Any, /) -> Any:  # Any: the space's architecture and weights
        """The network's weights, drawn from torch's global RNG like the module builder."""
        ...

    def kernel(
        self,
        arch: Any,
        inputs: torch.Tensor,
        weights: Any,
        /,  # Any: as above
    ) -> tuple[torch.Tensor, int, int]:
        """K (float64), N_A and the number of counted activation calls."""
        ...


class FastScorerFactory(Protocol):
    """Makes a fast scorer for a NASWOT variant and a precision."""

    def __call__(
        self, variant: str = ..., /, *, precision: str = ..., kernels: str = ...
    ) -> FastScorer:
        """A scorer for ``variant``: forward in ``precision``, elementwise passes ``kernels``."""
        ...


# Keyed by space name (as in naswot.spaces.SPACES).
FAST_SCORERS: Registry[FastScorerFactory] = Registry("fast scorer")
FAST_SCORERS.add("nb101", FastNB101)
FAST_SCORERS.add("nb201", FastNB201)
