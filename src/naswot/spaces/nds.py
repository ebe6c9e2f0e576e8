"""The NDS cell search spaces: DARTS, ENAS, PNAS, NASNet and Amoeba (no torch here).

Radosavovic, Johnson, Xie, Lo, Dollár, "On Network Design Spaces for Visual Recognition",
ICCV 2019 (NDS), study five NAS cell spaces in one DARTS-style framework. A cell has two inputs
(nodes 0 and 1: the outputs of the two previous cells) and ``n`` intermediate nodes (2 ..
n + 1). Node ``j`` applies two operations, each to one earlier node chosen independently (the
same node may be chosen twice), and sums them; the cell output concatenates the ``concat``
nodes. A network has a *normal* and a *reduce* cell, drawn independently.

The spaces differ in their operations, node counts and output rule (NDS, Table 1: "A" = all
intermediate nodes, "L" = the loose ends, the nodes no other node reads):

=========  =====  =====  ======  ====================================================
space      ops    nodes  output  source of the op set
=========  =====  =====  ======  ====================================================
NASNet     13     5      L       Zoph et al., CVPR 2018, Sec. 3 (minus 5x5 avg pool)
Amoeba      8     5      L       Real et al., AAAI 2019, Sec. 3
PNAS        8     5      A       Liu et al., ECCV 2018, Sec. 3.1
ENAS        5     5      L       Pham et al., ICML 2018, Sec. 2.3
DARTS       8     4      A       Liu et al., ICLR 2019, Sec. 3.1 (with ``none``)
=========  =====  =====  ======  ====================================================

Op names follow the DARTS code and the NDS json files (``net.genotype``); the per-space lists
match the op counts of NDS Table 1 and the names used for the NDS data by third-party readers
(docs/nds.md lists what was verified where).

The key is the DARTS ``Genotype`` repr, the format of the DARTS code and of the SWAP-NAS
sample (``DARTS_archs_CIFAR10.csv``)::

    Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ...], normal_concat=[2, 3, 4, 5],
             reduce=[...], reduce_concat=[2, 3, 4, 5])

(on one line), optionally followed by the network's width and depth: ``...)@w16d8`` (either
part may be left out). Without them the builder's CPU-small defaults apply:
:data:`DEFAULT_WIDTH` and :data:`DEFAULT_DEPTH`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar, Literal

import numpy as np

from naswot.exceptions import ArchParseError, InvalidParameterError

__all__ = [
    "ALL_OPS",
    "CELL_SPACES",
    "DEFAULT_DEPTH",
    "DEFAULT_WIDTH",
    "Genotype",
    "NdsAmoebaSpace",
    "NdsCellArch",
    "NdsCellSpace",
    "NdsDartsSpace",
    "NdsEnasSpace",
    "NdsNasnetSpace",
    "NdsPnasSpace",
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

#: Every operation name a genotype may hold (the union of the five spaces' op sets).
ALL_OPS: tuple[str, ...] = (
    "none",
    "skip_connect",
    "avg_pool_3x3",
    "max_pool_3x3",
    "max_pool_5x5",
    "max_pool_7x7",
    "conv_1x1",
    "conv_3x3",
    "conv_3x1_1x3",
    "conv_7x1_1x7",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "sep_conv_7x7",
    "dil_conv_3x3",
    "dil_conv_5x5",
    "dil_sep_conv_3x3",
)

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


class NdsCellSpace:
    """An NDS cell space: genotypes over ``ops`` with ``n_nodes`` nodes per cell.

    Subclasses fix ``ops``, ``n_nodes`` and ``output``. :meth:`sample` draws each operation
    and each input uniformly and independently (inputs of node j from nodes 0 .. j - 1, the
    two cell inputs included), for the normal and the reduce cell independently, as NDS samples
    its cells; the concatenated nodes follow the output rule. :meth:`parse` accepts any
    increasing set of concatenated nodes (NDS json files are taken as they are).

    Args:
        imagenet: the ImageNet variant (name suffix ``-in``; networks get the ImageNet stem).
        width: written into sampled architectures (None: keys carry no width).
        depth: written into sampled architectures (None: keys carry no depth).
    """

    base_name: ClassVar[str]
    ops: ClassVar[tuple[str, ...]]
    n_nodes: ClassVar[int]
    output: ClassVar[Literal["all", "loose"]]

    def __init__(
        self, *, imagenet: bool = False, width: int | None = None, depth: int | None = None
    ) -> None:
        _check_size("width", width, type(self).__name__)
        _check_size("depth", depth, type(self).__name__)
        self.imagenet = imagenet
        self.width = width
        self.depth = depth
        self.name = self.base_name + ("-in" if imagenet else "")

    def sample(self, rng: np.random.Generator) -> NdsCellArch:
        """A genotype with every op and input drawn uniformly (see the class docstring)."""
        normal = self._sample_cell(rng)
        reduce = self._sample_cell(rng)
        genotype = Genotype(normal, self._concat(normal), reduce, self._concat(reduce))
        return NdsCellArch(genotype, self.width, self.depth)

    def _sample_cell(self, rng: np.random.Generator) -> tuple[Pair, ...]:
        pairs = []
        for k in range(2 * self.n_nodes):
            op = self.ops[int(rng.integers(len(self.ops)))]
            pairs.append((op, int(rng.integers(k // 2 + 2))))
        return tuple(pairs)

    def _concat(self, pairs: tuple[Pair, ...]) -> tuple[int, ...]:
        if self.output == "loose":
            return loose_ends(pairs)
        return tuple(range(2, self.n_nodes + 2))

    def key(self, arch: NdsCellArch) -> str:
        """The key of ``arch`` (see the module docstring)."""
        return format_arch(arch)

    def parse(self, key: str) -> NdsCellArch:
        """The architecture of ``key``; its ops and node count must be this space's.

        Raises:
            ArchParseError: naming the position and what was expected there.
        """
        if not isinstance(key, str):
            raise InvalidParameterError(
                f"The 'key' parameter of {type(self).__name__}.parse must be a str. "
                f"Got {type(key).__name__} instead."
            )
        parsed = _parse(key, self.ops, self.name)
        for cell, pairs in parsed.cells.items():
            if len(pairs) != 2 * self.n_nodes:
                at = parsed.list_end[cell]
                raise ArchParseError(
                    parsed.text,
                    at,
                    f"{2 * self.n_nodes} (op, input) pairs in the {cell} cell ({self.name} "
                    f"cells have {self.n_nodes} nodes)",
                    f"{len(pairs)} pairs",
                )
        return _arch_of(parsed)

    def mutate(self, arch: NdsCellArch, rng: np.random.Generator) -> NdsCellArch:
        """Changes one op or one input of one uniformly chosen pair of one of the two cells.

        The cell's concatenated nodes are then recomputed for the "loose" output rule.
        """
        g = arch.genotype
        which = "normal" if rng.integers(2) == 0 else "reduce"
        pairs = list(getattr(g, which))
        k = int(rng.integers(len(pairs)))
        op, inp = pairs[k]
        if rng.integers(2) == 0:
            choices = [o for o in self.ops if o != op]
            pairs[k] = (choices[int(rng.integers(len(choices)))], inp)
        else:
            inputs = [i for i in range(k // 2 + 2) if i != inp]
            pairs[k] = (op, inputs[int(rng.integers(len(inputs)))])
        cell = tuple(pairs)
        concat: tuple[int, ...] = getattr(g, f"{which}_concat")
        if self.output == "loose":
            concat = self._concat(cell)
        if which == "normal":
            genotype = replace(g, normal=cell, normal_concat=concat)
        else:
            genotype = replace(g, reduce=cell, reduce_concat=concat)
        return replace(arch, genotype=genotype)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(imagenet={self.imagenet!r})"


class NdsDartsSpace(NdsCellSpace):
    """NDS-DARTS: the DARTS space (Liu, Simonyan, Yang, ICLR 2019; NDS Table 1).

    8 ops (DARTS Sec. 3.1: 3x3 and 5x5 separable convs, 3x3 and 5x5 dilated separable convs,
    3x3 max and average pooling, identity, zero), 4 nodes, all nodes concatenated.
    """

    base_name = "nds-darts"
    ops = (
        "none",
        "max_pool_3x3",
        "avg_pool_3x3",
        "skip_connect",
        "sep_conv_3x3",
        "sep_conv_5x5",
        "dil_conv_3x3",
        "dil_conv_5x5",
    )
    n_nodes = 4
    output = "all"


class NdsEnasSpace(NdsCellSpace):
    """NDS-ENAS: the ENAS micro space (Pham et al., ICML 2018, Sec. 2.3; NDS Table 1).

    5 ops (identity, 3x3 and 5x5 separable convs, 3x3 average and max pooling), 5 nodes,
    loose ends concatenated.
    """

    base_name = "nds-enas"
    ops = ("skip_connect", "sep_conv_3x3", "sep_conv_5x5", "avg_pool_3x3", "max_pool_3x3")
    n_nodes = 5
    output = "loose"


class NdsPnasSpace(NdsCellSpace):
    """NDS-PNAS: the PNAS space (Liu et al., ECCV 2018, Sec. 3.1; NDS Table 1).

    8 ops (3x3, 5x5, 7x7 separable convs, identity, 3x3 average and max pooling, 1x7 then 7x1
    conv, 3x3 dilated conv), 5 nodes, all nodes concatenated.
    """

    base_name = "nds-pnas"
    ops = (
        "sep_conv_3x3",
        "sep_conv_5x5",
        "sep_conv_7x7",
        "skip_connect",
        "avg_pool_3x3",
        "max_pool_3x3",
        "conv_7x1_1x7",
        "dil_conv_3x3",
    )
    n_nodes = 5
    output = "all"


class NdsNasnetSpace(NdsCellSpace):
    """NDS-NASNet: the NASNet space (Zoph, Vasudevan, Shlens, Le, CVPR 2018; NDS Table 1).

    13 ops (identity, 1x3 then 3x1 conv, 1x7 then 7x1 conv, 3x3 dilated conv, 3x3 average
    pooling, 3x3, 5x5, 7x7 max pooling, 1x1 and 3x3 convs, 3x3, 5x5, 7x7 separable convs;
    NASNet's 5x5 average pooling is not among NDS's 13), 5 nodes, loose ends concatenated.
    """

    base_name = "nds-nasnet"
    ops = (
        "skip_connect",
        "conv_3x1_1x3",
        "conv_7x1_1x7",
        "dil_conv_3x3",
        "avg_pool_3x3",
        "max_pool_3x3",
        "max_pool_5x5",
        "max_pool_7x7",
        "conv_1x1",
        "conv_3x3",
        "sep_conv_3x3",
        "sep_conv_5x5",
        "sep_conv_7x7",
    )
    n_nodes = 5
    output = "loose"


class NdsAmoebaSpace(NdsCellSpace):
    """NDS-Amoeba: the AmoebaNet space (Real, Aggarwal, Huang, Le, AAAI 2019; NDS Table 1).

    8 ops (identity, 3x3 average and max pooling, 3x3, 5x5, 7x7 separable convs, 1x7 then 7x1
    conv, 3x3 dilated separable conv), 5 nodes, loose ends concatenated.
    """

    base_name = "nds-amoeba"
    ops = (
        "skip_connect",
        "avg_pool_3x3",
        "max_pool_3x3",
        "sep_conv_3x3",
        "sep_conv_5x5",
        "sep_conv_7x7",
        "conv_7x1_1x7",
        "dil_sep_conv_3x3",
    )
    n_nodes = 5
    output = "loose"


#: The five cell space classes, in NDS Table 1 order.
CELL_SPACES: tuple[type[NdsCellSpace], ...] = (
    NdsNasnetSpace,
    NdsAmoebaSpace,
    NdsPnasSpace,
    NdsEnasSpace,
    NdsDartsSpace,
)
