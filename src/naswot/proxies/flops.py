"""Multiply-accumulate operations per image (``flops``), the compute baseline.

Named in Abdelfattah et al. (ICLR 2021) and NAS-Bench-Suite-Zero (Krishnakumar et al., NeurIPS
2022), where ``flops`` has the second-best mean rank correlation over 19 tasks (PEERS.md §4.2).
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import nn

from naswot.data.batch import Batch
from naswot.exceptions import ScoringError
from naswot.proxies._base import ScoreResult
from naswot.proxies._common import (
    WEIGHTED,
    check_variant,
    failures_as_scoring_errors,
    finite_result,
    first_tensor,
    forward_hooks,
    inputs_of,
    scoring_state,
)

__all__ = ["Flops", "layer_macs"]


class Flops:
    """``S = sum over conv/linear calls of their multiply-adds for one image``; higher is better.

    A convolution producing ``C_out x H' x W'`` (per image) from ``C_in`` channels with a
    ``k_h x k_w`` kernel and ``g`` groups costs ``C_out H' W' (C_in / g) k_h k_w``; a linear layer
    costs ``in_features x out_features`` per output row. Bias additions, BatchNorm, pooling and
    element-wise operations are not counted (the usual "FLOPs = MACs" convention of the
    benchmarks). Shapes are taken by forward hooks during one forward pass of the first image of
    the batch, in eval mode and without gradients, so the count is at the batch's input size; a
    module called twice counts twice. The head counts, hence ``needs_classes``.
    """

    name = "flops"
    higher_is_better = True
    needs_labels = False
    needs_classes = True
    variants: ClassVar[tuple[str, ...]] = ("default",)
    revision: ClassVar[int] = 1

    def __init__(self, variant: str = "default") -> None:
        self.variant = check_variant("Flops", variant, self.variants)

    def __call__(self, model: nn.Module, batch: Batch, /) -> ScoreResult:
        """Counts the multiply-adds of ``model`` for one input of the batch's size."""
        x = inputs_of(batch, self.name)[:1]
        macs: list[int] = []

        def hook(module: nn.Module, args: tuple[object, ...], output: object) -> None:
            macs.append(layer_macs(module, first_tensor(output)))

        with (
            scoring_state(model, train=False, proxy=self.name),
            failures_as_scoring_errors(self.name),
            forward_hooks(model, lambda m: isinstance(m, WEIGHTED), hook),
            torch.no_grad(),
        ):
            model(x)
        if not macs:
            raise ScoringError("flops found no convolution or linear layer that ran.")
        return finite_result(sum(macs), self.name)

    def __repr__(self) -> str:
        return "Flops()"


def layer_macs(module: nn.Module, output: torch.Tensor) -> int:
    """The multiply-adds of one call of a conv/linear ``module`` that produced ``output``."""
    per_image = output[0].numel() if output.dim() > 1 else output.numel()
    if isinstance(module, nn.Linear):
        return per_image * module.in_features
    if isinstance(module, nn.Conv1d | nn.Conv2d | nn.Conv3d):
        return per_image * (module.in_channels // module.groups) * math.prod(module.kernel_size)
    raise ScoringError(f"flops cannot count a {type(module).__name__}.")
