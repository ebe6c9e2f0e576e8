"""VKDNW (``vkdnw``): entropy of the deciles of the Fisher information matrix's eigenvalues.

Tybl & Neumann, "Training-free Neural Architecture Search through Variance of Knowledge of Deep
Network Weights", CVPR 2025, arXiv 2502.04975. Implemented from the paper; what it leaves open
was read in the authors' code, ondratybl/VKDNW (``NB201/ZeroShotProxy/compute_vkdnw_score.py``,
``NB201/tss_general_.py``, ``NB201/paper_preparation.ipynb``; GPL-3.0, read, not copied).
"""

from __future__ import annotations

import copy
import math
from typing import ClassVar, cast

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
    differentiated per image in **eval mode**, as the authors' ``get_fisher`` does: BatchNorm
    uses its running statistics, which for a freshly built network are the initial 0 and 1
    (BatchNorm is then the identity), so the images do not interact. The score is
    :func:`decile_entropy` of F's eigenvalues.

    Because the images do not interact, one forward pass of the whole batch and one backward
    pass per class give every image's gradient at every module output (the gradient of
    ``logits[:, c].sum()`` at image b's activations is that of image b's logit c); the
    derivative w.r.t. a chosen weight entry is that gradient contracted with the module's input
    (:func:`_batched_jacobian`). Supported: weights and biases of Conv1d/2d/3d (zero padding),
    Linear and BatchNorm (running statistics), each owner run once. Any other chosen tensor
    (another module type or parameter, a shared parameter, a module run twice, a BatchNorm
    without running statistics) makes the whole network take the reference path,
    ``torch.func.vmap`` of ``jacrev`` image by image (:func:`_vmap_jacobian`). Revision 2 is
    this formulation: the same derivatives summed in another order (revision 1 was the vmap
    path everywhere), scores equal to about 1e-7 relative, about 1.7x faster on NB201.

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
    revision: ClassVar[int] = 2
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

    :func:`_batched_jacobian` when the network allows it, else :func:`_vmap_jacobian`.
    """
    fast = _batched_jacobian(model, params, names, picks, x)
    if fast is not None:
        return fast
    return _vmap_jacobian(_with_frozen_norms(model), params, names, picks, x)


def _vmap_jacobian(
    net: nn.Module,
    params: dict[str, torch.Tensor],
    names: list[str],
    picks: list[int],
    x: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference: each image differentiated on its own (``vmap`` of ``jacrev``).

    The derivatives w.r.t. the whole chosen tensors are taken (``_CHUNK`` images at a time, to
    bound memory) and the chosen entries read from them: as fast as differentiating w.r.t. the
    single entries, since reverse mode computes each tensor's gradient anyway. ``net`` is the
    network with :func:`_with_frozen_norms` applied.
    """
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


_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def _supported(owner: nn.Module, leaf: str) -> bool:
    """Whether :func:`_entry_derivative` knows ``owner``'s parameter ``leaf``.

    Exact types only: a subclass may compute something else in its ``forward``.
    """
    if type(owner) in _CONVS:
        conv = cast(nn.modules.conv._ConvNd, owner)
        return (
            leaf in ("weight", "bias")
            and conv.padding_mode == "zeros"
            and not isinstance(conv.padding, str)
        )
    return type(owner) in (nn.Linear, *_NORMS) and leaf in ("weight", "bias")


def _batched_jacobian(
    net: nn.Module,
    params: dict[str, torch.Tensor],
    names: list[str],
    picks: list[int],
    x: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The same derivatives from one forward pass of the whole batch and C backward passes.

    In eval mode with frozen BatchNorms, image b's logits depend on image b only, so the
    gradient of ``logits[:, c].sum()`` at a module's output is, image by image, the gradient of
    image b's logit c: one backward pass per class gives every image's. The derivative w.r.t.
    one weight entry is then a contraction of that gradient with the module's input
    (:func:`_entry_derivative`). Conv1d/2d/3d (zero padding given as numbers), Linear and
    frozen BatchNorm weights and biases are supported; ``None`` (the caller falls back on
    :func:`_vmap_jacobian`) when a chosen tensor belongs to another module or parameter, a
    parameter is shared by several modules, an owner runs more than once (or its input is
    changed in place afterwards), or a BatchNorm without running statistics (which mixes the
    images) remains in ``net``.
    """
    if any(
        isinstance(m, nn.modules.batchnorm._BatchNorm) and (m.training or m.running_mean is None)
        for m in net.modules()
    ):
        return None  # batch statistics: the images interact
    owners: dict[str, tuple[nn.Module, str]] = {}
    for name in names:
        prefix, _, leaf = name.rpartition(".")
        owner = net.get_submodule(prefix)
        if not _supported(owner, leaf):
            return None
        owners[name] = (owner, leaf)
    held = [id(p) for _, p in net.named_parameters(remove_duplicate=False)]
    if any(held.count(id(getattr(m, leaf))) > 1 for m, leaf in owners.values()):
        return None  # a chosen tensor used by several modules
    modules = {id(m): m for m, _ in owners.values()}
    calls: dict[int, list[tuple[torch.Tensor, int, torch.Tensor]]] = {k: [] for k in modules}

    def capture(
        module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor
    ) -> torch.Tensor:
        inp = inputs[0].detach()  # shares the version counter: in-place changes show
        calls[id(module)].append((inp, inp._version, output))
        return output.clone()  # later in-place ops (ReLU(inplace=True)) change the clone

    sub = {n: params[n].detach().requires_grad_() for n in names}
    handles = [m.register_forward_hook(capture) for m in modules.values()]
    try:
        out = first_tensor(functional_call(net, {**params, **sub}, (x,)))
    finally:
        for handle in handles:
            handle.remove()
    if out.dim() != 2 or out.shape[0] != x.shape[0]:
        raise ScoringError(f"vkdnw needs logits of shape (B, C); got {tuple(out.shape)}.")
    if any(len(c) > 1 or (c and c[0][1] != c[0][0]._version) for c in calls.values()):
        return None
    used = [k for k, c in calls.items() if c]
    outputs = [calls[k][0][2] for k in used]
    entries = [
        (i, id(owner), _entry(owner, leaf, pick, calls[id(owner)][0][0], calls[id(owner)][0][2]))
        for i, ((owner, leaf), pick) in enumerate(zip(owners.values(), picks, strict=True))
        if calls[id(owner)]
    ]
    columns = torch.zeros(out.shape[1], x.shape[0], len(names), dtype=out.dtype, device=x.device)
    if outputs and out.requires_grad:
        for c in range(out.shape[1]):
            grads = torch.autograd.grad(
                out[:, c].sum(), outputs, retain_graph=True, allow_unused=True,
                materialize_grads=True,
            )  # fmt: skip
            by_module = dict(zip(used, grads, strict=True))
            for i, module, (channel, last, operand) in entries:
                gout = by_module[module]
                g = gout[..., channel] if last else gout[:, channel]
                g = g.reshape(len(g), -1)
                columns[c, :, i] = (g if operand is None else g * operand).sum(1)
    return columns.permute(1, 0, 2), out.detach()


def _entry(
    owner: nn.Module, leaf: str, pick: int, inp: torch.Tensor, output: torch.Tensor
) -> tuple[int, bool, torch.Tensor | None]:
    """How d(logit)/d(``owner.leaf`` entry ``pick``) follows from the gradient at the output.

    ``(channel, last, operand)``: with ``g`` the gradient's ``channel`` (of the last dimension
    when ``last``, else of dimension 1), per image flattened to (B, L), the derivative is
    ``(g * operand).sum(1)``, or ``g.sum(1)`` when ``operand`` is None (a bias). ``inp`` and
    ``output`` are the module's input and output.
    """
    n = len(inp)
    if type(owner) is nn.Linear:  # y[..., o] = sum_i w[o, i] x[..., i] + b[o]
        if leaf == "bias":
            return pick, True, None
        n_in = inp.shape[-1]
        return pick // n_in, True, inp[..., pick % n_in].reshape(n, -1)
    if type(owner) in _NORMS:  # y[b, k, ...] = w[k] xhat[b, k, ...] + b[k]
        if leaf == "bias":
            return pick, False, None
        norm = cast(nn.modules.batchnorm._BatchNorm, owner)
        mean, var = cast(torch.Tensor, norm.running_mean), cast(torch.Tensor, norm.running_var)
        xhat = (inp[:, pick] - mean[pick]) * torch.rsqrt(var[pick] + norm.eps)
        return pick, False, xhat.reshape(n, -1)
    if leaf == "bias":
        return pick, False, None
    # w[o, i, k...]: y[b, o, y...] += w[o, i, k...] xpad[b, g * C_in/groups + i, y * s + k * d]
    conv = cast(nn.modules.conv._ConvNd, owner)
    shape = conv.weight.shape
    index = torch.unravel_index(torch.tensor(pick), tuple(shape))
    o, i, kernel = int(index[0]), int(index[1]), [int(k) for k in index[2:]]
    channel = o // (shape[0] // conv.groups) * shape[1] + i
    pads = [int(p) for p in cast(tuple[int, ...], conv.padding)]
    spatial = torch.nn.functional.pad(inp[:, channel], [q for p in reversed(pads) for q in (p, p)])
    window = [
        slice(k * d, k * d + (m - 1) * s + 1, s)
        for k, d, s, m in zip(kernel, conv.dilation, conv.stride, output.shape[2:], strict=True)
    ]
    return o, False, spatial[(slice(None), *window)].reshape(n, -1)


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
