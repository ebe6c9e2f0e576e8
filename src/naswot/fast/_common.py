"""Pieces shared by the fast scorers: the exact kernel accumulator, batch-statistics BN, codes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from naswot.exceptions import InvalidParameterError, ScoringError
from naswot.proxies._kernel import int8_kernel_update

__all__ = ["PRECISIONS", "Acc", "add_codes", "bn", "check_options", "compute_dtype"]

PRECISIONS = ("fp32", "bf16")
# A float is > 0 exactly when its bits, read as a signed integer of the same width, are > 0.
_SAME_WIDTH_INT = {torch.float32: torch.int32, torch.bfloat16: torch.int16}


@dataclass
class Acc:
    """K accumulated exactly: int64 matrix plus a scalar for all-zero codes, and N_A."""

    kernel: torch.Tensor
    constant: int = 0
    units: int = 0
    calls: int = 0

    @classmethod
    def for_batch(cls, inputs: torch.Tensor) -> Acc:
        """An empty accumulator for a batch of ``inputs.shape[0]`` inputs."""
        b = inputs.shape[0]
        return cls(kernel=torch.zeros(b, b, dtype=torch.int64, device=inputs.device))

    def result(self) -> tuple[torch.Tensor, int, int]:
        """K (float64), N_A and the number of counted activation calls."""
        return self.kernel.to(torch.float64) + float(self.constant), self.units, self.calls


def check_options(owner: str, variant: str, precision: str) -> None:
    """Refuses variants other than ``default``/``official`` and unknown precisions."""
    if variant not in ("default", "official"):
        raise InvalidParameterError(
            f"The 'variant' parameter of {owner} must be 'default' or 'official'. "
            f"Got {variant!r} instead."
        )
    if precision not in PRECISIONS:
        raise InvalidParameterError(
            f"The 'precision' parameter of {owner} must be one of {PRECISIONS}. "
            f"Got {precision!r} instead."
        )


def compute_dtype(precision: str) -> torch.dtype:
    """The dtype of the forward for a precision name."""
    return torch.bfloat16 if precision == "bf16" else torch.float32


def bn(x: torch.Tensor) -> torch.Tensor:
    """BatchNorm2d in train mode with weight 1 and bias 0 (batch statistics, eps 1e-5)."""
    return F.batch_norm(x, None, None, training=True, momentum=0.0, eps=1e-5)


def add_codes(acc: Acc, x: torch.Tensor | None, shape: tuple[int, int, int], mult: int) -> None:
    """Counts ``mult`` ReLU calls whose input is ``x`` (None: exactly zero) of ``shape``."""
    n = math.prod(shape)
    acc.units += mult * n
    acc.calls += mult
    if x is None:  # an all-zero code agrees with itself on every unit
        acc.constant += mult * n
        return
    b = x.shape[0]
    # In channels_last, (B, H, W, C) is the memory order, so this reshape is a view; K does not
    # depend on the order of units.
    flat = x.contiguous(memory_format=torch.channels_last).permute(0, 2, 3, 1).reshape(b, -1)
    if not flat.is_contiguous():
        raise ScoringError("internal: codes are not contiguous")
    # x > 0 on the bits (+0.0 is 0; -0.0 and negatives have the sign bit set; NaN cannot occur
    # after the input check): the integer compare is 1.2x (fp32) to 2x (bf16) faster here.
    int_type = _SAME_WIDTH_INT.get(flat.dtype)
    codes = flat.view(int_type) > 0 if int_type is not None else flat > 0
    update = int8_kernel_update(codes)
    acc.kernel += update if mult == 1 else update * mult
