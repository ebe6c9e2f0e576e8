"""epsinas (``epsinas``): output dispersion under two constant shared-weight initialisations.

Gracheva, "Neural Architecture Search: Two Constant Shared Weights Initialisations", Artificial
Intelligence Review 2025, arXiv 2302.04406.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from torch.func import functional_call

from naswot.data.batch import Batch
from naswot.exceptions import DegenerateNetworkError, InvalidParameterError
from naswot.proxies._base import ScoreResult, Status
from naswot.proxies._common import (
    check_variant,
    failures_as_scoring_errors,
    finite_result,
    first_tensor,
    inputs_of,
    scoring_state,
)

__all__ = ["Epsinas", "epsinas_score"]


class Epsinas:
    """``eps = mean_i |y1_i - y2_i| / mean_i (y1_i + y2_i) / 2`` on min-max normalised outputs.

    The network is run twice on the batch with every ``weight`` parameter (convolutions, linear
    layers and affine BatchNorm scales) set to one shared constant, ``w1`` then ``w2`` (1e-7 and 1
    for NAS-Bench-201), and every ``bias`` to 0; BatchNorm in train mode, no gradients, no labels.
    Each run's raw outputs are flattened and min-max normalised to [0, 1] (``y1``, ``y2``);
    entries exactly 0 (each run's minimum) are left out of both means, as the reference code
    does. Higher is better. The constants are swapped in with ``torch.func.functional_call``: the
    network is not modified. The reference code builds NAS-Bench-201 networks with one output, as
    NASWOT does (``needs_classes`` False). Constant outputs (max = min) are a ScoringError.

    Args:
        variant: ``default``.
        weights: the two constants (w1, w2).
    """

    name = "epsinas"
    higher_is_better = True
    needs_labels = False
    needs_classes = False
    variants: ClassVar[tuple[str, ...]] = ("default",)

    def __init__(
        self, variant: str = "default", *, weights: tuple[float, float] = (1e-7, 1.0)
    ) -> None:
        self.variant = check_variant("Epsinas", variant, self.variants)
        if len(weights) != 2 or weights[0] == weights[1]:
            raise InvalidParameterError(
                "The 'weights' parameter of Epsinas must be two different constants. "
                f"Got {weights!r} instead."
            )
        self.weights = (float(weights[0]), float(weights[1]))

    def __call__(self, model: nn.Module, batch: Batch, /) -> ScoreResult:
        """Scores ``model`` on ``batch``."""
        x = inputs_of(batch, self.name)
        outputs: list[torch.Tensor] = []
        with (
            scoring_state(model, train=True),
            failures_as_scoring_errors(self.name),
            torch.no_grad(),
        ):
            for value in self.weights:
                params = {n: _constant(n, p, value) for n, p in model.named_parameters()}
                outputs.append(first_tensor(functional_call(model, params, (x,))).flatten())
            return finite_result(epsinas_score(outputs[0], outputs[1]), self.name)

    def __repr__(self) -> str:
        return f"Epsinas(weights={self.weights})"


def _constant(name: str, p: torch.Tensor, value: float) -> torch.Tensor:
    if name.endswith("weight"):
        return torch.full_like(p, value)
    if name.endswith("bias"):
        return torch.zeros_like(p)
    return p.detach()


def epsinas_score(y1: torch.Tensor, y2: torch.Tensor) -> float:
    """The epsinas statistic of two flattened raw outputs of the same inputs."""
    normed = []
    for y in (y1, y2):
        y = y.detach().double()
        low, high = y.min(), y.max()
        if not torch.isfinite(y).all() or float(high - low) <= 0.0:
            raise DegenerateNetworkError(
                "epsinas: the outputs are constant or not finite under a constant init (the "
                "output does not depend on the input).",
                status=Status.CONSTANT.value,
            )
        normed.append((y - low) / (high - low))
    stacked = torch.stack(normed)  # (2, n)
    valid = stacked != 0  # the reference treats exact zeros as missing
    both = valid.all(0)
    mae = (stacked[0] - stacked[1]).abs()[both].mean()
    mean = stacked[valid].mean()
    return float(mae / mean)
