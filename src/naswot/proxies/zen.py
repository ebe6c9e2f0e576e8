"""Zen-score (``zen``): expressivity of the pre-pooling feature map, data-free.

Lin, Wang, Sun, Chen, Sun, Qian, Li, Jin, "Zen-NAS: A Zero-Shot NAS for High-Performance Image
Recognition", ICCV 2021, arXiv 2102.01063. Checked against the authors' code, idstcv/ZenNAS
``ZeroShotProxy/compute_zen_score.py`` (``compute_nas_score``), with
``benchmarks/oracles/oracle.py --proxy zen``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

import torch
from torch import nn
from torch.func import functional_call

from naswot.data.batch import Batch
from naswot.exceptions import DegenerateNetworkError
from naswot.proxies._base import ScoreResult, Status
from naswot.proxies._common import (
    WEIGHTED,
    check_model,
    check_variant,
    failures_as_scoring_errors,
    finite_result,
    first_tensor,
    forward_hooks,
    in_layout_of,
    inputs_of,
    scoring_state,
)

__all__ = ["Zen", "zen_score"]

POOLS = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class Zen:
    """``Zen = log E_x ||f(x) - f(x + alpha eps)|| + sum_i log sigma_i``; higher is better.

    ``x`` and ``eps`` are N(0, 1) of the batch's shape (the batch values are not used), alpha =
    0.01, ``f`` the feature map before global pooling (the input of the model's last
    ``AdaptiveAvgPool`` call; the input of the last linear call when there is none, the output
    when there is neither), the norm is taken per image and averaged over the batch, and
    ``sigma_i`` is a BatchNorm layer's scale. BatchNorm runs in train mode. Before scoring,
    conv/linear weights are drawn from N(0, 1), their biases set to 0 and BatchNorm affine
    parameters to (1, 0), as the authors' ``network_weight_gaussian_init``; these are swapped in
    with ``torch.func.functional_call``, the network's parameters are not modified.

    Randomness: one ``torch.Generator().manual_seed(seed)`` draws, in order, the conv/linear
    weights (module order), ``x`` and ``eps``: the draws of the authors' code after
    ``torch.manual_seed(seed)`` on the CPU. The authors average 32 such repeats; one is scored
    here (score again with other seeds to average).

    Variants (the paper defines ``sigma_i`` only as "the BN's standard deviation" and writes the
    Frobenius norm; the authors' code decides):

    * ``default`` (the authors' code): the **L1 norm** of the difference per image, and
      ``sigma_i = sqrt(mean_c running_var_c)`` of **every** BatchNorm module of the network,
      read after the two train-mode forward passes (on ``x``, then on ``x + alpha eps``), with
      the running statistics reset to their initial (0, 1) first, so a network that already saw
      data scores the same (the statistics are restored afterwards). With momentum 0.1 that is
      ``0.81 + 0.09 v(x) + 0.1 v(x + alpha eps)`` of the unbiased batch variances v; a BatchNorm
      whose input is constant (a dead branch, e.g. an NB201 conv fed only by ``none`` edges) adds
      ``log 0.9``, and one never called adds ``log 1 = 0``. A BatchNorm that keeps no running
      statistics adds nothing (the authors' code would fail; their MeCo fork skips it).
    * ``batch_stats`` (the definition before revision 2): the paper's **Frobenius norm** and
      ``sigma_i = sqrt(mean_c Var_c)`` of the **batch** variance (biased) of the input of the
      i-th BatchNorm call on ``x``. A BatchNorm whose input has zero variance carries no signal
      and is left out of the sum (its ``log 0`` would make every such cell ``-inf``). It ranks
      the 30 oracle NB201 cells at Spearman 0.947 to the authors' code.

    A network whose features do not depend on the input has status ``constant``.

    Args:
        variant: ``default`` or ``batch_stats``.
        seed: seed of the weight, input and perturbation draws.
        alpha: the perturbation scale.
    """

    name = "zen"
    higher_is_better = True
    needs_labels = False
    needs_classes = False
    variants: ClassVar[tuple[str, ...]] = ("default", "batch_stats")
    # bumped: default is the authors' (L1 norm, BN running variances); one draw stream as theirs
    revision: ClassVar[int] = 2

    def __init__(self, variant: str = "default", *, seed: int = 0, alpha: float = 0.01) -> None:
        self.variant = check_variant("Zen", variant, self.variants)
        self.seed = seed
        self.alpha = alpha

    def __call__(self, model: nn.Module, batch: Batch, /) -> ScoreResult:
        """Scores ``model`` (data-free; only the batch's input shape is used)."""
        check_model(model, self.name)
        shape_of = inputs_of(batch, self.name, min_size=2)
        generator = torch.Generator().manual_seed(self.seed)
        params = {n: _gaussian(model, n, p, generator) for n, p in model.named_parameters()}
        x, eps = (torch.randn(shape_of.shape, generator=generator).to(shape_of) for _ in range(2))
        with (
            scoring_state(model, train=True, proxy=self.name),
            failures_as_scoring_errors(self.name),
        ):
            score = zen_score(
                lambda inp: functional_call(model, params, (inp,)),
                model,
                x,
                eps,
                self.alpha,
                running=self.variant == "default",
            )
            return finite_result(score, self.name)

    def __repr__(self) -> str:
        args = f"seed={self.seed}, alpha={self.alpha}"
        return f"Zen({args})" if self.variant == "default" else f"Zen({self.variant!r}, {args})"


def _gaussian(model: nn.Module, name: str, p: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    owner = model.get_submodule(name.rpartition(".")[0])
    is_weight = name.endswith("weight")
    if isinstance(owner, WEIGHTED) and is_weight:
        return in_layout_of(p, torch.randn(p.shape, generator=gen))
    if isinstance(owner, WEIGHTED + NORMS) and name.endswith("bias"):
        return torch.zeros_like(p)
    if isinstance(owner, NORMS) and is_weight:
        return torch.ones_like(p)
    return p.detach()


def zen_score(
    run: Callable[[torch.Tensor], object],
    model: nn.Module,
    x: torch.Tensor,
    eps: torch.Tensor,
    alpha: float = 0.01,
    *,
    running: bool = True,
) -> float:
    """The Zen-score of the network computed by ``run(inputs)`` (hooks go on ``model``).

    Args:
        run: a callable running the network on an input (``model`` itself, or a functional call).
        model: the module whose submodules are hooked; with ``running`` its BatchNorm running
            statistics are reset and updated (wrap the call in
            :func:`~naswot.proxies._common.scoring_state` to restore them).
        x: N(0, 1) inputs.
        eps: the perturbation directions (same shape as x).
        alpha: the perturbation scale.
        running: the authors' definition (L1 norm, running variances after both passes);
            ``False``: the Frobenius norm and the batch variances of the pass on ``x``.
    """
    features: list[torch.Tensor] = []
    sigmas: list[torch.Tensor] = []
    has_pool = any(isinstance(m, POOLS) for m in model.modules())
    target = POOLS if has_pool else (nn.Linear,)
    norms = [m for m in model.modules() if isinstance(m, NORMS)]
    if running:
        for m in norms:
            m.reset_running_stats()

    def hook(module: nn.Module, args: tuple[object, ...], output: object) -> None:
        a = args[0] if args else None
        if not isinstance(a, torch.Tensor):
            return
        if isinstance(module, NORMS):
            dims = [d for d in range(a.dim()) if d != 1]
            sigmas.append(a.detach().double().var(dim=dims, correction=0).mean().sqrt())
        elif isinstance(module, target):
            features.append(a.detach())

    def feature_map(inputs: torch.Tensor) -> torch.Tensor:
        features.clear()
        with torch.no_grad():
            out = first_tensor(run(inputs))
        return (features[-1] if features else out).double()

    first = target if running else NORMS + target  # batch variances: the pass on x only
    with forward_hooks(model, lambda m: isinstance(m, first), hook):
        f_x = feature_map(x)
    with forward_hooks(model, lambda m: isinstance(m, target), hook):
        f_eps = feature_map(x + alpha * eps)
    diff = (f_x - f_eps).flatten(1)
    norm = diff.abs().sum(1) if running else torch.linalg.vector_norm(diff, dim=1)
    expressivity = float(norm.mean())
    if expressivity <= 0.0:
        raise DegenerateNetworkError(
            "zen: the features do not depend on the input (f(x) = f(x + alpha eps)), so the "
            "score is log 0.",
            status=Status.CONSTANT.value,
        )
    if running:
        variances = [m.running_var for m in norms if m.running_var is not None]
        log_scales = [0.5 * math.log(float(v.double().mean())) for v in variances]
    else:  # dead branches carry no signal
        log_scales = [math.log(float(s)) for s in sigmas if float(s) > 0.0]
    return math.log(expressivity) + sum(log_scales)
