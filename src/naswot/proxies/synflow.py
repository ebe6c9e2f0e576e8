"""Synaptic flow (``synflow``): a data-free saliency summed over all weights.

Tanaka, Kunin, Yamins, Ganguli, "Pruning neural networks without any data by iteratively
conserving synaptic flow", NeurIPS 2020; used as a NAS proxy by Abdelfattah et al., ICLR 2021.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from torch.func import functional_call

from naswot.data.batch import Batch
from naswot.exceptions import ScoringError
from naswot.proxies._base import ScoreResult
from naswot.proxies._common import (
    check_model,
    check_variant,
    failures_as_scoring_errors,
    finite_result,
    first_tensor,
    inputs_of,
    layer_weights,
    scoring_state,
)

__all__ = ["Synflow"]


class Synflow:
    """``S = sum over conv/linear weights of dR/dtheta * theta``, theta = |w|; higher is better.

    ``R = 1^T f_{|theta|}(1)``: the sum of the outputs of the network whose every parameter is
    replaced by its absolute value, on one all-ones input of the batch's shape (the batch values
    are not used: the score is data-free). Everything runs in float64, as foresight v1.0.0 does
    (``net.double()`` and a double all-ones input in
    ``foresight/pruners/measures/synflow.py``): the score spans 1e30-1e60 across NAS-Bench-201
    (foresight issue #23) and overflows float32 on large cells; a non-finite result is a
    ScoringError, never a clipped value. A network whose output does not depend on
    any weight (e.g. every edge ``none``) genuinely scores 0.

    BatchNorm: Tanaka et al. score with BN in eval mode at initialisation, where the running
    statistics are (0, 1), so BN is the positive affine map ``|gamma| x / sqrt(1 + eps) + |beta|``
    and the score does not depend on data; the statistics are set to (0, 1) here too so that a
    network that already saw data scores the same. (foresight removes BN instead, which differs by
    a factor ``(1 + eps)^(-1/2)`` per BN layer.) Biases enter R as ``|b|`` but are not scored.

    The network is not modified: the absolute float64 parameters are swapped in with
    ``torch.func.functional_call``. The head counts, hence ``needs_classes`` (as foresight).

    Variant ``float32`` computes in float32, as a port that drops foresight's ``net.double()``
    would; on large networks the score exceeds float32's range and the result has status
    ``overflow`` (no score), which is why ``default`` (and foresight) use float64. Checked
    against foresight with ``benchmarks/oracles/oracle.py --proxy synflow``: Spearman 1.000,
    median relative difference 1.0e-4 on 30 NB201 cells, the BatchNorm factor above.
    """

    name = "synflow"
    higher_is_better = True
    needs_labels = False
    needs_classes = True
    variants: ClassVar[tuple[str, ...]] = ("default", "float32")
    revision: ClassVar[int] = 1

    def __init__(self, variant: str = "default") -> None:
        self.variant = check_variant("Synflow", variant, self.variants)
        self._dtype = torch.float64 if self.variant == "default" else torch.float32

    def __call__(self, model: nn.Module, batch: Batch, /) -> ScoreResult:
        """Scores ``model`` (data-free; only the batch's input shape is used)."""
        check_model(model, self.name)
        x = inputs_of(batch, self.name)
        weight_ids = {id(w) for w in layer_weights(model)}
        if not weight_ids:
            raise ScoringError("synflow needs convolution or linear layers; the model has none.")
        with (
            scoring_state(model, train=False, proxy=self.name),
            failures_as_scoring_errors(self.name),
        ):
            params = {
                n: p.detach().abs().to(self._dtype).requires_grad_(id(p) in weight_ids)
                for n, p in model.named_parameters()
            }
            buffers = {n: _eval_buffer(n, b, self._dtype) for n, b in model.named_buffers()}
            scored = [params[n] for n, p in model.named_parameters() if id(p) in weight_ids]
            ones = torch.ones((1, *x.shape[1:]), dtype=self._dtype, device=x.device)
            with torch.enable_grad():
                out = first_tensor(functional_call(model, {**params, **buffers}, (ones,)))
                if not out.requires_grad:
                    return finite_result(0.0, self.name)
                grads = torch.autograd.grad(out.sum(), scored, allow_unused=True)
            total = sum(
                float((g * w.detach()).sum(dtype=self._dtype))
                for g, w in zip(grads, scored, strict=True)
                if g is not None
            )
            return finite_result(total, self.name)

    def __repr__(self) -> str:
        return "Synflow()" if self.variant == "default" else f"Synflow({self.variant!r})"


def _eval_buffer(name: str, buffer: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """BatchNorm running statistics as at initialisation (mean 0, variance 1), in ``dtype``."""
    if not buffer.is_floating_point():
        return buffer
    if name.endswith("running_mean"):
        return torch.zeros_like(buffer, dtype=dtype)
    if name.endswith("running_var"):
        return torch.ones_like(buffer, dtype=dtype)
    return buffer.to(dtype)
