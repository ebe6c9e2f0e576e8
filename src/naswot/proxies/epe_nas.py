"""EPE-NAS (``epe_nas``): per-class correlation of input Jacobians.

Lopes, Alirezazadeh, Alexandre, "EPE-NAS: Efficient Performance Estimation Without Training for
Neural Architecture Search", ICANN 2021, arXiv 2102.08099.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from naswot.data.batch import Batch
from naswot.exceptions import ScoringError
from naswot.proxies._base import ScoreResult
from naswot.proxies._common import (
    check_variant,
    failures_as_scoring_errors,
    finite_result,
    inputs_of,
    labels_of,
    scoring_state,
)
from naswot.proxies._shared import SharedPasses, SharesPasses
from naswot.proxies.jacob_cov import correlation, shared_input_jacobian

__all__ = ["EpeNas", "epe_nas_score"]

K = 1e-5


class EpeNas(SharesPasses):
    """EPE-NAS: the v1 NASWOT Jacobians, correlated within each class; higher is better.

    ``J_i = d(sum of all outputs)/dx_i`` as for ``jacob_cov`` (BatchNorm in train mode). For each
    class c present in the batch, ``Sigma_c = corrcoef(J of the images labelled c)`` and, with
    ``k = 1e-5``::

        E_c = sum_{i,j} log(|Sigma_c[i, j]| + k)          (divided by n_c when C > 100)
        S = sum_c |E_c|                                     if C <= 100
        S = sum_{c, c'} |E_c - E_c'| / (number of classes)  if C > 100

    where C is the number of outputs of the network (the dataset's classes: ``needs_classes``)
    and n_c the number of images of class c. Needs labels. Classes with a single image in the
    batch are skipped (their correlation is the constant 1, contributing log(1 + k) ~ 1e-5).
    """

    name = "epe_nas"
    higher_is_better = True
    needs_labels = True
    needs_classes = True
    variants: ClassVar[tuple[str, ...]] = ("default",)
    revision: ClassVar[int] = 1
    passes: ClassVar[tuple[str, ...]] = ("input_jacobian",)

    def __init__(self, variant: str = "default") -> None:
        self.variant = check_variant("EpeNas", variant, self.variants)

    def score_shared(self, model: nn.Module, batch: Batch, passes: SharedPasses, /) -> ScoreResult:
        """Scores ``model`` on ``batch`` (the input Jacobian from ``passes``)."""
        x = inputs_of(batch, self.name, min_size=2)
        with (
            scoring_state(model, train=True, proxy=self.name),
            failures_as_scoring_errors(self.name),
        ):
            jacobian, out = shared_input_jacobian(model, x, batch, passes)
            labels = labels_of(batch, out, self.name)
            return finite_result(epe_nas_score(jacobian, labels, out.shape[1]), self.name)

    def __repr__(self) -> str:
        return "EpeNas()"


def epe_nas_score(
    jacobian: torch.Tensor, labels: torch.Tensor, n_classes: int, *, k: float = K
) -> float:
    """The EPE-NAS score of flattened Jacobians (B, D) with their labels (B,)."""
    per_class: list[float] = []
    for c in torch.unique(labels).tolist():
        rows = jacobian[labels == c]
        if rows.shape[0] < 2:
            continue
        corr = correlation(rows, f"Jacobian of class {c}")
        e = float(torch.log(corr.abs() + k).sum())
        per_class.append(e / rows.shape[0] if n_classes > 100 else e)
    if not per_class:
        raise ScoringError("epe_nas needs at least two images of one class in the batch.")
    if n_classes <= 100:
        return sum(abs(e) for e in per_class)
    return sum(abs(a - b) for a in per_class for b in per_class) / len(per_class)
