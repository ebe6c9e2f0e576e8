"""The number of linear regions (``linear_regions``), TE-NAS's expressivity term.

Chen, Gong, Wang, "Neural Architecture Search on ImageNet in Four GPU Hours: A Theoretically
Inspired Perspective" (TE-NAS), ICLR 2021, arXiv 2102.11535.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from naswot.data.batch import Batch
from naswot.proxies._base import ScoreResult
from naswot.proxies._common import (
    check_variant,
    failures_as_scoring_errors,
    finite_result,
    inputs_of,
    scoring_state,
)
from naswot.proxies._hooks import is_rectifier
from naswot.proxies._shared import SharedPasses, SharesPasses
from naswot.proxies.naswot import naswot_kernel, shared_kernel

__all__ = ["LinearRegions", "count_patterns"]


class LinearRegions(SharesPasses):
    """``R = |{ c(x_i) : i = 1..B }|``: distinct activation patterns in the batch; higher is better.

    A ReLU network is linear on each region of input space where its activation pattern ``c(x)``
    (the on/off state of every rectified unit) is constant, so the number of distinct patterns
    among B samples estimates the number of linear regions the samples visit (TE-NAS's R_N). Two
    inputs share a pattern exactly when they agree on all N_A units, i.e. when the NASWOT kernel
    entry ``K[i, j] = N_A``; this is how patterns are compared (exact integers, no storage of the
    codes). BatchNorm runs in train mode.

    Not faithful to TE-NAS's setting: TE-NAS counts on a narrow copy of the network (1 channel)
    with thousands of small inputs, so that patterns collide; a full-width network on a real
    batch gives B distinct patterns for almost every architecture (the score saturates at B).
    Score a narrow network (build it that way) with many small inputs to follow the paper.
    """

    name = "linear_regions"
    higher_is_better = True
    needs_labels = False
    needs_classes = False
    variants: ClassVar[tuple[str, ...]] = ("default",)
    revision: ClassVar[int] = 1
    passes: ClassVar[tuple[str, ...]] = ("naswot_kernel",)

    def __init__(self, variant: str = "default") -> None:
        self.variant = check_variant("LinearRegions", variant, self.variants)

    def score_shared(self, model: nn.Module, batch: Batch, passes: SharedPasses, /) -> ScoreResult:
        """Scores ``model`` on ``batch``, reading the shared rectifier kernel."""
        x = inputs_of(batch, self.name, min_size=2)
        with (
            scoring_state(model, train=True, proxy=self.name),
            failures_as_scoring_errors(self.name),
        ):
            kernel, n_units, _ = shared_kernel(model, batch, passes, x, is_rectifier, gate=False)
            return finite_result(_distinct(kernel, n_units), self.name)

    def __repr__(self) -> str:
        return "LinearRegions()"


def count_patterns(model: nn.Module, x: torch.Tensor) -> int:
    """The number of distinct activation patterns of ``model``'s rectifiers over the inputs x.

    The model is run as it is (call ``model.train()`` first for batch-statistics BatchNorm).
    """
    kernel, n_units = naswot_kernel(model, x, variant="relu_forward_all", gate=False)
    return _distinct(kernel, n_units)


def _distinct(kernel: torch.Tensor, n_units: int) -> int:
    """Inputs with distinct patterns: K[i, j] = N_A exactly when i and j agree on every unit."""
    same = kernel == float(n_units)  # (B, B): identical patterns
    # The number of classes of "same pattern": count the inputs that no earlier input matches.
    earlier = torch.tril(same, diagonal=-1).any(dim=1)
    return int((~earlier).sum())
