"""Networks of the NDS residual spaces (ResNet, ResNeXt-A, ResNeXt-B): stem, stages, head.

Written from the NDS description (Radosavovic et al., ICCV 2019, Sec. 4) and the block
definitions of ResNet (He et al., CVPR 2016: basic block = two 3x3 conv-BN with a ReLU between,
added to the shortcut, then ReLU) and ResNeXt (Xie et al., CVPR 2017: bottleneck = 1x1 conv to
``w / b`` channels, grouped 3x3 conv with ``g`` groups carrying the stride, 1x1 conv back to
``w``; BN after each conv, ReLU after the first two and after the sum). The shortcut is a
strided 1x1 conv + BN when the width or resolution changes, else the identity. The "plain"
block (NDS's Vanilla) is the basic block without shortcut, with a ReLU after each conv.

Stems: CIFAR, a 3x3 conv + BN + ReLU; ImageNet, a 7x7 stride-2 conv + BN + ReLU and a 3x3
stride-2 max pool. The head is global average pooling and a linear layer. The official NASWOT
code builds these networks with a 12-channel stem; ours defaults to 16 (``stem_width``).
Every ReLU is an ``nn.ReLU`` module and lies on the path to the output.
"""

from __future__ import annotations

import torch
from torch import nn

from naswot.exceptions import InvalidParameterError
from naswot.spaces.nds_anynet import AnyNetArch, Block

__all__ = ["DEFAULT_STEM_WIDTH", "AnyNetwork", "build_anynet_cifar", "build_anynet_imagenet"]

#: Stem channels when none are given.
DEFAULT_STEM_WIDTH = 16


def _conv_bn(
    c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1
) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
    ]


class ResidualBlock(nn.Module):
    """One block (basic, bottleneck or plain) from ``c_in`` to ``c_out`` channels."""

    def __init__(
        self, block: Block, c_in: int, c_out: int, *, stride: int, ratio: int, groups: int
    ) -> None:
        super().__init__()
        layers: list[nn.Module]
        if block == "bottleneck":
            inner = c_out // ratio
            layers = [
                *_conv_bn(c_in, inner, 1),
                nn.ReLU(inplace=False),
                *_conv_bn(inner, inner, 3, stride, groups),
                nn.ReLU(inplace=False),
                *_conv_bn(inner, c_out, 1),
            ]
        else:
            layers = [
                *_conv_bn(c_in, c_out, 3, stride),
                nn.ReLU(inplace=False),
                *_conv_bn(c_out, c_out, 3),
            ]
        self.body = nn.Sequential(*layers)
        self.residual = block != "plain"
        self.shortcut: nn.Module | None = None
        if self.residual and (c_in != c_out or stride != 1):
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)
            )
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``relu(body(x) + shortcut(x))``, or ``relu(body(x))`` for plain blocks."""
        out: torch.Tensor = self.body(x)
        if self.residual:
            out = out + (x if self.shortcut is None else self.shortcut(x))
        return self.relu(out)  # type: ignore[no-any-return]


class AnyNetwork(nn.Module):
    """The network of one :class:`~naswot.spaces.nds_anynet.AnyNetArch`.

    Args:
        arch: the block type and stages.
        n_classes: outputs of the linear head (1 when scoring, as the NASWOT code does).
        stem_width: channels of the stem.
        imagenet: the ImageNet stem (7x7 stride 2 + max pool) instead of the CIFAR one.
    """

    naswot_all_activations_on_output_path = True

    def __init__(
        self,
        arch: AnyNetArch,
        *,
        n_classes: int = 1,
        stem_width: int = DEFAULT_STEM_WIDTH,
        imagenet: bool = False,
    ) -> None:
        super().__init__()
        for name, value in (("n_classes", n_classes), ("stem_width", stem_width)):
            if not isinstance(value, int) or value < 1:
                raise InvalidParameterError(
                    f"The '{name}' parameter of AnyNetwork must be an int >= 1. "
                    f"Got {value!r} instead."
                )
        self.arch = arch
        if imagenet:
            stem = [*_conv_bn(3, stem_width, 7, 2), nn.ReLU(inplace=False), nn.MaxPool2d(3, 2, 1)]
        else:
            stem = [*_conv_bn(3, stem_width, 3), nn.ReLU(inplace=False)]
        self.stem = nn.Sequential(*stem)
        blocks: list[nn.Module] = []
        c_in = stem_width
        for stage in arch.stages:
            for k in range(stage.depth):
                blocks.append(
                    ResidualBlock(
                        arch.block,
                        c_in,
                        stage.width,
                        stride=stage.stride if k == 0 else 1,
                        ratio=stage.bottleneck_ratio,
                        groups=stage.groups,
                    )
                )
                c_in = stage.width
        self.blocks = nn.Sequential(*blocks)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_in, n_classes)

    def feature_blocks(self) -> list[nn.Module]:
        """The stem and every residual block, in call order (their outputs are the features)."""
        return [self.stem, *self.blocks]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The logits, shape (B, n_classes)."""
        features = self.blocks(self.stem(x))
        return self.classifier(self.global_pooling(features).flatten(1))  # type: ignore[no-any-return]


def build_anynet_cifar(arch: AnyNetArch, *, n_classes: int = 1) -> AnyNetwork:
    """The CIFAR network of ``arch`` (3x3 stem, :data:`DEFAULT_STEM_WIDTH` channels).

    Args:
        arch: an architecture of ``nds-resnet``, ``nds-resnext-a`` or ``nds-resnext-b``.
        n_classes: outputs of the linear head.

    Returns:
        A freshly initialised :class:`AnyNetwork`.
    """
    return AnyNetwork(arch, n_classes=n_classes)


def build_anynet_imagenet(arch: AnyNetArch, *, n_classes: int = 1) -> AnyNetwork:
    """The ImageNet network of ``arch`` (7x7 stride-2 stem and max pool).

    Args:
        arch: an architecture of an ``nds-resnet-in`` / ``nds-resnext-*-in`` space.
        n_classes: outputs of the linear head.

    Returns:
        A freshly initialised :class:`AnyNetwork`.
    """
    return AnyNetwork(arch, n_classes=n_classes, imagenet=True)
