"""The NAS-Bench-201 cell space (Dong & Yang, ICLR 2020).

A cell is a DAG on 4 nodes; each of its 6 edges ``j -> i`` (j < i) carries one of 5 operations.
The official string lists, node by node, the incoming edges as ``op~j``::

    |nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|

Edges are stored in that order: (1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2). The official
integer index of a cell is not derivable from the string; it is a column of a benchmark table.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from naswot.exceptions import ArchParseError, InvalidParameterError

__all__ = ["EDGES", "N_NODES", "OPS", "Cell201", "NasBench201Space"]

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
N_NODES = 4
# (target, source) in the order of the official string.
EDGES: tuple[tuple[int, int], ...] = tuple((i, j) for i in range(1, N_NODES) for j in range(i))


@dataclass(frozen=True, slots=True)
class Cell201:
    """One NAS-Bench-201 cell: the operation on each of the 6 edges, in official string order."""

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.ops) != len(EDGES):
            raise InvalidParameterError(
                f"The 'ops' parameter of Cell201 must hold {len(EDGES)} operations. "
                f"Got {len(self.ops)} instead."
            )
        for op in self.ops:
            if op not in OPS:
                raise InvalidParameterError(
                    f"The 'ops' parameter of Cell201 must hold operations from {OPS}. "
                    f"Got {op!r} instead."
                )

    def op(self, target: int, source: int) -> str:
        """The operation on the edge ``source -> target``."""
        return self.ops[EDGES.index((target, source))]

    def __str__(self) -> str:
        return format_arch(self)


def format_arch(cell: Cell201) -> str:
    """The official NAS-Bench-201 string of ``cell``."""
    parts = []
    for i in range(1, N_NODES):
        edges = [f"{cell.op(i, j)}~{j}" for j in range(i)]
        parts.append("|" + "|".join(edges) + "|")
    return "+".join(parts)


class _Scanner:
    """A cursor over an architecture string that reports errors with their position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, expected: str) -> ArchParseError:
        found = repr(self.text[self.pos]) if self.pos < len(self.text) else "the end of the string"
        return ArchParseError(self.text, self.pos, expected, found)

    def expect(self, literal: str, what: str | None = None) -> None:
        if not self.text.startswith(literal, self.pos):
            raise self.fail(what or repr(literal))
        self.pos += len(literal)

    def take_until(self, stop: str, what: str) -> str:
        end = self.text.find(stop, self.pos)
        if end < 0:
            raise self.fail(what)
        token = self.text[self.pos : end]
        return token


def parse_arch(text: str) -> Cell201:
    """Parses an official NAS-Bench-201 string into a :class:`Cell201`.

    Raises:
        ArchParseError: naming the position and what was expected there.
    """
    if not isinstance(text, str):
        raise InvalidParameterError(
            f"The 'text' parameter of parse_arch must be a str. Got {type(text).__name__} instead."
        )
    s = _Scanner(text.strip())
    ops: list[str] = []
    for i in range(1, N_NODES):
        if i > 1:
            s.expect("+", f"'+' between node {i - 1} and node {i}")
        s.expect("|", f"'|' opening node {i}")
        for j in range(i):
            start = s.pos
            op = s.take_until("~", f"'op~{j}' (edge {j}->{i})")
            if op not in OPS:
                # Report the whole token (up to '|' or '+'), not its first character.
                token = op.split("|")[0].split("+")[0] or s.text[start]
                raise ArchParseError(
                    s.text, start, f"one of {', '.join(OPS)} (edge {j}->{i})", repr(token)
                )
            s.pos += len(op)
            s.expect("~")
            s.expect(str(j), f"input node {j} (edge {j}->{i})")
            s.expect("|", f"'|' after edge {j}->{i}")
            ops.append(op)
    if s.pos != len(s.text):
        raise s.fail("the end of the string (NAS-Bench-201 cells have 3 nodes after the input)")
    return Cell201(tuple(ops))


class NasBench201Space:
    """The 5^6 = 15,625 cells of NAS-Bench-201 (isomorphic duplicates included, as the benchmark).

    Example:
        >>> space = NasBench201Space()
        >>> len(space)
        15625
        >>> space.key(space.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"))
        '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|'
    """

    name = "nb201"
    ops = OPS

    def sample(self, rng: np.random.Generator) -> Cell201:
        """One cell with each edge's operation drawn uniformly."""
        idx = rng.integers(0, len(OPS), size=len(EDGES))
        return Cell201(tuple(OPS[int(k)] for k in idx))

    def key(self, arch: Cell201) -> str:
        """The official string of ``arch``."""
        return format_arch(arch)

    def parse(self, key: str) -> Cell201:
        """The cell of an official string (see :func:`parse_arch`)."""
        return parse_arch(key)

    def mutate(self, arch: Cell201, rng: np.random.Generator) -> Cell201:
        """Changes the operation of one uniformly chosen edge to a different operation."""
        edge = int(rng.integers(len(EDGES)))
        choices = [op for op in OPS if op != arch.ops[edge]]
        ops = list(arch.ops)
        ops[edge] = choices[int(rng.integers(len(choices)))]
        return Cell201(tuple(ops))

    def __len__(self) -> int:
        return int(len(OPS) ** len(EDGES))

    def __iter__(self) -> Iterator[Cell201]:
        for ops in itertools.product(OPS, repeat=len(EDGES)):
            yield Cell201(ops)

    def __repr__(self) -> str:
        return "NasBench201Space()"
