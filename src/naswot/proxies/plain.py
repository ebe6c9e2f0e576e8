"""The plain saliency (``plain``): gradient times weight, summed over all weights.

The first-order saliency of Mozer & Smolensky ("Skeletonization", NeurIPS 1989), named "plain"
by Abdelfattah et al., ICLR 2021, and one of the 13 proxies of NAS-Bench-Suite-Zero.
"""

from __future__ import annotations

import torch

from naswot.proxies._common import WeightGradientProxy

__all__ = ["Plain"]


class Plain(WeightGradientProxy):
    """``S = sum over conv/linear weights of dL/dw * w`` (signed); higher is better.

    L is the mean cross-entropy of the batch against its labels (``needs_labels``; the network has
    one output per class, ``needs_classes``), with BatchNorm in train mode (batch statistics), as
    foresight scores it. Unlike snip there is no absolute value, so terms can cancel.
    """

    name = "plain"

    def reduce(self, weights: list[torch.Tensor], grads: list[torch.Tensor]) -> float:
        """The sum of g * w over all weights (signed)."""
        return sum(float((g * w).sum()) for g, w in zip(grads, weights, strict=True))
