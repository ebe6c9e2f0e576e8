"""AZ-NAS's four components as proxies; their log-rank aggregate is the ensemble ``az_nas``.

The proxies are ``az_expressivity``, ``az_progressivity``, ``az_trainability`` and
``az_complexity``. Lee & Ham, "AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture
Search", CVPR 2024. Implemented from the paper; what it leaves open was read in the authors'
NB201 code, as re-published in ondratybl/VKDNW (``NB201/ZeroShotProxy/compute_az_nas_score.py``,
GPL-3.0, derived from cvlab-yonsei/AZ-NAS; read, not copied):

* **Features** ("the output of each block"): the stem's output and every cell's output, the
  reduction blocks included (the authors' ``extract_cell_features``: 1 + 17 maps on NB201). A
  network that names its blocks with a ``feature_blocks()`` method contributes their outputs
  (naswot's NDS networks: the stems and every cell; its ResNet/ResNeXt networks: the stem and
  every residual block; the authors score no such space, so this is the same rule carried
  over); one without it or ``stem`` and ``cells`` attributes contributes the outputs of its
  direct children, in call order.
* **Protocol** (the default variant): conv/linear weights Kaiming-normal fan-in (std
  ``sqrt(2 / fan_in)``), biases 0, BatchNorm/GroupNorm affine weights 1 and biases 0; N(0, 1)
  inputs of the batch's shape; BatchNorm on batch statistics (train mode); batch 64. The weights
  are swapped in with ``torch.func.functional_call``: the network itself is not modified. The
  variant ``as_built`` keeps the network's own weights and feeds the batch's images (the usual
  protocol of this library's other proxies).
* Randomness: one ``torch.Generator().manual_seed(seed)`` draws, in order, the weights (in
  ``named_parameters`` order), the seed of the inputs, then the Rademacher probes of
  trainability (from the last pair of features to the first).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from naswot.data.batch import Batch
from naswot.exceptions import DegenerateNetworkError, ScoringError
from naswot.proxies._base import ScoreResult, Status
from naswot.proxies._common import (
    WEIGHTED,
    check_variant,
    failures_as_scoring_errors,
    finite_result,
    in_layout_of,
    inputs_of,
    noise_like,
    scoring_state,
)
from naswot.proxies._shared import SharedPasses, SharesPasses
from naswot.proxies.flops import Flops

__all__ = [
    "AzComplexity",
    "AzExpressivity",
    "AzProgressivity",
    "AzTrainability",
    "feature_entropy",
    "kaiming_fan_in",
    "trainability_term",
]

NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm)
_EPS_LOG = 1e-8  # inside the entropy's log, as the authors' code
_EPS_SIGMA = 1e-6  # in 1 / sigma_max, as the authors' code


def kaiming_fan_in(model: nn.Module, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """AZ-NAS's initialisation of ``model`` as a parameter dict (the model is not changed).

    Conv/linear weights ~ N(0, 2 / fan_in) with ``fan_in = weight[0].numel()`` (PyTorch's
    ``kaiming_normal_(mode="fan_in", nonlinearity="relu")``), their biases 0; affine
    BatchNorm/GroupNorm weights 1 and biases 0; other parameters keep their values. Weights are
    drawn from ``generator`` in ``named_parameters`` order, on the CPU, then moved into the
    parameter's dtype, device and memory layout (a channels_last network stays one).
    """
    out: dict[str, torch.Tensor] = {}
    for name, p in model.named_parameters():
        owner = model.get_submodule(name.rpartition(".")[0])
        leaf = name.rpartition(".")[2]
        if isinstance(owner, WEIGHTED) and leaf == "weight":
            std = math.sqrt(2.0 / max(p[0].numel(), 1))
            out[name] = in_layout_of(p, torch.randn(p.shape, generator=generator) * std)
        elif isinstance(owner, WEIGHTED + NORMS) and leaf == "bias":
            out[name] = torch.zeros_like(p)
        elif isinstance(owner, NORMS) and leaf == "weight":
            out[name] = torch.ones_like(p)
        else:
            out[name] = p.detach()
    return out


def feature_entropy(feature: torch.Tensor) -> float:
    """Expressivity of one feature map: the entropy of its normalised PCA spectrum.

    The map (B, C, H, W) is read as B*H*W samples of C channels (a (B, C) map as B samples);
    with ``Sigma`` their (biased) covariance and ``s`` its eigenvalues (float64; rounding
    negatives set to 0), ``p = s / sum(s)`` and the entropy is ``-sum p log(p + 1e-8)``.

    Raises:
        DegenerateNetworkError: status ``constant`` when the map has no variance.
    """
    x = feature.detach().double()
    x = x.movedim(1, -1).reshape(-1, x.shape[1]) if x.dim() > 2 else x.reshape(len(x), -1)
    x = x - x.mean(dim=0, keepdim=True)
    sigma = x.T @ x / x.shape[0]
    s = torch.linalg.eigvalsh(sigma).clamp(min=0.0)
    total = float(s.sum())
    if not total > 0.0:
        raise DegenerateNetworkError(
            "A feature map is constant (no variance), so its spectrum has no entropy.",
            status=Status.CONSTANT.value,
        )
    p = s / total
    return float(-(p * torch.log(p + _EPS_LOG)).sum())


def trainability_term(g_in: torch.Tensor, g_out: torch.Tensor) -> float:
    """One block's trainability: ``-sigma_max - 1 / (sigma_max + 1e-6) + 2`` (at most 0).

    ``g_out`` is the Rademacher probe at the block's output and ``g_in = J^T g_out`` the vector-
    Jacobian product at its input; ``sigma_max`` is the largest singular value of
    ``M = g_in^T g_out / N`` over the N = B*H*W positions (channels as the matrix dimensions), an
    estimate of the block Jacobian's spectral norm. When the block halves the resolution,
    ``g_in`` is first pixel-unshuffled to the output's size. The term is largest (0) for
    ``sigma_max = 1``.
    """
    if g_in.shape[2:] != g_out.shape[2:]:
        stride = g_in.shape[-1] // g_out.shape[-1] if g_out.dim() == 4 == g_in.dim() else 0
        if stride < 1 or g_in.shape[2:] != tuple(stride * n for n in g_out.shape[2:]):
            raise ScoringError(
                f"az_trainability: a block maps features of shape {tuple(g_in.shape)} to "
                f"{tuple(g_out.shape)}, not the same or an integer downsampling of 4-d maps; "
                "give the network a feature_blocks() method that lists its blocks."
            )
        g_in = F.pixel_unshuffle(g_in, stride)
    a = g_in.double().movedim(1, -1).reshape(-1, g_in.shape[1])
    b = g_out.double().movedim(1, -1).reshape(-1, g_out.shape[1])
    mat = a.T @ b / b.shape[0]
    sigma = float(torch.linalg.svdvals(mat).max())
    return -sigma - 1.0 / (sigma + _EPS_SIGMA) + 2.0


def feature_modules(model: nn.Module) -> list[nn.Module]:
    """The blocks whose outputs AZ-NAS reads, in call order.

    ``model.feature_blocks()`` where the network defines it, else ``stem`` and each of
    ``cells``, else the direct children.
    """
    declared = getattr(model, "feature_blocks", None)
    if callable(declared):
        return list(declared())
    stem, cells = getattr(model, "stem", None), getattr(model, "cells", None)
    if isinstance(stem, nn.Module) and isinstance(cells, nn.Sequential | nn.ModuleList):
        return [stem, *cells]
    return list(model.children())


@contextmanager
def _recorded(model: nn.Module) -> Iterator[list[torch.Tensor]]:
    """Collects the feature maps of one forward pass.

    Each map is passed on as a copy, so an in-place activation after a block cannot change it.
    """
    features: list[torch.Tensor] = []

    def keep(module: nn.Module, args: tuple[object, ...], output: object) -> object:
        if isinstance(output, torch.Tensor) and output.dim() >= 2:
            features.append(output)
            return output.clone()
        return None

    handles = [m.register_forward_hook(keep) for m in feature_modules(model)]
    try:
        yield features
    finally:
        for h in handles:
            h.remove()


class _AzComponent(SharesPasses):
    """What the four components share: variants, seed, the forward pass that yields features.

    The forward pass (the shared pass ``az_forward``) runs once per network, seed and variant
    with the graph kept (trainability pulls probes back through it), and the entropies of its
    features (``az_entropies``) once: expressivity and progressivity read the same list.
    """

    name: str
    higher_is_better = True
    needs_labels = False
    needs_classes = False
    default_batch_size = 64  # the paper's batch; the CLI uses it when --batch-size is not given
    # 2: features from feature_blocks(); 1 read the stem, the pooled map and the head of the NDS
    # networks (where trainability failed); NB201, NB101 and NATS scores are unchanged.
    revision: ClassVar[int] = 2
    variants: ClassVar[tuple[str, ...]] = ("default", "as_built")
    passes: ClassVar[tuple[str, ...]] = ("az_forward", "az_entropies")

    def __init__(self, variant: str = "default", *, seed: int = 0) -> None:
        self.variant = check_variant(type(self).__name__, variant, self.variants)
        self.seed = seed

    def _forward(
        self, model: nn.Module, batch: Batch, passes: SharedPasses
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """The feature maps of one forward pass (with the graph between them), and more.

        Also the state of the seed's generator after the weights and inputs were drawn (the
        trainability probes are drawn next).
        """
        return passes.get(
            model,
            batch,
            ("az_forward", self.variant, self.seed),
            lambda: self._compute_forward(model, batch),
        )

    def _compute_forward(
        self, model: nn.Module, batch: Batch
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        generator = torch.Generator().manual_seed(self.seed)
        x = inputs_of(batch, self.name, min_size=2)
        if self.variant == "default":
            params = kaiming_fan_in(model, generator)
            (seed_x,) = torch.randint(0, 2**62, (1,), generator=generator).tolist()
            x = noise_like(x, seed_x)
        else:
            params = dict(model.named_parameters())
        # Private copies of the BatchNorm statistics: the graph kept for trainability saves
        # them, and restoring the network's own after another proxy must not touch the graph.
        buffers = {n: b.clone() for n, b in model.named_buffers()}
        with _recorded(model) as features:  # x requires grad: the graph between the features
            functional_call(model, (params, buffers), (x.detach().requires_grad_(True),))
        if len(features) < 2:
            raise ScoringError(
                f"{self.name} needs at least two block outputs (the model's stem and cells, or "
                f"its children); found {len(features)}."
            )
        return features, generator.get_state()

    def _entropies(self, model: nn.Module, batch: Batch, passes: SharedPasses) -> list[float]:
        """:func:`feature_entropy` of each feature map of the forward pass."""
        return passes.get(
            model,
            batch,
            ("az_entropies", self.variant, self.seed),
            lambda: [feature_entropy(f) for f in self._forward(model, batch, passes)[0]],
        )

    def _score(self, model: nn.Module, batch: Batch, passes: SharedPasses) -> ScoreResult:
        raise NotImplementedError

    def score_shared(self, model: nn.Module, batch: Batch, passes: SharedPasses, /) -> ScoreResult:
        """Scores ``model`` (default: re-initialised, on N(0, 1) inputs of the batch's shape)."""
        with (
            scoring_state(model, train=True),
            failures_as_scoring_errors(self.name),
            torch.enable_grad(),
        ):
            return self._score(model, batch, passes)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.variant!r}, seed={self.seed})"


class AzExpressivity(_AzComponent):
    """``S = sum_l H(l)``, the entropies of the features' PCA spectra; higher is better.

    See :func:`feature_entropy` and the module docstring (features, initialisation, inputs).
    A constant feature map has status ``constant`` (the authors' code scores it -inf).
    """

    name = "az_expressivity"

    def _score(self, model: nn.Module, batch: Batch, passes: SharedPasses) -> ScoreResult:
        return finite_result(sum(self._entropies(model, batch, passes)), self.name)


class AzProgressivity(_AzComponent):
    """``S = min_l (H(l+1) - H(l))``, the smallest gain of expressivity between blocks.

    Higher is better: every block should add to the spectrum's entropy. Same features and
    protocol as :class:`AzExpressivity`.
    """

    name = "az_progressivity"

    def _score(self, model: nn.Module, batch: Batch, passes: SharedPasses) -> ScoreResult:
        h = self._entropies(model, batch, passes)
        return finite_result(min(b - a for a, b in itertools.pairwise(h)), self.name)


class AzTrainability(_AzComponent):
    """``S = mean_l t(l)``, the mean of the blocks' :func:`trainability_term`; higher is better.

    For each pair of consecutive features (block l maps f_{l-1} to f_l), a Rademacher probe at
    f_l is pulled back to f_{l-1} by one vector-Jacobian product. A block whose pulled-back probe
    equals the probe exactly (its Jacobian is the identity: e.g. an NB201 cell whose only live
    path is a skip connection) is scored -inf by the authors; here the result is ``-inf`` with
    status ``singular``, which ranks lowest as theirs does.
    """

    name = "az_trainability"
    # bumped: the probes are drawn in the feature map's memory layout (the same values), so a
    # channels_last network's backward does not convert them (rounding moves by ~1e-9)
    revision: ClassVar[int] = 3
    passes: ClassVar[tuple[str, ...]] = ("az_forward",)

    def _score(self, model: nn.Module, batch: Batch, passes: SharedPasses) -> ScoreResult:
        features, state = self._forward(model, batch, passes)
        generator = torch.Generator()
        generator.set_state(state)
        terms: list[float] = []
        for out, inp in zip(features[:0:-1], features[-2::-1], strict=True):
            drawn = torch.randint(0, 2, out.shape, generator=generator) * 2 - 1
            probe = in_layout_of(out, drawn)  # out's layout: the backward converts nothing
            (g_in,) = torch.autograd.grad(
                out, inp, grad_outputs=probe, retain_graph=True, allow_unused=True
            )
            if g_in is None:
                g_in = torch.zeros_like(inp)
            if g_in.shape == probe.shape and torch.equal(g_in, probe):
                terms.append(-math.inf)
                continue
            terms.append(trainability_term(g_in, probe))
        if any(t == -math.inf for t in terms):
            return ScoreResult(score=-math.inf, status=Status.SINGULAR)
        return finite_result(sum(terms) / len(terms), self.name)


class AzComplexity(Flops):
    """AZ-NAS's complexity term: the FLOPs of the network, as :class:`~naswot.proxies.Flops`.

    The authors take NB201's FLOPs from the benchmark's API; here they are counted as ``flops``
    counts them (multiply-adds of conv/linear layers, the head included), which orders the
    NB201 cells the same way. Higher is better (AZ-NAS favours the larger network).
    """

    name = "az_complexity"
    revision: ClassVar[int] = 1
    variants: ClassVar[tuple[str, ...]] = ("default",)

    def __init__(self, variant: str = "default") -> None:
        self.variant = check_variant("AzComplexity", variant, self.variants)

    def __repr__(self) -> str:
        return "AzComplexity()"
