"""The NATS-Bench size search space S_s (Dong, Liu, Musial, Gabrys, TPAMI 2021).

"NATS-Bench: Benchmarking NAS Algorithms for Architecture Topology and Size", arXiv 2009.00437.

The NAS-Bench-201 macro skeleton with one cell per stage and a fixed cell (the best cell of the
topology space, :data:`CELL`). What varies is the width of its 5 layers: cell, residual reduction
block, cell, residual reduction block, cell; the stem has the first layer's width. Each width is
one of 8, 16, ..., 64, so the space holds 8^5 = 32,768 architectures. The key is NATS-Bench's own
string, the 5 widths separated by colons, e.g. ``64:64:64:64:64`` (the largest network).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from naswot.exceptions import ArchParseError, InvalidParameterError

__all__ = ["CELL", "CHANNELS", "N_LAYERS", "NatsSizeSpace", "SizeArch", "parse_size"]

CHANNELS: tuple[int, ...] = (8, 16, 24, 32, 40, 48, 56, 64)
N_LAYERS = 5
_WIDTHS = {str(c): c for c in CHANNELS}
# The fixed cell of every S_s network: the best cell of the topology space.
CELL = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    "+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
)


@dataclass(frozen=True, slots=True)
class SizeArch:
    """One S_s architecture: the width of each of the 5 layers (the stem has the first one)."""

    channels: tuple[int, ...]

    def __post_init__(self) -> None:
        channels = tuple(self.channels)
        if len(channels) != N_LAYERS or any(
            isinstance(c, bool) or c not in CHANNELS for c in channels
        ):
            raise InvalidParameterError(
                f"The 'channels' parameter of SizeArch must hold {N_LAYERS} widths from "
                f"{CHANNELS}. Got {channels!r} instead."
            )
        object.__setattr__(self, "channels", tuple(int(c) for c in channels))

    def __str__(self) -> str:
        return ":".join(str(c) for c in self.channels)


def parse_size(text: str) -> SizeArch:
    """Parses a NATS-Bench size string such as ``8:16:32:48:64``.

    Raises:
        ArchParseError: naming the position and what was expected there.
    """
    if not isinstance(text, str):
        raise InvalidParameterError(
            f"The 'text' parameter of parse_size must be a str. Got {type(text).__name__} instead."
        )
    stripped = text.strip()
    widths: list[int] = []
    pos = 0
    choices = ", ".join(map(str, CHANNELS))
    for k, token in enumerate(stripped.split(":")):
        if k >= N_LAYERS:
            raise ArchParseError(
                stripped, pos - 1, f"the end of the string ({N_LAYERS} widths)", "':'"
            )
        if token not in _WIDTHS:
            found = repr(token) if token else "an empty width"
            raise ArchParseError(stripped, pos, f"one of {choices} (layer {k})", found)
        widths.append(_WIDTHS[token])
        pos += len(token) + 1
    if len(widths) < N_LAYERS:
        raise ArchParseError(
            stripped,
            len(stripped),
            f"':' and {N_LAYERS - len(widths)} more widths",
            "the end of the string",
        )
    return SizeArch(tuple(widths))


class NatsSizeSpace:
    """The 32,768 architectures of the NATS-Bench size space S_s (Dong et al., 2021).

    Example:
        >>> space = NatsSizeSpace()
        >>> len(space)
        32768
        >>> space.key(space.parse("64:64:64:64:64"))
        '64:64:64:64:64'
    """

    name = "nats-sss"
    channels = CHANNELS
    cell = CELL

    def sample(self, rng: np.random.Generator) -> SizeArch:
        """One architecture with each layer's width drawn uniformly."""
        idx = rng.integers(0, len(CHANNELS), size=N_LAYERS)
        return SizeArch(tuple(CHANNELS[int(k)] for k in idx))

    def key(self, arch: SizeArch) -> str:
        """The NATS-Bench string of ``arch``."""
        return str(arch)

    def parse(self, key: str) -> SizeArch:
        """The architecture of a NATS-Bench string (see :func:`parse_size`)."""
        return parse_size(key)

    def mutate(self, arch: SizeArch, rng: np.random.Generator) -> SizeArch:
        """Changes the width of one uniformly chosen layer to a different width."""
        layer = int(rng.integers(N_LAYERS))
        choices = [c for c in CHANNELS if c != arch.channels[layer]]
        channels = list(arch.channels)
        channels[layer] = choices[int(rng.integers(len(choices)))]
        return SizeArch(tuple(channels))

    def __len__(self) -> int:
        return int(len(CHANNELS) ** N_LAYERS)

    def __iter__(self) -> Iterator[SizeArch]:
        for channels in itertools.product(CHANNELS, repeat=N_LAYERS):
            yield SizeArch(channels)

    def __repr__(self) -> str:
        return "NatsSizeSpace()"
