"""NASWOT v1: the Jacobian-covariance score (``jacob_cov``).

Mellor, Turner, Storkey, Crowley, "Neural Architecture Search without Training", arXiv 2006.04647
v1 (June 2020); the same score is foresight's ``jacob_cov`` (Abdelfattah et al., ICLR 2021).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from naswot.data.batch import Batch
from naswot.exceptions import DegenerateNetworkError
from naswot.proxies._base import ScoreResult, Status
from naswot.proxies._common import (
    check_variant,
    failures_as_scoring_errors,
    finite_result,
    first_tensor,
    inputs_of,
    scoring_state,
)
from naswot.proxies._shared import SharedPasses, SharesPasses

__all__ = ["JacobCov", "input_jacobian", "jacob_cov_score", "shared_input_jacobian"]

K = 1e-5


class JacobCov(SharesPasses):
    """The v1 NASWOT score from the correlation of input Jacobians across a minibatch.

    For inputs x_1..x_B, ``J_i = d(sum of all outputs)/dx_i`` flattened (one backward pass of the
    summed output; BatchNorm in train mode couples the images, as in the official code). With
    ``Sigma_J = corrcoef(J)`` the B x B Pearson correlation between images and
    ``lambda_1..lambda_B`` its eigenvalues, and ``k = 1e-5``::

        S = - sum_i [ log(lambda_i + k) + 1 / (lambda_i + k) ]       higher is better

    S is largest (about -B) when the Jacobians are uncorrelated (Sigma_J = I). The official v1
    code used batch 256 and a network with one output (``needs_classes`` is False). Eigenvalues
    come from ``eigvalsh`` in float64 (the matrix is symmetric; the official code used ``eig``).

    Raises ScoringError when an image's Jacobian is constant (zero variance: the correlation is
    undefined), e.g. when the output does not depend on the input.
    """

    name = "jacob_cov"
    default_batch_size = 256  # the v1 paper's batch; the CLI uses it when --batch-size is not given
    higher_is_better = True
    needs_labels = False
    needs_classes = False
    variants: ClassVar[tuple[str, ...]] = ("default",)
    revision: ClassVar[int] = 1
    passes: ClassVar[tuple[str, ...]] = ("input_jacobian",)

    def __init__(self, variant: str = "default") -> None:
        self.variant = check_variant("JacobCov", variant, self.variants)

    def score_shared(self, model: nn.Module, batch: Batch, passes: SharedPasses, /) -> ScoreResult:
        """Scores ``model`` on ``batch`` (the input Jacobian from ``passes``)."""
        x = inputs_of(batch, self.name, min_size=2)
        with (
            scoring_state(model, train=True, proxy=self.name),
            failures_as_scoring_errors(self.name),
        ):
            jacobian, _ = shared_input_jacobian(model, x, batch, passes)
            return finite_result(jacob_cov_score(jacobian), self.name)

    def __repr__(self) -> str:
        return "JacobCov()"


def shared_input_jacobian(
    model: nn.Module, x: torch.Tensor, batch: Batch, passes: SharedPasses
) -> tuple[torch.Tensor, torch.Tensor]:
    """The shared pass ``input_jacobian``: :func:`input_jacobian`, once per network."""
    return passes.get(model, batch, ("input_jacobian",), lambda: input_jacobian(model, x))


def input_jacobian(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``d(sum of the outputs)/dx`` flattened to (B, D), and the (detached) outputs.

    The model runs in its current mode (the proxies put it in train mode first).
    """
    xg = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        y = first_tensor(model(xg))
        if not y.requires_grad:
            raise DegenerateNetworkError(
                "The model output does not depend on its input.", status=Status.CONSTANT.value
            )
        (jacobian,) = torch.autograd.grad(y.sum(), xg, allow_unused=True)
    if jacobian is None:
        raise DegenerateNetworkError(
            "The model output does not depend on its input.", status=Status.CONSTANT.value
        )
    return jacobian.reshape(x.shape[0], -1), y.detach()


def correlation(rows: torch.Tensor, what: str) -> torch.Tensor:
    """Pearson correlation between the rows of ``rows`` in float64; constant rows are an error."""
    corr = torch.corrcoef(rows.detach().to(torch.float64))
    if not torch.isfinite(corr).all():
        raise DegenerateNetworkError(
            f"A {what} has zero variance, so its correlation is undefined (the output does not "
            "depend on the input).",
            status=Status.CONSTANT.value,
        )
    return corr


def jacob_cov_score(jacobian: torch.Tensor, *, k: float = K) -> float:
    """``-sum(log(lambda + k) + 1/(lambda + k))`` over the eigenvalues of ``corrcoef(jacobian)``.

    Args:
        jacobian: shape (B, D), one flattened input gradient per row.
        k: the regulariser (1e-5 in the paper).
    """
    eigenvalues = torch.linalg.eigvalsh(correlation(jacobian, "per-image Jacobian"))
    shifted = eigenvalues + k
    return float(-(torch.log(shifted) + 1.0 / shifted).sum())
