"""Gradient signal preservation (``grasp``), summed over all weights.

Wang, Zhang, Grosse, "Picking Winning Tickets Before Training by Preserving Gradient Flow", ICLR
2020; used as a NAS proxy by Abdelfattah et al., ICLR 2021.
"""

from __future__ import annotations

from typing import ClassVar

from torch import nn

from naswot.data.batch import Batch
from naswot.proxies._base import ScoreResult
from naswot.proxies._common import (
    check_model,
    check_variant,
    failures_as_scoring_errors,
    finite_result,
    inputs_of,
    scoring_state,
    shared_loss_hessian,
)
from naswot.proxies._shared import SharedPasses, SharesPasses

__all__ = ["Grasp"]


class Grasp(SharesPasses):
    """``S = sum over conv/linear weights of (-w * (H g))``; higher is better (as foresight).

    ``g = dL/dw`` and ``H g`` is the Hessian-gradient product of the mean cross-entropy L on the
    labelled batch (``needs_labels``, ``needs_classes``), computed exactly by double
    back-propagation: ``H g = d(g_detached . g)/dw``. BatchNorm is in train mode. GraSP's pruning
    code divides the logits by a temperature T = 200; foresight's NAS adaptation, followed here,
    uses T = 1. One forward pass serves both gradients (GraSP runs two on the same data). That
    pass (``ce_hessian``) also gives snip, grad_norm, plain and fisher their gradients when they
    are scored with grasp in the engine.
    """

    name = "grasp"
    higher_is_better = True
    needs_labels = True
    needs_classes = True
    variants: ClassVar[tuple[str, ...]] = ("default",)
    revision: ClassVar[int] = 1
    passes: ClassVar[tuple[str, ...]] = ("ce_hessian",)

    def __init__(self, variant: str = "default") -> None:
        self.variant = check_variant("Grasp", variant, self.variants)

    def score_shared(self, model: nn.Module, batch: Batch, passes: SharedPasses, /) -> ScoreResult:
        """Scores ``model`` on the labelled ``batch`` (the pass ``ce_hessian``)."""
        check_model(model, self.name)
        x = inputs_of(batch, self.name)
        with (
            scoring_state(model, train=True, proxy=self.name),
            failures_as_scoring_errors(self.name),
        ):
            pass_ = shared_loss_hessian(model, x, batch, passes, self.name)
            if pass_.error is not None:
                raise pass_.error
            if pass_.hessian_gradient is None:  # the gradient does not depend on the weights
                return finite_result(0.0, self.name)
            total = 0.0
            for w, h in zip(pass_.gradients.weights, pass_.hessian_gradient, strict=True):
                if h is not None:
                    total -= float((w * h).sum())
            return finite_result(total, self.name)

    def __repr__(self) -> str:
        return "Grasp()"
