"""The number of parameters (``params``): the size baseline every proxy has to beat.

Named in Abdelfattah et al. (ICLR 2021) and NAS-Bench-Suite-Zero (Krishnakumar et al., NeurIPS
2022) as the control: on NAS-Bench-201 it reaches Spearman 0.72-0.75 (PEERS.md §1, §9.1).
"""

from __future__ import annotations

from typing import ClassVar

from torch import nn

from naswot.data.batch import Batch
from naswot.proxies._base import ScoreResult
from naswot.proxies._common import check_model, check_variant, finite_result

__all__ = ["Params"]


class Params:
    """``S = sum over the model's parameters of their number of elements``; higher is better.

    Every parameter counts (convolutions, linear layers, BatchNorm scales and shifts; shared
    parameters once); buffers such as running statistics do not. The batch is not used. The head
    counts too, so the network should have the dataset's number of classes (``needs_classes``),
    as the benchmarks' own parameter counts do.
    """

    name = "params"
    higher_is_better = True
    needs_labels = False
    needs_classes = True
    variants: ClassVar[tuple[str, ...]] = ("default",)
    revision: ClassVar[int] = 1

    def __init__(self, variant: str = "default") -> None:
        self.variant = check_variant("Params", variant, self.variants)

    def __call__(self, model: nn.Module, batch: Batch, /) -> ScoreResult:
        """Counts the parameters of ``model``."""
        check_model(model, self.name)
        return finite_result(sum(p.numel() for p in model.parameters()), self.name)

    def __repr__(self) -> str:
        return "Params()"
