"""ZiCo (``zico``): inverse coefficient of variation of the gradients, per layer.

Li, Yang, Bhardwaj, Marculescu, "ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on
Gradients", ICLR 2023, arXiv 2301.11300. Checked against the authors' ``getzico``
(SLDGroup/ZiCo ``ZeroShotProxy/compute_zico.py``) with ``benchmarks/oracles/oracle.py --proxy
zico``: the two halves of one batch, fed as their two loader batches, give their score exactly.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import nn

from naswot.data.batch import Batch
from naswot.exceptions import DegenerateNetworkError, InvalidParameterError
from naswot.proxies._base import ScoreResult, Status
from naswot.proxies._common import (
    check_variant,
    failures_as_scoring_errors,
    finite_result,
    inputs_of,
    scoring_state,
    weight_gradients,
)

__all__ = ["Zico"]


class Zico:
    """``S = sum_l log(sum_{theta in l} E[|g_theta|] / std(g_theta))``; higher is better.

    ``g_theta`` is the gradient of the mean cross-entropy w.r.t. weight theta of conv/linear layer
    l; mean and (population) standard deviation are taken across ``n_splits`` minibatches. The
    paper uses two batches; here the one batch is split into ``n_splits`` equal contiguous parts
    (no random draw), each run separately with BatchNorm in train mode. Weights whose gradient has
    zero deviation are skipped, as are layers whose sum is 0 (e.g. a layer with no gradient).
    Needs labels and one output per class.

    Args:
        variant: ``default``.
        n_splits: the number of parts (>= 2); each must hold at least 2 images.
    """

    name = "zico"
    higher_is_better = True
    needs_labels = True
    needs_classes = True
    variants: ClassVar[tuple[str, ...]] = ("default",)
    revision: ClassVar[int] = 1

    def __init__(self, variant: str = "default", *, n_splits: int = 2) -> None:
        self.variant = check_variant("Zico", variant, self.variants)
        if not isinstance(n_splits, int) or n_splits < 2:
            raise InvalidParameterError(
                f"The 'n_splits' parameter of Zico must be an int >= 2. Got {n_splits!r} instead."
            )
        self.n_splits = n_splits

    def __call__(self, model: nn.Module, batch: Batch, /) -> ScoreResult:
        """Scores ``model`` on the labelled ``batch``."""
        x = inputs_of(batch, self.name, min_size=2 * self.n_splits)
        parts = torch.tensor_split(torch.arange(x.shape[0], device=x.device), self.n_splits)
        per_split: list[list[torch.Tensor]] = []
        with (
            scoring_state(model, train=True, proxy=self.name),
            failures_as_scoring_errors(self.name),
        ):
            for index in parts:
                part = Batch(inputs=x[index], targets=_targets(batch, index))
                per_split.append(weight_gradients(model, part.inputs, part, self.name)[1])
            total, used = 0.0, 0
            for layer in zip(*per_split, strict=True):
                g = torch.stack(layer).double()
                std = g.std(0, correction=0)
                keep = std > 0
                ratio = float((g.abs().mean(0)[keep] / std[keep]).sum())
                if ratio > 0:
                    total, used = total + math.log(ratio), used + 1
            if not used:
                raise DegenerateNetworkError(
                    "zico: no layer has gradients that vary across the splits (the loss does "
                    "not depend on the input).",
                    status=Status.CONSTANT.value,
                )
            return finite_result(total, self.name)

    def __repr__(self) -> str:
        return f"Zico(n_splits={self.n_splits})"


def _targets(batch: Batch, index: torch.Tensor) -> torch.Tensor | None:
    return None if batch.targets is None else batch.targets.to(index.device)[index]
