"""The NDS json reader and converter, on small files written in the NDS format by the tests."""

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from naswot.benchmarks import load_table
from naswot.benchmarks.nds import NdsRow, accuracy_column, convert_nds, read_nds
from naswot.exceptions import BenchmarkError, InvalidParameterError
from naswot.spaces.nds import NdsDartsSpace, NdsEnasSpace
from naswot.spaces.nds_anynet import NdsResNetSpace, NdsResNeXtASpace, parse_anynet


def _cell_record(arch_seed: int, error: float, *, space: Any = None) -> dict[str, Any]:
    space = space or NdsDartsSpace()
    g = space.sample(np.random.default_rng(arch_seed)).genotype
    genotype = {
        "normal": [[op, i] for op, i in g.normal],
        "normal_concat": list(g.normal_concat),
        "reduce": [[op, i] for op, i in g.reduce],
        "reduce_concat": list(g.reduce_concat),
    }
    net = {"genotype": genotype, "width": 16, "depth": 8, "aux": True, "drop_prob": 0.0}
    return {
        "net": net,
        "optim": {"base_lr": 0.1, "wd": 5e-4, "max_ep": 3},
        "test_ep_top1": [90.0, 50.0, error],
        "train_ep_top1": [90.0, 40.0, 20.0],
        "params": 1e6,
        "flops": 1e8,
    }


def _anynet_record(error: float, **net: Any) -> dict[str, Any]:
    return {"net": net, "test_ep_top1": [80.0, error]}


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_reads_cell_records_in_file_order(tmp_path: Path) -> None:
    records = [_cell_record(s, e) for s, e in ((0, 10.5), (1, 12.25), (2, 9.0))]
    rows = read_nds(_write(tmp_path / "DARTS.json", records))
    space = NdsDartsSpace()
    assert [r.index for r in rows] == [0, 1, 2]
    assert [r.test_acc for r in rows] == [89.5, 87.75, 91.0]
    for seed, row in enumerate(rows):
        arch = space.parse(row.arch_str)
        assert (arch.width, arch.depth) == (16, 8)
        assert arch.genotype == space.sample(np.random.default_rng(seed)).genotype
        assert row.arch_str.endswith("@w16d8")


def test_top_and_mid_are_read_one_after_the_other(tmp_path: Path) -> None:
    space = NdsEnasSpace()
    data = {
        "top": [_cell_record(0, 5.0, space=space)],
        "mid": [_cell_record(1, 6.0, space=space), _cell_record(2, 7.0, space=space)],
    }
    rows = read_nds(_write(tmp_path / "ENAS.json", data))
    assert [r.test_acc for r in rows] == [95.0, 94.0, 93.0]
    assert all(space.parse(r.arch_str) for r in rows)


def test_concat_order_is_sorted(tmp_path: Path) -> None:
    record = _cell_record(0, 10.0)
    record["net"]["genotype"]["normal_concat"] = [5, 2, 4, 3]
    (row,) = read_nds(_write(tmp_path / "DARTS.json", [record]))
    assert "normal_concat=[2, 3, 4, 5]" in row.arch_str


def test_reads_residual_records(tmp_path: Path) -> None:
    records = [
        _anynet_record(
            8.0,
            block_type="res_bottleneck_block",
            ds=[1, 2, 4],
            ws=[64, 128, 256],
            ss=[1, 2, 2],
            bot_muls=[0.5, 1.0, 0.25],
            num_gs=[4, 1, 2],
            stem_type="res_stem_cifar",
            stem_w=16,
            se_r=0,
            nc=10,
        ),
        _anynet_record(
            9.0, block_type="res_basic_block", ds=[2, 1], ws=[16, 32], ss=[8, 2], bot_muls=[]
        ),
        _anynet_record(
            7.5, block_type="res_bottleneck_block", ds=[1], ws=[16], bot_muls=[0], num_gs=[2]
        ),
    ]
    rows = read_nds(_write(tmp_path / "ResNeXt-A_in.json", records))
    assert [r.arch_str for r in rows] == [
        "bottleneck:d1w64b2g4,d2w128b1g1,d4w256b4g2",
        "basic:d2w16,d1w32",  # a first stride of 8 is read as 1, as the NASWOT code does
        "bottleneck:d1w16b1g2",  # a bottleneck multiplier of 0 is read as 1
    ]
    assert [r.test_acc for r in rows] == [92.0, 91.0, 92.5]
    assert NdsResNeXtASpace().parse(rows[0].arch_str) == parse_anynet(rows[0].arch_str)
    assert NdsResNetSpace().parse(rows[1].arch_str).stages[0].stride == 1


def test_convert_writes_a_table_the_space_reads(tmp_path: Path) -> None:
    records = [_cell_record(s, 10.0 + s) for s in range(4)]
    records.append(_cell_record(1, 13.0))  # a second run of architecture 1
    src = _write(tmp_path / "DARTS.json", records)
    n = convert_nds(src, tmp_path / "out" / "nds-darts.csv")
    assert n == 4
    with (tmp_path / "out" / "nds-darts.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["index", "arch_str", "test_acc_cifar10"]
    table = load_table(tmp_path / "out" / "nds-darts.csv", NdsDartsSpace())
    assert len(table) == 4 and table.metrics == ("test_acc_cifar10",)
    key = read_nds(src)[1].arch_str
    assert table.lookup(key)["test_acc_cifar10"] == pytest.approx((89.0 + 87.0) / 2)
    assert table.index[key] == 1
    convert_nds(src, tmp_path / "first.csv", duplicates="first")
    assert load_table(tmp_path / "first.csv", NdsDartsSpace()).lookup(key) == {
        "test_acc_cifar10": 89.0
    }
    with pytest.raises(BenchmarkError, match="records 1 and 4 have the same architecture"):
        convert_nds(src, tmp_path / "error.csv", duplicates="error")
    with pytest.raises(InvalidParameterError, match="'duplicates'"):
        convert_nds(src, tmp_path / "x.csv", duplicates="max")  # type: ignore[arg-type]


def test_imagenet_files_get_the_imagenet_column(tmp_path: Path) -> None:
    assert accuracy_column("nds_data/DARTS_in.json") == "test_acc_imagenet"
    assert accuracy_column("nds_data/Vanilla_lr-wd_in.json") == "test_acc_imagenet"
    assert accuracy_column("nds_data/DARTS_lr-wd.json") == "test_acc_cifar10"
    src = _write(tmp_path / "DARTS_in.json", [_cell_record(0, 30.0)])
    convert_nds(src, tmp_path / "in.csv")
    table = load_table(tmp_path / "in.csv", NdsDartsSpace(imagenet=True))
    assert next(iter(table.rows.values())) == {"test_acc_imagenet": 70.0}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"a": 1}, "expected a list of records"),
        ([1], "record 0 is a int, not a dict"),
        ([{"test_ep_top1": [1.0]}], "record 0 has no 'net' dict"),
        ([{"net": {}, "test_ep_top1": []}], "no 'test_ep_top1' list"),
        ([{"net": {"width": 16}, "test_ep_top1": [1.0]}], "missing field 'block_type'"),
        ([_anynet_record(1.0, block_type="res_fancy_block", ds=[1], ws=[8])], "block_type"),
        ([_anynet_record(1.0, block_type="res_basic_block", ds=[1, 2], ws=[8])], "'ws'"),
        (
            [
                _anynet_record(
                    1.0, block_type="res_bottleneck_block", ds=[1], ws=[8], bot_muls=[0.3]
                )
            ],
            "not 1 / an integer",
        ),
    ],
)
def test_malformed_files_name_the_record(tmp_path: Path, data: object, message: str) -> None:
    with pytest.raises(BenchmarkError, match=message):
        read_nds(_write(tmp_path / "bad.json", data))


def test_invalid_genotypes_name_the_record(tmp_path: Path) -> None:
    record = _cell_record(0, 1.0)
    record["net"]["genotype"]["normal"][0] = ["conv_9x9", 0]
    with pytest.raises(BenchmarkError, match=r"record 0: invalid 'net'.*operations from"):
        read_nds(_write(tmp_path / "bad.json", [record]))


def test_missing_and_non_json_files(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match=r"data\.zip"):
        read_nds(tmp_path / "DARTS.json")
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(BenchmarkError, match="not a json file"):
        read_nds(tmp_path / "x.json")
    with pytest.raises(BenchmarkError, match="holds no records"):
        convert_nds(_write(tmp_path / "empty.json", []), tmp_path / "e.csv")
    assert not (tmp_path / "e.csv").exists()


def test_rows_are_plain_values() -> None:
    row = NdsRow(index=3, arch_str="basic:d1w8", test_acc=90.0)
    assert (row.index, row.arch_str, row.test_acc) == (3, "basic:d1w8", 90.0)
