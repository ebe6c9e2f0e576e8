"""Connection sensitivity (``snip``), summed over all weights.

Lee, Ajanthan, Torr, "SNIP: Single-shot Network Pruning based on Connection Sensitivity", ICLR
2019; used as a NAS proxy by Abdelfattah et al., ICLR 2021.
"""

from __future__ import annotations

import torch

from naswot.proxies._common import WeightGradientProxy

__all__ = ["Snip"]


class Snip(WeightGradientProxy):
    """``S = sum over conv/linear weights of |dL/dw * w|``; higher is better.

    L is the mean cross-entropy of the batch against its labels (``needs_labels``; the network has
    one output per class, ``needs_classes``), with BatchNorm in train mode (batch statistics), as
    foresight scores it. The per-weight saliency is SNIP's ``|g * c|`` at mask c = 1.
    """

    name = "snip"

    def reduce(self, weights: list[torch.Tensor], grads: list[torch.Tensor]) -> float:
        """The sum of |g * w| over all weights."""
        return sum(float((g * w).abs().sum()) for g, w in zip(grads, weights, strict=True))
