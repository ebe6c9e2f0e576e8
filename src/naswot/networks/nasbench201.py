"""The NAS-Bench-201 network, built as the benchmark builds it (Dong & Yang, ICLR 2020).

Stem (3x3 conv, C channels, + BN); three stages of N cells at C, 2C, 4C channels with a residual
reduction block between stages; final BN + ReLU; global average pooling; a linear head. Every ReLU
is an ``nn.ReLU`` module so that forward hooks see it. Class names follow the benchmark's code
(``ReLUConvBN`` contains "ReLU"), which the ``official`` NASWOT variant relies on.
"""

from __future__ import annotations

import torch
from torch import nn

from naswot.exceptions import InvalidParameterError
from naswot.spaces.nasbench201 import EDGES, N_NODES, Cell201

__all__ = ["NB201Network", "ReLUConvBN", "ResNetBasicBlock", "build_nb201"]


class ReLUConvBN(nn.Module):
    """ReLU -> Conv(k x k, no bias) -> BatchNorm: the benchmark's convolution operation."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int, padding: int) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Applies ReLU, convolution and BatchNorm."""
        return self.op(x)  # type: ignore[no-any-return]


class Zero(nn.Module):
    """The ``none`` operation: ``x * 0``, which keeps the edge in the autograd graph (as NB201)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def _make_op(name: str, channels: int) -> nn.Module:
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise InvalidParameterError(f"Unknown NAS-Bench-201 operation {name!r}.")


class InferCell(nn.Module):
    """A cell: node i = sum over j < i of op_(i,j)(node j); the output is the last node."""

    def __init__(self, cell: Cell201, channels: int) -> None:
        super().__init__()
        self.edges = EDGES
        self.layers = nn.ModuleList(_make_op(op, channels) for op in cell.ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        k = 0
        for i in range(1, N_NODES):
            total: torch.Tensor | None = None
            for j in range(i):
                out = self.layers[k](nodes[j])
                total = out if total is None else total + out
                k += 1
            assert total is not None  # every node has at least one incoming edge
            nodes.append(total)
        return nodes[-1]


class ResNetBasicBlock(nn.Module):
    """The reduction block: ReLUConvBN(3x3, stride 2) -> ReLUConvBN(3x3) + AvgPool2x2 -> Conv1x1."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The residual sum of the two paths."""
        return self.downsample(x) + self.conv_b(self.conv_a(x))  # type: ignore[no-any-return]


class NB201Network(nn.Module):
    """The NAS-Bench-201 network for one cell.

    Args:
        cell: the cell repeated in every stage.
        n_classes: outputs of the linear head (1 when scoring, as the NASWOT code does).
        channels: width C of the first stage (16 in the benchmark).
        n_cells: cells per stage N (5 in the benchmark).
    """

    # Every ReLU lies on a path to the output (``none`` is x*0 and stays in the graph), so the
    # official forward-backward gate keeps all of them; tests/proxies check this claim.
    naswot_all_activations_on_output_path = True

    def __init__(
        self, cell: Cell201, *, n_classes: int = 1, channels: int = 16, n_cells: int = 5
    ) -> None:
        super().__init__()
        for name, value, low in (
            ("n_classes", n_classes, 1),
            ("channels", channels, 1),
            ("n_cells", n_cells, 1),
        ):
            if not isinstance(value, int) or value < low:
                raise InvalidParameterError(
                    f"The '{name}' parameter of NB201Network must be an int >= {low}. "
                    f"Got {value!r} instead."
                )
        self.cell = cell
        self.stem = nn.Sequential(
            nn.Conv2d(3, channels, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(channels)
        )
        cells: list[nn.Module] = []
        c_prev = channels
        for stage in range(3):
            c = channels * 2**stage
            if stage > 0:
                cells.append(ResNetBasicBlock(c_prev, c))
            cells.extend(InferCell(cell, c) for _ in range(n_cells))
            c_prev = c
        self.cells = nn.Sequential(*cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logits, shape (B, n_classes)."""
        features = self.lastact(self.cells(self.stem(x)))
        return self.classifier(self.global_pooling(features).flatten(1))  # type: ignore[no-any-return]


def build_nb201(cell: Cell201, *, n_classes: int = 1) -> NB201Network:
    """Builds the benchmark's network (C=16, N=5) for ``cell`` with PyTorch's default init."""
    return NB201Network(cell, n_classes=n_classes)
