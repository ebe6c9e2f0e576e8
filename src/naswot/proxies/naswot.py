"""The NASWOT score (Mellor, Turner, Storkey, Crowley, ICML 2021).

"Neural Architecture Search without Training", arXiv 2006.04647.

For a minibatch x_1..x_B, the binary code c_i of input i says which rectified units of the
untrained network are active. With N_A units in all,

    K_H[i, j] = N_A - Hamming(c_i, c_j)        (Eq. 1)
    s = log |K_H|                              (Eq. 2), higher is better.

Behaviour follows the official code (PAPER.md §1): codes from the *inputs* of the rectifier
modules, BatchNorm in train mode (batch statistics), one output unit, and only rectifiers on a
path to the output counted. The official code finds those by a forward, a backward and a second
forward; here one forward with autograd plus one backward gives the same K, and networks that
declare every rectifier on the output path (NAS-Bench-201) use a single forward without autograd.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

import torch
from torch import nn

from naswot.data.batch import Batch
from naswot.exceptions import (
    DegenerateNetworkError,
    InvalidParameterError,
    NaswotError,
    ScoringError,
)
from naswot.proxies._base import ScoreResult, Status
from naswot.proxies._common import (
    check_finite,
    failures_as_scoring_errors,
    first_tensor,
    noise_like,
    scoring_state,
)
from naswot.proxies._hooks import ModuleKernels, is_official_relu, is_rectifier, record_kernels
from naswot.proxies._kernel import log_abs_det
from naswot.proxies._shared import SharedPasses, SharesPasses

__all__ = ["VARIANTS", "Naswot", "naswot_kernel", "score", "shared_kernel"]

# Which modules each variant hooks. ``relu_forward_all`` also turns the on-path gate off,
# ``noise`` replaces the batch by N(0, 1) inputs and ``normalised`` divides K by N_A.
VARIANTS: dict[str, Callable[[nn.Module], bool]] = {
    "default": is_rectifier,
    "official": is_official_relu,
    "relu_forward_all": is_rectifier,
    "noise": is_rectifier,
    "normalised": is_rectifier,
}


class Naswot(SharesPasses):
    """The NASWOT (v2) score as a proxy.

    Args:
        variant: ``default`` counts each rectifier once per call, as Eq. 1 defines; ``official``
            also hooks every module whose type name contains "ReLU" (e.g. ``ReLUConvBN``), which
            counts conv-path ReLUs twice, as the official code does, so absolute scores match it.
            ``relu_forward_all`` is the forward-only port of NASLib and MASE (``naswot_relu``):
            every rectifier counts, on the output path or not (the gate is off). ``noise`` scores
            N(0, 1) inputs of the batch's shape instead of the batch (the ZenNAS/AZ-NAS
            practice; the weights are the network's own). ``normalised`` divides K by N_A before
            the log-determinant (issue #20 of the official repository): ``log|K / N_A| =
            log|K| - B log N_A``, which removes the advantage of merely having more units.
        gate: count only rectifiers on a path to the output (True), all hooked ones (False), or
            decide per model (None): models with ``naswot_all_activations_on_output_path = True``
            skip the gate, since it would keep every rectifier anyway. ``relu_forward_all``
            always runs without it (``gate=True`` is refused).
        seed: the seed of the ``noise`` inputs, drawn as
            ``torch.randn(shape, generator=torch.Generator().manual_seed(seed))`` on the CPU and
            moved to the batch's device (other variants draw nothing).

    Example:
        >>> import torch, naswot
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
        >>> result = naswot.proxies.Naswot()(net, naswot.data.Batch(torch.randn(3, 4)))
        >>> result.status.value
        'ok'
    """

    name = "naswot"
    higher_is_better = True
    needs_labels = False
    needs_classes = False
    variants = tuple(VARIANTS)
    revision: ClassVar[int] = 1
    passes: ClassVar[tuple[str, ...]] = ("naswot_kernel",)

    def __init__(
        self, variant: str = "default", *, gate: bool | None = None, seed: int = 0
    ) -> None:
        if variant not in VARIANTS:
            raise InvalidParameterError(
                f"The 'variant' parameter of Naswot must be one of {sorted(VARIANTS)}. "
                f"Got {variant!r} instead."
            )
        if variant == "relu_forward_all":
            if gate:
                raise InvalidParameterError(
                    "The 'gate' parameter of Naswot must be False or None for the variant "
                    "'relu_forward_all' (it counts every ReLU). Got True instead."
                )
            gate = False
        self.variant = variant
        self.gate = gate
        self.seed = seed

    def score_shared(self, model: nn.Module, batch: Batch, passes: SharedPasses, /) -> ScoreResult:
        """Scores ``model`` on ``batch`` (``default`` and ``normalised`` share one kernel)."""
        gate = self.gate
        if gate is None:
            gate = not getattr(model, "naswot_all_activations_on_output_path", False)
        inputs = batch.inputs
        if inputs.dim() < 2 or inputs.shape[0] < 2:
            raise ScoringError(
                f"NASWOT needs a batch of at least 2 inputs, got shape {tuple(inputs.shape)}."
            )
        check_finite(inputs)
        if self.variant == "noise":
            inputs = noise_like(inputs, self.seed)
        with (
            scoring_state(model, train=True, proxy=self.name),
            failures_as_scoring_errors(self.name),
        ):
            noise = self.seed if self.variant == "noise" else None
            kernel, n_units, n_calls = shared_kernel(
                model, batch, passes, inputs, VARIANTS[self.variant], gate=gate, noise=noise
            )
        if self.variant == "normalised":
            kernel = kernel / n_units
        value = log_abs_det(kernel)
        status = Status.OK if value != -float("inf") else Status.SINGULAR
        return ScoreResult(score=value, status=status, n_units=n_units, n_activations=n_calls)

    def __repr__(self) -> str:
        seed = f", seed={self.seed!r}" if self.variant == "noise" else ""
        return f"Naswot(variant={self.variant!r}, gate={self.gate!r}{seed})"


def shared_kernel(
    model: nn.Module,
    batch: Batch,
    passes: SharedPasses,
    inputs: torch.Tensor,
    select: Callable[[nn.Module], bool],
    *,
    gate: bool,
    noise: int | None = None,
) -> tuple[torch.Tensor, int, int]:
    """The ``naswot_kernel`` pass: summed K_H, N_A and calls of the ``select``-ed modules.

    ``inputs`` are the batch's (checked) inputs, or for ``noise`` (its seed) the noise drawn in
    their place. Shared by the NASWOT variants and ``linear_regions`` (all rectifiers, no gate).
    The model must already be in its scoring state (train mode).
    """
    return passes.get(
        model,
        batch,
        ("naswot_kernel", select.__name__, gate, noise),
        lambda: _kernel(model, inputs, select, gate=gate),
    )


def naswot_kernel(
    model: nn.Module, inputs: torch.Tensor, *, variant: str = "default", gate: bool = True
) -> tuple[torch.Tensor, int]:
    """The kernel K_H (float64, exact integers) and N_A of ``model`` on ``inputs``.

    The model is run as it is (call ``model.train()`` first for batch-statistics BatchNorm).
    """
    kernel, n_units, _ = _kernel(model, inputs, VARIANTS[variant], gate=gate)
    return kernel, n_units


def _kernel(
    model: nn.Module, inputs: torch.Tensor, select: Callable[[nn.Module], bool], *, gate: bool
) -> tuple[torch.Tensor, int, int]:
    with record_kernels(model, select, keep_outputs=gate) as record:
        if gate:
            x = inputs.detach().clone().requires_grad_(True)
            with torch.enable_grad():
                y = first_tensor(model(x))
                keys = _on_output_path(y, record)
        else:
            with torch.no_grad():
                first_tensor(model(inputs))
            keys = list(record.kernels)
    if not record.kernels:
        raise ScoringError(
            f"None of the {len(record.hooked)} ReLU modules ran during the forward pass: the "
            "hooks never fired (are the activations called functionally?)."
        )
    if not keys:
        raise DegenerateNetworkError(
            "No ReLU module lies on a path to the model's output.", status=Status.NO_RELU.value
        )
    kernel = torch.stack([record.kernels[k] for k in keys]).sum(0)
    return kernel, sum(record.units[k] for k in keys), sum(record.calls[k] for k in keys)


def _on_output_path(y: torch.Tensor, record: ModuleKernels) -> list[int]:
    """Modules whose output receives a gradient from sum(y): the official visited-backwards gate."""
    keys = [k for k in record.kernels if record.outputs.get(k)]
    if not y.requires_grad or not keys:
        return []
    tensors = [t for k in keys for t in record.outputs[k]]
    grads = torch.autograd.grad(y.sum(), tensors, allow_unused=True)
    on_path: set[int] = set()
    i = 0
    for k in keys:
        n = len(record.outputs[k])
        if any(g is not None for g in grads[i : i + n]):
            on_path.add(k)
        i += n
    return [k for k in record.kernels if k in on_path]


def score(
    model: nn.Module,
    batch: Batch | torch.Tensor,
    *,
    variant: str = "default",
    gate: bool | None = None,
    on_error: Literal["raise", "record"] = "raise",
) -> ScoreResult:
    """Scores any ``nn.Module`` with NASWOT on one minibatch.

    The batch is moved to the model's device. The model is scored in train mode (batch-statistics
    BatchNorm), and its modes and BatchNorm running statistics are restored afterwards.

    Args:
        model: the (untrained) network; its rectifiers must be modules (``nn.ReLU`` etc.).
        batch: a :class:`~naswot.data.Batch` or an input tensor of shape (B, ...), B >= 2.
        variant: a name in ``Naswot.variants`` (see :class:`Naswot`).
        gate: see :class:`Naswot`.
        on_error: ``raise`` a ScoringError, or ``record`` it as a result with status ``error``.

    Returns:
        The score with its status: ``ok``, ``singular`` (score ``-inf``), ``no_relu`` or
        ``error``.

    Raises:
        InvalidParameterError: if ``batch`` is not a Batch or tensor, its inputs are not floating
            point of the dtype of the model's weights, or ``on_error`` is invalid (whatever
            ``on_error`` says).
        ScoringError: with ``on_error="raise"``, if the network cannot be scored on the batch
            (fewer than 2 inputs, NaN or infinite inputs, a shape the model refuses, ...).

    Example:
        >>> import torch, naswot
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 16), torch.nn.ReLU())
        >>> naswot.score(net, torch.randn(4, 3, 2, 2)).status.value
        'ok'
    """
    if on_error not in ("raise", "record"):
        raise InvalidParameterError(
            f"The 'on_error' parameter of score must be 'raise' or 'record'. Got {on_error!r} "
            "instead."
        )
    if isinstance(batch, torch.Tensor):
        batch = Batch(inputs=batch)
    if not isinstance(batch, Batch) or not isinstance(batch.inputs, torch.Tensor):
        got = type(batch.inputs if isinstance(batch, Batch) else batch).__name__
        raise InvalidParameterError(
            "The 'batch' parameter of score must be a Batch or a torch.Tensor of shape (B, ...). "
            f"Got {got} instead."
        )
    proxy = Naswot(variant, gate=gate)
    if not isinstance(model, nn.Module):
        raise InvalidParameterError(
            "The 'model' parameter of score must be a torch nn.Module. Got "
            f"{type(model).__name__} instead."
        )
    param = next(model.parameters(), None)
    _check_dtype(batch.inputs, param)
    device = param.device if param is not None else batch.inputs.device
    try:
        return proxy(model, batch.to(device))
    except DegenerateNetworkError as e:
        if on_error == "raise":
            raise
        return ScoreResult(score=None, status=Status(e.status), error=str(e))
    except NaswotError as e:
        if on_error == "raise":
            raise
        return ScoreResult(score=None, status=Status.ERROR, error=str(e))
    except (RuntimeError, ValueError, TypeError) as e:
        if on_error == "raise":
            raise ScoringError(f"Scoring failed: {type(e).__name__}: {e}") from e
        return ScoreResult(score=None, status=Status.ERROR, error=f"{type(e).__name__}: {e}")


def _check_dtype(inputs: torch.Tensor, param: torch.Tensor | None) -> None:
    """Inputs must be floating point, of the dtype of the model's (floating-point) weights."""
    want = param.dtype if param is not None and param.is_floating_point() else None
    if inputs.is_floating_point() and want in (None, inputs.dtype):
        return
    expected = f"{want} (the dtype of the model's weights)" if want else "floating point"
    raise InvalidParameterError(
        f"The 'batch' parameter of score must hold {expected} inputs, e.g. images normalised with "
        f"naswot.data.normalize. Got a {inputs.dtype} tensor instead."
    )
