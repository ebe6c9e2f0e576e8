"""A fast NASWOT scorer for NAS-Bench-101 that gives the K of the built network.

The network is :class:`naswot.networks.NB101Network` (stem 16, 3 stacks of 3 cells, as
``build_nb101`` builds it), run as one functional forward without autograd or modules: plain
``F.conv2d`` and batch-statistics ``F.batch_norm`` in channels_last memory order, codes read in
that order (K does not depend on the order of units), and each kernel one exact int8 GEMM
accumulated in int64 (see :mod:`naswot.fast._common`). Every conv unit is conv -> BN -> ReLU, so
the code of a ReLU input is the sign of the BN output. The ``official`` variant also hooks each
``ConvBNReLU`` (its type name contains "ReLU"), whose input is the unit's input: the cell input
for every projection (its code is computed once and counted once per projection), the vertex's
sum for a vertex conv, and the image for the stem.

Weights are drawn with the same RNG calls in the same order as the module's constructor: first
PyTorch's default init of every ``nn.Conv2d`` and the ``nn.Linear`` head in construction order,
then the benchmark's truncated normal per conv in ``modules()`` order (a cell's projections
before its vertex ops), so under the same seed both see identical weights; the tests check this.
Checked against ``src/naswot/networks/nasbench101.py`` of this project.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from naswot.exceptions import InvalidParameterError
from naswot.fast._common import Acc, UsesElementwise, add_codes, check_options, compute_dtype
from naswot.networks.nasbench101 import _TRUNCATED_STD, vertex_channels
from naswot.spaces.nasbench101 import CONV1X1, CONV3X3, MAXPOOL3X3, Spec101, is_valid, prune

__all__ = ["FastNB101"]

_KERNEL = {CONV3X3: 3, CONV1X1: 1}
_Unit = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class _Conv:
    """The shape of one conv weight of the network."""

    c_out: int
    c_in: int
    k: int


class FastNB101(UsesElementwise):
    """Scores NAS-Bench-101 cells with NASWOT; same K as ``Naswot`` on ``build_nb101``.

    Args:
        variant: ``default`` or ``official`` (``ConvBNReLU`` units hooked too, see ``Naswot``).
        precision: ``fp32`` (exact mode: differs from the module scorer only where a different
            convolution algorithm flips the sign of a pre-activation within rounding of zero) or
            ``bf16`` (faster; scores differ slightly, the ranking hardly).
        kernels: ``auto``, ``fused`` or ``eager`` elementwise passes, as in ``FastNB201``.
        stem_channels: width of the stem and the first stack (16, as ``build_nb101``);
            ``n_stacks`` stacks (3) of ``n_cells`` cells (3).
    """

    name = "naswot"
    space = "nb101"

    def __init__(
        self,
        variant: str = "default",
        *,
        precision: str = "fp32",
        kernels: str = "auto",
        stem_channels: int = 16,
        n_stacks: int = 3,
        n_cells: int = 3,
    ) -> None:
        check_options("FastNB101", variant, precision, kernels)
        self.variant = variant
        self.precision = precision
        self._use_kernels(kernels)
        self.stem_channels = stem_channels
        self.n_stacks = n_stacks
        self.n_cells = n_cells

    # -- weights ---------------------------------------------------------------------------
    def _cells(self) -> list[tuple[int, int]]:
        """(c_in, c_out) of every cell in order."""
        cells = []
        c_prev = c = self.stem_channels
        for stack in range(self.n_stacks):
            if stack > 0:
                c *= 2
            for _ in range(self.n_cells):
                cells.append((c_prev, c))
                c_prev = c
        return cells

    def draw_weights(self, spec: Spec101) -> list[torch.Tensor]:
        """The conv weights of the network for ``spec`` in construction (= forward) order.

        The caller seeds the global RNG, as for the module builder.

        Raises:
            InvalidParameterError: if ``spec`` is not a valid cell.
        """
        spec = _pruned(spec)
        m, ops, n = spec.matrix, spec.ops, spec.n_vertices
        convs = [_Conv(self.stem_channels, 3, 3)]  # construction order
        visit = [0]  # modules() order, as indices into convs
        for c_in, c_out in self._cells():
            channels = vertex_channels(c_in, c_out, m)
            projections, vertex_ops = [], []
            for t in range(1, n - 1):
                if m[0][t]:
                    projections.append(len(convs))
                    convs.append(_Conv(channels[t], c_in, 1))
                k = _KERNEL.get(ops[t])
                if k is not None:
                    vertex_ops.append(len(convs))
                    convs.append(_Conv(channels[t], channels[t], k))
            if m[0][n - 1]:
                projections.append(len(convs))
                convs.append(_Conv(c_out, c_in, 1))
            visit += projections + vertex_ops
        # nn.Conv2d's and nn.Linear's default init at construction (values overwritten below)
        for conv in convs:
            nn.init.kaiming_uniform_(torch.empty(conv.c_out, conv.c_in, conv.k, conv.k), a=5**0.5)
        c_last = self._cells()[-1][1]
        nn.init.kaiming_uniform_(torch.empty(1, c_last), a=5**0.5)
        torch.empty(1).uniform_(-1 / math.sqrt(c_last), 1 / math.sqrt(c_last))
        weights: list[torch.Tensor | None] = [None] * len(convs)
        for i in visit:
            conv = convs[i]
            std = math.sqrt(1.0 / (conv.c_in * conv.k * conv.k)) / _TRUNCATED_STD
            weight = torch.empty(conv.c_out, conv.c_in, conv.k, conv.k)
            weights[i] = nn.init.trunc_normal_(weight, std=std, a=-2 * std, b=2 * std)
        return [w for w in weights if w is not None]

    # -- forward ---------------------------------------------------------------------------
    def kernel(
        self, spec: Spec101, inputs: torch.Tensor, weights: list[torch.Tensor]
    ) -> tuple[torch.Tensor, int, int]:
        """K (float64), N_A and the number of counted ReLU calls for ``spec`` on ``inputs``."""
        spec = _pruned(spec)
        dtype = compute_dtype(self.precision)
        device = inputs.device
        official = self.variant == "official"
        acc = Acc.for_batch(inputs, self._ops.gram)
        w = iter(weights)
        ops = self._ops

        def unit(x: torch.Tensor) -> torch.Tensor:
            """ConvBNReLU: the ReLU's input is counted; returns the ReLU's output."""
            weight = next(w).to(device=device, dtype=dtype, memory_format=torch.channels_last)
            y = F.conv2d(x, weight, padding=weight.shape[-1] // 2)
            relu, codes = ops.bn_relu_codes(y)
            add_codes(acc, codes, _chw(y), 1)
            return relu

        x = inputs.to(dtype=dtype, memory_format=torch.channels_last)
        if official:
            add_codes(acc, ops.codes(x), _chw(x), 1)
        h = unit(x)
        for i, (c_in, c_out) in enumerate(self._cells()):
            if i > 0 and i % self.n_cells == 0:
                h = ops.max_pool(h, 2)
            h = self._cell(spec, h, c_in, c_out, unit, acc)
        return acc.result()

    def _cell(
        self,
        spec: Spec101,
        x: torch.Tensor,
        c_in: int,
        c_out: int,
        unit: _Unit,
        acc: Acc,
    ) -> torch.Tensor:
        m, ops, n = spec.matrix, spec.ops, spec.n_vertices
        channels = vertex_channels(c_in, c_out, m)
        if self.variant == "official":  # each projection's ConvBNReLU sees the cell input
            n_projections = sum(m[0][1:])
            if n_projections:
                add_codes(acc, self._ops.codes(x), _chw(x), n_projections)
        values: list[torch.Tensor] = [x]
        concat: list[torch.Tensor] = []
        for t in range(1, n - 1):
            c = channels[t]
            inputs = [values[s][:, :c] for s in range(1, t) if m[s][t]]
            if m[0][t]:
                inputs.append(unit(x))
            total = inputs[0]
            for more in inputs[1:]:
                total = total + more
            if ops[t] == MAXPOOL3X3:
                values.append(self._ops.max_pool(total, 3))
            else:
                if self.variant == "official":
                    add_codes(acc, self._ops.codes(total), _chw(total), 1)
                values.append(unit(total))
            if m[t][n - 1]:
                concat.append(values[t])
        if not concat:
            return unit(x)
        out = concat[0] if len(concat) == 1 else torch.cat(concat, dim=1)
        if m[0][n - 1]:
            out = out + unit(x)
        return out

    def __repr__(self) -> str:
        return (
            f"FastNB101(variant={self.variant!r}, precision={self.precision!r}, "
            f"kernels={self.kernels!r})"
        )


def _chw(x: torch.Tensor) -> tuple[int, int, int]:
    return (x.shape[1], x.shape[2], x.shape[3])


def _pruned(spec: Spec101) -> Spec101:
    if not is_valid(spec):
        raise InvalidParameterError(
            "The 'spec' parameter of FastNB101 must be a valid NAS-Bench-101 cell "
            "(an input -> output path, at most 9 edges after pruning)."
        )
    return prune(spec)
