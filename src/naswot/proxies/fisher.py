"""Channel-wise Fisher information (``fisher``), summed over all channels.

Theis, Korshunova, Tejani, Huszar, "Faster gaze prediction with dense networks and Fisher
pruning", arXiv 1801.05787 (2018), and Turner et al., "BlockSwap", ICLR 2020; used as a NAS proxy
by Abdelfattah et al., ICLR 2021.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from naswot.data.batch import Batch
from naswot.exceptions import ScoringError
from naswot.proxies._base import ScoreResult
from naswot.proxies._common import (
    WEIGHTED,
    check_variant,
    cross_entropy,
    failures_as_scoring_errors,
    finite_result,
    first_tensor,
    forward_hooks,
    inputs_of,
    scoring_state,
)

__all__ = ["Fisher"]


class Fisher:
    """``S = sum over channels c of 1/(2N) sum_n (sum_{h,w} a_nc g_nc)^2``; higher is better.

    The activations ``a`` are the outputs of every conv/linear call (one channel per output
    feature), ``g = dl_n/da`` the gradient of image n's own cross-entropy: the loss is summed over
    the batch so each image's activation receives its own loss gradient, as Theis et al. define
    the Fisher estimate (BatchNorm in train mode couples the images slightly). Needs labels and
    one output per class. Hooks keep each activation and pass on a copy, so an in-place
    activation after a layer cannot overwrite what is scored.
    """

    name = "fisher"
    higher_is_better = True
    needs_labels = True
    needs_classes = True
    variants: ClassVar[tuple[str, ...]] = ("default",)
    revision: ClassVar[int] = 1

    def __init__(self, variant: str = "default") -> None:
        self.variant = check_variant("Fisher", variant, self.variants)

    def __call__(self, model: nn.Module, batch: Batch, /) -> ScoreResult:
        """Scores ``model`` on the labelled ``batch``."""
        x = inputs_of(batch, self.name)
        activations: list[torch.Tensor] = []
        channels_last: list[bool] = []

        def keep(module: nn.Module, args: tuple[object, ...], output: object) -> object:
            if isinstance(output, torch.Tensor) and output.requires_grad:
                activations.append(output)
                channels_last.append(isinstance(module, nn.Linear))  # features on the last dim
                return output.clone()
            return None

        with (
            scoring_state(model, train=True, proxy=self.name),
            failures_as_scoring_errors(self.name),
            torch.enable_grad(),
        ):
            with forward_hooks(model, lambda m: isinstance(m, WEIGHTED), keep):
                out = first_tensor(model(x))
            if not activations:
                raise ScoringError("fisher found no convolution or linear layer on the graph.")
            loss = cross_entropy(out, batch, self.name, reduction="sum")
            grads = torch.autograd.grad(loss, activations, allow_unused=True)
            total = 0.0
            for a, g, last in zip(activations, grads, channels_last, strict=True):
                if g is None:
                    continue
                per_channel = (a.detach() * g).double()
                if last and per_channel.dim() > 2:
                    per_channel = per_channel.movedim(-1, 1)
                if per_channel.dim() > 2:  # sum over the spatial positions of each channel
                    per_channel = per_channel.flatten(2).sum(2)
                total += float(0.5 * per_channel.pow(2).mean(0).sum())
            return finite_result(total, self.name)

    def __repr__(self) -> str:
        return "Fisher()"
