"""A plain reimplementation of the official NASWOT procedure, kept as an oracle and a baseline.

It follows PAPER.md §1 literally: forward and backward hooks on the selected modules, a first
forward with a gradient-carrying input (nothing accumulated), a backward of the summed output that
marks the modules on a path to the output, and a second forward that accumulates, per hooked call,
``c cᵀ + (1-c)(1-c)ᵀ`` with two float32 matrix products moved to a float64 NumPy array; the score
is NumPy's ``slogdet``. It is slow on purpose: nothing is skipped or fused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["reference_kernel", "reference_naswot"]


def reference_kernel(
    model: nn.Module, inputs: torch.Tensor, select: Callable[[nn.Module], bool]
) -> np.ndarray:
    """K by the official forward-backward-forward procedure (model in train mode)."""
    b = inputs.shape[0]
    k = np.zeros((b, b), dtype=np.float64)
    visited: set[int] = set()
    state = {"accumulate": False}

    def forward_hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        if isinstance(output, torch.Tensor) and output.requires_grad:
            key = id(module)
            output.register_hook(lambda grad: visited.add(key))  # type: ignore[no-untyped-call]
        if not state["accumulate"] or id(module) not in visited:
            return
        x = args[0].detach().reshape(b, -1)
        c = (x > 0).float()
        k_layer = c @ c.t() + (1.0 - c) @ (1.0 - c).t()
        k[:] += k_layer.cpu().numpy()

    handles = [m.register_forward_hook(forward_hook) for m in model.modules() if select(m)]
    try:
        model.train()
        x = inputs.clone().requires_grad_(True)
        y = model(x)
        y = y[0] if isinstance(y, tuple | list) else y
        y.backward(torch.ones_like(y))
        state["accumulate"] = True
        model(inputs.clone())
    finally:
        for h in handles:
            h.remove()
    return k


def reference_naswot(model: nn.Module, inputs: torch.Tensor, *, variant: str = "default") -> float:
    """The score ``slogdet(K)[1]`` of the official procedure (``-inf`` when det is exactly 0)."""
    if variant == "official":

        def select(m: nn.Module) -> bool:
            return "ReLU" in str(type(m))
    else:

        def select(m: nn.Module) -> bool:
            return isinstance(m, nn.ReLU | nn.ReLU6 | nn.LeakyReLU | nn.RReLU | nn.PReLU)

    k = reference_kernel(model, inputs, select)
    _, logdet = np.linalg.slogdet(k)
    return float(logdet)
