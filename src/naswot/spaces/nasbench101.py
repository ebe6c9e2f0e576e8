"""The NAS-Bench-101 cell space (Ying, Klein, Christiansen, Real, Murphy, Hutter, ICML 2019).

"NAS-Bench-101: Towards Reproducible Neural Architecture Search", arXiv 1902.09635.

A cell ("module") is a DAG of at most 7 vertices and at most 9 edges, given as an upper-triangular
0/1 adjacency matrix (``matrix[i][j] = 1``: an edge ``i -> j``) and one operation per vertex:
``input`` first, ``output`` last, and ``conv3x3-bn-relu``, ``conv1x1-bn-relu`` or ``maxpool3x3``
in between. As the benchmark does, vertices that are not on an input -> output path are pruned
before validation and hashing; the benchmark holds 423,624 distinct cells.

Canonical key (ours), of the pruned cell in a canonical vertex order::

    nb101:0110000/0001000/0001000/0000101/0000010/0000001/0000000:in,c3,c1,mp,c3,c3,out

The rows of the adjacency matrix as bits (``/``-separated), then the operations (``in``, ``c3``,
``c1``, ``mp``, ``out``). Among all vertex orders that keep the matrix upper-triangular, the one
with the smallest such string is chosen, so isomorphic cells share one key. The benchmark's own
identifier, an MD5 of iterated neighbour labels, is :func:`graph_hash`.
"""

from __future__ import annotations

import json

import numpy as np

from naswot.exceptions import InvalidParameterError, NaswotError
from naswot.spaces._nb101_graph import (
    CONV1X1,
    CONV3X3,
    INPUT,
    MAX_EDGES,
    MAX_VERTICES,
    MAXPOOL3X3,
    OPS,
    OUTPUT,
    PREFIX,
    Spec101,
    canonical,
    format_key,
    graph_hash,
    is_valid,
    parse_key,
    prune,
)

__all__ = [
    "CONV1X1",
    "CONV3X3",
    "INPUT",
    "MAXPOOL3X3",
    "MAX_EDGES",
    "MAX_VERTICES",
    "OPS",
    "OUTPUT",
    "PREFIX",
    "NasBench101Space",
    "Spec101",
    "canonical",
    "format_key",
    "graph_hash",
    "is_valid",
    "parse_key",
    "prune",
    "spec_from_json",
]


def spec_from_json(matrix: str, ops: str) -> Spec101:
    """A raw cell from the JSON form of NASLib / NAS-Bench-Suite tables (not pruned, not checked).

    Args:
        matrix: a JSON list of rows, e.g. ``"[[0, 1], [0, 0]]"``.
        ops: a JSON list of operation names, e.g. ``'["input", "output"]'``.

    Raises:
        InvalidParameterError: if either is not valid JSON of the right shape.
    """
    try:
        rows = json.loads(matrix)
        names = json.loads(ops)
    except json.JSONDecodeError as e:
        raise InvalidParameterError(f"Not a JSON NAS-Bench-101 spec: {e}") from e
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise InvalidParameterError(f"The matrix must be a JSON list of lists. Got {matrix!r}.")
    if not isinstance(names, list) or not all(isinstance(o, str) for o in names):
        raise InvalidParameterError(f"The ops must be a JSON list of strings. Got {ops!r}.")
    return Spec101(tuple(tuple(r) for r in rows), tuple(names))


def _padded(spec: Spec101, rng: np.random.Generator) -> tuple[list[list[int]], list[str]]:
    """The cell as a 7-vertex matrix: unused vertices (random ops) inserted before the output."""
    n = spec.n_vertices
    m = [[0] * MAX_VERTICES for _ in range(MAX_VERTICES)]
    index = [*range(n - 1), MAX_VERTICES - 1]  # old vertex -> new vertex
    for i in range(n):
        for j in range(n):
            m[index[i]][index[j]] = spec.matrix[i][j]
    extra = [OPS[int(k)] for k in rng.integers(len(OPS), size=MAX_VERTICES - n)]
    return m, [*spec.ops[:-1], *extra, OUTPUT]


class NasBench101Space:
    """The 423,624 cells of NAS-Bench-101 (Ying et al., 2019), keyed canonically.

    Not enumerable here: listing the cells needs the benchmark's file.

    Example:
        >>> import numpy as np
        >>> space = NasBench101Space()
        >>> arch = space.sample(np.random.default_rng(0))
        >>> space.parse(space.key(arch)) == arch
        True
    """

    name = "nb101"
    ops = OPS

    def sample(self, rng: np.random.Generator) -> Spec101:
        """A valid cell by rejection, as the benchmark's examples draw them.

        Each of the 21 possible edges of a 7-vertex matrix is present with probability 1/2 and
        each inner operation is uniform; the draw is pruned and kept if valid. Cells that prune
        to fewer vertices are therefore more likely than under a uniform draw over the 423,624.
        """
        while True:
            bits = rng.integers(0, 2, size=(MAX_VERTICES, MAX_VERTICES))
            matrix = tuple(
                tuple(int(bits[i, j]) if j > i else 0 for j in range(MAX_VERTICES))
                for i in range(MAX_VERTICES)
            )
            inner = rng.integers(len(OPS), size=MAX_VERTICES - 2)
            spec = Spec101(matrix, (INPUT, *(OPS[int(k)] for k in inner), OUTPUT))
            if is_valid(spec):
                return canonical(spec)

    def key(self, arch: Spec101) -> str:
        """The canonical key of ``arch`` (pruned, canonical vertex order).

        Raises:
            InvalidParameterError: if ``arch`` is not a valid cell (see :func:`is_valid`).
        """
        if not is_valid(arch):
            raise InvalidParameterError(
                f"Not a valid NAS-Bench-101 cell (an input -> output path, at most {MAX_EDGES} "
                f"edges after pruning): {format_key(arch)}"
            )
        return format_key(canonical(arch))

    def parse(self, key: str) -> Spec101:
        """The canonical cell of ``key`` (see :func:`parse_key`)."""
        return parse_key(key)

    def mutate(self, arch: Spec101, rng: np.random.Generator) -> Spec101:
        """A different valid cell, one move at a time on the benchmark's 7-vertex matrix.

        The cell is padded to 7 vertices (unused vertices get random operations), then moves are
        drawn uniformly among the 21 edge flips and the 10 operation changes. A move that makes
        the cell invalid is undone; one that only touches pruned-away vertices is kept and
        another move follows, until the canonical cell differs from ``arch``.
        """
        start = canonical(arch)
        matrix, ops = _padded(start, rng)
        pairs = [(i, j) for i in range(MAX_VERTICES) for j in range(i + 1, MAX_VERTICES)]
        n_moves = len(pairs) + (MAX_VERTICES - 2) * (len(OPS) - 1)
        for _ in range(10_000):
            move = int(rng.integers(n_moves))
            new_m = [row[:] for row in matrix]
            new_ops = list(ops)
            if move < len(pairs):
                i, j = pairs[move]
                new_m[i][j] = 1 - new_m[i][j]
            else:
                vertex, k = divmod(move - len(pairs), len(OPS) - 1)
                choices = [op for op in OPS if op != ops[vertex + 1]]
                new_ops[vertex + 1] = choices[k]
            spec = Spec101(tuple(map(tuple, new_m)), tuple(new_ops))
            if not is_valid(spec):
                continue
            matrix, ops = new_m, new_ops
            child = canonical(spec)
            if child != start:
                return child
        raise NaswotError(f"No valid mutation of {format_key(start)} found in 10,000 moves.")

    def __repr__(self) -> str:
        return "NasBench101Space()"
