"""The NTK condition number (``ntk``), TE-NAS's trainability term.

Chen, Gong, Wang, "Neural Architecture Search on ImageNet in Four GPU Hours: A Theoretically
Inspired Perspective" (TE-NAS), ICLR 2021, arXiv 2102.11535.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

from naswot.data.batch import Batch
from naswot.exceptions import DegenerateNetworkError, ScoringError
from naswot.proxies._base import ScoreResult, Status
from naswot.proxies._common import (
    check_model,
    check_variant,
    failures_as_scoring_errors,
    finite_result,
    first_tensor,
    inputs_of,
    scoring_state,
)

__all__ = ["Ntk", "ntk_condition_number"]

_CHUNK = 2**18  # columns of the Jacobian converted to float64 at once


class Ntk:
    """``kappa = lambda_max(Theta) / lambda_min(Theta)``; lower is better.

    ``higher_is_better`` is False: the raw condition number is returned, not negated.

    ``Theta = J J^T`` is the B x B empirical neural tangent kernel of the batch, with ``J_i`` the
    gradient of the sum of image i's outputs w.r.t. every weight tensor of the network (all
    parameters named ``weight``: convolutions, linear layers and BatchNorm scales, as TE-NAS), one
    backward pass per image, BatchNorm in train mode. The eigenvalues are taken in float64; a
    singular NTK (lambda_min <= 0: the condition number is infinite) has status ``singular``. TE-NAS
    builds the network with the dataset's classes (``needs_classes``) and repeats the measure over
    3 initialisations (score again with other network seeds to do the same); it reports Kendall
    tau -0.42 between kappa and accuracy on NAS-Bench-201. Cost: B backward passes.
    """

    name = "ntk"
    higher_is_better = False
    needs_labels = False
    needs_classes = True
    variants: ClassVar[tuple[str, ...]] = ("default",)
    revision: ClassVar[int] = 1

    def __init__(self, variant: str = "default") -> None:
        self.variant = check_variant("Ntk", variant, self.variants)

    def __call__(self, model: nn.Module, batch: Batch, /) -> ScoreResult:
        """Scores ``model`` on ``batch``."""
        check_model(model, self.name)
        x = inputs_of(batch, self.name, min_size=2)
        weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
        if not weights:
            raise ScoringError("ntk needs parameters named 'weight'; the model has none.")
        with (
            scoring_state(model, train=True, proxy=self.name),
            failures_as_scoring_errors(self.name),
        ):
            gram = _ntk(model, x, weights)
            return finite_result(ntk_condition_number(gram), self.name)

    def __repr__(self) -> str:
        return "Ntk()"


def _ntk(model: nn.Module, x: torch.Tensor, weights: Sequence[torch.Tensor]) -> torch.Tensor:
    """Theta (B x B, float64) from one backward pass per image."""
    rows: list[torch.Tensor] = []
    with torch.enable_grad():
        out = first_tensor(model(x))
        if not out.requires_grad:
            raise DegenerateNetworkError(
                "ntk: the output does not depend on any weight.", status=Status.CONSTANT.value
            )
        per_image = out.reshape(out.shape[0], -1).sum(1)
        for i in range(x.shape[0]):
            grads = torch.autograd.grad(per_image[i], weights, retain_graph=True, allow_unused=True)
            rows.append(
                torch.cat(
                    [
                        torch.zeros(w.numel(), device=w.device, dtype=w.dtype)
                        if g is None
                        else g.reshape(-1)
                        for w, g in zip(weights, grads, strict=True)
                    ]
                )
            )
    jac = torch.stack(rows)  # (B, P) in the weights' dtype
    gram = torch.zeros(jac.shape[0], jac.shape[0], dtype=torch.float64, device=jac.device)
    for start in range(0, jac.shape[1], _CHUNK):  # float64 products without a float64 copy of J
        part = jac[:, start : start + _CHUNK].double()
        gram += part @ part.T
    return gram


def ntk_condition_number(gram: torch.Tensor) -> float:
    """``lambda_max / lambda_min`` of a symmetric PSD matrix (singular: status ``singular``)."""
    eigenvalues = torch.linalg.eigvalsh(gram.double())
    smallest, largest = float(eigenvalues[0]), float(eigenvalues[-1])
    if smallest <= largest * gram.shape[0] * torch.finfo(torch.float64).eps:
        raise DegenerateNetworkError(
            "ntk: the NTK is singular (smallest eigenvalue "
            f"{smallest:.3g}), so its condition number is infinite.",
            status=Status.SINGULAR.value,
        )
    return largest / smallest
