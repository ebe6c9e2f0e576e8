"""What every proxy returns, and the protocol a proxy implements."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from torch import nn

from naswot.data.batch import Batch

__all__ = ["DEGENERATE", "Proxy", "ProxyFactory", "ScoreResult", "Status"]


class Status(StrEnum):
    """How scoring one network ended."""

    OK = "ok"
    """A finite score."""
    SINGULAR = "singular"
    """The kernel is singular (e.g. two inputs with identical codes). NASWOT's score is then
    ``-inf`` (log 0); a proxy whose singular case has no ordered value (``ntk``'s infinite
    condition number) has no score (None)."""
    CONSTANT = "constant"
    """The network's output (or features) does not depend on its input; no score."""
    NO_RELU = "no_relu"
    """The proxy reads rectifiers and the network has none (or none on a path); no score."""
    OVERFLOW = "overflow"
    """The computation left the floating-point range: the score is not a finite number (e.g.
    ``synflow:float32`` on a large network), or values underflowed to one constant."""
    ERROR = "error"
    """Scoring failed; the score is None and ``error`` says why."""


DEGENERATE = frozenset({Status.CONSTANT, Status.NO_RELU, Status.OVERFLOW})
"""Statuses of architectures without a meaningful score: stored like scores, skipped by search."""


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """The outcome of scoring one network on one batch.

    Attributes:
        score: the score (higher is better for NASWOT); ``-inf`` when singular, None on error.
        status: see :class:`Status`.
        error: the error message when ``status`` is ``error``.
        n_units: N_A, the number of rectified units counted (the kernel's diagonal).
        n_activations: how many activation calls were counted.
    """

    score: float | None
    status: Status
    error: str | None = None
    n_units: int = 0
    n_activations: int = 0

    def __post_init__(self) -> None:
        if self.status is Status.OK and (self.score is None or not math.isfinite(self.score)):
            raise ValueError(f"An 'ok' result needs a finite score, got {self.score!r}.")
        if self.status is Status.SINGULAR and self.score not in (-math.inf, None):
            raise ValueError("A 'singular' result has the score -inf or none.")
        if (self.status is Status.ERROR or self.status in DEGENERATE) and (
            self.score is not None or not self.error
        ):
            raise ValueError(f"A {self.status.value!r} result has no score and a message.")

    def __float__(self) -> float:
        if self.score is None:
            raise TypeError(f"No score: scoring failed ({self.error}).")
        return self.score


@runtime_checkable
class Proxy(Protocol):
    """A training-free proxy: scores one freshly initialised network on one minibatch.

    Implementations raise :class:`naswot.exceptions.ScoringError` when a network cannot be scored;
    callers decide whether to raise or record it.

    ``revision`` (a class attribute, ``revision: ClassVar[int] = 1``) identifies the arithmetic:
    bump it whenever a change alters any score, so that the store never serves a score of the
    old code (``tests/proxies/test_revisions.py`` keeps a golden score per revision). A proxy
    without the attribute counts as revision 1.
    """

    name: str
    variant: str
    higher_is_better: bool

    @property
    def revision(self) -> int:
        """The revision of the proxy's arithmetic (part of every stored score's key)."""
        ...

    def __call__(self, model: nn.Module, batch: Batch, /) -> ScoreResult:
        """Scores ``model`` on ``batch`` (the batch is already on the model's device)."""
        ...


class ProxyFactory(Protocol):
    """Makes a proxy for one named variant (registered in ``naswot.proxies.PROXIES``)."""

    variants: tuple[str, ...]

    def __call__(self, variant: str = ..., /) -> Proxy: ...
