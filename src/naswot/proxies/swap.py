"""SWAP (``swap``): the number of distinct sample-wise activation patterns.

Peng, Song, Yang, et al., "SWAP-NAS: Sample-Wise Activation Patterns for Ultra-fast NAS", ICLR
2024 (spotlight), arXiv 2403.04161.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from naswot.data.batch import Batch
from naswot.exceptions import InvalidParameterError, ScoringError
from naswot.proxies._base import ScoreResult
from naswot.proxies._common import (
    check_variant,
    failures_as_scoring_errors,
    finite_result,
    forward_hooks,
    inputs_of,
    scoring_state,
)
from naswot.proxies._hooks import is_rectifier

__all__ = ["Swap", "swap_score"]

MAX_SAMPLES = 62  # a pattern over the samples is packed into one int64
_TABLE_BITS = 20  # up to 2^20 patterns: a table of flags instead of a sort


class Swap:
    """``SWAP = |{p_j : j a rectified unit}|``, ``p_j = (1[z_j(x_1) > 0], ..., 1[z_j(x_N) > 0])``.

    Each rectified unit j (every element of every rectifier module's input, per call) has a
    *sample-wise* pattern: its on/off state across the N samples. SWAP counts the distinct
    patterns; it is at most min(2^N, number of units). Higher is better. The paper feeds small
    batches (N = 16 by default in its code, repeated): the batch is cut into consecutive chunks of
    ``n_samples`` images (a last, shorter chunk is dropped unless it is the only one), each is
    run separately with BatchNorm in train mode, and the counts are averaged. This is the
    unregularised SWAP (the regulariser multiplies by a Gaussian of the parameter count with
    tuned mean and width; combine with ``params`` instead). Batch 2 makes SWAP nearly constant
    (PEERS.md §4.12).

    Args:
        variant: ``default``.
        n_samples: images per chunk N (2 to 62).
    """

    name = "swap"
    higher_is_better = True
    needs_labels = False
    needs_classes = False
    variants: ClassVar[tuple[str, ...]] = ("default",)
    revision: ClassVar[int] = 1

    def __init__(self, variant: str = "default", *, n_samples: int = 16) -> None:
        self.variant = check_variant("Swap", variant, self.variants)
        if not isinstance(n_samples, int) or not 2 <= n_samples <= MAX_SAMPLES:
            raise InvalidParameterError(
                "The 'n_samples' parameter of Swap must be an int in [2, 62]. "
                f"Got {n_samples!r} instead."
            )
        self.n_samples = n_samples

    def __call__(self, model: nn.Module, batch: Batch, /) -> ScoreResult:
        """Scores ``model`` on ``batch``."""
        x = inputs_of(batch, self.name, min_size=2)
        chunks = list(torch.split(x, self.n_samples))
        if len(chunks) > 1 and chunks[-1].shape[0] < self.n_samples:
            chunks.pop()
        with (
            scoring_state(model, train=True, proxy=self.name),
            failures_as_scoring_errors(self.name),
        ):
            counts = [swap_score(model, chunk) for chunk in chunks]
            return finite_result(sum(counts) / len(counts), self.name)

    def __repr__(self) -> str:
        return f"Swap(n_samples={self.n_samples})"


def swap_score(model: nn.Module, x: torch.Tensor) -> int:
    """The number of distinct sample-wise patterns of the rectified units of ``model`` on ``x``.

    A unit's pattern over N samples is packed into the integer ``sum_n 2^n 1[z_n > 0]``. For
    N <= 20 the patterns seen are marked in a table of 2^N flags (packed by one float32
    product, exact below 2^24); above, they are collected and made unique by sorting. Both count
    the same set.
    """
    n = x.shape[0]
    if not 1 <= n <= MAX_SAMPLES:
        raise ScoringError(f"swap packs patterns of at most {MAX_SAMPLES} samples.")
    table = n <= _TABLE_BITS
    powers = 2 ** torch.arange(n, device=x.device, dtype=torch.int64)
    powers_f = powers.to(torch.float32)[None, :]
    seen = torch.zeros(2**n if table else 0, dtype=torch.bool, device=x.device)
    packed: list[torch.Tensor] = []
    calls = [0]

    def hook(module: nn.Module, args: tuple[object, ...], output: object) -> None:
        z = args[0] if args else None
        if isinstance(z, torch.Tensor):
            calls[0] += 1
            codes = (z.detach() > 0).reshape(z.shape[0], -1)  # (N, units)
            if table:
                with torch.autocast(z.device.type, enabled=False):  # a float32 product, exact
                    sums = powers_f @ codes.to(torch.float32)
                seen[sums.flatten().to(torch.int64)] = True
            else:
                packed.append(torch.unique((codes.to(torch.int64) * powers[:, None]).sum(0)))

    with forward_hooks(model, is_rectifier, hook) as n_hooked, torch.no_grad():
        model(x)
    if not n_hooked or not calls[0]:
        raise ScoringError(
            "swap needs rectifier modules (nn.ReLU etc.) that run; functional calls are not seen."
        )
    if table:
        return int(seen.sum())
    return int(torch.unique(torch.cat(packed)).numel())
