"""The gradient norm (``grad_norm``), summed over layers.

Abdelfattah, Mehrotra, Dudziak, Lane, "Zero-Cost Proxies for Lightweight NAS", ICLR 2021; one of
the 13 proxies of NAS-Bench-Suite-Zero.
"""

from __future__ import annotations

import torch

from naswot.proxies._common import WeightGradientProxy

__all__ = ["GradNorm"]


class GradNorm(WeightGradientProxy):
    """``S = sum over conv/linear layers l of ||dL/dW_l||_2``; higher is better.

    The Euclidean (Frobenius) norm of each layer's weight gradient, summed over layers as foresight
    aggregates per-layer scores (not the norm of the concatenated gradient). L is the mean
    cross-entropy against the batch's labels (``needs_labels``, ``needs_classes``), BatchNorm in
    train mode.
    """

    name = "grad_norm"

    def reduce(self, weights: list[torch.Tensor], grads: list[torch.Tensor]) -> float:
        """The sum of the layers' gradient norms (float64)."""
        return sum(float(torch.linalg.vector_norm(g.double())) for g in grads)
