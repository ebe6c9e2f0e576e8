"""The L2 norm of the weights (``l2_norm``), a data-free baseline.

Abdelfattah, Mehrotra, Dudziak, Lane, "Zero-Cost Proxies for Lightweight NAS", ICLR 2021 (the
foresight suite); also one of the 13 proxies of NAS-Bench-Suite-Zero.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from naswot.data.batch import Batch
from naswot.exceptions import ScoringError
from naswot.proxies._base import ScoreResult
from naswot.proxies._common import check_model, check_variant, finite_result, layer_weights

__all__ = ["L2Norm"]


class L2Norm:
    """``S = sum over conv/linear layers l of ||W_l||_2`` (Frobenius norm); higher is better.

    Per-layer norms are summed, as foresight aggregates per-layer scores. Biases and BatchNorm
    parameters do not count. The batch is not used; the head counts, so the network has the
    dataset's number of classes (``needs_classes``). The norm is taken in float64.
    """

    name = "l2_norm"
    higher_is_better = True
    needs_labels = False
    needs_classes = True
    variants: ClassVar[tuple[str, ...]] = ("default",)
    revision: ClassVar[int] = 1

    def __init__(self, variant: str = "default") -> None:
        self.variant = check_variant("L2Norm", variant, self.variants)

    def __call__(self, model: nn.Module, batch: Batch, /) -> ScoreResult:
        """Sums the weight norms of ``model``."""
        layers = layer_weights(check_model(model, self.name))
        if not layers:
            raise ScoringError("l2_norm needs convolution or linear layers; the model has none.")
        with torch.no_grad():
            total = sum(float(torch.linalg.vector_norm(w.double())) for w in layers)
        return finite_result(total, self.name)

    def __repr__(self) -> str:
        return "L2Norm()"
