"""The NDS residual spaces (ResNet, ResNeXt-A, ResNeXt-B): keys, parse errors, sampling, mutation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from naswot.exceptions import ArchParseError, InvalidParameterError
from naswot.spaces.nds_anynet import (
    AnyNetArch,
    NdsAnyNetSpace,
    NdsResNetSpace,
    NdsResNeXtASpace,
    NdsResNeXtBSpace,
    Stage,
    format_anynet,
    parse_anynet,
)
from naswot.testing import check_space

SPACES = [
    cls(imagenet=imagenet)
    for cls in (NdsResNetSpace, NdsResNeXtASpace, NdsResNeXtBSpace)
    for imagenet in (False, True)
]


def test_names_and_ranges_of_nds_table_1() -> None:
    """(low, high, count) of each sampled range, as NDS Table 1 gives them."""

    def rng(values: tuple[int, ...]) -> tuple[int, int, int]:
        return (min(values), max(values), len(values))

    table = {
        s.name: (rng(s.depths), rng(s.widths), rng(s.ratios), rng(s.group_counts))
        for s in SPACES
        if not s.imagenet
    }
    assert table == {
        "nds-resnet": ((1, 24, 9), (16, 256, 12), (1, 1, 1), (1, 1, 1)),
        "nds-resnext-a": ((1, 16, 5), (16, 256, 5), (1, 4, 3), (1, 4, 3)),
        "nds-resnext-b": ((1, 16, 5), (64, 1024, 5), (1, 4, 3), (1, 16, 5)),
    }
    assert [s.name for s in SPACES if s.imagenet] == [f"{n}-in" for n in table]


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
def test_spaces_conform(space: NdsAnyNetSpace) -> None:
    check_space(space, n=30)


def test_parse_known_keys() -> None:
    arch = parse_anynet("bottleneck:d1w64b2g4,d2w128b1g1s1,d4w256b4g2")
    assert arch.block == "bottleneck"
    assert arch.stages == (
        Stage(1, 64, 2, 4, stride=1),
        Stage(2, 128, 1, 1, stride=1),
        Stage(4, 256, 4, 2, stride=2),
    )
    assert arch.stages[2].inner_width == 64
    assert format_anynet(arch) == "bottleneck:d1w64b2g4,d2w128b1g1s1,d4w256b4g2"
    assert str(parse_anynet("basic:d2w16s2,d3w32")) == "basic:d2w16s2,d3w32"


stages = st.builds(
    lambda d, w, b, g, s: Stage(d, w * b * g, b, g, s),
    st.integers(1, 30),
    st.integers(1, 64),
    st.sampled_from([1, 2, 4]),
    st.sampled_from([1, 2, 4, 8, 16]),
    st.integers(1, 3),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(stages, min_size=1, max_size=5), st.booleans())
def test_round_trip(stage_list: list[Stage], bottleneck: bool) -> None:
    if not bottleneck:
        stage_list = [Stage(s.depth, s.width, 1, 1, s.stride) for s in stage_list]
    arch = AnyNetArch("bottleneck" if bottleneck else "basic", tuple(stage_list))
    assert parse_anynet(format_anynet(arch)) == arch


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("", 0, "'bottleneck:'"),
        ("resnet:d1w16", 0, "'bottleneck:'"),
        ("bottleneck:", 11, "'d<depth>'"),
        ("bottleneck:d1", 13, "'w<width>'"),
        ("bottleneck:d1w64", 16, "'b<bottleneck ratio>'"),
        ("bottleneck:d1w64b2", 18, "'g<groups>'"),
        ("bottleneck:d0w64b2g1", 12, "the depth, an int >= 1"),
        ("bottleneck:d1w64b3g1", 11, "a width divisible by the ratio"),
        ("bottleneck:d1w64b2g3", 11, "an inner width by the groups"),
        ("bottleneck:d1w64b2g1,", 21, "'d<depth>'"),
        ("bottleneck:d1w64b2g1;d1w8b1g1", 20, "',' or the end of the string"),
        ("bottleneck:d1w64b2g1s", 21, "the stride"),
    ],
)
def test_malformed_keys_name_position_and_expectation(
    text: str, position: int, expected: str
) -> None:
    with pytest.raises(ArchParseError) as info:
        NdsResNeXtASpace().parse(text)
    assert info.value.position == position, str(info.value)
    assert expected in info.value.expected


def test_space_checks_its_block_type() -> None:
    with pytest.raises(ArchParseError, match="'basic:'"):
        NdsResNetSpace().parse("bottleneck:d1w64b2g4")
    with pytest.raises(ArchParseError, match="basic stages are d<depth>w<width>"):
        NdsResNetSpace().parse("basic:d1w64b2g4")
    assert parse_anynet("plain:d1w8").block == "plain"


@given(st.text(max_size=40))
def test_parser_never_crashes(text: str) -> None:
    try:
        arch = parse_anynet(text)
    except ArchParseError:
        return
    assert format_anynet(arch) == text.strip()


def test_invalid_architectures_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="'depth'"):
        Stage(0, 16)
    with pytest.raises(InvalidParameterError, match="not divisible"):
        Stage(1, 16, 1, 3)
    with pytest.raises(InvalidParameterError, match="no bottleneck ratio"):
        AnyNetArch("basic", (Stage(1, 16, 2, 1),))
    with pytest.raises(InvalidParameterError, match="must not be empty"):
        AnyNetArch("basic", ())


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
def test_sampling_draws_each_stage_from_the_space_values(space: NdsAnyNetSpace) -> None:
    rng = np.random.default_rng(0)
    seen: dict[str, set[int]] = {"depth": set(), "width": set(), "ratio": set(), "groups": set()}
    for _ in range(200):
        arch = space.sample(rng)
        assert arch.block == space.block
        assert len(arch.stages) == (4 if space.imagenet else 3)
        assert [s.stride for s in arch.stages] == [1] + [2] * (len(arch.stages) - 1)
        for s in arch.stages:
            seen["depth"].add(s.depth)
            seen["width"].add(s.width)
            seen["ratio"].add(s.bottleneck_ratio)
            seen["groups"].add(s.groups)
    assert seen == {
        "depth": set(space.depths),
        "width": set(space.widths),
        "ratio": set(space.ratios),
        "groups": set(space.group_counts),
    }


@pytest.mark.parametrize("space", SPACES[::2], ids=lambda s: s.name)
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_mutation_changes_one_parameter_of_one_stage(space: NdsAnyNetSpace, seed: int) -> None:
    rng = np.random.default_rng(seed)
    arch = space.sample(rng)
    child = space.mutate(arch, rng)
    diffs = [
        (a, b, name)
        for a, b in zip(arch.stages, child.stages, strict=True)
        for name in ("depth", "width", "bottleneck_ratio", "groups", "stride")
        if getattr(a, name) != getattr(b, name)
    ]
    assert len(diffs) == 1
    assert diffs[0][2] != "stride"
