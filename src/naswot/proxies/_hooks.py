"""Forward hooks that turn rectifier inputs into per-module kernel contributions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from naswot.exceptions import DegenerateNetworkError, ScoringError
from naswot.proxies._base import Status
from naswot.proxies._kernel import int8_kernel_update

__all__ = ["RECTIFIERS", "ModuleKernels", "is_official_relu", "is_rectifier", "record_kernels"]

# Piecewise-linear rectifiers whose "unit active" indicator is (input > 0).
RECTIFIERS: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.RReLU, nn.PReLU)


def is_rectifier(module: nn.Module) -> bool:
    """The default selection: each rectifier module, counted once per call (paper Eq. 1)."""
    return isinstance(module, RECTIFIERS)


def is_official_relu(module: nn.Module) -> bool:
    """The official code's selection: any module whose type name contains "ReLU".

    This also matches containers such as NAS-Bench-201's ``ReLUConvBN``, whose input is the input
    of its inner ReLU, so conv-path ReLUs are counted twice (PAPER.md §8.1).
    """
    return "ReLU" in str(type(module))


@dataclass
class ModuleKernels:
    """Kernel contributions gathered during one forward pass, per hooked module."""

    kernels: dict[int, torch.Tensor] = field(default_factory=dict)
    units: dict[int, int] = field(default_factory=dict)
    calls: dict[int, int] = field(default_factory=dict)
    outputs: dict[int, list[torch.Tensor]] = field(default_factory=dict)
    hooked: list[nn.Module] = field(default_factory=list)


@contextmanager
def record_kernels(
    model: nn.Module, select: Callable[[nn.Module], bool], *, keep_outputs: bool = False
) -> Iterator[ModuleKernels]:
    """Hooks every selected module of ``model``; removes the hooks on exit.

    For each call of a hooked module, the codes ``input > 0`` (flattened per input, in whatever
    memory order: K does not depend on it) are folded into that module's kernel at once, so memory
    does not grow with depth. With ``keep_outputs`` the module outputs are kept for the
    on-path gate.

    Raises:
        ScoringError: if no module is selected (functional ``F.relu`` calls are not seen).
    """
    record = ModuleKernels(hooked=[m for m in model.modules() if select(m)])
    if not record.hooked:
        raise DegenerateNetworkError(
            "The model has no ReLU modules to hook: NASWOT needs rectifiers as nn.ReLU (or "
            "ReLU6/LeakyReLU/RReLU/PReLU) modules; functional calls such as F.relu are not seen.",
            status=Status.NO_RELU.value,
        )

    def hook(module: nn.Module, args: tuple[object, ...], output: object) -> None:
        x = args[0] if args else None
        if not isinstance(x, torch.Tensor) or x.dim() < 1:
            raise ScoringError(
                f"A hooked {type(module).__name__} received {type(x).__name__}, not a tensor."
            )
        key = id(module)
        positive = x.detach() > 0
        if positive.dim() == 4 and not positive.is_contiguous():
            positive = positive.permute(0, 2, 3, 1)  # channels_last: the reshape is then a view
        codes = positive.reshape(x.shape[0], -1)
        # the int8 product's exact integers (the float path where it is missing): the same K
        update = int8_kernel_update(codes).to(torch.float64)
        previous = record.kernels.get(key)
        record.kernels[key] = update if previous is None else previous + update
        record.units[key] = record.units.get(key, 0) + codes.shape[1]
        record.calls[key] = record.calls.get(key, 0) + 1
        if keep_outputs and isinstance(output, torch.Tensor):
            record.outputs.setdefault(key, []).append(output)

    handles = [m.register_forward_hook(hook) for m in record.hooked]
    try:
        yield record
    finally:
        for handle in handles:
            handle.remove()
