"""The plain saliency (``plain``): gradient times weight, summed over all weights.

The first-order saliency of Mozer & Smolensky ("Skeletonization", NeurIPS 1989), named "plain"
by Abdelfattah et al., ICLR 2021, and one of the 13 proxies of NAS-Bench-Suite-Zero.
"""

from __future__ import annotations

from typing import ClassVar

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

__all__ = ["Plain"]


class Plain(SharesPasses):
    """``S = sum over conv/linear weights of dL/dw * w`` (signed); higher is better.

    L is the mean cross-entropy of the batch against its labels (``needs_labels``; the network has
    one output per class, ``needs_classes``), with BatchNorm in train mode (batch statistics), as
    foresight scores it. Unlike snip there is no absolute value, so terms can cancel.
    """

    name = "plain"
    higher_is_better = True
    needs_labels = True
    needs_classes = True
    variants: ClassVar[tuple[str, ...]] = ("default",)
    revision: ClassVar[int] = 1
    passes: ClassVar[tuple[str, ...]] = ("ce_grads",)

    def __init__(self, variant: str = "default") -> None:
        self.variant = check_variant("Plain", variant, self.variants)

    def score_shared(self, model: nn.Module, batch: Batch, passes: SharedPasses, /) -> ScoreResult:
        """Scores ``model`` on the labelled ``batch`` (the weight gradients from ``passes``)."""
        x = inputs_of(batch, self.name)
        with (
            scoring_state(model, train=True, proxy=self.name),
            failures_as_scoring_errors(self.name),
        ):
            pass_ = shared_loss_gradients(model, x, batch, passes, self.name)
            weights, grads = pass_.weights, pass_.weight_grads
            total = sum(float((g * w).sum()) for g, w in zip(grads, weights, strict=True))
            return finite_result(total, self.name)

    def __repr__(self) -> str:
        return "Plain()"
