"""NAS-Bench-101 cell specs as graphs: pruning, validity, graph hash, canonical form, keys."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from naswot.exceptions import ArchParseError, InvalidParameterError

INPUT = "input"
OUTPUT = "output"
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"
# The benchmark's ``available_ops`` order: an operation's hash label is its index here.
OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
MAX_VERTICES = 7
MAX_EDGES = 9
PREFIX = "nb101:"

_CODES: dict[str, str] = {
    INPUT: "in",
    CONV3X3: "c3",
    CONV1X1: "c1",
    MAXPOOL3X3: "mp",
    OUTPUT: "out",
}
_NAMES: dict[str, str] = {code: name for name, code in _CODES.items()}


@dataclass(frozen=True, slots=True)
class Spec101:
    """A NAS-Bench-101 cell as given (pruned or not): adjacency matrix and vertex operations.

    Args:
        matrix: a V x V upper-triangular 0/1 matrix (2 <= V <= 7); stored as a tuple of tuples.
        ops: V operation names: ``input``, then any of :data:`OPS`, then ``output``.

    Raises:
        InvalidParameterError: if the matrix or the operations are malformed.
    """

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        ops = tuple(self.ops)
        n = len(ops)
        if not 2 <= n <= MAX_VERTICES:
            raise InvalidParameterError(
                f"The 'ops' parameter of Spec101 must hold 2 to {MAX_VERTICES} operations. "
                f"Got {n} instead."
            )
        if ops[0] != INPUT or ops[-1] != OUTPUT or any(op not in OPS for op in ops[1:-1]):
            raise InvalidParameterError(
                f"The 'ops' parameter of Spec101 must be {INPUT!r}, then operations from {OPS}, "
                f"then {OUTPUT!r}. Got {list(ops)} instead."
            )
        rows = tuple(tuple(row) for row in self.matrix)
        if len(rows) != n or any(len(row) != n for row in rows):
            raise InvalidParameterError(
                f"The 'matrix' parameter of Spec101 must be {n} x {n} (one row and column per "
                f"operation). Got {[len(r) for r in rows]} row lengths instead."
            )
        if any(x not in (0, 1) or isinstance(x, float) for row in rows for x in row):
            raise InvalidParameterError("The 'matrix' parameter of Spec101 must hold only 0 and 1.")
        if any(rows[i][j] for i in range(n) for j in range(i + 1)):
            raise InvalidParameterError(
                "The 'matrix' parameter of Spec101 must be strictly upper-triangular (edges go "
                "from a lower to a higher vertex)."
            )
        object.__setattr__(self, "matrix", tuple(tuple(int(x) for x in row) for row in rows))
        object.__setattr__(self, "ops", ops)

    @property
    def n_vertices(self) -> int:
        """The number of vertices V, input and output included."""
        return len(self.ops)

    @property
    def n_edges(self) -> int:
        """The number of edges."""
        return sum(map(sum, self.matrix))

    def __str__(self) -> str:
        return format_key(self)


def _reachable(matrix: Sequence[Sequence[int]], start: int, *, forward: bool) -> set[int]:
    n = len(matrix)
    seen = {start}
    frontier = [start]
    while frontier:
        v = frontier.pop()
        others = range(v + 1, n) if forward else range(v)
        for w in others:
            edge = matrix[v][w] if forward else matrix[w][v]
            if edge and w not in seen:
                seen.add(w)
                frontier.append(w)
    return seen


def prune(spec: Spec101) -> Spec101:
    """Removes the vertices that are not on any input -> output path, as NAS-Bench-101 does.

    Raises:
        InvalidParameterError: if no path leads from the input to the output.
    """
    n = spec.n_vertices
    keep = sorted(
        _reachable(spec.matrix, 0, forward=True) & _reachable(spec.matrix, n - 1, forward=False)
    )
    if len(keep) < 2:
        raise InvalidParameterError(
            "The NAS-Bench-101 cell is invalid: no path leads from the input to the output."
        )
    if len(keep) == n:
        return spec
    matrix = tuple(tuple(spec.matrix[i][j] for j in keep) for i in keep)
    return Spec101(matrix, tuple(spec.ops[i] for i in keep))


def is_valid(spec: Spec101) -> bool:
    """True if ``spec``, once pruned, is a cell of the benchmark's space.

    That is: the input reaches the output, and at most 7 vertices and 9 edges remain.
    """
    try:
        pruned = prune(spec)
    except InvalidParameterError:
        return False
    return pruned.n_vertices <= MAX_VERTICES and pruned.n_edges <= MAX_EDGES


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def graph_hash(spec: Spec101) -> str:
    """The benchmark's isomorphism-invariant MD5 fingerprint of the pruned cell.

    As described by NAS-Bench-101 (``graph_util.hash_module``): each vertex starts with the MD5 of
    its (out-degree, in-degree, label) triple, the label being -1 for the input, -2 for the
    output and the index in :data:`OPS` otherwise. Then, |V| times, every vertex's label becomes
    the MD5 of its sorted in-neighbour labels, its sorted out-neighbour labels and its own label.
    The fingerprint is the MD5 of the sorted final labels. Isomorphic cells share it.

    Raises:
        InvalidParameterError: if no path leads from the input to the output.
    """
    pruned = prune(spec)
    m = pruned.matrix
    n = pruned.n_vertices
    labels = [-1] + [OPS.index(op) for op in pruned.ops[1:-1]] + [-2]
    out_deg = [sum(m[v]) for v in range(n)]
    in_deg = [sum(m[u][v] for u in range(n)) for v in range(n)]
    hashes = [_md5(str((out_deg[v], in_deg[v], labels[v]))) for v in range(n)]
    for _ in range(n):
        hashes = [
            _md5(
                "".join(sorted(hashes[u] for u in range(n) if m[u][v]))
                + "|"
                + "".join(sorted(hashes[w] for w in range(n) if m[v][w]))
                + "|"
                + hashes[v]
            )
            for v in range(n)
        ]
    return _md5(str(sorted(hashes)))


def format_key(spec: Spec101) -> str:
    """The key string of ``spec`` in its current vertex order (see :func:`canonical`)."""
    rows = "/".join("".join(str(x) for x in row) for row in spec.matrix)
    return f"{PREFIX}{rows}:{','.join(_CODES[op] for op in spec.ops)}"


def canonical(spec: Spec101) -> Spec101:
    """The pruned cell with its vertices in canonical order: isomorphic cells give equal specs.

    Tries every order of the inner vertices that keeps the matrix upper-triangular (at most 5! =
    120) and keeps the one whose key string is smallest.

    Raises:
        InvalidParameterError: if no path leads from the input to the output.
    """
    pruned = prune(spec)
    n = pruned.n_vertices
    m = pruned.matrix
    edges = [(i, j) for i in range(n) for j in range(i + 1, n) if m[i][j]]
    best: tuple[str, Spec101] | None = None
    for inner in itertools.permutations(range(1, n - 1)):
        order = (0, *inner, n - 1)  # order[new] = old
        new = {old: k for k, old in enumerate(order)}
        if any(new[i] >= new[j] for i, j in edges):
            continue
        matrix = tuple(tuple(m[order[a]][order[b]] for b in range(n)) for a in range(n))
        candidate = Spec101(matrix, tuple(pruned.ops[old] for old in order))
        text = format_key(candidate)
        if best is None or text < best[0]:
            best = (text, candidate)
    assert best is not None  # the identity order always qualifies
    return best[1]


class _Scanner:
    """A cursor over a key string that reports errors with their position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, expected: str, pos: int | None = None) -> ArchParseError:
        at = self.pos if pos is None else pos
        found = repr(self.text[at]) if at < len(self.text) else "the end of the string"
        return ArchParseError(self.text, at, expected, found)


def parse_key(text: str) -> Spec101:
    """Parses a key (``nb101:<rows>:<ops>``) into the canonical form of its cell.

    Any vertex order and unpruned vertices are accepted; the result is :func:`canonical`.

    Raises:
        ArchParseError: naming the position and what was expected there, also for well-formed
            strings whose cell is not in the space (no input -> output path, more than 9 edges).
    """
    if not isinstance(text, str):
        raise InvalidParameterError(
            f"The 'text' parameter of parse_key must be a str. Got {type(text).__name__} instead."
        )
    s = _Scanner(text.strip())
    if not s.text.startswith(PREFIX):
        raise s.fail(repr(PREFIX))
    s.pos = len(PREFIX)
    end = s.text.find(":", s.pos)
    if end < 0:
        raise s.fail("adjacency rows of 0/1 bits separated by '/', then ':'", len(s.text))
    rows = s.text[s.pos : end].split("/")
    n = len(rows)
    if not 2 <= n <= MAX_VERTICES:
        raise s.fail(f"2 to {MAX_VERTICES} adjacency rows (found {n})")
    matrix: list[list[int]] = []
    for i, row in enumerate(rows):
        for j, bit in enumerate(row):
            if bit not in "01" or j >= n:
                raise s.fail(f"'0' or '1' ({n} bits in row {i})" if j < n else "'/' or ':'")
            if bit == "1" and j <= i:
                raise s.fail(f"'0' (upper-triangular: no edge {i}->{j})")
            s.pos += 1
        if len(row) < n:
            raise s.fail(f"{n} bits in row {i} (one per row)")
        matrix.append([int(b) for b in row])
        s.pos += 1  # the '/' or ':'
    ops: list[str] = []
    for k, code in enumerate(s.text[s.pos :].split(",")):
        if k >= n:
            raise s.fail(f"the end of the string ({n} operations for {n} rows)", s.pos - 1)
        want = "in" if k == 0 else "out" if k == n - 1 else "one of c3, c1, mp"
        if code not in _NAMES or (k == 0) != (code == "in") or (k == n - 1) != (code == "out"):
            raise ArchParseError(s.text, s.pos, f"{want} (operation {k})", repr(code))
        ops.append(_NAMES[code])
        s.pos += len(code) + 1
    if len(ops) < n:
        raise s.fail(f"',' and {n - len(ops)} more operations", len(s.text))
    spec = Spec101(tuple(map(tuple, matrix)), tuple(ops))
    if not is_valid(spec):
        raise s.fail(
            f"a valid NAS-Bench-101 cell (an input -> output path, at most {MAX_EDGES} edges "
            "after pruning)",
            len(PREFIX),
        )
    return canonical(spec)
