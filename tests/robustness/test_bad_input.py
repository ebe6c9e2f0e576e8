"""Bad input, one case each: exit 1 and one ``naswot: error:`` line naming what was wrong and
what was expected (argparse usage errors exit 2). docs/robustness.md lists these tests."""

import math
import pickle
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import torch

import naswot
from naswot.cli import main
from naswot.exceptions import InvalidParameterError, NaswotError, ScoringError
from naswot.testing.fixtures import write_toy_benchmark

A = "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
SCORE = ["score", "--arch", A, "--no-store", "--quiet"]
CIFAR10_FILES = [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]


@pytest.fixture(autouse=True)
def no_default_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A CIFAR-10 in the user's default data folder would replace the bundled 20 images.
    monkeypatch.setenv("NASWOT_DATA_DIR", str(tmp_path / "no-default-data"))


def fails(capsys: pytest.CaptureFixture[str], *argv: str, pointer: bool = False) -> str:
    """Runs the CLI, checks exit 1 and one error line (plus the ^ pointer of a parse error)."""
    code = main(list(argv))
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines[0].startswith("naswot: error: "), err
    assert len(lines) == (3 if pointer else 1), err
    return lines[0]


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Runs the CLI, checks argparse's exit 2; returns its error line."""
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert "Traceback" not in err
    return err.splitlines()[-1]


def write_cifar10(root: Path, data: np.ndarray | None = None, *, n: int = 4) -> Path:
    """A tiny ``root/cifar-10-batches-py/`` in the official pickle format; returns root."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in CIFAR10_FILES:
        images = rng.integers(0, 256, (n, 3072), dtype=np.uint8) if data is None else data
        batch = {"data": images, "labels": [i % 10 for i in range(len(images))]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return root


# --- 1. architecture strings ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("space", "text", "message"),
    [
        ("nb201", "|nor_conv_3x3~0|+|", "position 18: expected 'op~0' (edge 0->2)"),
        (
            "nb201",
            A.replace("nor_conv_3x3", "nor_conv_3x4"),
            "position 1: expected one of none, skip_connect, nor_conv_1x1, nor_conv_3x3, "
            "avg_pool_3x3 (edge 0->1), found 'nor_conv_3x4'",
        ),
        ("nb201", A.replace("3x3~0", "3x3~1"), "position 14: expected input node 0 (edge 0->1)"),
        ("nb101", "nb101:010/001", "position 13: expected adjacency rows"),
        (
            "nb101",
            "nb101:010/001/000:in,c5,out",
            "position 21: expected one of c3, c1, mp (operation 1), found 'c5'",
        ),
        ("nds-darts", "Genotype(normal=[('none', 0)),", "position 28: expected ', ' or ']'"),
        (
            "nds-darts",
            "Genotype(normal=[('conv_9x9', 0)",
            "position 19: expected an operation of nds-darts (none, max_pool_3x3",
        ),
    ],
    ids=["nb201-cut", "nb201-op", "nb201-input", "nb101-cut", "nb101-op", "darts-cut", "darts-op"],
)
def test_malformed_architecture(
    capsys: pytest.CaptureFixture[str], space: str, text: str, message: str
) -> None:
    line = fails(capsys, "score", "--space", space, "--arch", text, "--no-store", "--quiet",
                 pointer=True)  # fmt: skip
    assert "Malformed architecture string at " + message in line
    if "conv_9x9" in text:
        assert line.endswith("found 'conv_9x9'.")


# --- 2. unknown names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--space", "nb20", "Unknown space 'nb20'. Choices: nats-sss, nb101, nb201"),
        ("--proxy", "nasowt", "Unknown proxy 'nasowt'. Choices: az_complexity, az_expressivity"),
        ("--dataset", "cifar-10", "Unknown dataset 'cifar-10'. Choices: cifar10, cifar100"),
        ("--variant", "oficial", "Unknown variant 'oficial' of proxy 'naswot'. Choices: default"),
    ],
    ids=["space", "proxy", "dataset", "variant"],
)
def test_unknown_name(
    capsys: pytest.CaptureFixture[str], option: str, value: str, message: str
) -> None:
    line = fails(capsys, *SCORE, option, value)
    assert message in line
    close = {"nb20": "nb201", "nasowt": "naswot", "cifar-10": "cifar10", "oficial": "official"}
    assert line.endswith(f"Did you mean {close[value]!r}?")


def test_unknown_ensemble_method(capsys: pytest.CaptureFixture[str]) -> None:
    line = fails(capsys, *SCORE, "--proxy", "naswot,flops", "--ensemble", "ranksum:naswot+flops")
    assert line.endswith(
        "Unknown ensemble method 'ranksum'. Choices: rank_sum, vote, log_rank. "
        "Did you mean 'rank_sum'?"
    )


def test_unknown_strategy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = usage_error(capsys, "evolve", "--strategy", "reaa", "--benchmark", str(tmp_path))
    assert line.endswith(
        "argument --strategy: invalid choice: 'reaa' (choose from rea, area); did you mean 'rea'?"
    )


def test_unknown_evaluation_dataset(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bench, scores, _ = write_toy_benchmark(tmp_path, n=10)
    line = fails(capsys, "evaluate", "--benchmark", str(bench), "--scores", str(scores),
                 "--dataset", "cifar1000")  # fmt: skip
    assert "must be one of cifar10, cifar100, imagenet16-120" in line
    assert line.endswith("Did you mean 'cifar100'?")


# --- 3. data directories ----------------------------------------------------------------------


def test_data_dir_missing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = fails(capsys, *SCORE, "--data-dir", str(tmp_path / "nope"))
    assert f"the data directory {tmp_path / 'nope'} does not exist" in line
    assert "naswot data download cifar10 --data-dir" in line


def test_data_dir_empty(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = fails(capsys, *SCORE, "--data-dir", str(tmp_path))
    assert f"there is no folder 'cifar-10-batches-py' in {tmp_path}" in line
    assert "(it should hold data_batch_1," in line


def test_data_dir_with_an_empty_dataset_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "cifar-10-batches-py").mkdir()
    line = fails(capsys, *SCORE, "--data-dir", str(tmp_path))
    assert "is incomplete: the train split needs data_batch_1" in line


def test_truncated_batch_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write_cifar10(tmp_path) / "cifar-10-batches-py" / "data_batch_3"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    line = fails(capsys, *SCORE, "--data-dir", str(tmp_path))
    assert f"{path} is not a readable CIFAR/ImageNet16 pickle (truncated or corrupt?)" in line


def test_batch_files_directly_in_the_data_dir(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = write_cifar10(tmp_path) / "cifar-10-batches-py"
    line = fails(capsys, *SCORE, "--data-dir", str(folder))
    assert "holds data_batch_1, data_batch_2" in line
    assert (
        "--data-dir must be the folder that holds 'cifar-10-batches-py/': pass its parent, "
        f"{tmp_path}." in line
    )


def test_images_directly_in_the_data_dir(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "airplane_0001.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    line = fails(capsys, *SCORE, "--data-dir", str(tmp_path))
    assert "holds image files (airplane_0001.png, ...)" in line
    assert "reads the official CIFAR-10 python version" in line


# --- 4. batch sizes ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["0", "1"])
def test_batch_size_below_two(capsys: pytest.CaptureFixture[str], size: str) -> None:
    line = fails(capsys, *SCORE, "--batch-size", size)
    assert line.endswith(f"'batch_size' parameter of load_batch must be an int >= 2. Got {size} "
                         "instead.")  # fmt: skip


def test_batch_size_above_the_bundled_images(capsys: pytest.CaptureFixture[str]) -> None:
    line = fails(capsys, *SCORE, "--batch-size", "21")
    assert "must be at most 20 without a data directory" in line and "Got 21 instead" in line


def test_batch_size_above_the_data_dir_images(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_cifar10(tmp_path, n=4)  # 5 training batches of 4 images
    line = fails(capsys, *SCORE, "--data-dir", str(tmp_path), "--batch-size", "21")
    assert "must be at most 20: the cifar-10-batches-py train split" in line


# --- 5. wrong shapes, dtypes, non-finite values -----------------------------------------------


def net() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten())


def test_library_wrong_shape() -> None:
    with pytest.raises(ScoringError, match=r"expected input\[4, 32, 32, 3\] to have 3 channels"):
        naswot.score(net(), torch.randn(4, 32, 32, 3))
    with pytest.raises(ScoringError, match=r"at least 2 inputs, got shape \(1, 3, 8, 8\)"):
        naswot.score(net(), torch.randn(1, 3, 8, 8))


@pytest.mark.parametrize(
    "dtype", [torch.uint8, torch.int64, torch.float64, torch.bool], ids=lambda d: str(d)[6:]
)
def test_library_wrong_dtype(dtype: torch.dtype) -> None:
    x = torch.zeros(4, 3, 8, 8).to(dtype)
    with pytest.raises(InvalidParameterError) as info:
        naswot.score(net(), x, on_error="raise")
    assert str(info.value) == (
        "The 'batch' parameter of score must hold torch.float32 (the dtype of the model's "
        "weights) inputs, e.g. images normalised with naswot.data.normalize. "
        f"Got a {dtype} tensor instead."
    )


def test_library_not_a_tensor() -> None:
    with pytest.raises(InvalidParameterError, match=r"Batch or a torch\.Tensor.*Got ndarray"):
        naswot.score(net(), np.zeros((4, 3, 8, 8), np.float32))  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_library_non_finite_inputs(value: float) -> None:
    x = torch.randn(4, 3, 8, 8)
    x[2, 1, 0, 0] = value
    with pytest.raises(NaswotError) as info:
        naswot.score(net(), x, on_error="raise")
    assert str(info.value) == (
        "The batch holds NaN or infinite values in 1 of its 4 inputs (first: input 2); "
        "proxies need finite inputs."
    )
    recorded = naswot.score(net(), x, on_error="record")
    assert recorded.status.value == "error" and recorded.score is None


@pytest.mark.parametrize(
    ("data", "got"),
    [
        (np.zeros((4, 32, 32, 3), np.uint8), "a uint8 array of shape (4, 32, 32, 3)"),
        (np.zeros((4, 768), np.uint8), "a uint8 array of shape (4, 768)"),
        (np.zeros((4, 3072), np.float32), "a float32 array of shape (4, 3072)"),
    ],
    ids=["nhwc", "16x16", "float32"],
)
def test_dataset_file_with_wrong_arrays(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data: np.ndarray, got: str
) -> None:
    write_cifar10(tmp_path, data)
    line = fails(capsys, *SCORE, "--data-dir", str(tmp_path))
    assert line.endswith(
        f"data_batch_1: 'data' must be a non-empty uint8 array of shape (N, 3072); got {got}."
    )


# --- 6. benchmark tables and score files ------------------------------------------------------


@pytest.fixture
def toy(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    return write_toy_benchmark(tmp_path, n=30)


def evaluate(bench: Path, scores: Path) -> list[str]:
    return ["evaluate", "--benchmark", str(bench), "--scores", str(scores), "--n-bootstrap", "5"]


def test_benchmark_without_the_key_column(
    capsys: pytest.CaptureFixture[str], toy: tuple[Path, Path, list[str]]
) -> None:
    bench, scores, _ = toy
    bench.write_text(bench.read_text().replace("arch_str", "arch", 1))
    line = fails(capsys, *evaluate(bench, scores))
    assert f"{bench} has no 'arch_str' column (columns: ['index', 'arch'," in line


def test_benchmark_without_the_accuracy_column(
    capsys: pytest.CaptureFixture[str], toy: tuple[Path, Path, list[str]]
) -> None:
    bench, scores, _ = toy
    bench.write_text(bench.read_text().replace("test_acc_cifar10", "acc", 1))
    line = fails(capsys, *evaluate(bench, scores))
    assert f"The benchmark {bench} has no column 'test_acc_cifar10' (columns:" in line


def test_benchmark_with_a_duplicated_architecture(
    capsys: pytest.CaptureFixture[str], toy: tuple[Path, Path, list[str]]
) -> None:
    bench, scores, keys = toy
    lines = bench.read_text().splitlines()
    bench.write_text("\n".join([*lines, lines[5]]) + "\n")
    line = fails(capsys, *evaluate(bench, scores))
    assert f"{bench}:32: architecture {keys[4]} appears twice (first on line 6)" in line


def test_benchmark_missing_some_architectures_counts_them(
    capsys: pytest.CaptureFixture[str], toy: tuple[Path, Path, list[str]]
) -> None:
    bench, scores, _ = toy
    bench.write_text("\n".join(bench.read_text().splitlines()[:21]) + "\n")  # 20 of 30 cells
    assert main(evaluate(bench, scores)) == 0
    assert "10 not in the benchmark, left out" in capsys.readouterr().out


def test_benchmark_missing_nearly_all_architectures(
    capsys: pytest.CaptureFixture[str], toy: tuple[Path, Path, list[str]]
) -> None:
    bench, scores, _ = toy
    bench.write_text("\n".join(bench.read_text().splitlines()[:4]) + "\n")  # 3 of 30 cells
    line = fails(capsys, *evaluate(bench, scores))
    assert "Only 2 of the 30 scored architectures have a score and a 'test_acc_cifar10'" in line
    assert "a correlation needs at least 3. Is it the benchmark of the space 'nb201'?" in line


def test_benchmark_that_is_not_text(
    capsys: pytest.CaptureFixture[str], toy: tuple[Path, Path, list[str]]
) -> None:
    bench, scores, _ = toy
    bench.write_bytes(b"PAR1\x00\xff\xfe" * 20)  # e.g. a Parquet file
    line = fails(capsys, *evaluate(bench, scores))
    assert f"{bench} is not a text CSV file (UnicodeDecodeError" in line


def test_score_file_with_a_non_numeric_score(
    capsys: pytest.CaptureFixture[str], toy: tuple[Path, Path, list[str]]
) -> None:
    bench, scores, _ = toy
    rows = scores.read_text().splitlines()
    cells = rows[6].split(",")
    cells[3] = "high"
    scores.write_text("\n".join([*rows[:6], ",".join(cells), *rows[7:]]) + "\n")
    line = fails(capsys, *evaluate(bench, scores))
    assert line.endswith(
        f"{scores}:7: score 'high' is not a number (expected a finite number, -inf for a "
        "singular kernel, or empty for a failed cell)."
    )


# --- 7. store files ---------------------------------------------------------------------------


def test_store_that_is_a_text_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    store = tmp_path / "notes.txt"
    store.write_text("not a database\n" * 20)
    line = fails(capsys, "score", "--arch", A, "--quiet", "--store", str(store))
    assert line == f"naswot: error: {store} is not a naswot store (file is not a database)."
    assert store.read_text() == "not a database\n" * 20


def test_store_that_is_another_apps_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store = tmp_path / "app.sqlite"
    with sqlite3.connect(store) as db:
        db.execute("CREATE TABLE users (id INTEGER, name TEXT)")
    line = fails(capsys, "score", "--arch", A, "--quiet", "--store", str(store))
    assert line == (
        f"naswot: error: {store} is not a naswot store (it is an SQLite database with "
        "application_id 0 and tables ['users'])."
    )
    with sqlite3.connect(store) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert tables == ["users"]


# --- 8. option files and counts ---------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "# only a comment\n\n"], ids=["empty", "comments"])
def test_archs_file_without_architectures(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str
) -> None:
    archs = tmp_path / "archs.txt"
    archs.write_text(text)
    line = fails(capsys, "score", "--archs", str(archs), "--no-store", "--quiet")
    assert line == f"naswot: error: The architecture file {archs} holds no architectures."


def test_archs_file_that_is_a_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = fails(capsys, "score", "--archs", str(tmp_path), "--no-store", "--quiet")
    assert line == f"naswot: error: Cannot read architecture file {tmp_path}: Is a directory."


def test_archs_file_that_is_not_text(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    archs = tmp_path / "archs.bin"
    archs.write_bytes(b"\xff\xfe\x00binary")
    line = fails(capsys, "score", "--archs", str(archs), "--no-store", "--quiet")
    assert line == (
        f"naswot: error: Cannot read architecture file {archs}: it is not UTF-8 text (invalid "
        "start byte at byte 0); expected one architecture string per line."
    )


def test_leaderboard_with_zero_cells(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = usage_error(capsys, "leaderboard", "--benchmark", str(tmp_path), "--n-cells", "0")
    assert line.endswith("argument --n-cells: expected a number >= 1, got 0")


@pytest.mark.parametrize("command", ["score", "search", "leaderboard"])
def test_ensemble_member_that_is_no_proxy(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    # members are added to --proxy, so an unknown member is an unknown proxy
    what = {"score": ["--arch", A], "search": ["--n-samples", "3"], "leaderboard": []}[command]
    bench = ["--benchmark", str(tmp_path / "b.csv")] if command == "leaderboard" else []
    line = fails(capsys, command, *what, *bench, "--proxy", "naswot", "--ensemble",
                 "rank_sum:naswot+zicoo", "--no-store", "--quiet")  # fmt: skip
    assert line.startswith("naswot: error: Unknown proxy 'zicoo'.")
    assert line.endswith("Did you mean 'zico'?")
    line = fails(capsys, command, *what, *bench, "--ensemble", "az_naz", "--no-store", "--quiet")
    assert "Unknown ensemble 'az_naz'" in line and "Did you mean 'az_nas'?" in line
