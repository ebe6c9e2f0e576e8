import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from naswot.exceptions import ArchParseError, InvalidParameterError
from naswot.spaces.nasbench101 import (
    CONV1X1,
    CONV3X3,
    INPUT,
    MAXPOOL3X3,
    OPS,
    OUTPUT,
    NasBench101Space,
    Spec101,
    canonical,
    graph_hash,
    is_valid,
    parse_key,
    prune,
    spec_from_json,
)
from naswot.testing import check_space

SPACE = NasBench101Space()
C3, C1, MP = CONV3X3, CONV1X1, MAXPOOL3X3

# A row of the benchmark's tfrecord: its published hash and 8,555,530 parameters.
OFFICIAL_MATRIX = [
    [0, 1, 0, 0, 1, 1, 0],
    [0, 0, 1, 0, 0, 0, 0],
    [0, 0, 0, 1, 0, 0, 1],
    [0, 0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 0],
]
OFFICIAL_OPS = [INPUT, C3, MP, C3, C3, C1, OUTPUT]
OFFICIAL_HASH = "00005c142e6f48ac74fdcf73e3439874"


def spec(matrix: list[list[int]], ops: list[str]) -> Spec101:
    return Spec101(tuple(map(tuple, matrix)), tuple(ops))


def relabel(s: Spec101, order: list[int]) -> Spec101:
    """The same cell with vertex ``order[k]`` renamed k."""
    n = s.n_vertices
    matrix = tuple(tuple(s.matrix[order[a]][order[b]] for b in range(n)) for a in range(n))
    return Spec101(matrix, tuple(s.ops[v] for v in order))


def random_topological_order(s: Spec101, rng: np.random.Generator) -> list[int]:
    """Kahn's algorithm with random tie-breaking (input first, output last after pruning)."""
    n = s.n_vertices
    indeg = [sum(s.matrix[u][v] for u in range(n)) for v in range(n)]
    ready = [v for v in range(n) if indeg[v] == 0]
    order: list[int] = []
    while ready:
        v = ready.pop(int(rng.integers(len(ready))))
        order.append(v)
        for w in range(n):
            if s.matrix[v][w]:
                indeg[w] -= 1
                if indeg[w] == 0:
                    ready.append(w)
    return order


@st.composite
def valid_specs(draw: st.DrawFn) -> Spec101:
    n = draw(st.integers(2, 7))
    bits = draw(st.lists(st.integers(0, 1), min_size=n * n, max_size=n * n))
    matrix = [[bits[i * n + j] if j > i else 0 for j in range(n)] for i in range(n)]
    inner = draw(st.lists(st.sampled_from(OPS), min_size=n - 2, max_size=n - 2))
    s = spec(matrix, [INPUT, *inner, OUTPUT])
    assume(is_valid(s))
    return s


def test_hash_matches_the_benchmark() -> None:
    s = spec(OFFICIAL_MATRIX, OFFICIAL_OPS)
    assert graph_hash(s) == OFFICIAL_HASH
    assert graph_hash(canonical(s)) == OFFICIAL_HASH


def test_hand_made_isomorphic_pairs_share_hash_and_key() -> None:
    # Two parallel branches: swapping them is an isomorphism.
    a = spec([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], [INPUT, C1, MP, OUTPUT])
    b = spec([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], [INPUT, MP, C1, OUTPUT])
    assert graph_hash(a) == graph_hash(b)
    assert SPACE.key(a) == SPACE.key(b)
    # A chain in->1->3->out plus in->2->out, written in two vertex orders.
    c = spec(
        [[0, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
        [INPUT, C3, MP, C1, OUTPUT],
    )
    d = spec(
        [[0, 1, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
        [INPUT, MP, C3, C1, OUTPUT],
    )
    assert graph_hash(c) == graph_hash(d)
    assert SPACE.key(c) == SPACE.key(d)
    assert SPACE.parse(SPACE.key(c)) == SPACE.parse(SPACE.key(d))


def test_non_isomorphic_cells_differ() -> None:
    chain = [[0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0] * 5]
    # Same multiset of operations, different order along a chain.
    a, b = spec(chain, [INPUT, C1, C3, C3, OUTPUT]), spec(chain, [INPUT, C3, C3, C1, OUTPUT])
    assert graph_hash(a) != graph_hash(b)
    assert SPACE.key(a) != SPACE.key(b)
    # Same labels, the skip edge from a different vertex (needs directed edges).
    tri = [[0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    c, d = spec(tri, [INPUT, C1, C3, OUTPUT]), spec(tri, [INPUT, C3, C1, OUTPUT])
    assert graph_hash(c) != graph_hash(d)
    assert SPACE.key(c) != SPACE.key(d)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(valid_specs(), st.integers(0, 2**32))
def test_hash_and_key_are_invariant_under_vertex_permutation(s: Spec101, seed: int) -> None:
    pruned = prune(s)
    other = relabel(pruned, random_topological_order(pruned, np.random.default_rng(seed)))
    assert graph_hash(other) == graph_hash(s)
    assert SPACE.key(other) == SPACE.key(s)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(valid_specs())
def test_round_trip(s: Spec101) -> None:
    arch = canonical(s)
    assert SPACE.parse(SPACE.key(arch)) == arch
    assert SPACE.key(SPACE.parse(SPACE.key(s))) == SPACE.key(s)


def test_pruning_removes_vertices_off_every_path() -> None:
    # Vertex 2 is a dead end, vertex 3 is not reachable from the input.
    raw = spec(
        [
            [0, 1, 1, 0, 0],
            [0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0],
            [0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0],
        ],
        [INPUT, C3, C1, MP, OUTPUT],
    )
    assert prune(raw) == spec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, C3, OUTPUT])
    assert prune(prune(raw)) == prune(raw)
    assert is_valid(raw)


def test_input_that_does_not_reach_the_output_is_invalid() -> None:
    cut = spec([[0, 1, 0], [0, 0, 0], [0, 0, 0]], [INPUT, C3, OUTPUT])
    assert not is_valid(cut)
    with pytest.raises(InvalidParameterError, match="no path"):
        prune(cut)


def test_edge_limit_applies_after_pruning() -> None:
    full = [[1 if j > i else 0 for j in range(7)] for i in range(7)]  # 21 edges
    assert not is_valid(spec(full, [INPUT, C3, C3, C3, C3, C3, OUTPUT]))
    with pytest.raises(InvalidParameterError, match="at most 9"):
        SPACE.key(spec(full, [INPUT, C3, C3, C3, C3, C3, OUTPUT]))
    # 10 edges, but the dead-end vertex 5 carries 2 of them: 8 remain after pruning.
    m = [[0] * 7 for _ in range(7)]
    for i, j in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 6), (0, 6), (1, 5), (2, 5), (0, 2), (1, 3)]:
        m[i][j] = 1
    raw = spec(m, [INPUT, C3, C3, C3, C3, MP, OUTPUT])
    assert raw.n_edges == 10
    assert is_valid(raw)
    assert prune(raw).n_edges == 8


def test_plain_cell() -> None:
    plain = spec([[0, 1], [0, 0]], [INPUT, OUTPUT])
    assert SPACE.key(plain) == "nb101:01/00:in,out"
    assert SPACE.parse("nb101:01/00:in,out") == plain
    child = SPACE.mutate(plain, np.random.default_rng(0))
    assert child != plain and is_valid(child)


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("", 0, "'nb101:'"),
        ("nb101:01/00", 11, "adjacency rows"),
        ("nb101:0:in", 6, "2 to 7 adjacency rows"),
        ("nb101:02/00:in,out", 7, "'0' or '1'"),
        ("nb101:01/10:in,out", 9, "upper-triangular"),
        ("nb101:011/00/000:in,c3,out", 12, "3 bits in row 1"),
        ("nb101:010/001/000:in,c5,out", 21, "one of c3, c1, mp (operation 1)"),
        ("nb101:01/00:in", 14, "more operations"),
        ("nb101:01/00:in,out,out", 18, "the end of the string"),
        ("nb101:01/00:out,in", 12, "in (operation 0)"),
        ("nb101:010/000/000:in,c3,out", 6, "a valid NAS-Bench-101 cell"),
    ],
)
def test_malformed_keys_name_position_and_expectation(
    text: str, position: int, expected: str
) -> None:
    with pytest.raises(ArchParseError) as info:
        parse_key(text)
    assert info.value.position == position
    assert expected in info.value.expected


@given(st.text(alphabet="nb101:/,incoutmp ", max_size=40))
def test_parser_never_crashes(text: str) -> None:
    try:
        arch = parse_key(text)
    except ArchParseError:
        return
    assert is_valid(arch)


def test_spec_validation() -> None:
    with pytest.raises(InvalidParameterError, match="upper-triangular"):
        spec([[0, 0], [1, 0]], [INPUT, OUTPUT])
    with pytest.raises(InvalidParameterError, match="ops"):
        spec([[0, 1], [0, 0]], [INPUT, C3])
    with pytest.raises(InvalidParameterError, match="2 x 2"):
        spec([[0, 1, 0], [0, 0, 0]], [INPUT, OUTPUT])
    with pytest.raises(InvalidParameterError, match="only 0 and 1"):
        spec([[0, 2], [0, 0]], [INPUT, OUTPUT])
    with pytest.raises(InvalidParameterError):
        spec_from_json("[[0, 1], [0, 0]", '["input", "output"]')


def test_sampling_is_seeded_and_valid() -> None:
    a = [SPACE.sample(np.random.default_rng(3)) for _ in range(2)]
    assert a[0] == a[1]
    rng = np.random.default_rng(0)
    archs = [SPACE.sample(rng) for _ in range(100)]
    assert all(is_valid(x) and canonical(x) == x for x in archs)
    assert len({SPACE.key(x) for x in archs}) > 50


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32))
def test_mutation_gives_a_different_valid_cell(seed: int) -> None:
    rng = np.random.default_rng(seed)
    arch = SPACE.sample(rng)
    child = SPACE.mutate(arch, rng)
    assert child != arch and is_valid(child) and canonical(child) == child


def test_space_conforms() -> None:
    check_space(SPACE)
    assert not hasattr(SPACE, "__len__")


def test_subset_dedups_to_292_cells(shared_data: Path) -> None:
    path = shared_data / "nb101-naslib-zc-subset" / "nb101_subset.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with path.open(newline="") as f:
        specs = [spec_from_json(r["matrix"], r["ops"]) for r in csv.DictReader(f)]
    assert len(specs) == 500
    assert sum(s.n_edges > 9 for s in specs) == 305  # raw, as the README says
    assert all(is_valid(s) for s in specs)
    hashes = {graph_hash(s) for s in specs}
    keys = {SPACE.key(s) for s in specs}
    assert len(hashes) == len(keys) == 292
    plain = SPACE.key(spec([[0, 1], [0, 0]], [INPUT, OUTPUT]))
    assert sum(SPACE.key(s) == plain for s in specs) == 55
