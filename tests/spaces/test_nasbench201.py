import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from naswot.exceptions import ArchParseError, InvalidParameterError
from naswot.spaces import SPACES, Cell201, NasBench201Space, parse_arch
from naswot.spaces.nasbench201 import EDGES, OPS
from naswot.testing import check_space

SPACE = NasBench201Space()
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
cells = st.tuples(*[st.sampled_from(OPS)] * 6).map(Cell201)


def test_parse_official_string() -> None:
    cell = parse_arch(BEST)
    assert cell.op(1, 0) == "nor_conv_3x3"
    assert cell.op(3, 0) == "skip_connect"
    assert cell.ops == ("nor_conv_3x3",) * 3 + ("skip_connect",) + ("nor_conv_3x3",) * 2
    assert str(cell) == BEST


@given(cells)
def test_round_trip(cell: Cell201) -> None:
    assert parse_arch(SPACE.key(cell)) == cell


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("", 0, "'|' opening node 1"),
        ("|nor_conv_3x3~0|", 16, "'+' between node 1 and node 2"),
        ("|conv~0|+", 1, "one of none"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", 6, "input node 0"),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|", 47, "the end of the string"),
        ("|none~0||none~0|none~1|+|none~0|none~1|none~2|", 8, "'+' between node 1 and node 2"),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2", 46, "'|' after edge 2->3"),
    ],
)
def test_malformed_strings_name_position_and_expectation(
    text: str, position: int, expected: str
) -> None:
    with pytest.raises(ArchParseError) as info:
        parse_arch(text)
    assert info.value.position == position
    assert expected in info.value.expected
    assert f"position {position}" in str(info.value)


@given(st.text(max_size=60))
def test_parser_never_crashes(text: str) -> None:
    try:
        cell = parse_arch(text)
    except ArchParseError:
        return
    assert SPACE.key(cell) == text.strip()


def test_enumerates_all_distinct_cells() -> None:
    keys = {SPACE.key(c) for c in SPACE}
    assert len(SPACE) == len(keys) == 15625


def test_sampling_is_seeded_and_uniform() -> None:
    a = [SPACE.sample(np.random.default_rng(3)) for _ in range(2)]
    assert a[0] == a[1]
    rng = np.random.default_rng(0)
    counts = {op: 0 for op in OPS}
    for _ in range(2000):
        for op in SPACE.sample(rng).ops:
            counts[op] += 1
    assert all(abs(c / 12000 - 0.2) < 0.02 for c in counts.values())


@given(cells, st.integers(0, 2**32))
def test_mutation_changes_exactly_one_edge(cell: Cell201, seed: int) -> None:
    child = SPACE.mutate(cell, np.random.default_rng(seed))
    assert sum(a != b for a, b in zip(cell.ops, child.ops, strict=True)) == 1


def test_invalid_cells_are_refused() -> None:
    with pytest.raises(InvalidParameterError):
        Cell201(("none",) * 5)
    with pytest.raises(InvalidParameterError):
        Cell201(("none",) * 5 + ("conv",))


def test_edges_follow_the_official_order() -> None:
    assert EDGES == ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))


@pytest.mark.parametrize("name", SPACES.names())
def test_registered_spaces_conform(name: str) -> None:
    check_space(SPACES.get(name))
