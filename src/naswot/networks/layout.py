"""The memory layout a network computes in: PyTorch's default (NCHW) or channels_last (NHWC).

The layout changes no weight and no operation, only the order in which float32 sums are taken:
scores agree to rounding (up to the proxy's own sensitivity to it, see
``benchmarks/channels_last_probe.py``), but are not bit-identical, so the layout is part of a
score's store key (its engine). On CPUs, PyTorch's convolutions, and above all their backward
passes, are several times faster in channels_last: the default, ``auto``, is channels_last on
the CPU and PyTorch's NCHW elsewhere (not measured on a GPU), resolved where a scoring job is
made (:func:`resolve_layout`), so keys and records always name a concrete layout.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from naswot.exceptions import InvalidParameterError

__all__ = [
    "LAYOUTS",
    "LAYOUT_CHOICES",
    "Layout",
    "LayoutChoice",
    "apply_layout",
    "check_layout",
    "resolve_layout",
]

Layout = Literal["nchw", "channels_last"]
LAYOUTS: tuple[Layout, ...] = ("nchw", "channels_last")
"""The layouts a network computes in."""
LayoutChoice = Literal["auto", "nchw", "channels_last"]
LAYOUT_CHOICES: tuple[LayoutChoice, ...] = ("auto", *LAYOUTS)
"""What a caller may ask for, the default first (``auto``, see :func:`resolve_layout`)."""


def check_layout(layout: str) -> Layout:
    """``layout`` if it is one of :data:`LAYOUTS`, else InvalidParameterError naming them."""
    for known in LAYOUTS:
        if layout == known:
            return known
    raise InvalidParameterError(f"Unknown layout {layout!r}. Choices: {', '.join(LAYOUTS)}.")


def resolve_layout(layout: str, device: str | torch.device = "cpu") -> Layout:
    """The layout networks on ``device`` compute in when ``layout`` is asked for.

    ``auto``: ``channels_last`` on the CPU (1.2-1.5x faster for the module proxies on NB201,
    NB101 and DARTS cells, ``benchmarks/channels_last_probe.py``), ``nchw`` on other devices;
    a concrete layout is itself. InvalidParameterError for anything else.
    """
    if layout == "auto":
        return "channels_last" if torch.device(device).type == "cpu" else "nchw"
    if layout not in LAYOUT_CHOICES:
        raise InvalidParameterError(
            f"Unknown layout {layout!r}. Choices: {', '.join(LAYOUT_CHOICES)}."
        )
    return check_layout(layout)


def _to_channels_last(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
    if args and isinstance(args[0], torch.Tensor) and args[0].dim() == 4:
        return (args[0].contiguous(memory_format=torch.channels_last), *args[1:])
    return args


def apply_layout(model: nn.Module, layout: Layout) -> nn.Module:
    """``model``, computing in ``layout``; returned for chaining.

    ``channels_last``: a forward pre-hook hands the network its (4-d) input in channels_last, and
    the layout then follows through convolutions, BatchNorm, activations and pooling, also when
    a proxy swaps in weights of its own (``torch.func.functional_call`` runs the hook too).
    Gradients w.r.t. the input come back in the input's own layout. ``nchw`` leaves it as built.
    """
    if check_layout(layout) == "channels_last":
        model.register_forward_pre_hook(_to_channels_last)
    return model
