"""Channel-wise Fisher information (``fisher``), as foresight computes it.

Theis, Korshunova, Tejani, Huszar, "Faster gaze prediction with dense networks and Fisher
pruning", arXiv 1801.05787 (2018), and Turner et al., "BlockSwap", ICLR 2020; used as a NAS proxy
by Abdelfattah et al., ICLR 2021, whose code (SamsungLabs/zero-cost-nas v1.0.0,
``foresight/pruners/measures/fisher.py`` and ``foresight/pruners/p_utils.py``) defines the
published values; checked with ``benchmarks/oracles/oracle.py --proxy fisher``.
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
    scoring_state,
    shared_loss_gradients,
)
from naswot.proxies._shared import SharedPasses, SharesPasses

__all__ = ["Fisher"]


class Fisher(SharesPasses):
    """``S = sum over layers l of fan_in(l) * sum_c F_c``, ``F_c = 1/(2N) sum_n (sum_hw a g)^2``.

    Higher is better. The activations ``a`` are the outputs of every conv/linear call (one
    channel per output feature) and ``g = dL/da`` their gradients; ``F_c`` is the channel's
    Fisher estimate (Theis et al.). Needs labels and one output per class; BatchNorm in train
    mode. Hooks keep each activation and pass on a copy, so an in-place activation after a layer
    cannot overwrite what is scored. Choices the paper leaves open, and what each variant does:

    * ``default`` (foresight, the published NB201 values): ``L`` is the **mean** cross-entropy
      of the batch, and each channel's value is copied over the channel's weights before the
      sum (foresight broadcasts it to ``weight.shape[1:]`` so that the pruning code sees one
      value per weight), so a layer counts ``fan_in = C_in/groups * k_h * k_w`` times (the input
      features of a linear layer). Summed in float64 (foresight sums in float32).
    * ``per_channel`` (the definition before revision 2): ``L`` is the **summed** cross-entropy,
      so that ``g`` is each image's own loss gradient as Theis et al. define the estimate, and
      each channel counts once (``S = sum_c F_c``). The reduction is a constant factor: with a
      mean the gradients shrink by ``1/N`` and ``F_c`` by ``1/N^2``, which does not change a
      ranking at one batch size. The fan-in weighting does (Spearman 0.962 to foresight
      on 30 NB201 cells).

    Args:
        variant: ``default`` or ``per_channel``.
    """

    name = "fisher"
    higher_is_better = True
    needs_labels = True
    needs_classes = True
    variants: ClassVar[tuple[str, ...]] = ("default", "per_channel")
    # bumped: default is foresight's (mean loss, each channel weighted by its layer's fan-in)
    revision: ClassVar[int] = 2
    passes: ClassVar[tuple[str, ...]] = ("ce_grads",)

    def __init__(self, variant: str = "default") -> None:
        self.variant = check_variant("Fisher", variant, self.variants)

    def score_shared(self, model: nn.Module, batch: Batch, passes: SharedPasses, /) -> ScoreResult:
        """Scores ``model`` on the labelled ``batch`` (``default``: snip's pass, shared)."""
        x = inputs_of(batch, self.name)
        foresight = self.variant == "default"
        reduction = "mean" if foresight else "sum"
        with (
            scoring_state(model, train=True, proxy=self.name),
            failures_as_scoring_errors(self.name),
        ):
            pass_ = shared_loss_gradients(model, x, batch, passes, self.name, reduction=reduction)
            if not pass_.activations:
                raise ScoringError("fisher found no convolution or linear layer on the graph.")
            total = 0.0
            for module, a, g in zip(
                pass_.modules, pass_.activations, pass_.activation_grads, strict=True
            ):
                if g is None:
                    continue
                per_channel = (a * g).double()
                if isinstance(module, nn.Linear) and per_channel.dim() > 2:
                    per_channel = per_channel.movedim(-1, 1)  # features on the last dim
                if per_channel.dim() > 2:  # sum over the spatial positions of each channel
                    per_channel = per_channel.flatten(2).sum(2)
                layer = float(0.5 * per_channel.pow(2).mean(0).sum())
                total += _fan_in(module) * layer if foresight else layer
            return finite_result(total, self.name)

    def __repr__(self) -> str:
        return "Fisher()" if self.variant == "default" else f"Fisher({self.variant!r})"


def _fan_in(module: nn.Module) -> int:
    """The weights per output channel: ``C_in/groups * k...`` (the input features of a linear)."""
    weight = module.weight
    return weight[0].numel() if isinstance(weight, torch.Tensor) else 1
