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
    NASWOT does (``needs_classes`` False).

    Precision: with w1 = 1e-7 every BatchNorm scales its output by about 1e-7 / sqrt(eps), so the
    outputs of a deep NB201 network shrink to ~1e-167 and underflow to one constant in float32 on
    about 40 % of NB201 cells. ``default`` runs in float32 as the reference code does; there the
    reference gets NaN and leaves the cell out of its statistics, here the cell has status
    ``overflow``. ``float64`` runs in float64, where the spread survives and every such cell gets
    a score (float64 convolutions are several times slower on CPU); on 200 NB201 cells those
    scores carry little signal (docs/proxies.md). Outputs constant under both constants have
    status ``constant`` (the output does not depend on the input).

    Args:
        variant: ``default`` (float32) or ``float64``.
        weights: the two constants (w1, w2).
    """

    name = "epsinas"
    higher_is_better = True
    needs_labels = False
    needs_classes = False
    variants: ClassVar[tuple[str, ...]] = ("default", "float64")
    revision: ClassVar[int] = 1

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
        self._dtype = torch.float32 if self.variant == "default" else torch.float64

    def __call__(self, model: nn.Module, batch: Batch, /) -> ScoreResult:
        """Scores ``model`` on ``batch``."""
        x = inputs_of(batch, self.name)
        with (
            scoring_state(model, train=True, proxy=self.name),
            failures_as_scoring_errors(self.name),
            torch.no_grad(),
        ):
            outputs = [self._outputs(model, x, value, self._dtype) for value in self.weights]
            return finite_result(epsinas_score(outputs[0], outputs[1]), self.name)

    def __repr__(self) -> str:
        return f"Epsinas({self.variant!r}, weights={self.weights})"

    @staticmethod
    def _outputs(
        model: nn.Module, x: torch.Tensor, value: float, dtype: torch.dtype
    ) -> torch.Tensor:
        """The flattened outputs with every weight ``value``, computed in ``dtype``."""
        params = {n: _constant(n, p, value, dtype) for n, p in model.named_parameters()}
        buffers = {n: b.to(dtype) if b.is_floating_point() else b for n, b in model.named_buffers()}
        out = functional_call(model, {**params, **buffers}, (x.to(dtype),))
        return first_tensor(out).flatten()


def _constant(name: str, p: torch.Tensor, value: float, dtype: torch.dtype) -> torch.Tensor:
    if name.endswith("weight"):
        return torch.full_like(p, value, dtype=dtype)
    if name.endswith("bias"):
        return torch.zeros_like(p, dtype=dtype)
    return p.detach().to(dtype)


def epsinas_score(y1: torch.Tensor, y2: torch.Tensor) -> float:
    """The epsinas statistic of two flattened raw outputs of the same inputs."""
    ys_dtype = str(y1.dtype).removeprefix("torch.")
    ys = [y.detach().double() for y in (y1, y2)]
    if not all(torch.isfinite(y).all() for y in ys):
        raise DegenerateNetworkError(
            "epsinas: the outputs are not finite under a constant init.",
            status=Status.OVERFLOW.value,
        )
    flat = [float(y.max() - y.min()) <= 0.0 for y in ys]
    if all(flat):
        raise DegenerateNetworkError(
            "epsinas: the outputs are constant under both constant inits (the output does not "
            "depend on the input).",
            status=Status.CONSTANT.value,
        )
    if any(flat):
        raise DegenerateNetworkError(
            f"epsinas: the outputs under one constant init underflowed to a single value in "
            f"{ys_dtype}, so their spread is lost (the reference code gets NaN and leaves the "
            "cell out; variant epsinas:float64 keeps the spread).",
            status=Status.OVERFLOW.value,
        )
    normed = [(y - y.min()) / (y.max() - y.min()) for y in ys]
    stacked = torch.stack(normed)  # (2, n)
    valid = stacked != 0  # the reference treats exact zeros as missing
    both = valid.all(0)
    mae = (stacked[0] - stacked[1]).abs()[both].mean()
    mean = stacked[valid].mean()
    return float(mae / mean)
