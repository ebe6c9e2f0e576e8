"""Zen-score (``zen``): expressivity of the pre-pooling feature map, data-free.

Lin, Wang, Sun, Chen, Sun, Qian, Li, Jin, "Zen-NAS: A Zero-Shot NAS for High-Performance Image
Recognition", ICCV 2021, arXiv 2102.01063.
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
    inputs_of,
    noise_like,
    scoring_state,
)

__all__ = ["Zen", "zen_score"]

POOLS = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class Zen:
    """``Zen = log E||f(x) - f(x + alpha eps)||_F + sum_i log sigma_i``; higher is better.

    ``x`` and ``eps`` are N(0, 1) of the batch's shape (the batch values are not used), alpha =
    0.01, ``f`` the feature map before global pooling (the input of the model's last
    ``AdaptiveAvgPool`` call; the input of the last linear call when there is none, the output
    when there is neither), the norm is taken per image and averaged, and ``sigma_i`` is the
    square root of the mean over channels of the batch variance of the input of the i-th
    BatchNorm call on x (BatchNorm in train mode). Before scoring, conv/linear weights are drawn
    from N(0, 1) and biases set to 0, as the paper initialises: these weights are swapped in with
    ``torch.func.functional_call``, the network itself is not modified.

    Randomness: one ``torch.Generator().manual_seed(seed)`` draws, in order, the weights (in
    ``named_parameters`` order), ``x`` and ``eps`` (see :func:`~naswot.proxies._common.noise_like`).
    The official code uses the L1 norm of the difference and BN running variances; the paper's
    Frobenius norm and batch statistics are used here. A BatchNorm whose input has zero variance
    (a dead branch: e.g. an NB201 edge fed only by ``none`` edges) carries no signal and is left
    out of the sum (its ``log 0`` would make every such cell ``-inf``; the official code's running
    variances never reach 0, so it counts them as ``log sqrt(0.9)``). A network whose features
    do not depend on the input has status ``constant``.

    Args:
        variant: ``default``.
        seed: seed of the weight, input and perturbation draws.
        alpha: the perturbation scale.
    """

    name = "zen"
    higher_is_better = True
    needs_labels = False
    needs_classes = False
    variants: ClassVar[tuple[str, ...]] = ("default",)
    revision: ClassVar[int] = 1

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
        seed_x, seed_eps = torch.randint(0, 2**62, (2,), generator=generator).tolist()
        x = noise_like(shape_of, seed_x)
        eps = noise_like(shape_of, seed_eps)
        with (
            scoring_state(model, train=True, proxy=self.name),
            failures_as_scoring_errors(self.name),
        ):
            score = zen_score(
                lambda inp: functional_call(model, params, (inp,)), model, x, eps, self.alpha
            )
            return finite_result(score, self.name)

    def __repr__(self) -> str:
        return f"Zen(seed={self.seed}, alpha={self.alpha})"


def _gaussian(model: nn.Module, name: str, p: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    owner = model.get_submodule(name.rpartition(".")[0])
    if isinstance(owner, WEIGHTED) and name.endswith("weight"):
        return torch.randn(p.shape, generator=gen).to(p)
    if isinstance(owner, WEIGHTED) and name.endswith("bias"):
        return torch.zeros_like(p)
    return p.detach()


def zen_score(
    run: Callable[[torch.Tensor], object],
    model: nn.Module,
    x: torch.Tensor,
    eps: torch.Tensor,
    alpha: float = 0.01,
) -> float:
    """The Zen-score of the network computed by ``run(inputs)`` (hooks go on ``model``).

    Args:
        run: a callable running the network on an input (``model`` itself, or a functional call).
        model: the module whose submodules are hooked.
        x: N(0, 1) inputs.
        eps: the perturbation directions (same shape as x).
        alpha: the perturbation scale.
    """
    features: list[torch.Tensor] = []
    sigmas: list[torch.Tensor] = []
    has_pool = any(isinstance(m, POOLS) for m in model.modules())
    target = POOLS if has_pool else (nn.Linear,)

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

    with forward_hooks(model, lambda m: isinstance(m, NORMS + target), hook):
        f_x = feature_map(x)
        bn_sigmas = list(sigmas)
        f_eps = feature_map(x + alpha * eps)
    diff = float(torch.linalg.vector_norm((f_x - f_eps).flatten(1), dim=1).mean())
    if diff <= 0.0:
        raise DegenerateNetworkError(
            "zen: the features do not depend on the input (f(x) = f(x + alpha eps)), so the "
            "score is log 0.",
            status=Status.CONSTANT.value,
        )
    live = [float(s) for s in bn_sigmas if float(s) > 0.0]  # dead branches carry no signal
    return math.log(diff) + sum(math.log(s) for s in live)
