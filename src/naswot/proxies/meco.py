"""MeCo (``meco``): minimum eigenvalue of the feature-map correlation, one image, one forward pass.

Jiang, Wang, Bie, "MeCo: Zero-Shot NAS with One Data and Single Forward Pass via Minimum
Eigenvalue of Correlation", NeurIPS 2023. Checked against the authors' NAS-Bench-201 pipeline,
HamsterMimi/MeCo ``correlation/NAS_Bench_201.py`` (``get_score``), with
``benchmarks/oracles/oracle.py --proxy meco``.
"""

from __future__ import annotations

from collections.abc import Callable
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
    """``MeCo = sum over module calls i of lambda_min(P(f_i(x)))``; higher is better.

    ``x`` is one image and ``f_i(x)`` the output (C_i, H, W) of the i-th module call; ``P`` is
    the C_i x C_i Pearson correlation between its channels (each channel a vector of H*W values),
    in float64. A constant channel has no defined correlation: its NaN entries are set to 0, as
    the MeCo code does. BatchNorm runs in train mode on the single image (statistics over the
    spatial positions). PEERS.md §4.7: on size-varying spaces (NATS-SSS) MeCo correlates strongly
    *negatively*.

    Variants (the paper leaves both choices open; ``default`` follows the authors' NAS-Bench-201
    code, ``NAS_Bench_201.py``):

    * ``default``: ``x`` is the **first image of the batch** (the authors feed one real training
      image: a batch of 1 from the CIFAR training loader), and **every module** is hooked (the
      authors register the hook on each of ``named_modules()``: the network itself, containers,
      convolutions, BatchNorm, ReLU, pooling, ``skip``/``none`` operations, the head). A module
      called twice counts twice; a container whose output is its last child's counts that map
      again; a ``none`` edge (all zeros) adds 0. Outputs that are not tensors, or have fewer than
      2 channels or 2 positions (the pooled features, the logits), are skipped: in the authors'
      code the latter give an all-NaN, hence zero, matrix and add 0.
    * ``conv_noise``: the pipeline before revision 2: ``x`` is one N(0, 1) sample of an image's
      shape drawn from ``seed``, and only convolution outputs are hooked. It ranks the 200-cell
      leaderboard pool at Spearman 0.81 on CIFAR-10 against the default's 0.90.

    Args:
        variant: ``default`` or ``conv_noise``.
        seed: seed of the random input of ``conv_noise`` (see
            :func:`~naswot.proxies._common.noise_like`); ``default`` draws nothing.
    """

    name = "meco"
    higher_is_better = True
    needs_labels = False
    needs_classes = False
    variants: ClassVar[tuple[str, ...]] = ("default", "conv_noise")
    # bumped: default now hooks every module and feeds the batch's first image (MeCo's NB201 code)
    revision: ClassVar[int] = 2

    def __init__(self, variant: str = "default", *, seed: int = 0) -> None:
        self.variant = check_variant("Meco", variant, self.variants)
        self.seed = seed

    def __call__(self, model: nn.Module, batch: Batch, /) -> ScoreResult:
        """Scores ``model`` on the batch's first image (``default``) or one noise sample."""
        inputs = inputs_of(batch, self.name)
        if self.variant == "default":
            x, select = inputs[:1], _every_module
        else:
            x, select = noise_like(inputs, self.seed, n=1), _is_conv
        with (
            scoring_state(model, train=True, proxy=self.name),
            failures_as_scoring_errors(self.name),
        ):
            return finite_result(meco_score(model, x, select), self.name)

    def __repr__(self) -> str:
        if self.variant == "default":
            return "Meco()"
        return f"Meco({self.variant!r}, seed={self.seed})"


def _every_module(module: nn.Module) -> bool:
    return True


def _is_conv(module: nn.Module) -> bool:
    return isinstance(module, CONVS)


def meco_score(
    model: nn.Module, x: torch.Tensor, select: Callable[[nn.Module], bool] = _is_conv
) -> float:
    """Sum of the minimum eigenvalues of the channel correlations of the selected modules on x[0].

    Args:
        model: the network (its modes are the caller's business).
        x: the input; only the outputs for its first image are read.
        select: which modules to hook (default: the convolutions).
    """
    values: list[float] = []

    def hook(module: nn.Module, args: tuple[object, ...], output: object) -> None:
        if not isinstance(output, torch.Tensor) or output.dim() < 3:
            return
        feature = output[0].detach().flatten(1).double()  # (C, positions) of the first input
        if feature.shape[0] < 2 or feature.shape[1] < 2:
            return
        corr = torch.nan_to_num(torch.corrcoef(feature), nan=0.0, posinf=0.0, neginf=0.0)
        values.append(float(torch.linalg.eigvalsh(corr)[0]))

    with forward_hooks(model, select, hook), torch.no_grad():
        model(x)
    if not values:
        raise ScoringError("meco found no module output with at least 2 channels and 2 positions.")
    return sum(values)
