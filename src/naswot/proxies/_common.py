"""Shared plumbing of the zero-cost proxies: modes, hooks, labels, weights and failure handling.

Every proxy runs inside :func:`scoring_state`, which restores the modules' modes and BatchNorm
running statistics, and inside :func:`failures_as_scoring_errors`, which turns PyTorch errors into
:class:`~naswot.exceptions.ScoringError` (CUDA out-of-memory errors pass through unchanged: the
caller records them with advice). Gradients are taken with ``torch.autograd.grad``, so no proxy
leaves ``.grad`` tensors on the parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from naswot.data.batch import Batch
from naswot.exceptions import (
    DegenerateNetworkError,
    InvalidParameterError,
    NaswotError,
    ScoringError,
)
from naswot.proxies._base import ProxyFactory, ScoreResult, Status
from naswot.proxies._shared import SharedPasses, SharesPasses

__all__ = [
    "WEIGHTED",
    "LossGradients",
    "LossHessian",
    "ProxyClass",
    "WeightGradientProxy",
    "check_finite",
    "check_model",
    "check_variant",
    "cross_entropy",
    "failures_as_scoring_errors",
    "finite_result",
    "first_tensor",
    "forward_hooks",
    "in_layout_of",
    "inputs_of",
    "layer_weights",
    "loss_gradients",
    "loss_hessian",
    "noise_like",
    "scoring_state",
    "shared_loss_gradients",
    "shared_loss_hessian",
    "weight_gradients",
]

# The "prunable" layers of the pruning-at-initialisation literature: their weights are scored.
WEIGHTED: tuple[type[nn.Module], ...] = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)

Hook = Callable[[nn.Module, tuple[object, ...], object], object]


class ProxyClass(ProxyFactory, Protocol):
    """A registered proxy class: its own factory, plus what the network and batch must provide.

    Attributes:
        name: the registered name.
        higher_is_better: the orientation of the score.
        needs_labels: the batch must carry targets (cross-entropy or per-class proxies).
        needs_classes: build the network with the dataset's number of classes (not 1 output).
        revision: the revision of the arithmetic, bumped whenever a change alters any score (the
            store keys scores by it; ``tests/proxies/test_revisions.py`` checks golden values).
    """

    name: str
    higher_is_better: bool
    needs_labels: bool
    needs_classes: bool
    revision: int


def check_variant(owner: str, variant: str, variants: Sequence[str]) -> str:
    """Returns ``variant`` if ``owner`` knows it; raises InvalidParameterError otherwise."""
    if variant not in variants:
        raise InvalidParameterError(
            f"The 'variant' parameter of {owner} must be one of {sorted(variants)}. "
            f"Got {variant!r} instead."
        )
    return variant


def first_tensor(output: object) -> torch.Tensor:
    """The model output, or the first element of a tuple/list output."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, tuple | list) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    raise ScoringError(
        f"The model returned {type(output).__name__}; proxies need a tensor, or a tuple/list "
        "whose first element is the output tensor."
    )


def inputs_of(batch: Batch, proxy: str, *, min_size: int = 1) -> torch.Tensor:
    """The batch inputs, checked: at least ``min_size`` inputs, all finite."""
    x = batch.inputs
    if x.dim() < 2 or x.shape[0] < min_size:
        raise ScoringError(
            f"{proxy} needs a batch of at least {min_size} inputs, got shape {tuple(x.shape)}."
        )
    check_finite(x)
    return x


def check_finite(x: torch.Tensor) -> None:
    """Raises ScoringError naming the inputs of ``x`` (B, ...) that are not finite."""
    bad = ~torch.isfinite(x.reshape(len(x), -1)).all(dim=1)
    if bool(bad.any()):
        first = int(bad.nonzero()[0, 0])
        raise ScoringError(
            f"The batch holds NaN or infinite values in {int(bad.sum())} of its {len(bad)} "
            f"inputs (first: input {first}); proxies need finite inputs."
        )


def noise_like(x: torch.Tensor, seed: int, *, n: int | None = None) -> torch.Tensor:
    """N(0, 1) inputs of the shape of ``x`` (or of ``n`` such inputs), drawn from ``seed``.

    The draw is ``torch.randn(shape, generator=torch.Generator().manual_seed(seed))`` on the CPU
    in float32, then moved to ``x``'s device and dtype, so it is the same on every device.
    """
    shape = (x.shape[0] if n is None else n, *x.shape[1:])
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=generator).to(device=x.device, dtype=x.dtype)


def in_layout_of(reference: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """``values`` in ``reference``'s dtype, device and memory layout.

    ``values.to(reference)`` keeps dtype and device but not the layout, so a tensor drawn on the
    CPU for a channels_last network would put it back in NCHW (and its backward would convert).
    """
    return torch.empty_like(reference).copy_(values)


def layer_weights(model: nn.Module) -> list[torch.Tensor]:
    """The weights of the convolution and linear modules of ``model``, in module order."""
    weights: list[torch.Tensor] = []
    for m in model.modules():
        if isinstance(m, nn.Conv1d | nn.Conv2d | nn.Conv3d | nn.Linear):
            weights.append(m.weight)
    return weights


def cross_entropy(
    output: torch.Tensor, batch: Batch, proxy: str, *, reduction: str = "mean"
) -> torch.Tensor:
    """The cross-entropy of ``output`` (B, n_classes) against the batch's labels.

    Raises:
        ScoringError: without labels, or when the network has too few outputs for them.
    """
    targets = labels_of(batch, output, proxy)
    return F.cross_entropy(output, targets, reduction=reduction)


def labels_of(batch: Batch, output: torch.Tensor, proxy: str) -> torch.Tensor:
    """The batch's labels, checked against the network's number of outputs."""
    if batch.targets is None:
        raise ScoringError(
            f"{proxy} needs labels, but the batch has none (e.g. a noise batch); score it on a "
            "labelled dataset."
        )
    targets = batch.targets.to(output.device)
    n = output.shape[1] if output.dim() == 2 else 0
    if n < 2 or int(targets.max()) >= n or int(targets.min()) < 0:
        raise ScoringError(
            f"{proxy} needs one output per class: the network has output shape "
            f"{tuple(output.shape)} but the labels go up to {int(targets.max())}; build the "
            "network with the dataset's number of classes."
        )
    return targets


def weight_gradients(
    model: nn.Module, x: torch.Tensor, batch: Batch, proxy: str
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The conv/linear weights (detached) and the mean cross-entropy's gradients w.r.t. them.

    Weights that the loss does not depend on get a zero gradient.
    """
    weights = layer_weights(model)
    if not weights:
        raise ScoringError(f"{proxy} needs convolution or linear layers; the model has none.")
    with torch.enable_grad():
        loss = cross_entropy(first_tensor(model(x)), batch, proxy)
        grads = torch.autograd.grad(loss, weights, allow_unused=True)
    pairs = zip(weights, grads, strict=True)
    return [w.detach() for w in weights], [
        torch.zeros_like(w) if g is None else g for w, g in pairs
    ]


@dataclass(frozen=True)
class LossGradients:
    """One forward and backward of the cross-entropy: what snip, grad_norm, plain and fisher read.

    Attributes:
        weights: the conv/linear weights (detached), in module order.
        weight_grads: the loss's gradients w.r.t. them (zeros where the loss does not depend
            on a weight).
        modules: the conv/linear modules whose outputs took part in the graph, per call.
        activations: those outputs (detached), per call.
        activation_grads: the loss's gradients w.r.t. them (None where it does not depend).
    """

    weights: list[torch.Tensor]
    weight_grads: list[torch.Tensor]
    modules: list[nn.Module]
    activations: list[torch.Tensor]
    activation_grads: list[torch.Tensor | None]


def loss_gradients(
    model: nn.Module, x: torch.Tensor, batch: Batch, proxy: str, *, reduction: str = "mean"
) -> LossGradients:
    """The cross-entropy's gradients w.r.t. the conv/linear weights and their outputs.

    The model runs in its current mode. Hooks keep each conv/linear output and pass on a copy,
    so an in-place activation after a layer cannot overwrite it; the copy does not change any
    gradient (the weight gradients equal :func:`weight_gradients`'s bit for bit).
    """
    gradients, _, _ = _loss_backward(model, x, batch, proxy, reduction=reduction, graph=False)
    return gradients


@dataclass(frozen=True)
class LossHessian:
    """The pass ``ce_hessian``: :class:`LossGradients` (mean) and GraSP's ``H g`` beside them.

    Attributes:
        gradients: the pass ``ce_grads`` (mean reduction), equal to :func:`loss_gradients`'s
            bit for bit.
        hessian_gradient: ``H g = d(g_detached . g)/dw`` per weight of ``gradients.weights``
            (None where the loss does not depend on the weight); None when the gradients do
            not depend on the weights at all (then ``H g = 0``).
        error: what the double back-propagation raised, if it failed; kept for grasp to raise,
            so that a proxy reading only ``gradients`` scores as it does alone.
    """

    gradients: LossGradients
    hessian_gradient: list[torch.Tensor | None] | None
    error: Exception | None = None


def loss_hessian(model: nn.Module, x: torch.Tensor, batch: Batch, proxy: str) -> LossHessian:
    """The mean cross-entropy's gradients with the graph kept, then ``H g`` from them.

    One forward pass and one backward pass recorded for double back-propagation
    (``create_graph``), then the backward of ``z = sum_w g_detached . g``. The graph is freed
    before this returns.
    """
    gradients, weights, grads = _loss_backward(model, x, batch, proxy, reduction="mean", graph=True)
    live = [(i, g) for i, g in enumerate(grads) if g is not None]
    used = [i for i, _ in live]
    try:
        with torch.enable_grad():
            z = torch.stack([(g.detach() * g).sum() for _, g in live]).sum()
            if not z.requires_grad:  # the gradient does not depend on the weights: H g = 0
                return LossHessian(gradients, None)
            hg = torch.autograd.grad(z, [weights[i] for i in used], allow_unused=True)
    except Exception as e:  # noqa: BLE001 - kept for grasp; the gradients above are whole
        return LossHessian(gradients, None, error=e.with_traceback(None))  # frees the frames
    out: list[torch.Tensor | None] = [None] * len(weights)
    for i, h in zip(used, hg, strict=True):
        out[i] = h
    return LossHessian(gradients, out)


def _loss_backward(
    model: nn.Module, x: torch.Tensor, batch: Batch, proxy: str, *, reduction: str, graph: bool
) -> tuple[LossGradients, list[torch.Tensor], list[torch.Tensor | None]]:
    """:func:`loss_gradients`, plus the live weights and their gradients (with ``graph``)."""
    weights = layer_weights(model)
    if not weights:
        raise ScoringError(f"{proxy} needs convolution or linear layers; the model has none.")
    modules: list[nn.Module] = []
    outputs: list[torch.Tensor] = []

    def keep(module: nn.Module, args: tuple[object, ...], output: object) -> object:
        if isinstance(output, torch.Tensor) and output.requires_grad:
            modules.append(module)
            outputs.append(output)
            return output.clone()
        return None

    with torch.enable_grad():
        with forward_hooks(model, lambda m: isinstance(m, WEIGHTED), keep):
            out = first_tensor(model(x))
        loss = cross_entropy(out, batch, proxy, reduction=reduction)
        grads = torch.autograd.grad(
            loss, [*weights, *outputs], allow_unused=True, create_graph=graph
        )
    n = len(weights)
    gradients = LossGradients(
        weights=[w.detach() for w in weights],
        weight_grads=[
            torch.zeros_like(w) if g is None else g.detach()
            for w, g in zip(weights, grads[:n], strict=True)
        ],
        modules=modules,
        activations=[a.detach() for a in outputs],
        activation_grads=[None if g is None else g.detach() for g in grads[n:]],
    )
    return gradients, weights, list(grads[:n])


def shared_loss_gradients(
    model: nn.Module,
    x: torch.Tensor,
    batch: Batch,
    passes: SharedPasses,
    proxy: str,
    *,
    reduction: str = "mean",
) -> LossGradients:
    """The shared pass ``ce_grads``: :func:`loss_gradients`, once per network and reduction.

    When ``ce_hessian`` is planned too (grasp is scored with the same network), the mean's
    gradients come from that pass (:func:`shared_loss_hessian`): the same values, one backward.
    """
    if reduction == "mean" and "ce_hessian" in passes.planned:
        return shared_loss_hessian(model, x, batch, passes, proxy).gradients
    return passes.get(
        model,
        batch,
        ("ce_grads", reduction),
        lambda: loss_gradients(model, x, batch, proxy, reduction=reduction),
    )


class WeightGradientProxy(SharesPasses):
    """A score reduced from the conv/linear weights and their gradients (the pass ``ce_grads``).

    L is the mean cross-entropy of the batch against its labels (``needs_labels``; the network
    has one output per class, ``needs_classes``), with BatchNorm in train mode (batch
    statistics), as foresight scores it. A subclass sets ``name`` and implements
    :meth:`reduce`; the variant is always ``default``.
    """

    higher_is_better = True
    needs_labels = True
    needs_classes = True
    variants: ClassVar[tuple[str, ...]] = ("default",)
    revision: ClassVar[int] = 1
    passes: ClassVar[tuple[str, ...]] = ("ce_grads",)
    name: str

    def __init__(self, variant: str = "default") -> None:
        self.variant = check_variant(type(self).__name__, variant, self.variants)

    def reduce(self, weights: list[torch.Tensor], grads: list[torch.Tensor]) -> float:
        """The score from the weights and their gradients (in module order)."""
        raise NotImplementedError

    def score_shared(self, model: nn.Module, batch: Batch, passes: SharedPasses, /) -> ScoreResult:
        """Scores ``model`` on the labelled ``batch`` (the weight gradients from ``passes``)."""
        x = inputs_of(batch, self.name)
        with (
            scoring_state(model, train=True, proxy=self.name),
            failures_as_scoring_errors(self.name),
        ):
            pass_ = shared_loss_gradients(model, x, batch, passes, self.name)
            return finite_result(self.reduce(pass_.weights, pass_.weight_grads), self.name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def shared_loss_hessian(
    model: nn.Module, x: torch.Tensor, batch: Batch, passes: SharedPasses, proxy: str
) -> LossHessian:
    """The shared pass ``ce_hessian``: :func:`loss_hessian`, once per network."""
    return passes.get(model, batch, ("ce_hessian",), lambda: loss_hessian(model, x, batch, proxy))


def check_model(model: object, proxy: str) -> nn.Module:
    """``model`` if it is an ``nn.Module`` whose parameters are all finite.

    A model with NaN or infinite weights is broken, not degenerate (no builder makes one), so
    every proxy refuses it, even those that only count (params, flops), rather than return a
    plausible number or a NaN that reads as ``overflow``.

    Raises:
        InvalidParameterError: if ``model`` is not an ``nn.Module``.
        ScoringError: naming the first parameter that holds NaN or infinite values.
    """
    if not isinstance(model, nn.Module):
        raise InvalidParameterError(
            f"The 'model' parameter of {proxy} must be a torch nn.Module. Got "
            f"{type(model).__name__} instead."
        )
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not bool(torch.isfinite(p).all()):
                n = int((~torch.isfinite(p)).sum())
                raise ScoringError(
                    f"{proxy}: the model's weights hold NaN or infinite values ({n} of the "
                    f"{p.numel()} values of {name}); score a freshly initialised network."
                )
    return model


@contextmanager
def scoring_state(model: nn.Module, *, train: bool, proxy: str = "the proxy") -> Iterator[None]:
    """Puts ``model`` in train (batch-statistics BatchNorm) or eval mode while scoring.

    On exit the modules' modes and the BatchNorm buffers (running statistics) are restored.

    Raises:
        InvalidParameterError, ScoringError: see :func:`check_model`, which runs first.
    """
    check_model(model, proxy)
    modes = {m: m.training for m in model.modules()}
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._NormBase)]
    saved = [{n: b.clone() for n, b in m.named_buffers(recurse=False)} for m in norms]
    model.train(train)
    try:
        yield
    finally:
        for m, mode in modes.items():
            m.training = mode
        with torch.no_grad():
            for m, buffers in zip(norms, saved, strict=True):
                for n, b in buffers.items():
                    getattr(m, n).copy_(b)


@contextmanager
def forward_hooks(
    model: nn.Module, select: Callable[[nn.Module], bool], hook: Hook
) -> Iterator[int]:
    """Registers ``hook`` as a forward hook on every selected module; removes them all on exit.

    Yields:
        The number of hooked modules.
    """
    handles = [m.register_forward_hook(hook) for m in model.modules() if select(m)]
    try:
        yield len(handles)
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def failures_as_scoring_errors(proxy: str) -> Iterator[None]:
    """Re-raises PyTorch/NumPy failures as ScoringError naming ``proxy`` (CUDA OOM passes)."""
    try:
        yield
    except (NaswotError, torch.cuda.OutOfMemoryError):
        raise
    except (RuntimeError, ValueError, TypeError, IndexError, ZeroDivisionError) as e:
        hint = ""
        if "Expected more than 1 value per channel when training" in str(e):
            hint = (
                " (a train-mode BatchNorm saw one value per channel: the proxy's batch is one "
                "image, as meco's, or too small, and the network reduces it to 1x1 maps, e.g. "
                "ImageNet stems on 32x32 images: score on larger images or a larger batch)"
            )
        raise ScoringError(f"{proxy} failed: {type(e).__name__}: {e}{hint}") from e


def finite_result(value: float | torch.Tensor, proxy: str) -> ScoreResult:
    """An ``ok`` result for a finite ``value``; a non-finite value is status ``overflow``."""
    score = float(value)
    if not math.isfinite(score):
        raise DegenerateNetworkError(
            f"{proxy} gave a non-finite score ({score}): the computation overflowed or divided "
            "by zero for this network.",
            status=Status.OVERFLOW.value,
        )
    return ScoreResult(score=score, status=Status.OK)
