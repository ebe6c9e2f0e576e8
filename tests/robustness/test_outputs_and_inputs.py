"""Step 7 regressions on the CLI and input side: outputs checked before work and written
atomically, samplers that cannot yield enough distinct cells, inputs that gave tracebacks, text
files as spreadsheets write them, and library calls with bad models. docs/robustness.md,
"Step 7 inventory: CLI and inputs", lists these tests."""

import os
import sqlite3
from pathlib import Path

import pytest
import torch

import naswot
from naswot._io import quote
from naswot.benchmarks import load_table
from naswot.cli import main
from naswot.evaluation import load_scores
from naswot.exceptions import InvalidParameterError, NaswotError
from naswot.proxies import PROXIES
from naswot.spaces import NasBench201Space
from naswot.testing.fixtures import write_toy_benchmark

A = "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
B = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
QUICK = ["--batch-size", "4", "--quiet"]

SAME_SPACE = """
import torch

class Same:
    name = "same"
    def sample(self, rng):
        return "a"
    def build(self, key, *, n_classes):
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3072, 8), torch.nn.ReLU())

space = Same()
"""


@pytest.fixture(autouse=True)
def no_default_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NASWOT_DATA_DIR", str(tmp_path / "no-default-data"))
    monkeypatch.chdir(tmp_path)


def fails(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("naswot: error: "), err
    return lines[0]


def store_rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return sum(
            db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        )


# --- 1. an output that names the store or an input --------------------------------------------


@pytest.mark.parametrize("alias", ["same", "relative", "symlink", "hardlink", "wal", "shm"])
def test_out_that_names_the_store_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, alias: str
) -> None:
    store = tmp_path / "s.sqlite"
    assert main(["score", "--arch", A, "--store", str(store), *QUICK]) == 0
    before = store_rows(store)
    out = {
        "same": store,
        "relative": Path("sub/../s.sqlite"),
        "symlink": tmp_path / "link.sqlite",
        "hardlink": tmp_path / "hard.sqlite",
        "wal": tmp_path / "s.sqlite-wal",
        "shm": tmp_path / "s.sqlite-shm",
    }[alias]
    (tmp_path / "sub").mkdir()
    if alias == "symlink":
        out.symlink_to(store)
    if alias == "hardlink":
        os.link(store, out)
    line = fails(capsys, "score", "--arch", A, "--store", str(store), "--out", str(out), *QUICK)
    assert "result store" in line and "destroy" in line
    assert store_rows(store) == before
    assert main(["score", "--arch", A, "--store", str(store), *QUICK]) == 0


def test_out_that_names_an_input_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    archs = tmp_path / "archs.txt"
    archs.write_text(A + "\n")
    line = fails(capsys, "score", "--archs", str(archs), "--no-store", "--out", str(archs), *QUICK)
    assert "is also an input" in line
    assert archs.read_text() == A + "\n"
    bench, _, _ = write_toy_benchmark(tmp_path, n=10)
    line = fails(
        capsys, "search", "--n-samples", "2", "--no-store", "--benchmark", str(bench),
        "--out", str(bench), *QUICK,
    )  # fmt: skip
    assert "is also an input" in line


# --- 2. samplers that cannot yield enough distinct architectures -------------------------------


def test_sampler_with_too_few_distinct_architectures_stops(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "same_space.py").write_text(SAME_SPACE)
    line = fails(capsys, "score", "--space", "same_space:space", "--sample", "2", "--no-store")
    assert "found 1 distinct architecture in" in line and "draws" in line


def test_leaderboard_with_too_few_distinct_architectures_stops(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "same_space.py").write_text(SAME_SPACE)
    bench, _, _ = write_toy_benchmark(tmp_path, n=10)
    line = fails(
        capsys, "leaderboard", "--space", "same_space:space", "--n-cells", "3",
        "--benchmark", str(bench), "--no-store", "--proxy", "params", "--quiet",
    )  # fmt: skip
    assert "found 1 distinct architecture in" in line


# --- 3. output paths checked before the work, written atomically ------------------------------


def bad_outputs(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "a-folder"
    folder.mkdir(exist_ok=True)
    locked = tmp_path / "locked.csv"
    locked.write_text("keep\n")
    locked.chmod(0o444)
    return {"missing-folder": tmp_path / "nope" / "x.csv", "folder": folder, "locked": locked}


@pytest.mark.parametrize("kind", ["missing-folder", "folder", "locked"])
@pytest.mark.parametrize("command", ["score", "search", "leaderboard", "plot"])
def test_bad_out_is_refused_before_scoring(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    command: str,
) -> None:
    if kind == "locked" and os.geteuid() == 0:
        pytest.skip("root writes read-only files")
    out = bad_outputs(tmp_path)[kind]
    if command == "plot":
        out = out.with_suffix(".png") if kind != "folder" else out
        if kind == "locked":
            out.write_text("keep\n")
            out.chmod(0o444)
    bench, scores, _ = write_toy_benchmark(tmp_path, n=10)

    def no_scoring(*args: object, **kwargs: object) -> None:
        raise AssertionError("scored before checking --out")

    monkeypatch.setattr("naswot.cli._common.score_pool", no_scoring)
    monkeypatch.setattr("naswot.cli._plot.load_scores", no_scoring)
    argv = {
        "score": ["score", "--arch", A, "--no-store", *QUICK],
        "search": ["search", "--n-samples", "2", "--no-store", *QUICK],
        "leaderboard": [
            "leaderboard", "--benchmark", str(bench), "--n-cells", "3", "--no-store",
            "--proxy", "params", "--quiet",
        ],
        "plot": ["plot", "replay", "--benchmark", str(bench), "--scores", str(scores)],
    }[command]  # fmt: skip
    line = fails(capsys, *argv, "--out", str(out))
    assert "--out" in line
    if kind == "locked":
        assert out.read_text() == "keep\n"


def test_bench_convert_refuses_a_destination_that_is_a_folder_or_the_source(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    src = tmp_path / "official.pth"
    src.write_bytes(b"not a real file")
    line = fails(capsys, "bench", "convert", "nb201", str(src), str(src))
    assert "is also an input" in line
    line = fails(capsys, "bench", "convert", "nb201", str(src), str(tmp_path))
    assert "is a folder" in line


def test_outputs_are_written_atomically(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "scores.csv"
    out.write_text("previous\n")

    def broken(*args: object, **kwargs: object) -> None:
        raise NaswotError("disk full (simulated)")

    monkeypatch.setattr("naswot.cli._score.write_csv", broken)
    fails(capsys, "score", "--arch", A, "--no-store", "--out", str(out), *QUICK)
    assert out.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".scores")] == []


# --- 7. inputs that gave tracebacks ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("raise RuntimeError('boom at import')", "RuntimeError: boom at import"),
        ("import not_a_package_xyz", "not_a_package_xyz"),
        ("def f(:\n", "SyntaxError"),
    ],
)
def test_custom_space_module_that_fails_to_import(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, body: str, expected: str
) -> None:
    (tmp_path / "bad_space.py").write_text(body + "\n")
    line = fails(capsys, "score", "--space", "bad_space:space", "--sample", "2", "--no-store")
    assert "bad_space" in line and expected in line


def test_negative_seed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["score", "--sample", "2", "--seed", "-1", "--no-store"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "--seed" in err and ">= 0" in err


@pytest.mark.parametrize("index", ["nan", "1e400", "-3", "2.5", "inf"])
def test_benchmark_with_a_bad_index(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, index: str
) -> None:
    bench = tmp_path / "b.csv"
    bench.write_text(f"arch_str,index,test_acc_cifar10\n{A},{index},90\n")
    line = fails(capsys, "search", "--n-samples", "2", "--no-store", "--benchmark", str(bench))
    assert "'index'" in line and "whole number" in line


@pytest.mark.parametrize("option", [["search", "--n-samples"], ["score", "--sample"]])
def test_unbounded_sample_counts_are_refused(
    capsys: pytest.CaptureFixture[str], option: list[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main([*option, str(2**70), "--no-store", "--quiet"])
    code, err = info.value.code, capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "at most 1,000,000" in err


# --- classes: text files as editors write them ---------------------------------------------------


def spreadsheet(text: str) -> bytes:
    """A BOM, CRLF line ends and padding around every cell."""
    lines = [",".join(f" {c} " for c in line.split(",")) for line in text.splitlines()]
    return b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n"


def test_benchmark_and_score_files_from_a_spreadsheet(tmp_path: Path) -> None:
    space = NasBench201Space()
    bench = tmp_path / "bench.csv"
    bench.write_bytes(spreadsheet(f"arch_str,index,test_acc_cifar10\n{A},3,91.5\n{B},4,93%"))
    table = load_table(bench, space)
    assert table.rows[space.key(space.parse(A))] == {"test_acc_cifar10": 91.5}
    assert table.rows[space.key(space.parse(B))] == {"test_acc_cifar10": 93.0}
    assert table.index[space.key(space.parse(A))] == 3
    scores = tmp_path / "scores.csv"
    scores.write_bytes(spreadsheet(f"arch,score,status\n{A},1.5,ok\n{B},-inf,singular"))
    loaded = load_scores(scores, space)
    assert loaded.scores[space.key(space.parse(A))] == 1.5


def test_archs_file_from_an_editor(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    archs = tmp_path / "archs.txt"
    archs.write_bytes(b"\xef\xbb\xbf  " + A.encode() + b"  \r\n\r\n# note\r\n" + B.encode())
    out = tmp_path / "o.csv"
    assert main(["score", "--archs", str(archs), "--no-store", "--out", str(out), *QUICK]) == 0
    assert len(out.read_text().splitlines()) == 3


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["91.5%", "0.93"], "mixes percentages"),
        (["91.5", "-3"], "negative"),
        (["91.5", "130"], "above 100"),
    ],
)
def test_ambiguous_accuracies_are_refused(tmp_path: Path, values: list[str], message: str) -> None:
    bench = tmp_path / "bench.csv"
    bench.write_text(f"arch_str,test_acc_cifar10\n{A},{values[0]}\n{B},{values[1]}\n")
    with pytest.raises(NaswotError, match=message):
        load_table(bench, NasBench201Space())


# --- classes: error messages quote at most ~200 characters of the input --------------------------


def test_quote_shortens() -> None:
    assert quote("abc") == "'abc'"
    assert len(quote("x" * 10_000)) < 240


@pytest.mark.parametrize(
    "argv",
    [
        ["score", "--arch", "|" + "x" * 5000, "--no-store"],
        ["score", "--space", "y" * 5000, "--sample", "2", "--no-store"],
        ["score", "--proxy", "z" * 5000, "--arch", A, "--no-store"],
        ["score", "--arch", A, "--dataset", "d" * 5000, "--no-store"],
    ],
)
def test_long_input_is_quoted_short(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert max(len(line) for line in err.splitlines()) < 800, err[:300]


def test_long_benchmark_value_is_quoted_short(tmp_path: Path) -> None:
    bench = tmp_path / "bench.csv"
    bench.write_text(f"arch_str,test_acc_cifar10\n{A},{'q' * 5000}\n")
    with pytest.raises(NaswotError) as info:
        load_table(bench, NasBench201Space())
    assert len(str(info.value)) < 600


# --- classes: the library with bad models ----------------------------------------------------------


@pytest.mark.parametrize("model", [None, "a string", lambda x: x, torch.zeros(3)])
def test_score_of_something_that_is_not_a_module(model: object) -> None:
    with pytest.raises(InvalidParameterError, match=r"nn\.Module"):
        naswot.score(model, torch.randn(4, 3, 8, 8))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(PROXIES))
def test_proxies_refuse_something_that_is_not_a_module(name: str) -> None:
    from naswot.data import Batch

    proxy = PROXIES.get(name)()
    batch = Batch(inputs=torch.randn(4, 3, 8, 8), targets=torch.tensor([0, 1, 0, 1]))
    with pytest.raises(InvalidParameterError, match=r"nn\.Module"):
        proxy("not a model", batch)  # type: ignore[arg-type]


def nan_net() -> torch.nn.Module:
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(144, 2)
    )
    with torch.no_grad():
        net[0].weight[0, 0, 0, 0] = float("nan")
    return net


def test_nan_weights_are_an_error_not_a_number() -> None:
    result = naswot.score(nan_net(), torch.randn(4, 3, 8, 8), on_error="record")
    assert result.status.value == "error" and result.score is None
    assert "NaN or infinite" in (result.error or "") and "0.weight" in (result.error or "")


@pytest.mark.parametrize("name", sorted(PROXIES))
def test_every_proxy_names_nan_weights(name: str) -> None:
    from naswot.data import Batch
    from naswot.exceptions import ScoringError

    proxy = PROXIES.get(name)()
    batch = Batch(inputs=torch.randn(4, 3, 8, 8), targets=torch.tensor([0, 1, 0, 1]))
    with pytest.raises(ScoringError, match="NaN or infinite"):
        proxy(nan_net(), batch)


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf\r\n  \r\n"])
def test_empty_tables_say_so(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    with pytest.raises(NaswotError, match="is empty"):
        load_table(path, NasBench201Space())
    with pytest.raises(NaswotError, match="is empty"):
        load_scores(path, NasBench201Space())
