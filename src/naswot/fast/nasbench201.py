"""A fast NASWOT scorer for NAS-Bench-201 that gives the K of the built network.

What makes it fast, with K unchanged (PERFORMANCE-NOTES.md §2):

- One forward without autograd or modules: plain ``F.conv2d`` and batch-statistics
  ``F.batch_norm``, in channels_last memory order (codes are read in that order: K does not depend
  on the order of units).
- Every ReLU of a cell is the first op of a conv edge, so its input is the source node: the code of
  node j is computed once and its kernel counted m_j times (m_j conv edges leave node j).
- ``none`` edges are skipped (x*0 adds exact zeros); nodes that reach neither the output nor a conv
  edge are not computed; convs into such nodes are not run (their ReLUs still count, as in the
  reference, through the source node's code).
- Each node's pass makes what its readers read: its ReLU and codes when conv edges leave it, its
  value when a skip or pool edge into a computed node reads it (for a cell output: the next
  cell's node 0, a reduction block or the last BN). A node only conv edges read is not written
  (the fused pass keeps each row in a buffer); the stem's BN makes the first cell's ReLU in the
  same pass; a node that is a lone skip is its source, ReLU included.
- A node or cell output that is exactly zero stays zero through the rest of the network (conv of 0
  is 0, train-mode BN of 0 is 0), so the rest is skipped and only its unit counts are added: an
  all-zero code agrees with itself on every unit.
- Each kernel is one exact int8 GEMM (``torch._int_mm``) accumulated in int64.
- On the CPU the elementwise passes are fused C kernels where a C compiler is there
  (``naswot.fast._native``; ``kernels="eager"`` or ``NASWOT_NATIVE=0`` for PyTorch ops): batch
  norm in one read plus one normalize-and-add into the node sum, ReLU and codes from one read,
  the 3x3 average pool summed straight into the node sum.

Weights are drawn with the same RNG calls in the same order as :class:`NB201Network`'s
constructor (PyTorch's default ``kaiming_uniform_(a=sqrt(5))``, i.e. U(-1/sqrt(fan_in), ...)), so
under the same seed both see identical weights; the tests check this.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from naswot.exceptions import InvalidParameterError, ScoringError
from naswot.fast._common import (
    PRECISIONS,
    Acc,
    Elementwise,
    UsesElementwise,
    add_codes,
    check_options,
    compute_dtype,
)
from naswot.spaces.nasbench201 import N_NODES, Cell201

__all__ = ["PRECISIONS", "FastNB201"]

_CONV_KERNEL = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}
_Conv = Callable[..., torch.Tensor]
_WeightIter = Iterator[torch.Tensor | None]
_ReluCodes = tuple[torch.Tensor, torch.Tensor]  # ReLU output and codes of one tensor


class FastNB201(UsesElementwise):
    """Scores NAS-Bench-201 cells with NASWOT; same K as ``Naswot`` on ``build_nb201``.

    Args:
        variant: ``default`` or ``official`` (conv-path ReLUs counted twice, see ``Naswot``).
        precision: ``fp32`` (exact mode: differs from the module scorer only where a different
            convolution algorithm flips the sign of a pre-activation within rounding of zero) or
            ``bf16`` (faster; scores differ slightly, the ranking hardly).
        kernels: ``auto`` (fused C kernels on the CPU where they compile, else PyTorch ops),
            ``fused`` (the C kernels or an error saying why not) or ``eager`` (PyTorch ops). Both
            give the same K up to sign flips of pre-activations within rounding of zero.
        channels: width of the first stage (16 in the benchmark); ``n_cells`` cells per stage (5).
    """

    name = "naswot"
    space = "nb201"

    def __init__(
        self,
        variant: str = "default",
        *,
        precision: str = "fp32",
        kernels: str = "auto",
        channels: int = 16,
        n_cells: int = 5,
    ) -> None:
        check_options("FastNB201", variant, precision, kernels)
        for name, value in (("channels", channels), ("n_cells", n_cells)):
            if not isinstance(value, int) or value < 1:
                raise InvalidParameterError(
                    f"The '{name}' parameter of FastNB201 must be an int >= 1. "
                    f"Got {value!r} instead."
                )
        self.variant = variant
        self.precision = precision
        self._use_kernels(kernels)
        self.channels = channels
        self.n_cells = n_cells
        self._conv_mult = 2 if variant == "official" else 1

    # -- weights ---------------------------------------------------------------------------
    def draw_weights(self, cell: Cell201) -> list[torch.Tensor | None]:
        """The conv weights of the network for ``cell``, drawn from torch's global RNG.

        One entry per conv in construction order (stem, cells, reduction blocks); None for
        edges without a conv. The caller seeds the global RNG, as for the module builder.
        """
        c = self.channels
        weights: list[torch.Tensor | None] = [_uniform_conv(c, 3, 3)]
        for stage in range(3):
            width = c * 2**stage
            if stage > 0:
                prev = width // 2
                weights += [
                    _uniform_conv(width, prev, 3),
                    _uniform_conv(width, width, 3),
                    _uniform_conv(width, prev, 1),
                ]
            for _ in range(self.n_cells):
                for op in cell.ops:
                    k = _CONV_KERNEL.get(op)
                    weights.append(None if k is None else _uniform_conv(width, width, k))
        return weights

    # -- forward ---------------------------------------------------------------------------
    def kernel(
        self, cell: Cell201, inputs: torch.Tensor, weights: list[torch.Tensor | None]
    ) -> tuple[torch.Tensor, int, int]:
        """K (float64), N_A and the number of counted ReLU calls for ``cell`` on ``inputs``."""
        dtype = compute_dtype(self.precision)
        device = inputs.device
        acc = Acc.for_batch(inputs, self._ops.gram)
        w = iter(weights)

        def conv(
            x: torch.Tensor, stride: int = 1, weight: torch.Tensor | None = None
        ) -> torch.Tensor:
            weight = next(w) if weight is None else weight
            if weight is None:
                raise ScoringError("internal: weights out of step with the network")
            weight = weight.to(device=device, dtype=dtype, memory_format=torch.channels_last)
            return F.conv2d(x, weight, stride=stride, padding=weight.shape[-1] // 2)

        plan = _Plan.of(cell)
        x = inputs.to(dtype=dtype, memory_format=torch.channels_last)
        # what a cell reads of its input: the ReLU if its node 0 has conv edges, the value if it
        # has skip or pool edges into computed nodes; a reduction block reads both, the last BN
        # the value alone
        into_cell = _Reads(relu=plan.fan_out[0] > 0, value=plan.value_read[0])
        h: _Act | None = self._node([("bn", conv(x))], into_cell)
        shape = (self.channels, x.shape[2], x.shape[3])
        for stage in range(3):
            if stage > 0:
                h, shape = self._reduction(h, into_cell, shape, conv, w, acc)
            for index in range(self.n_cells):
                last = index == self.n_cells - 1
                reads = _Reads(relu=stage < 2, value=True) if last else into_cell
                h = self._cell(plan, h, reads, shape, conv, w, acc)
        # lastact: BN then a bare ReLU, counted once in both variants
        add_codes(acc, None if h is None else self._ops.bn_codes(h.value_of()), shape, 1)
        return acc.result()

    def _node(self, parts: list[tuple[str, torch.Tensor]], reads: _Reads) -> _Act:
        """The sum of ``parts``, with what its readers read of it made in the same pass."""
        keep = reads.value or not reads.relu
        value, relu = self._ops.node(parts, relu=reads.relu, keep=keep)
        return _Act(value, relu)

    def _reduction(
        self,
        h: _Act | None,
        reads: _Reads,
        shape: tuple[int, int, int],
        conv: _Conv,
        w: _WeightIter,
        acc: Acc,
    ) -> tuple[_Act | None, tuple[int, int, int]]:
        c, hh, ww = shape
        out_shape = (2 * c, (hh + 1) // 2, (ww + 1) // 2)
        m = self._conv_mult
        if h is None:  # zero input: both ReLU inputs are zero
            for _ in range(3):
                next(w)
            add_codes(acc, None, shape, m)
            add_codes(acc, None, out_shape, m)
            return None, out_shape
        ops = self._ops
        relu_h, codes_h = h.relu_of(ops)
        add_codes(acc, codes_h, shape, m)
        relu_a, codes_a = ops.bn_relu_codes(conv(relu_h, stride=2))
        add_codes(acc, codes_a, out_shape, m)
        b = conv(relu_a)
        residual = conv(F.avg_pool2d(h.value_of(), kernel_size=2, stride=2))
        return self._node([("skip", residual), ("bn", b)], reads), out_shape

    def _cell(
        self,
        plan: _Plan,
        h: _Act | None,
        reads: _Reads,
        shape: tuple[int, int, int],
        conv: _Conv,
        w: _WeightIter,
        acc: Acc,
    ) -> _Act | None:
        """The cell on ``h`` (None: exactly zero); its output holds what ``reads`` asks for."""
        ops = self._ops
        nodes: list[_Act | None] = [h]
        for i in range(1, N_NODES):
            parts: list[tuple[str, torch.Tensor]] = []
            sources: list[_Act] = []
            for j in range(i):
                op = plan.edge_ops[i][j]
                weight = next(w)  # one entry per edge, None where the edge has no conv
                source = nodes[j]
                if op == "none" or source is None or not plan.needed[i]:
                    continue
                sources.append(source)
                if op == "skip_connect":
                    parts.append(("skip", source.value_of()))
                elif op == "avg_pool_3x3":
                    parts.append(("pool", source.value_of()))
                else:
                    parts.append(("bn", conv(source.relu_of(ops)[0], weight=weight)))
            if not parts:
                nodes.append(None)
                continue
            last = i == N_NODES - 1
            node_reads = (
                reads if last else _Reads(relu=plan.fan_out[i] > 0, value=plan.value_read[i])
            )
            if len(parts) == 1 and parts[0][0] == "skip":
                # the node is its source (Elementwise.node would return it too, but without the
                # source's ReLU, which is made once here and kept on the source)
                source = sources[0]
                node = _Act(source.value, source.relu_of(ops) if node_reads.relu else source.relu)
            else:
                node = self._node(parts, node_reads)
            nodes.append(node)
        for j in range(N_NODES - 1):
            if plan.fan_out[j]:
                made = nodes[j]
                codes = None if made is None else made.relu_of(ops)[1]
                add_codes(acc, codes, shape, plan.fan_out[j] * self._conv_mult)
        return nodes[-1]

    def __repr__(self) -> str:
        return (
            f"FastNB201(variant={self.variant!r}, precision={self.precision!r}, "
            f"kernels={self.kernels!r})"
        )


@dataclass(frozen=True)
class _Reads:
    """What the readers of a node read: its ReLU (conv edges) and/or its value (skip, pool)."""

    relu: bool
    value: bool


@dataclass
class _Act:
    """A node that is not exactly zero: its value and its (ReLU, codes).

    The value is None where nothing reads it (the fused pass did not write it); the ReLU is
    made when first read if the pass that made the value did not make it.
    """

    value: torch.Tensor | None
    relu: _ReluCodes | None

    def value_of(self) -> torch.Tensor:
        if self.value is None:
            raise ScoringError("internal: a node value read that was not kept")
        return self.value

    def relu_of(self, ops: Elementwise) -> _ReluCodes:
        if self.relu is None:
            self.relu = ops.relu_codes(self.value_of())
        return self.relu


@dataclass(frozen=True)
class _Plan:
    """The cell's structure, the same in all its copies.

    Edge ops, which nodes must be computed, the conv edges leaving each node, and whether a
    skip or pool edge into a computed node reads its value.
    """

    edge_ops: tuple[tuple[str, ...], ...]
    needed: tuple[bool, ...]
    fan_out: tuple[int, ...]
    value_read: tuple[bool, ...]

    @classmethod
    def of(cls, cell: Cell201) -> _Plan:
        edge_ops = [[cell.op(i, j) for j in range(i)] for i in range(N_NODES)]
        # Which nodes must exist: the output, sources of conv edges, inputs of needed nodes.
        needed = [False] * N_NODES
        needed[N_NODES - 1] = True
        for j in range(N_NODES - 2, -1, -1):
            needed[j] = any(
                edge_ops[i][j] in _CONV_KERNEL or (edge_ops[i][j] != "none" and needed[i])
                for i in range(j + 1, N_NODES)
            )
        # conv edges leaving each node: its ReLU's kernel is counted that many times
        fan_out = [
            sum(edge_ops[i][j] in _CONV_KERNEL for i in range(j + 1, N_NODES))
            for j in range(N_NODES)
        ]
        value_read = [
            any(
                edge_ops[i][j] in ("skip_connect", "avg_pool_3x3") and needed[i]
                for i in range(j + 1, N_NODES)
            )
            for j in range(N_NODES)
        ]
        return cls(
            tuple(tuple(row) for row in edge_ops), tuple(needed), tuple(fan_out), tuple(value_read)
        )


def _uniform_conv(c_out: int, c_in: int, k: int) -> torch.Tensor:
    """A conv weight as ``nn.Conv2d`` initialises it: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    weight = torch.empty(c_out, c_in, k, k)
    bound = 1.0 / math.sqrt(c_in * k * k)
    return weight.uniform_(-bound, bound)
