"""VKDNW (``vkdnw``): entropy of the deciles of the Fisher information matrix's eigenvalues.

Tybl & Neumann, "Training-free Neural Architecture Search through Variance of Knowledge of Deep
Network Weights", CVPR 2025, arXiv 2502.04975. Implemented from the paper; what it leaves open
was read in the authors' code, ondratybl/VKDNW (``NB201/ZeroShotProxy/compute_vkdnw_score.py``,
``NB201/tss_general_.py``, ``NB201/paper_preparation.ipynb``; GPL-3.0, read, not copied).
"""

from __future__ import annotations

import copy
import math
from typing import ClassVar

import torch
from torch import nn
from torch.func import functional_call, jacrev, vmap

from naswot.data.batch import Batch
from naswot.exceptions import DegenerateNetworkError, InvalidParameterError, ScoringError
from naswot.proxies._base import ScoreResult, Status
from naswot.proxies._common import (
    check_variant,
    failures_as_scoring_errors,
    finite_result,
    first_tensor,
    inputs_of,
    noise_like,
    scoring_state,
)
from naswot.proxies._shared import SharedPasses, SharesPasses
from naswot.proxies.az_nas import kaiming_fan_in

__all__ = ["Vkdnw", "decile_entropy", "fisher_matrix"]

ALPHA = 0.05  # smoothing of the class probabilities, as the authors' code
N_TENSORS = 128  # parameter tensors that contribute one weight each (the authors' default)
_CHUNK = 16  # images differentiated at once


def decile_entropy(eigenvalues: torch.Tensor) -> float:
    """``-sum_k q_k log(q_k + 1e-10)`` with ``q`` the deciles of the eigenvalues, L1-normalised.

    The deciles are the 10 %, 20 %, ..., 90 % quantiles (linear interpolation, as
    ``torch.quantile`` and ``numpy.quantile``); ``q = d / (sum |d| + 1e-10)``. The entropy is
    largest (``log 9``) when the nine deciles are equal: the weights are equally hard to
    estimate in every direction.
    """
    lam = eigenvalues.detach().double().flatten()
    levels = torch.arange(1, 10, dtype=torch.float64, device=lam.device) / 10
    d = torch.quantile(lam, levels)
    q = d / (d.abs().sum() + 1e-10)
    return float(-(q * torch.log(q + 1e-10)).sum())


def fisher_matrix(jacobian: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """The empirical Fisher information ``F = 1/B sum_b J_b^T (diag(p_b) - p_b p_b^T) J_b``.

    Args:
        jacobian: (B, C, P), the logits' derivatives w.r.t. the P chosen weights, per image.
        logits: (B, C).

    ``p_b = (1 - alpha) softmax(logits_b) + alpha / C`` with alpha = 0.05 (the authors' code
    smooths the probabilities so that no class has probability 0). ``diag(p) - p p^T`` is the
    covariance of the one-hot label under the network's own prediction, so F is the expected
    outer product of the log-likelihood's gradient (the paper's Fisher information). Float64.
    """
    j = jacobian.double()
    p = torch.softmax(logits.double(), dim=1) * (1 - ALPHA) + ALPHA / logits.shape[1]
    cov = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]
    return torch.einsum("bci,bcd,bdj->ij", j, cov, j) / j.shape[0]


class Vkdnw(SharesPasses):
    """VKDNW: the entropy of the Fisher information's eigenvalue deciles; higher is better.

    The Fisher information (:func:`fisher_matrix`) is taken w.r.t. one weight of each of the
    first 128 parameter tensors (``named_parameters`` order; BatchNorm affine parameters and
    biases count as tensors), the weight's position drawn uniformly from the seed (the authors'
    code: one entry per tensor, ``--params_grad_len 128``). The network's logits are
    differentiated per image (``torch.func.vmap`` of ``jacrev``) in **eval mode**, as the
    authors' ``get_fisher`` does: BatchNorm uses its running statistics, which for a freshly
    built network are the initial 0 and 1 (BatchNorm is then the identity), so the images do not
    interact. The score is :func:`decile_entropy` of F's eigenvalues.

    Variants:
        * ``default``: the authors' protocol: Kaiming-normal fan-in weights (as AZ-NAS, see
          :func:`~naswot.proxies.az_nas.kaiming_fan_in`; swapped in, the network is not
          changed) and N(0, 1) inputs of the batch's shape (the paper's "random inputs").
        * ``single``: VKDNW_single of the paper, ``N_layers + H / log 10``: networks are
          ordered by their number of parameter tensors ("trainable layers") first, by the
          entropy H (< log 9 < log 10) within a count (the authors rank the pair
          lexicographically). Same protocol as ``default``.
        * ``as_built``: the network's own weights and the batch's images.

    Deviation: the authors' code forms ``J^T L^T L J`` with L the Cholesky factor of the
    covariance (``cov = L L^T``); the paper's Fisher, used here, is ``J^T L L^T J``. Needs one
    output per class (``needs_classes``), no labels. A network whose logits depend on none of
    the chosen weights has status ``constant``.

    Args:
        variant: ``default``, ``single`` or ``as_built``.
        seed: seed of the weights, the inputs and the chosen positions (drawn in that order
            from one ``torch.Generator``).
        n_tensors: how many parameter tensors contribute a weight.
    """

    name = "vkdnw"
    higher_is_better = True
    needs_labels = False
    needs_classes = True
    default_batch_size = 64  # the paper's batch; the CLI uses it when --batch-size is not given
    revision: ClassVar[int] = 1
    variants: ClassVar[tuple[str, ...]] = ("default", "single", "as_built")
    passes: ClassVar[tuple[str, ...]] = ("vkdnw_spectrum",)

    def __init__(
        self, variant: str = "default", *, seed: int = 0, n_tensors: int = N_TENSORS
    ) -> None:
        self.variant = check_variant("Vkdnw", variant, self.variants)
        if not isinstance(n_tensors, int) or n_tensors < 1:
            raise InvalidParameterError(
                f"The 'n_tensors' parameter of Vkdnw must be an int >= 1. Got {n_tensors!r} "
                "instead."
            )
        self.seed = seed
        self.n_tensors = n_tensors

    def score_shared(self, model: nn.Module, batch: Batch, passes: SharedPasses, /) -> ScoreResult:
        """Scores ``model`` (default: re-initialised, on N(0, 1) inputs of the batch's shape).

        ``default`` and ``single`` read one spectrum (the shared pass ``vkdnw_spectrum``).
        """
        with scoring_state(model, train=False), failures_as_scoring_errors(self.name):
            protocol = "as_built" if self.variant == "as_built" else "reinit"
            eigenvalues, n_tensors = passes.get(
                model,
                batch,
                ("vkdnw_spectrum", protocol, self.seed, self.n_tensors),
                lambda: self._spectrum(model, batch),
            )
            if not float(eigenvalues.max()) > 0.0:
                raise DegenerateNetworkError(
                    "vkdnw: the logits depend on none of the chosen weights (the Fisher "
                    "information is 0).",
                    status=Status.CONSTANT.value,
                )
            entropy = decile_entropy(eigenvalues)
            if self.variant == "single":
                entropy = n_tensors + entropy / math.log(10)
            return finite_result(entropy, self.name)

    def _spectrum(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, int]:
        """The Fisher information's eigenvalues and the number of parameter tensors."""
        x = inputs_of(batch, self.name, min_size=2)
        generator = torch.Generator().manual_seed(self.seed)
        if self.variant == "as_built":
            params = {n: p.detach() for n, p in model.named_parameters()}
        else:
            params = kaiming_fan_in(model, generator)
            (seed_x,) = torch.randint(0, 2**62, (1,), generator=generator).tolist()
            x = noise_like(x, seed_x)
        names = list(params)[: self.n_tensors]
        if not names:
            raise ScoringError("vkdnw needs a network with parameters.")
        picks = [int(torch.randint(0, params[n].numel(), (1,), generator=generator)) for n in names]
        jacobian, logits = _jacobian(model, params, names, picks, x)
        fisher = fisher_matrix(jacobian, logits)
        return torch.linalg.eigvalsh(fisher).clamp(min=0.0), len(params)

    def __repr__(self) -> str:
        return f"Vkdnw({self.variant!r}, seed={self.seed}, n_tensors={self.n_tensors})"


def _jacobian(
    model: nn.Module,
    params: dict[str, torch.Tensor],
    names: list[str],
    picks: list[int],
    x: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: the logits (B, C) and their derivatives (B, C, P) w.r.t. the chosen weights.

    The derivatives w.r.t. the whole chosen tensors are taken (``_CHUNK`` images at a time, to
    bound memory) and the chosen entries read from them: as fast as differentiating w.r.t. the
    single entries, since reverse mode computes each tensor's gradient anyway.
    """
    net = _with_frozen_norms(model)
    buffers = dict(net.named_buffers())
    chosen = {n: params[n] for n in names}

    def logits(
        sub: dict[str, torch.Tensor], image: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        out = first_tensor(functional_call(net, ({**params, **sub}, buffers), (image[None],)))[0]
        if out.dim() != 1:
            raise ScoringError(f"vkdnw needs logits of shape (B, C); got {tuple(out.shape)}.")
        return out, out.detach()

    jac, out = vmap(jacrev(logits, has_aux=True), in_dims=(None, 0), chunk_size=_CHUNK)(chosen, x)
    columns = [jac[n].flatten(2)[:, :, i] for n, i in zip(names, picks, strict=True)]
    return torch.stack(columns, dim=2), out


class _FrozenNorm(nn.Module):
    """Eval-mode BatchNorm as plain tensor operations (``vmap`` batches them quickly).

    Keeps the names of the BatchNorm's parameters and statistics, so a parameter dict of the
    original network applies to it unchanged.
    """

    running_mean: torch.Tensor
    running_var: torch.Tensor

    def __init__(self, norm: nn.modules.batchnorm._BatchNorm) -> None:
        super().__init__()
        self.weight = norm.weight
        self.bias = norm.bias
        self.register_buffer("running_mean", norm.running_mean)
        self.register_buffer("running_var", norm.running_var)
        self.eps = norm.eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        mean, var = self.running_mean.view(shape), self.running_var.view(shape)
        y = (x - mean) * torch.rsqrt(var + self.eps)
        if self.weight is not None:
            y = y * self.weight.view(shape)
        if self.bias is not None:
            y = y + self.bias.view(shape)
        return y


def _with_frozen_norms(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose BatchNorms with running statistics are :class:`_FrozenNorm`."""
    net = copy.deepcopy(model)
    for name, module in list(net.named_modules()):
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.running_mean is not None:
            parent, _, leaf = name.rpartition(".")
            setattr(net.get_submodule(parent), leaf, _FrozenNorm(module))
    return net
