"""NDS cell genotypes: the value types, the key format and its parser (no torch here).

A cell has two inputs (nodes 0 and 1: the outputs of the two previous cells) and ``n``
intermediate nodes (2 .. n + 1). Pairs ``2j`` and ``2j + 1`` of a cell are the two
``(op, input)`` choices of node ``j + 2``, which sums the two ops' outputs; the cell output
concatenates the ``concat`` nodes. This is the DARTS ``Genotype`` that pycls (the code that
trained NDS) builds its cells from.

The key is the DARTS ``Genotype`` repr, the format of the DARTS code and of the SWAP-NAS
sample (``DARTS_archs_CIFAR10.csv``)::

    Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ...], normal_concat=[2, 3, 4, 5],
             reduce=[...], reduce_concat=[2, 3, 4, 5])

(on one line), optionally followed by the network's width and depth: ``...)@w16d8`` (either
part may be left out). Without them the builder's CPU-small defaults apply:
:data:`DEFAULT_WIDTH` and :data:`DEFAULT_DEPTH`.

Import these names from :mod:`naswot.spaces.nds`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from naswot.exceptions import ArchParseError, InvalidParameterError
from naswot.spaces.nds_ops import ALL_OPS

__all__ = [
    "DEFAULT_DEPTH",
    "DEFAULT_WIDTH",
    "Genotype",
    "NdsCellArch",
    "Pair",
    "format_arch",
    "format_genotype",
    "loose_ends",
    "parse_genotype",
]

#: Network width (initial channels C) used when a key carries none; CPU-small (DARTS uses 36).
DEFAULT_WIDTH = 16
#: Number of cells used when a key carries none; CPU-small (DARTS uses 20).
DEFAULT_DEPTH = 8

Pair = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Genotype:
    """A normal and a reduce cell: ``(op, input)`` pairs, two per node, and the output nodes.

    Attributes:
        normal: the pairs of the normal cell; pairs ``2j`` and ``2j + 1`` make node ``j + 2``.
        normal_concat: the nodes whose outputs the normal cell concatenates, increasing.
        reduce: the pairs of the reduction cell.
        reduce_concat: the nodes the reduction cell concatenates.
    """

    normal: tuple[Pair, ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[Pair, ...]
    reduce_concat: tuple[int, ...]

    def __post_init__(self) -> None:
        for name in ("normal", "reduce"):
            _check_cell(name, getattr(self, name), getattr(self, f"{name}_concat"))

    @property
    def n_nodes(self) -> int:
        """The number of intermediate nodes of the normal cell."""
        return len(self.normal) // 2

    def __str__(self) -> str:
        return format_genotype(self)


def _check_cell(name: str, pairs: tuple[Pair, ...], concat: tuple[int, ...]) -> None:
    def bad(what: str, got: object) -> InvalidParameterError:
        return InvalidParameterError(
            f"The '{name}' cell of Genotype must {what}. Got {got!r} instead."
        )

    if len(pairs) < 2 or len(pairs) % 2:
        raise bad("hold an even number (>= 2) of (op, input) pairs", len(pairs))
    for k, (op, inp) in enumerate(pairs):
        if op not in ALL_OPS:
            raise bad(f"use operations from {ALL_OPS}", op)
        if not 0 <= inp < k // 2 + 2:
            raise bad(f"read node 0..{k // 2 + 1} in pair {k} (node {k // 2 + 2})", inp)
    nodes = range(2, len(pairs) // 2 + 2)
    if not concat or list(concat) != sorted(set(concat)) or not set(concat) <= set(nodes):
        raise bad(f"concatenate an increasing, non-empty subset of nodes {list(nodes)}", concat)


@dataclass(frozen=True, slots=True)
class NdsCellArch:
    """An NDS cell network: a genotype plus, optionally, the network's width and depth.

    Attributes:
        genotype: the normal and reduce cells.
        width: initial channels C, or None for :data:`DEFAULT_WIDTH`.
        depth: number of cells, or None for :data:`DEFAULT_DEPTH`.
    """

    genotype: Genotype
    width: int | None = None
    depth: int | None = None

    def __post_init__(self) -> None:
        _check_size("width", self.width, "NdsCellArch")
        _check_size("depth", self.depth, "NdsCellArch")

    def __str__(self) -> str:
        return format_arch(self)


def _check_size(name: str, value: object, where: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InvalidParameterError(
            f"The '{name}' parameter of {where} must be None or an int >= 1. Got {value!r} instead."
        )


def _format_cell(pairs: tuple[Pair, ...]) -> str:
    return "[" + ", ".join(f"({op!r}, {inp})" for op, inp in pairs) + "]"


def _format_ints(values: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def format_genotype(genotype: Genotype) -> str:
    """The DARTS repr of ``genotype`` (what ``str(Genotype(...))`` prints in the DARTS code)."""
    return (
        f"Genotype(normal={_format_cell(genotype.normal)}, "
        f"normal_concat={_format_ints(genotype.normal_concat)}, "
        f"reduce={_format_cell(genotype.reduce)}, "
        f"reduce_concat={_format_ints(genotype.reduce_concat)})"
    )


def format_arch(arch: NdsCellArch) -> str:
    """The key of ``arch``: the genotype repr, then ``@w<width>d<depth>`` for the given parts."""
    suffix = ("" if arch.width is None else f"w{arch.width}") + (
        "" if arch.depth is None else f"d{arch.depth}"
    )
    return format_genotype(arch.genotype) + (f"@{suffix}" if suffix else "")


@dataclass
class _Parsed:
    """A parsed key, with the positions a space needs to point at in its own checks."""

    text: str
    cells: dict[str, tuple[Pair, ...]] = field(default_factory=dict)
    concats: dict[str, tuple[int, ...]] = field(default_factory=dict)
    list_end: dict[str, int] = field(default_factory=dict)
    width: int | None = None
    depth: int | None = None


class _Scanner:
    """A cursor over a key that reports errors with their position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(
        self, expected: str, found: str | None = None, at: int | None = None
    ) -> ArchParseError:
        at = self.pos if at is None else at
        if found is None:
            found = repr(self.text[at]) if at < len(self.text) else "the end of the string"
        return ArchParseError(self.text, at, expected, found)

    def expect(self, literal: str, what: str | None = None) -> None:
        if not self.text.startswith(literal, self.pos):
            raise self.fail(what or repr(literal))
        self.pos += len(literal)

    def peek(self, literal: str) -> bool:
        return self.text.startswith(literal, self.pos)

    def run(self, allowed: str, what: str) -> str:
        end = self.pos
        while end < len(self.text) and self.text[end] in allowed:
            end += 1
        if end == self.pos:
            raise self.fail(what)
        token, self.pos = self.text[self.pos : end], end
        return token

    def integer(self, what: str) -> int:
        start = self.pos
        digits = self.run("0123456789", what)
        if len(digits) > 1 and digits[0] == "0":
            raise self.fail(f"{what} without leading zeros", repr(digits), start)
        return int(digits)


_WORD = "abcdefghijklmnopqrstuvwxyz0123456789_"


def _parse_pairs(s: _Scanner, cell: str, ops: tuple[str, ...], space: str) -> tuple[Pair, ...]:
    s.expect("[", f"'[' opening the {cell} cell's (op, input) pairs")
    pairs: list[Pair] = []
    while True:
        k = len(pairs)
        where = f"pair {k} of the {cell} cell (node {k // 2 + 2})"
        s.expect("('", f'"(\'" opening {where}')
        start = s.pos
        op = s.run(_WORD, f"an operation name in {where}")
        if op not in ops:
            raise s.fail(f"an operation of {space} ({', '.join(ops)}) in {where}", repr(op), start)
        s.expect("', ", f'"\', " after the operation of {where}')
        start = s.pos
        inp = s.integer(f"the input node of {where}")
        if inp > k // 2 + 1:
            raise s.fail(f"an input node in 0..{k // 2 + 1} for {where}", repr(str(inp)), start)
        s.expect(")", f"')' closing {where}")
        pairs.append((op, inp))
        if s.peek("]"):
            break
        s.expect(", ", f"', ' or ']' after {where}")
    if len(pairs) % 2:
        raise s.fail(
            f"an even number of pairs in the {cell} cell (two per node)", f"{len(pairs)} pairs"
        )
    s.pos += 1
    return tuple(pairs)


def _parse_concat(s: _Scanner, cell: str, n_nodes: int) -> tuple[int, ...]:
    s.expect("[", f"'[' opening {cell}_concat")
    values: list[int] = []
    while True:
        start = s.pos
        node = s.integer(f"a node number in {cell}_concat")
        low = values[-1] + 1 if values else 2
        if not low <= node <= n_nodes + 1:
            expected = f"a node in {low}..{n_nodes + 1} in {cell}_concat (increasing)"
            raise s.fail(expected, repr(str(node)), start)
        values.append(node)
        if s.peek("]"):
            s.pos += 1
            return tuple(values)
        s.expect(", ", f"', ' or ']' in {cell}_concat")


def _positive(s: _Scanner, name: str) -> int:
    s.pos += 1  # the 'w' or 'd'
    start = s.pos
    value = s.integer(f"the {name} after '{name[0]}'")
    if value < 1:
        raise s.fail(f"a {name} >= 1", repr(str(value)), start)
    return value


def _parse(text: str, ops: tuple[str, ...], space: str) -> _Parsed:
    s = _Scanner(text.strip())
    out = _Parsed(s.text)
    s.expect("Genotype(", "'Genotype('")
    for i, cell in enumerate(("normal", "reduce")):
        s.expect(f"{', ' if i else ''}{cell}=", f"'{', ' if i else ''}{cell}='")
        out.cells[cell] = _parse_pairs(s, cell, ops, space)
        out.list_end[cell] = s.pos - 1
        s.expect(f", {cell}_concat=", f"', {cell}_concat='")
        out.concats[cell] = _parse_concat(s, cell, len(out.cells[cell]) // 2)
    s.expect(")", "')' closing the Genotype")
    if s.peek("@"):
        s.pos += 1
        if not (s.peek("w") or s.peek("d")):
            raise s.fail("'w<width>' or 'd<depth>' after '@'")
        if s.peek("w"):
            out.width = _positive(s, "width")
        if s.peek("d"):
            out.depth = _positive(s, "depth")
    if s.pos != len(s.text):
        raise s.fail("the end of the string (or '@w<width>d<depth>' after the Genotype)")
    return out


def _arch_of(parsed: _Parsed) -> NdsCellArch:
    c, cat = parsed.cells, parsed.concats
    genotype = Genotype(c["normal"], cat["normal"], c["reduce"], cat["reduce"])
    return NdsCellArch(genotype, parsed.width, parsed.depth)


def parse_genotype(text: str) -> NdsCellArch:
    """Parses a key (``Genotype(...)`` with an optional ``@w<W>d<D>``) of any NDS cell space.

    Checks the structure only (any op of :data:`ALL_OPS`, any node count); a space's
    :meth:`NdsCellSpace.parse` also checks its op set and node count.

    Raises:
        ArchParseError: naming the position and what was expected there.
    """
    if not isinstance(text, str):
        raise InvalidParameterError(
            f"The 'text' parameter of parse_genotype must be a str. Got {type(text).__name__} "
            "instead."
        )
    return _arch_of(_parse(text, ALL_OPS, "NDS cell spaces"))


def loose_ends(pairs: tuple[Pair, ...]) -> tuple[int, ...]:
    """The intermediate nodes that no node of the cell reads (the NDS "L" output rule)."""
    read = {inp for _, inp in pairs}
    return tuple(n for n in range(2, len(pairs) // 2 + 2) if n not in read)
