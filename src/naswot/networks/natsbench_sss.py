"""The NATS-Bench size-space network (Dong, Liu, Musial, Gabrys, TPAMI 2021).

The NAS-Bench-201 skeleton with one cell per stage and free widths: stem (3x3 conv + BN, width
c0); cell c0 -> c0; residual reduction block c0 -> c1; cell c1 -> c2; reduction block c2 -> c3;
cell c3 -> c4; final BN + ReLU; global average pooling; a linear head. A cell whose input and
output widths differ builds the edges leaving its input node from ``c_in`` to ``c_out``, as the
benchmark does: convolutions change width directly, ``skip_connect`` becomes a 1x1 conv + BN,
``avg_pool_3x3`` gets a 1x1 ReLU-conv-BN first, and ``none`` gives zeros of the output width.
The operations and the reduction block are those of :mod:`naswot.networks.nasbench201`.
"""

from __future__ import annotations

import torch
from torch import nn

from naswot.exceptions import InvalidParameterError
from naswot.networks.nasbench201 import ReLUConvBN, ResNetBasicBlock, Zero
from naswot.spaces.nasbench201 import EDGES, N_NODES, Cell201, parse_arch
from naswot.spaces.natsbench_sss import CELL, SizeArch

__all__ = ["NatsSizeNetwork", "SizeCell", "build_nats_sss"]


class _ZerosOfWidth(nn.Module):
    """``none`` between different widths: zeros with ``channels`` channels."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros((x.shape[0], self.channels, *x.shape[2:]))


def _edge_op(name: str, c_in: int, c_out: int) -> nn.Module:
    if name == "nor_conv_3x3":
        return ReLUConvBN(c_in, c_out, 3, 1, 1)
    if name == "nor_conv_1x1":
        return ReLUConvBN(c_in, c_out, 1, 1, 0)
    pool = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    if c_in == c_out:
        same: dict[str, nn.Module] = {
            "none": Zero(),
            "skip_connect": nn.Identity(),
            "avg_pool_3x3": pool,
        }
        if name in same:
            return same[name]
    elif name == "none":
        return _ZerosOfWidth(c_out)
    elif name == "skip_connect":
        # The benchmark's FactorizedReduce at stride 1: a 1x1 conv and BN (its ReLU is unused).
        return nn.Sequential(nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
    elif name == "avg_pool_3x3":
        return nn.Sequential(ReLUConvBN(c_in, c_out, 1, 1, 0), pool)
    raise InvalidParameterError(f"Unknown NAS-Bench-201 operation {name!r}.")


class SizeCell(nn.Module):
    """A NAS-Bench-201 cell from ``c_in`` to ``c_out`` channels.

    Node i is the sum over j < i of op_(i,j)(node j); edges leaving node 0 map ``c_in`` to
    ``c_out``, the others keep ``c_out``. The output is the last node.
    """

    def __init__(self, cell: Cell201, c_in: int, c_out: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            _edge_op(op, c_in if source == 0 else c_out, c_out)
            for (_, source), op in zip(EDGES, cell.ops, strict=True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The last node, shape (B, c_out, H, W)."""
        nodes = [x]
        k = 0
        for i in range(1, N_NODES):
            total = self.layers[k](nodes[0])
            k += 1
            for j in range(1, i):
                total = total + self.layers[k](nodes[j])
                k += 1
            nodes.append(total)
        return nodes[-1]


class NatsSizeNetwork(nn.Module):
    """The NATS-Bench size-space network for one list of widths.

    Args:
        arch: the 5 layer widths.
        n_classes: outputs of the linear head (1 when scoring, as the NASWOT code does).
        cell: the cell of every stage (the benchmark's fixed :data:`CELL` by default).
    """

    # Every ReLU sits in a ReLU-conv-BN of a cell edge or reduction block, or is the final one;
    # every edge output flows into a node that reaches the cell output (``none`` between equal
    # widths is x*0 and stays in the graph), so the official forward-backward gate keeps them
    # all; tests/networks check this claim.
    naswot_all_activations_on_output_path = True

    def __init__(self, arch: SizeArch, *, n_classes: int = 1, cell: Cell201 | None = None) -> None:
        super().__init__()
        if not isinstance(n_classes, int) or isinstance(n_classes, bool) or n_classes < 1:
            raise InvalidParameterError(
                "The 'n_classes' parameter of NatsSizeNetwork must be an int >= 1. "
                f"Got {n_classes!r} instead."
            )
        cell = parse_arch(CELL) if cell is None else cell
        self.arch = arch
        c = arch.channels
        self.stem = nn.Sequential(
            nn.Conv2d(3, c[0], kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(c[0])
        )
        layers: list[nn.Module] = []
        c_prev = c[0]
        for index, c_curr in enumerate(c):
            if index % 2:
                layers.append(ResNetBasicBlock(c_prev, c_curr))
            else:
                layers.append(SizeCell(cell, c_prev, c_curr))
            c_prev = c_curr
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logits, shape (B, n_classes)."""
        features = self.lastact(self.cells(self.stem(x)))
        return self.classifier(self.global_pooling(features).flatten(1))  # type: ignore[no-any-return]


def build_nats_sss(arch: SizeArch, *, n_classes: int = 1) -> NatsSizeNetwork:
    """Builds the benchmark's network for ``arch`` with PyTorch's default init."""
    return NatsSizeNetwork(arch, n_classes=n_classes)
