"""Gradient signal preservation (``grasp``), summed over all weights.

Wang, Zhang, Grosse, "Picking Winning Tickets Before Training by Preserving Gradient Flow", ICLR
2020; used as a NAS proxy by Abdelfattah et al., ICLR 2021.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from naswot.data.batch import Batch
from naswot.exceptions import ScoringError
from naswot.proxies._base import ScoreResult
from naswot.proxies._common import (
    check_model,
    check_variant,
    cross_entropy,
    failures_as_scoring_errors,
    finite_result,
    first_tensor,
    inputs_of,
    layer_weights,
    scoring_state,
)

__all__ = ["Grasp"]


class Grasp:
    """``S = sum over conv/linear weights of (-w * (H g))``; higher is better (as foresight).

    ``g = dL/dw`` and ``H g`` is the Hessian-gradient product of the mean cross-entropy L on the
    labelled batch (``needs_labels``, ``needs_classes``), computed exactly by double
    back-propagation: ``H g = d(g_detached . g)/dw``. BatchNorm is in train mode. GraSP's pruning
    code divides the logits by a temperature T = 200; foresight's NAS adaptation, followed here,
    uses T = 1. One forward pass serves both gradients (GraSP runs two on the same data).
    """

    name = "grasp"
    higher_is_better = True
    needs_labels = True
    needs_classes = True
    variants: ClassVar[tuple[str, ...]] = ("default",)
    revision: ClassVar[int] = 1

    def __init__(self, variant: str = "default") -> None:
        self.variant = check_variant("Grasp", variant, self.variants)

    def __call__(self, model: nn.Module, batch: Batch, /) -> ScoreResult:
        """Scores ``model`` on the labelled ``batch``."""
        check_model(model, self.name)
        x = inputs_of(batch, self.name)
        weights = layer_weights(model)
        if not weights:
            raise ScoringError("grasp needs convolution or linear layers; the model has none.")
        with (
            scoring_state(model, train=True, proxy=self.name),
            failures_as_scoring_errors(self.name),
        ):
            with torch.enable_grad():
                loss = cross_entropy(first_tensor(model(x)), batch, self.name)
                grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
                used = [i for i, g in enumerate(grads) if g is not None]
                z = torch.stack([(grads[i].detach() * grads[i]).sum() for i in used]).sum()
                if not z.requires_grad:  # the gradient does not depend on the weights: H g = 0
                    return finite_result(0.0, self.name)
                hg = torch.autograd.grad(z, [weights[i] for i in used], allow_unused=True)
            total = 0.0
            for i, h in zip(used, hg, strict=True):
                if h is not None:
                    total -= float((weights[i].detach() * h).sum())
            return finite_result(total, self.name)

    def __repr__(self) -> str:
        return "Grasp()"
