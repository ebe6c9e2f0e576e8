"""The NDS cell spaces: key round trips, parse errors, sampling and mutation rules."""

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from naswot.exceptions import ArchParseError, InvalidParameterError
from naswot.spaces.nds import (
    ALL_OPS,
    CELL_SPACES,
    Genotype,
    NdsCellArch,
    NdsCellSpace,
    NdsDartsSpace,
    NdsEnasSpace,
    format_genotype,
    loose_ends,
    parse_genotype,
)
from naswot.testing import check_space

SPACES = [cls(imagenet=imagenet) for cls in CELL_SPACES for imagenet in (False, True)]
DARTS = NdsDartsSpace()
# The first genotype of the SWAP-NAS DARTS sample (DARTS_archs_CIFAR10.csv).
KEY = (
    "Genotype(normal=[('dil_conv_5x5', 0), ('skip_connect', 0), ('skip_connect', 2), ('none', 2), "
    "('sep_conv_5x5', 0), ('sep_conv_3x3', 3), ('skip_connect', 4), ('dil_conv_5x5', 0)], "
    "normal_concat=[2, 3, 4, 5], reduce=[('dil_conv_5x5', 0), ('skip_connect', 0), "
    "('skip_connect', 2), ('none', 2), ('sep_conv_5x5', 0), ('sep_conv_3x3', 3), "
    "('skip_connect', 4), ('dil_conv_5x5', 0)], reduce_concat=[2, 3, 4, 5])"
)


# The op lists of pycls/models/nas/genotypes.py (NASNET_OPS, AMOEBA_OPS, PNAS_OPS, ENAS_OPS,
# DARTS_OPS), in pycls's order: pycls trained the NDS models. Read in the facebookresearch/unnas
# and BayesWatch/nas-without-training copies; NNI's NDS spaces (nni/nas/hub/pytorch/nasnet.py)
# list the same ops (DARTS without 'none', which NNI's differentiable cell adds itself).
PYCLS_OPS = {
    "nds-nasnet": (
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
    ),
    "nds-amoeba": (
        "skip_connect",
        "sep_conv_3x3",
        "sep_conv_5x5",
        "sep_conv_7x7",
        "avg_pool_3x3",
        "max_pool_3x3",
        "dil_sep_conv_3x3",
        "conv_7x1_1x7",
    ),
    "nds-pnas": (
        "sep_conv_3x3",
        "sep_conv_5x5",
        "sep_conv_7x7",
        "conv_7x1_1x7",
        "skip_connect",
        "avg_pool_3x3",
        "max_pool_3x3",
        "dil_conv_3x3",
    ),
    "nds-enas": ("skip_connect", "sep_conv_3x3", "sep_conv_5x5", "avg_pool_3x3", "max_pool_3x3"),
    "nds-darts": (
        "none",
        "max_pool_3x3",
        "avg_pool_3x3",
        "skip_connect",
        "sep_conv_3x3",
        "sep_conv_5x5",
        "dil_conv_3x3",
        "dil_conv_5x5",
    ),
}
# num_nodes_per_cell and merge_op ('loose_end' / 'all') of NNI's NDS spaces; NDS Table 1 gives the
# op counts (13, 8, 8, 5, 8), these node counts and L / A.
NODES_AND_OUTPUT = {
    "nds-nasnet": (5, "loose"),
    "nds-amoeba": (5, "loose"),
    "nds-pnas": (5, "all"),
    "nds-enas": (5, "loose"),
    "nds-darts": (4, "all"),
}


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
def test_op_sets_are_the_pycls_op_lists(space: NdsCellSpace) -> None:
    assert space.ops == PYCLS_OPS[space.base_name]
    assert len(set(space.ops)) == len(space.ops)
    assert space.name == space.base_name + ("-in" if space.imagenet else "")


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
def test_node_counts_and_output_rules(space: NdsCellSpace) -> None:
    assert (space.n_nodes, space.output) == NODES_AND_OUTPUT[space.base_name]


def test_names_and_table_1_of_nds() -> None:
    """Op counts, node counts and output rules as NDS Table 1 gives them."""
    table = {s.name: (len(s.ops), s.n_nodes, s.output) for s in SPACES if not s.imagenet}
    assert table == {
        "nds-nasnet": (13, 5, "loose"),
        "nds-amoeba": (8, 5, "loose"),
        "nds-pnas": (8, 5, "all"),
        "nds-enas": (5, 5, "loose"),
        "nds-darts": (8, 4, "all"),
    }
    assert {s.name for s in SPACES if s.imagenet} == {f"{n}-in" for n in table}
    assert [cls.base_name for cls in CELL_SPACES] == list(table)  # Table 1 order


def test_all_ops_is_the_union_of_the_op_sets_and_only_darts_has_none() -> None:
    assert len(set(ALL_OPS)) == len(ALL_OPS)
    assert set(ALL_OPS) == {op for ops in PYCLS_OPS.values() for op in ops}
    assert [s.base_name for s in SPACES if "none" in s.ops] == ["nds-darts", "nds-darts"]


def test_the_split_modules_back_the_public_names() -> None:
    from naswot.spaces import nds, nds_genotype, nds_ops, nds_spaces

    parts = (nds_genotype, nds_ops, nds_spaces)
    for name in nds.__all__:
        assert [getattr(part, name) for part in parts if name in part.__all__] == [
            getattr(nds, name)
        ], name
    assert set(nds.__all__) == {name for part in parts for name in part.__all__} - {
        "AMOEBA_OPS",
        "DARTS_OPS",
        "ENAS_OPS",
        "NASNET_OPS",
        "PNAS_OPS",
    }
    constants = {
        f"nds-{name.split('_')[0].lower()}": getattr(nds_ops, name) for name in nds_ops.__all__
    }
    del constants["nds-all"]
    assert constants == PYCLS_OPS


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
def test_spaces_conform(space: NdsCellSpace) -> None:
    check_space(space, n=30)


def test_parse_known_key() -> None:
    arch = DARTS.parse(KEY)
    assert arch.width is None and arch.depth is None
    assert arch.genotype.normal[0] == ("dil_conv_5x5", 0)
    assert arch.genotype.normal_concat == (2, 3, 4, 5)
    assert arch.genotype.n_nodes == 4
    assert DARTS.key(arch) == str(arch) == KEY


@pytest.mark.parametrize(
    ("suffix", "width", "depth"), [("@w16d8", 16, 8), ("@w36", 36, None), ("@d20", None, 20)]
)
def test_width_and_depth_suffix(suffix: str, width: int | None, depth: int | None) -> None:
    arch = DARTS.parse(KEY + suffix)
    assert (arch.width, arch.depth) == (width, depth)
    assert DARTS.key(arch) == KEY + suffix


def test_every_genotype_of_the_darts_sample_round_trips(shared_data: Path) -> None:
    path = shared_data / "darts-space-swap-1000" / "DARTS_archs_CIFAR10.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    with path.open(newline="") as f:
        rows = [row for row in csv.reader(f) if row]
    assert len(rows) == 500
    for genotype, _ in rows:
        assert DARTS.key(DARTS.parse(genotype)) == genotype
        assert format_genotype(parse_genotype(genotype).genotype) == genotype


@st.composite
def archs(draw: st.DrawFn, space: NdsCellSpace) -> NdsCellArch:
    cells = []
    for _ in range(2):
        pairs = tuple(
            (draw(st.sampled_from(space.ops)), draw(st.integers(0, k // 2 + 1)))
            for k in range(2 * space.n_nodes)
        )
        nodes = draw(st.sets(st.integers(2, space.n_nodes + 1), min_size=1))
        cells.append((pairs, tuple(sorted(nodes))))
    genotype = Genotype(cells[0][0], cells[0][1], cells[1][0], cells[1][1])
    size = st.none() | st.integers(1, 512)
    return NdsCellArch(genotype, draw(size), draw(size))


@pytest.mark.parametrize("space", SPACES[::2], ids=lambda s: s.name)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_round_trip(space: NdsCellSpace, data: st.DataObject) -> None:
    arch = data.draw(archs(space))
    key = space.key(arch)
    assert space.parse(key) == arch
    assert parse_genotype(key) == arch


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("", 0, "'Genotype('"),
        ("Genotype(normal=[", 17, '"(\'" opening pair 0 of the normal cell'),
        ("Genotype(normal=[('conv', 0)]", 19, "an operation of nds-darts"),
        ("Genotype(normal=[('none', 2)]", 26, "an input node in 0..1"),
        ("Genotype(normal=[('none', 01)]", 26, "without leading zeros"),
        ("Genotype(normal=[('none', 0)]", 28, "an even number of pairs"),
        ("Genotype(normal=[('none', 0)),", 28, "', ' or ']' after pair 0"),
        (KEY.replace("normal_concat=[2, 3", "normal_concat=[3, 3"), 196, "a node in 4..5"),
        (KEY.replace("reduce_concat=[2, 3, 4, 5]", "reduce_concat=[2, 3, 4, 6]"), 399, "5..5"),
        (KEY.replace(", reduce=", ", reduced="), 204, "', reduce='"),
        (KEY[:-1], len(KEY) - 1, "')' closing the Genotype"),
        (KEY + "@", len(KEY) + 1, "'w<width>' or 'd<depth>'"),
        (KEY + "@w0", len(KEY) + 2, "a width >= 1"),
        (KEY + "@d16w8", len(KEY) + 4, "the end of the string"),
        (KEY + " garbage", len(KEY), "the end of the string"),
    ],
)
def test_malformed_keys_name_position_and_expectation(
    text: str, position: int, expected: str
) -> None:
    with pytest.raises(ArchParseError) as info:
        DARTS.parse(text)
    assert info.value.position == position, str(info.value)
    assert expected in info.value.expected
    assert f"position {position}" in str(info.value)


def test_space_checks_its_node_count_and_ops() -> None:
    enas_key = NdsEnasSpace().key(NdsEnasSpace().sample(np.random.default_rng(0)))
    with pytest.raises(ArchParseError, match="8 \\(op, input\\) pairs in the normal cell"):
        DARTS.parse(enas_key)  # ENAS ops are DARTS ops, but ENAS cells have 5 nodes
    with pytest.raises(ArchParseError, match="an operation of nds-enas"):
        NdsEnasSpace().parse(KEY)
    assert parse_genotype(enas_key).genotype.n_nodes == 5


@given(st.text(max_size=80))
def test_parser_never_crashes(text: str) -> None:
    try:
        arch = parse_genotype(text)
    except ArchParseError:
        return
    assert str(arch) == text.strip()


def test_invalid_genotypes_are_refused() -> None:
    pair = (("none", 0), ("none", 1))
    with pytest.raises(InvalidParameterError, match="even number"):
        Genotype(pair[:1], (2,), pair, (2,))
    with pytest.raises(InvalidParameterError, match=r"read node 0\.\.1"):
        Genotype((("none", 2), ("none", 0)), (2,), pair, (2,))
    with pytest.raises(InvalidParameterError, match="operations from"):
        Genotype((("conv_5x5", 0), ("none", 0)), (2,), pair, (2,))
    with pytest.raises(InvalidParameterError, match="subset of nodes"):
        Genotype(pair, (3,), pair, (2,))
    with pytest.raises(InvalidParameterError, match="'width'"):
        NdsCellArch(Genotype(pair, (2,), pair, (2,)), width=0)


@pytest.mark.parametrize("space", SPACES[::2], ids=lambda s: s.name)
def test_sampling_follows_the_space_rules(space: NdsCellSpace) -> None:
    rng = np.random.default_rng(0)
    ops: Counter[str] = Counter()
    first_inputs: Counter[int] = Counter()
    for _ in range(300):
        g = space.sample(rng).genotype
        for pairs, concat in ((g.normal, g.normal_concat), (g.reduce, g.reduce_concat)):
            assert len(pairs) == 2 * space.n_nodes
            assert all(inp <= k // 2 + 1 for k, (_, inp) in enumerate(pairs))
            rule = (
                loose_ends(pairs) if space.output == "loose" else tuple(range(2, space.n_nodes + 2))
            )
            assert concat == rule
            ops.update(op for op, _ in pairs)
            first_inputs.update(inp for _, inp in pairs[:2])
    total = sum(ops.values())
    assert set(ops) == set(space.ops)
    assert all(abs(c / total - 1 / len(space.ops)) < 0.02 for c in ops.values())
    assert abs(first_inputs[0] / 1200 - 0.5) < 0.05  # node 2 reads input 0 or 1 uniformly


@pytest.mark.parametrize("space", SPACES[::2], ids=lambda s: s.name)
def test_each_input_is_drawn_from_every_earlier_node_independently(space: NdsCellSpace) -> None:
    """o^2 (j + 1)^2 choices for the j-th node (NDS): both inputs range over all its
    predecessors, may coincide, and the reduction cell is drawn apart from the normal cell."""
    rng = np.random.default_rng(1)
    seen: dict[int, set[int]] = {k: set() for k in range(2 * space.n_nodes)}
    same_input = same_cells = 0
    for _ in range(300):
        g = space.sample(rng).genotype
        same_cells += g.normal == g.reduce
        for pairs in (g.normal, g.reduce):
            for k, (_, inp) in enumerate(pairs):
                seen[k].add(inp)
            same_input += sum(pairs[k][1] == pairs[k + 1][1] for k in range(0, len(pairs), 2))
    assert all(seen[k] == set(range(k // 2 + 2)) for k in seen)
    assert same_input > 0 and same_cells == 0


def test_sampled_width_and_depth_are_written_into_keys() -> None:
    arch = NdsDartsSpace(width=8, depth=5).sample(np.random.default_rng(0))
    assert (arch.width, arch.depth) == (8, 5) and DARTS.key(arch).endswith("@w8d5")


@pytest.mark.parametrize("space", SPACES[::2], ids=lambda s: s.name)
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_mutation_changes_one_op_or_one_input(space: NdsCellSpace, seed: int) -> None:
    rng = np.random.default_rng(seed)
    arch = space.sample(rng)
    child = space.mutate(arch, rng)
    changes = [
        (a, b)
        for cell in ("normal", "reduce")
        for a, b in zip(getattr(arch.genotype, cell), getattr(child.genotype, cell), strict=True)
        if a != b
    ]
    assert len(changes) == 1
    (op_a, in_a), (op_b, in_b) = changes[0]
    assert (op_a != op_b) != (in_a != in_b)
    g = child.genotype
    assert space.parse(space.key(child)) == child
    if space.output == "loose":
        assert g.normal_concat == loose_ends(g.normal)
        assert g.reduce_concat == loose_ends(g.reduce)
