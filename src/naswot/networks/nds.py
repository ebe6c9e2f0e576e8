"""DARTS-style networks for the NDS cell spaces (DARTS, ENAS, PNAS, NASNet, Amoeba).

Written from the network descriptions of DARTS (Liu, Simonyan, Yang, ICLR 2019, Sec. 3 and
App. A.1-A.2) and NDS (Radosavovic et al., ICCV 2019, Sec. 5), which train all five cell
spaces in this one network:

* CIFAR: a 3x3 conv stem with ``3 * width`` channels + BN; ``depth`` cells, the ones at
  ``depth // 3`` and ``2 * depth // 3`` being reduction cells that double the channels and
  halve the resolution; global average pooling; a linear head.
* ImageNet: two stems of stride-2 3x3 convs (``width / 2`` then ``width`` channels, with BN and
  a ReLU between them, then ReLU-conv-BN), so that the cells start at 1/8 resolution.
* A cell preprocesses its two inputs to ``C`` channels: a factorized reduction for the
  earlier input when the previous cell reduced, else ReLU-conv1x1-BN. Each node sums two ops
  (stride 2 on the cell inputs in a reduction cell); the output concatenates the ``concat``
  nodes.
* The optional auxiliary head (after cell ``2 * depth // 3``) gives a second output in train
  mode. Its ReLUs are not on a path to the main output, so the NASWOT gate leaves them out and
  the gated kernel does not depend on it.

``drop_path`` is 0 (it is a training regulariser). Every ReLU is an ``nn.ReLU`` module so that
NASWOT's forward hooks see it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from naswot.exceptions import InvalidParameterError
from naswot.spaces.nds import DEFAULT_DEPTH, DEFAULT_WIDTH, Genotype, NdsCellArch, Pair

__all__ = [
    "OPERATIONS",
    "FactorizedReduce",
    "NdsNetwork",
    "ReLUConvBN",
    "build_nds_cifar",
    "build_nds_imagenet",
]


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv(k x k, no bias) -> BatchNorm."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out),
        )


def _dw_pw(c: int, kernel: int, stride: int, dilation: int) -> list[nn.Module]:
    """ReLU, depthwise k x k conv, pointwise 1x1 conv, BN (one half of a separable conv)."""
    padding = dilation * (kernel - 1) // 2
    return [
        nn.ReLU(inplace=False),
        nn.Conv2d(c, c, kernel, stride, padding, dilation=dilation, groups=c, bias=False),
        nn.Conv2d(c, c, 1, bias=False),
        nn.BatchNorm2d(c),
    ]


def sep_conv(c: int, kernel: int, stride: int, dilation: int = 1) -> nn.Sequential:
    """Separable conv: twice (ReLU, depthwise, pointwise, BN); only the first is strided."""
    return nn.Sequential(*_dw_pw(c, kernel, stride, dilation), *_dw_pw(c, kernel, 1, dilation))


def dil_conv(c: int, kernel: int, stride: int) -> nn.Sequential:
    """Dilated (rate 2) separable conv, once: ReLU, dilated depthwise, pointwise, BN."""
    return nn.Sequential(*_dw_pw(c, kernel, stride, 2))


def factorized_conv(c: int, kernel: int, stride: int) -> nn.Sequential:
    """``1 x k`` then ``k x 1`` conv: ReLU, conv(1 x k), conv(k x 1), BN."""
    return nn.Sequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(c, c, (1, kernel), (1, stride), (0, kernel // 2), bias=False),
        nn.Conv2d(c, c, (kernel, 1), (stride, 1), (kernel // 2, 0), bias=False),
        nn.BatchNorm2d(c),
    )


class FactorizedReduce(nn.Module):
    """Halves the resolution with two stride-2 1x1 convs, on x and on x shifted by one pixel.

    ReLU, then each conv gives half the output channels; they are concatenated, then BN.

    The shifted copy is zero-padded at the bottom right, which equals DARTS's ``x[:, :, 1:, 1:]``
    for even sizes and also keeps the two halves the same size for odd ones.
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, c_in, H, W) -> (B, c_out, ceil(H / 2), ceil(W / 2))."""
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))  # type: ignore[no-any-return]


class Zero(nn.Module):
    """The ``none`` op: zeros (``x * 0``, which keeps the input on the autograd graph)."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Zeros of the (strided) input's shape."""
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


def _pool(kind: str, kernel: int) -> Callable[[int, int], nn.Module]:
    def make(c: int, stride: int) -> nn.Module:
        if kind == "avg":
            return nn.AvgPool2d(kernel, stride, kernel // 2, count_include_pad=False)
        return nn.MaxPool2d(kernel, stride, kernel // 2)

    return make


def _skip(c: int, stride: int) -> nn.Module:
    return nn.Identity() if stride == 1 else FactorizedReduce(c, c)


#: Every op of the five spaces: name -> factory(channels, stride).
OPERATIONS: dict[str, Callable[[int, int], nn.Module]] = {
    "none": lambda c, s: Zero(s),
    "skip_connect": _skip,
    "avg_pool_3x3": _pool("avg", 3),
    "max_pool_3x3": _pool("max", 3),
    "max_pool_5x5": _pool("max", 5),
    "max_pool_7x7": _pool("max", 7),
    "conv_1x1": lambda c, s: ReLUConvBN(c, c, 1, s, 0),
    "conv_3x3": lambda c, s: ReLUConvBN(c, c, 3, s, 1),
    "conv_3x1_1x3": lambda c, s: factorized_conv(c, 3, s),
    "conv_7x1_1x7": lambda c, s: factorized_conv(c, 7, s),
    "sep_conv_3x3": lambda c, s: sep_conv(c, 3, s),
    "sep_conv_5x5": lambda c, s: sep_conv(c, 5, s),
    "sep_conv_7x7": lambda c, s: sep_conv(c, 7, s),
    "dil_conv_3x3": lambda c, s: dil_conv(c, 3, s),
    "dil_conv_5x5": lambda c, s: dil_conv(c, 5, s),
    "dil_sep_conv_3x3": lambda c, s: sep_conv(c, 3, s, dilation=2),
}


class Cell(nn.Module):
    """One cell: preprocess the two inputs, build the nodes, concatenate the output nodes."""

    def __init__(
        self,
        pairs: tuple[Pair, ...],
        concat: tuple[int, ...],
        *,
        c_prev_prev: int,
        c_prev: int,
        c: int,
        reduction: bool,
        reduction_prev: bool,
    ) -> None:
        super().__init__()
        self.preprocess0: nn.Module = (
            FactorizedReduce(c_prev_prev, c)
            if reduction_prev
            else ReLUConvBN(c_prev_prev, c, 1, 1, 0)
        )
        self.preprocess1 = ReLUConvBN(c_prev, c, 1, 1, 0)
        self.inputs = tuple(inp for _, inp in pairs)
        self.concat = concat
        self.ops = nn.ModuleList(
            OPERATIONS[op](c, 2 if reduction and inp < 2 else 1) for op, inp in pairs
        )

    @property
    def c_out(self) -> int:
        """Output channels as a multiple of the cell's C: the number of concatenated nodes."""
        return len(self.concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        """(earlier input, previous cell's output) -> the concatenated nodes."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for j in range(len(self.ops) // 2):
            a, b = 2 * j, 2 * j + 1
            states.append(self.ops[a](states[self.inputs[a]]) + self.ops[b](states[self.inputs[b]]))
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHead(nn.Module):
    """DARTS's auxiliary classifier: ReLU, 5x5 avg pool, 1x1 conv (128), 2x2 conv (768), linear.

    The pool has stride 3 on CIFAR (8x8 -> 2x2) and 2 on ImageNet (14x14 -> 5x5).
    """

    def __init__(self, c: int, n_classes: int, *, imagenet: bool) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=2 if imagenet else 3, padding=0, count_include_pad=False),
            nn.Conv2d(c, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=False),
            nn.AdaptiveAvgPool2d(1),
        )
        self.classifier = nn.Linear(768, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The auxiliary logits."""
        return self.classifier(self.features(x).flatten(1))  # type: ignore[no-any-return]


class NdsNetwork(nn.Module):
    """The DARTS / NDS network of one genotype (CIFAR or ImageNet layout, see module docstring).

    Args:
        genotype: the normal and reduce cells.
        width: initial channels C (the CIFAR stem has 3C).
        depth: number of cells (two of them reduction cells), >= 2.
        n_classes: outputs of the linear head (1 when scoring, as the NASWOT code does).
        auxiliary: add the auxiliary head; ``forward`` then returns ``(logits, aux_logits)``
            in train mode.
        imagenet: the ImageNet stems instead of the CIFAR stem.
    """

    def __init__(
        self,
        genotype: Genotype,
        *,
        width: int = DEFAULT_WIDTH,
        depth: int = DEFAULT_DEPTH,
        n_classes: int = 1,
        auxiliary: bool = False,
        imagenet: bool = False,
    ) -> None:
        super().__init__()
        for name, value, low in (
            ("width", width, 1),
            ("depth", depth, 2),
            ("n_classes", n_classes, 1),
        ):
            if not isinstance(value, int) or value < low:
                raise InvalidParameterError(
                    f"The '{name}' parameter of NdsNetwork must be an int >= {low}. "
                    f"Got {value!r} instead."
                )
        self.genotype = genotype
        self.stem0, self.stem1 = self._stems(width, imagenet)
        c_prev_prev = c_prev = width if imagenet else 3 * width
        c, reduction_prev = width, imagenet
        self.aux_index = 2 * depth // 3
        c_aux = c_prev
        cells: list[Cell] = []
        for i in range(depth):
            reduction = i in (depth // 3, 2 * depth // 3)
            c = 2 * c if reduction else c
            pairs = genotype.reduce if reduction else genotype.normal
            concat = genotype.reduce_concat if reduction else genotype.normal_concat
            cell = Cell(
                pairs,
                concat,
                c_prev_prev=c_prev_prev,
                c_prev=c_prev,
                c=c,
                reduction=reduction,
                reduction_prev=reduction_prev,
            )
            cells.append(cell)
            c_prev_prev, c_prev, reduction_prev = c_prev, cell.c_out * c, reduction
            if i == self.aux_index:
                c_aux = c_prev
        self.cells = nn.ModuleList(cells)
        self.auxiliary_head = (
            AuxiliaryHead(c_aux, n_classes, imagenet=imagenet) if auxiliary else None
        )
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, n_classes)
        # NASWOT's gate drops ReLUs off the output path; without an auxiliary head the only
        # ones are the preprocessing of a cell input that no op of the cell reads.
        used = [{inp for _, inp in pairs} for pairs in (genotype.normal, genotype.reduce)]
        self.naswot_all_activations_on_output_path = not auxiliary and all(
            {0, 1} <= inputs for inputs in used
        )

    @staticmethod
    def _stems(width: int, imagenet: bool) -> tuple[nn.Module, nn.Module | None]:
        if not imagenet:
            conv = nn.Conv2d(3, 3 * width, 3, padding=1, bias=False)
            return nn.Sequential(conv, nn.BatchNorm2d(3 * width)), None
        half = max(width // 2, 1)
        stem0 = nn.Sequential(
            nn.Conv2d(3, half, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(half),
            nn.ReLU(inplace=False),
            nn.Conv2d(half, width, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(width),
        )
        return stem0, ReLUConvBN(width, width, 3, 2, 1)

    def feature_blocks(self) -> list[nn.Module]:
        """The stems and the cells, in call order: the blocks whose outputs are the features."""
        stems = [self.stem0] if self.stem1 is None else [self.stem0, self.stem1]
        return [*stems, *self.cells]

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """The logits (B, n_classes); with the auxiliary head in train mode, also its logits."""
        s0 = self.stem0(x)
        s1 = s0 if self.stem1 is None else self.stem1(s0)
        aux: torch.Tensor | None = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1)
            if i == self.aux_index and self.auxiliary_head is not None and self.training:
                aux = self.auxiliary_head(s1)
        logits: torch.Tensor = self.classifier(self.global_pooling(s1).flatten(1))
        return logits if aux is None else (logits, aux)


def build_nds_cifar(
    arch: NdsCellArch, *, n_classes: int = 1, auxiliary: bool = False
) -> NdsNetwork:
    """The CIFAR network of ``arch`` (width and depth from the key, else the CPU-small defaults).

    Args:
        arch: an architecture of an ``nds-*`` cell space.
        n_classes: outputs of the linear head.
        auxiliary: add DARTS's auxiliary head (its ReLUs are left out by the NASWOT gate).

    Returns:
        A freshly initialised :class:`NdsNetwork` (PyTorch's default init, under the caller's
        RNG state).
    """
    return NdsNetwork(
        arch.genotype,
        width=DEFAULT_WIDTH if arch.width is None else arch.width,
        depth=DEFAULT_DEPTH if arch.depth is None else arch.depth,
        n_classes=n_classes,
        auxiliary=auxiliary,
    )


def build_nds_imagenet(
    arch: NdsCellArch, *, n_classes: int = 1, auxiliary: bool = False
) -> NdsNetwork:
    """The ImageNet network of ``arch`` (for the ``-in`` spaces; 224x224 inputs).

    Args:
        arch: an architecture of an ``nds-*-in`` cell space.
        n_classes: outputs of the linear head.
        auxiliary: add DARTS's auxiliary head (its ReLUs are left out by the NASWOT gate).

    Returns:
        A freshly initialised :class:`NdsNetwork` with the ImageNet stems.
    """
    return NdsNetwork(
        arch.genotype,
        width=DEFAULT_WIDTH if arch.width is None else arch.width,
        depth=DEFAULT_DEPTH if arch.depth is None else arch.depth,
        n_classes=n_classes,
        auxiliary=auxiliary,
        imagenet=True,
    )
