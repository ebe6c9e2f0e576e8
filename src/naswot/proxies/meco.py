"""MeCo (``meco``): minimum eigenvalue of the feature-map correlation, one sample, data-free.

Jiang, Wang, Bie, "MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum
Eigenvalue of Correlation", NeurIPS 2023.
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
    forward_hooks,
    inputs_of,
    noise_like,
    scoring_state,
)

__all__ = ["Meco", "meco_score"]

CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


class Meco:
    """``MeCo = sum over layers i of lambda_min(P(f_i(X)))``; higher is better.

    X is one random input, N(0, 1) of one image's shape drawn from ``seed`` (the batch values are
    not used); ``f_i(X)`` is the output feature map (C_i, H, W) of the i-th convolution call and
    ``P`` the C_i x C_i Pearson correlation between its channels (each channel a vector of H*W
    values), in float64. A constant channel has no defined correlation: its NaN entries are set to
    0, as the MeCo code does. Layers with fewer than 2 channels or 2 positions are skipped.
    BatchNorm runs in train mode on the single sample (statistics over the spatial positions).
    PEERS.md §4.7: on size-varying spaces (NATS-SSS) MeCo correlates strongly *negatively*.

    Args:
        variant: ``default``.
        seed: seed of the random input (see :func:`~naswot.proxies._common.noise_like`).
    """

    name = "meco"
    higher_is_better = True
    needs_labels = False
    needs_classes = False
    variants: ClassVar[tuple[str, ...]] = ("default",)
    revision: ClassVar[int] = 1

    def __init__(self, variant: str = "default", *, seed: int = 0) -> None:
        self.variant = check_variant("Meco", variant, self.variants)
        self.seed = seed

    def __call__(self, model: nn.Module, batch: Batch, /) -> ScoreResult:
        """Scores ``model`` on one random input of the batch's image shape."""
        x = noise_like(inputs_of(batch, self.name), self.seed, n=1)
        with (
            scoring_state(model, train=True, proxy=self.name),
            failures_as_scoring_errors(self.name),
        ):
            return finite_result(meco_score(model, x), self.name)

    def __repr__(self) -> str:
        return f"Meco(seed={self.seed})"


def meco_score(model: nn.Module, x: torch.Tensor) -> float:
    """Sum of the minimum eigenvalues of the channel correlations of every conv output on x[0]."""
    values: list[float] = []

    def hook(module: nn.Module, args: tuple[object, ...], output: object) -> None:
        if not isinstance(output, torch.Tensor) or output.dim() < 3:
            return
        feature = output[0].detach().flatten(1).double()  # (C, positions) of the first input
        if feature.shape[0] < 2 or feature.shape[1] < 2:
            return
        corr = torch.nan_to_num(torch.corrcoef(feature), nan=0.0, posinf=0.0, neginf=0.0)
        values.append(float(torch.linalg.eigvalsh(corr)[0]))

    with forward_hooks(model, lambda m: isinstance(m, CONVS), hook), torch.no_grad():
        model(x)
    if not values:
        raise ScoringError("meco found no convolution with at least 2 channels and 2 positions.")
    return sum(values)
