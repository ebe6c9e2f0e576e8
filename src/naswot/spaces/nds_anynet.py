"""The NDS residual design spaces: ResNet, ResNeXt-A and ResNeXt-B (no torch here).

Radosavovic et al., "On Network Design Spaces for Visual Recognition", ICCV 2019 (NDS),
Sec. 4 and Table 1: a network is a stem, a sequence of stages and a head. Stage ``i`` has
``d_i`` blocks of output width ``w_i``; its first block has stride 2 (stride 1 in the first
stage, the stem having reduced already). ResNet uses residual *basic* blocks (two 3x3 convs,
He et al., CVPR 2016); ResNeXt uses residual *bottleneck* blocks (1x1, grouped 3x3, 1x1; Xie
et al., CVPR 2017) with a bottleneck ratio ``b_i`` (inner width ``w_i / b_i``) and ``g_i``
groups. Each stage's parameters are drawn independently.

NDS Table 1 gives each range as ``a, b, n``: ``n`` values spaced about evenly, in log space,
from ``a`` to ``b``:

==========  ===========  ============  ==========  ==========
space       depth d_i    width w_i     ratio b_i   groups g_i
==========  ===========  ============  ==========  ==========
ResNet      1, 24, 9     16, 256, 12   --          --
ResNeXt-A   1, 16, 5     16, 256, 5    1, 4, 3     1, 4, 3
ResNeXt-B   1, 16, 5     64, 1024, 5   1, 4, 3     1, 16, 5
==========  ===========  ============  ==========  ==========

The integer values chosen for each range are ours (see the ``depths``/``widths``/... class
attributes; NDS does not list them). CIFAR networks have 3 stages; the ImageNet variants
(``-in``) get 4 stages after the ImageNet stem, our choice (as pycls's ImageNet ResNets).

Key format (ours): the block type, a colon, then the stages separated by commas, each as
``d<depth>w<width>`` (basic and plain blocks) or ``d<depth>w<width>b<ratio>g<groups>``
(bottleneck blocks), with ``s<stride>`` appended only when the stride is not the default::

    basic:d2w16,d3w32,d4w64
    bottleneck:d1w64b2g4,d2w128b1g1,d4w256b4g2
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

import numpy as np

from naswot.exceptions import ArchParseError, InvalidParameterError

__all__ = [
    "BLOCKS",
    "AnyNetArch",
    "NdsAnyNetSpace",
    "NdsResNeXtASpace",
    "NdsResNeXtBSpace",
    "NdsResNetSpace",
    "Stage",
    "default_stride",
    "format_anynet",
    "parse_anynet",
]

Block = Literal["basic", "bottleneck", "plain"]
#: The block types a key may name: residual basic, residual bottleneck, plain (NDS "Vanilla").
BLOCKS: tuple[Block, ...] = ("basic", "bottleneck", "plain")


def default_stride(position: int) -> int:
    """Stride of stage ``position`` when the key gives none: 1 for the first, else 2."""
    return 1 if position == 0 else 2


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage: ``depth`` blocks of output width ``width``.

    Attributes:
        depth: number of blocks.
        width: output channels of every block.
        bottleneck_ratio: inner width is ``width // bottleneck_ratio`` (bottleneck blocks).
        groups: groups of the 3x3 conv (bottleneck blocks).
        stride: stride of the stage's first block (the key omits it when it equals
            :func:`default_stride` of the stage's position: 1 for the first stage, else 2).
    """

    depth: int
    width: int
    bottleneck_ratio: int = 1
    groups: int = 1
    stride: int = 2

    def __post_init__(self) -> None:
        for name in ("depth", "width", "bottleneck_ratio", "groups", "stride"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InvalidParameterError(
                    f"The '{name}' parameter of Stage must be an int >= 1. Got {value!r} instead."
                )
        problem = _divisibility(self.width, self.bottleneck_ratio, self.groups)
        if problem:
            raise InvalidParameterError(f"Invalid Stage {self}: {problem}.")

    @property
    def inner_width(self) -> int:
        """Channels of the bottleneck's inner convs."""
        return self.width // self.bottleneck_ratio


def _divisibility(width: int, ratio: int, groups: int) -> str:
    if width % ratio:
        return f"the width {width} is not divisible by the bottleneck ratio {ratio}"
    if (width // ratio) % groups:
        return f"the inner width {width // ratio} is not divisible by the {groups} groups"
    return ""


@dataclass(frozen=True, slots=True)
class AnyNetArch:
    """A stage-wise residual network: a block type and one or more stages."""

    block: Block
    stages: tuple[Stage, ...]

    def __post_init__(self) -> None:
        if self.block not in BLOCKS:
            raise InvalidParameterError(
                f"The 'block' parameter of AnyNetArch must be one of {BLOCKS}. "
                f"Got {self.block!r} instead."
            )
        if not self.stages:
            raise InvalidParameterError("The 'stages' parameter of AnyNetArch must not be empty.")
        if self.block != "bottleneck" and any(
            (s.bottleneck_ratio, s.groups) != (1, 1) for s in self.stages
        ):
            raise InvalidParameterError(
                f"{self.block} blocks have no bottleneck ratio or groups; they must be 1."
            )

    def __str__(self) -> str:
        return format_anynet(self)


def format_anynet(arch: AnyNetArch) -> str:
    """The key of ``arch`` (see the module docstring)."""
    tokens = []
    for i, s in enumerate(arch.stages):
        token = f"d{s.depth}w{s.width}"
        if arch.block == "bottleneck":
            token += f"b{s.bottleneck_ratio}g{s.groups}"
        if s.stride != default_stride(i):
            token += f"s{s.stride}"
        tokens.append(token)
    return f"{arch.block}:" + ",".join(tokens)


def _number(text: str, pos: int, letter: str, what: str) -> tuple[int, int]:
    """Reads ``<letter><positive int>`` at ``pos``; returns (value, new position)."""
    if not text.startswith(letter, pos):
        found = repr(text[pos]) if pos < len(text) else "the end of the string"
        raise ArchParseError(text, pos, f"'{letter}<{what}>'", found)
    end = start = pos + 1
    while end < len(text) and text[end].isdigit():
        end += 1
    digits = text[start:end]
    if not digits or digits[0] == "0":
        if digits:
            found = repr(digits)
        else:
            found = repr(text[end]) if end < len(text) else "the end of the string"
        raise ArchParseError(text, start, f"the {what}, an int >= 1 without leading zeros", found)
    return int(digits), end


def parse_anynet(text: str, *, block: Block | None = None) -> AnyNetArch:
    """Parses a key; with ``block``, the key must name that block type.

    Raises:
        ArchParseError: naming the position and what was expected there.
    """
    if not isinstance(text, str):
        raise InvalidParameterError(
            f"The 'text' parameter of parse_anynet must be a str. Got {type(text).__name__} "
            "instead."
        )
    text = text.strip()
    colon = text.find(":")
    name = text[: max(colon, 0)]
    allowed = BLOCKS if block is None else (block,)
    if colon < 0 or name not in allowed:
        expected = " or ".join(f"'{b}:'" for b in allowed)
        raise ArchParseError(text, 0, expected, repr(text[: max(colon, 0)] or text[:12]))
    kind: Block = name  # narrowed by the check against BLOCKS above
    pos, stages = colon + 1, list[Stage]()
    while True:
        start = pos
        depth, pos = _number(text, pos, "d", "depth")
        width, pos = _number(text, pos, "w", "width")
        ratio = groups = 1
        if kind == "bottleneck":
            ratio, pos = _number(text, pos, "b", "bottleneck ratio")
            groups, pos = _number(text, pos, "g", "groups")
        stride = default_stride(len(stages))
        if text.startswith("s", pos):
            stride, pos = _number(text, pos, "s", "stride")
        problem = _divisibility(width, ratio, groups)
        if problem:
            expected = "a width divisible by the ratio, and an inner width by the groups"
            raise ArchParseError(text, start, expected, problem)
        stages.append(Stage(depth, width, ratio, groups, stride))
        if pos == len(text):
            return AnyNetArch(kind, tuple(stages))
        if text[pos] != ",":
            form = "d<depth>w<width>" + ("b<ratio>g<groups>" if kind == "bottleneck" else "")
            expected = f"',' or the end of the string ({kind} stages are {form}[s<stride>])"
            raise ArchParseError(text, pos, expected, repr(text[pos]))
        pos += 1


class NdsAnyNetSpace:
    """An NDS residual space: each stage's parameters drawn uniformly from the class's values.

    Args:
        imagenet: the ImageNet variant (name suffix ``-in``; 4 stages; the ImageNet stem).
    """

    base_name: ClassVar[str]
    block: ClassVar[Block]
    depths: ClassVar[tuple[int, ...]]
    widths: ClassVar[tuple[int, ...]]
    ratios: ClassVar[tuple[int, ...]] = (1,)
    group_counts: ClassVar[tuple[int, ...]] = (1,)

    def __init__(self, *, imagenet: bool = False) -> None:
        self.imagenet = imagenet
        self.n_stages = 4 if imagenet else 3
        self.name = self.base_name + ("-in" if imagenet else "")

    def _choices(self) -> tuple[tuple[int, ...], ...]:
        return (self.depths, self.widths, self.ratios, self.group_counts)

    def sample(self, rng: np.random.Generator) -> AnyNetArch:
        """Draws every stage's depth, width, ratio and groups uniformly and independently."""
        stages = []
        for i in range(self.n_stages):
            d, w, b, g = (v[int(rng.integers(len(v)))] for v in self._choices())
            stages.append(Stage(d, w, b, g, default_stride(i)))
        return AnyNetArch(self.block, tuple(stages))

    def key(self, arch: AnyNetArch) -> str:
        """The key of ``arch`` (see the module docstring)."""
        return format_anynet(arch)

    def parse(self, key: str) -> AnyNetArch:
        """The architecture of ``key``, whose block type must be this space's.

        Any number of stages and any values are accepted (NDS json files are taken as they are).
        """
        return parse_anynet(key, block=self.block)

    def _neighbours(self, arch: AnyNetArch) -> Iterator[AnyNetArch]:
        names = ("depth", "width", "bottleneck_ratio", "groups")
        for i, stage in enumerate(arch.stages):
            for name, values in zip(names, self._choices(), strict=True):
                for value in values:
                    if value == getattr(stage, name):
                        continue
                    new = {name: value}
                    w, b, g = (new.get(n, getattr(stage, n)) for n in names[1:])
                    if not _divisibility(w, b, g):
                        stages = list(arch.stages)
                        stages[i] = replace(stage, **new)
                        yield replace(arch, stages=tuple(stages))

    def mutate(self, arch: AnyNetArch, rng: np.random.Generator) -> AnyNetArch:
        """Changes one parameter of one stage to another of the space's values.

        Uniform over all such neighbours whose widths still divide.
        """
        neighbours = list(self._neighbours(arch))
        if not neighbours:
            raise InvalidParameterError(f"{self.name} has no neighbour of {format_anynet(arch)}.")
        return neighbours[int(rng.integers(len(neighbours)))]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(imagenet={self.imagenet!r})"


class NdsResNetSpace(NdsAnyNetSpace):
    """NDS-ResNet: residual basic blocks; d_i in (1, 24, 9), w_i in (16, 256, 12)."""

    base_name = "nds-resnet"
    block = "basic"
    depths = (1, 2, 3, 4, 6, 8, 12, 16, 24)
    widths = (16, 24, 32, 40, 48, 64, 80, 96, 128, 160, 192, 256)


class NdsResNeXtASpace(NdsAnyNetSpace):
    """NDS-ResNeXt-A: bottleneck blocks; d in (1, 16, 5), w in (16, 256, 5), b, g in (1, 4, 3)."""

    base_name = "nds-resnext-a"
    block = "bottleneck"
    depths = (1, 2, 4, 8, 16)
    widths = (16, 32, 64, 128, 256)
    ratios = (1, 2, 4)
    group_counts = (1, 2, 4)


class NdsResNeXtBSpace(NdsAnyNetSpace):
    """NDS-ResNeXt-B: bottleneck; d (1, 16, 5), w (64, 1024, 5), b (1, 4, 3), g (1, 16, 5)."""

    base_name = "nds-resnext-b"
    block = "bottleneck"
    depths = (1, 2, 4, 8, 16)
    widths = (64, 128, 256, 512, 1024)
    ratios = (1, 2, 4)
    group_counts = (1, 2, 4, 8, 16)
