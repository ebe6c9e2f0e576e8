import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from naswot.exceptions import ArchParseError, InvalidParameterError
from naswot.spaces.nasbench201 import parse_arch
from naswot.spaces.natsbench_sss import CELL, CHANNELS, NatsSizeSpace, SizeArch, parse_size
from naswot.testing import check_space

SPACE = NatsSizeSpace()
archs = st.tuples(*[st.sampled_from(CHANNELS)] * 5).map(SizeArch)


def test_parse_official_strings() -> None:
    assert parse_size("64:64:64:64:64").channels == (64,) * 5
    assert parse_size(" 8:16:24:32:40 ").channels == (8, 16, 24, 32, 40)
    assert str(SizeArch((8, 64, 8, 64, 8))) == "8:64:8:64:8"


def test_fixed_cell_is_the_best_topology_cell() -> None:
    cell = parse_arch(CELL)
    assert cell.ops == ("nor_conv_3x3",) * 3 + ("skip_connect",) + ("nor_conv_3x3",) * 2


@given(archs)
def test_round_trip(arch: SizeArch) -> None:
    assert SPACE.parse(SPACE.key(arch)) == arch


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("", 0, "one of 8, 16"),
        ("64:64:64:64", 11, "more widths"),
        ("64:64:64:64:64:64", 14, "the end of the string"),
        ("64:64:65:64:64", 6, "(layer 2)"),
        ("64:64:064:64:64", 6, "(layer 2)"),
        ("64::64:64:64", 3, "(layer 1)"),
    ],
)
def test_malformed_strings_name_position_and_expectation(
    text: str, position: int, expected: str
) -> None:
    with pytest.raises(ArchParseError) as info:
        parse_size(text)
    assert info.value.position == position
    assert expected in info.value.expected


@given(st.text(alphabet="0123456789: ", max_size=20))
def test_parser_never_crashes(text: str) -> None:
    try:
        arch = parse_size(text)
    except ArchParseError:
        return
    assert SPACE.key(arch) == text.strip()


def test_enumerates_all_distinct_architectures() -> None:
    keys = {SPACE.key(a) for a in SPACE}
    assert len(SPACE) == len(keys) == 32768 == 8**5


def test_sampling_is_seeded_and_uniform() -> None:
    assert SPACE.sample(np.random.default_rng(3)) == SPACE.sample(np.random.default_rng(3))
    rng = np.random.default_rng(0)
    counts = {c: 0 for c in CHANNELS}
    for _ in range(1600):
        for c in SPACE.sample(rng).channels:
            counts[c] += 1
    assert all(abs(n / 8000 - 1 / 8) < 0.02 for n in counts.values())


@given(archs, st.integers(0, 2**32))
def test_mutation_changes_exactly_one_layer(arch: SizeArch, seed: int) -> None:
    child = SPACE.mutate(arch, np.random.default_rng(seed))
    assert sum(a != b for a, b in zip(arch.channels, child.channels, strict=True)) == 1


def test_invalid_widths_are_refused() -> None:
    with pytest.raises(InvalidParameterError):
        SizeArch((64,) * 4)
    with pytest.raises(InvalidParameterError):
        SizeArch((64, 64, 64, 64, 12))


def test_space_conforms() -> None:
    check_space(SPACE)
