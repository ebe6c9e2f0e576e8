from pathlib import Path

import pytest

from naswot.benchmarks import load_table
from naswot.exceptions import BenchmarkError
from naswot.spaces import NasBench201Space

SPACE = NasBench201Space()
A = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
B = "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.csv"
    path.write_text(text)
    return path


def test_reads_metrics_and_index(tmp_path: Path) -> None:
    table = load_table(write(tmp_path, f"index,arch_str,acc\n3,{A},10.5\n4,{B},\n"), SPACE)
    assert table.metrics == ("acc",)
    assert table.lookup(A) == {"acc": 10.5}
    assert table.lookup(B) == {}
    assert table.index[B] == 4


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("arch,acc\nx,1\n", "no 'arch_str' column"),
        (f"arch_str,acc\n{A},1\n{A},2\n", "appears twice"),
        ("arch_str,acc\n|bad|,1\n", "position"),
        (f"arch_str,acc\n{A},high\n", "not a number"),
        ("arch_str,acc\n", "no architectures"),
    ],
)
def test_bad_tables_are_refused(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(BenchmarkError, match=match):
        load_table(write(tmp_path, text), SPACE)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="not found"):
        load_table(tmp_path / "nope.csv", SPACE)


def test_real_nb201_table(nb201_csv: Path) -> None:
    table = load_table(nb201_csv, SPACE)
    assert len(table) == 15625
    best = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    assert table.lookup(best)["test_acc_cifar10"] == pytest.approx(94.3733, abs=1e-3)
    assert table.index[best] == 6111
