"""The gradient norm (``grad_norm``), summed over layers.

Abdelfattah, Mehrotra, Dudziak, Lane, "Zero-Cost Proxies for Lightweight NAS", ICLR 2021; one of
the 13 proxies of NAS-Bench-Suite-Zero.
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
    shared_loss_gradients,
)
from naswot.proxies._shared import SharedPasses, SharesPasses

__all__ = ["GradNorm"]


class GradNorm(SharesPasses):
    """``S = sum over conv/linear layers l of ||dL/dW_l||_2``; higher is better.

    The Euclidean (Frobenius) norm of each layer's weight gradient, summed over layers as foresight
    aggregates per-layer scores (not the norm of the concatenated gradient). L is the mean
    cross-entropy against the batch's labels (``needs_labels``, ``needs_classes``), BatchNorm in
    train mode.
    """

    name = "grad_norm"
    higher_is_better = True
    needs_labels = True
    needs_classes = True
    variants: ClassVar[tuple[str, ...]] = ("default",)
    revision: ClassVar[int] = 1
    passes: ClassVar[tuple[str, ...]] = ("ce_grads",)

    def __init__(self, variant: str = "default") -> None:
        self.variant = check_variant("GradNorm", variant, self.variants)

    def score_shared(self, model: nn.Module, batch: Batch, passes: SharedPasses, /) -> ScoreResult:
        """Scores ``model`` on the labelled ``batch`` (the weight gradients from ``passes``)."""
        x = inputs_of(batch, self.name)
        with (
            scoring_state(model, train=True, proxy=self.name),
            failures_as_scoring_errors(self.name),
        ):
            pass_ = shared_loss_gradients(model, x, batch, passes, self.name)
            total = sum(float(torch.linalg.vector_norm(g.double())) for g in pass_.weight_grads)
            return finite_result(total, self.name)

    def __repr__(self) -> str:
        return "GradNorm()"
