"""Every subcommand driven with generated arguments and files (archs files, benchmark and score
CSVs, stores, data folders, custom spaces, output paths). Whatever the input: exit 0, 1 or 2; no
traceback; an error is one ``naswot: error:`` line (plus the pointer of a parse error, or
argparse's usage for exit 2); a store that was given still passes ``integrity_check`` and holds
no fewer rows than before. The default run tries 100 examples (< 1 min); ``-m slow`` tries 600.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from naswot.cli import main

A = "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
B = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
C = "|skip_connect~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|nor_conv_3x3~0|none~1|nor_conv_1x1~2|"
D = "|avg_pool_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|nor_conv_1x1~0|nor_conv_3x3~1|none~2|"
ARCHS = [A, B, C, D]
LONG = "|" + "x" * 400

SPACES = {
    "same_space.py": """
import torch

class Same:
    name = "same"
    def sample(self, rng):
        return "a"
    def build(self, key, *, n_classes):
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3072, 8), torch.nn.ReLU())

space = Same()
""",
    "boom_space.py": "raise RuntimeError('boom at import')\n",
    "missing_space.py": "import not_a_package_xyz\n",
}

# --- files --------------------------------------------------------------------------------------

CELL = st.sampled_from(["91.5", "93%", "0.9", "nan", "1e400", "-3", "abc", "", " 88 ", "inf", "7"])
SCORE = st.sampled_from(["1.5", "-inf", "", "nan", "inf", "high", " 2 ", "3e5", "-1"])
ARCH = st.sampled_from([*ARCHS, f" {A} ", "garbage", LONG, "", "nb101:010/001/000:in,c3,out"])
ACC = ["test_acc_cifar10", "val_acc_cifar10_valid", "val_acc_12ep_cifar10_valid"]


def encoded(text: str, bom: bool, crlf: bool) -> bytes:
    if crlf:
        text = text.replace("\n", "\r\n")
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


@st.composite
def text_file(draw: st.DrawFn, header: list[str], row: Callable[[], list[str]]) -> bytes:
    kind = draw(st.sampled_from(["csv", "csv", "csv", "binary", "empty"]))
    if kind == "binary":
        return b"\xff\xfe\x00PAR1" + bytes(draw(st.lists(st.integers(0, 255), max_size=20)))
    if kind == "empty":
        return b""
    lines = [",".join(header)] + [",".join(row()) for _ in range(draw(st.integers(0, 6)))]
    return encoded("\n".join(lines) + "\n", draw(st.booleans()), draw(st.booleans()))


def clean(
    header: list[str], rows: list[list[str]], draw: st.DrawFn, cell: str, first: int
) -> bytes:
    """A well-formed table of the four cells; at most one cell from column ``first`` on is
    replaced by ``cell``."""
    if draw(st.booleans()):
        rows[draw(st.integers(0, len(rows) - 1))][draw(st.integers(first, len(header) - 1))] = cell
    text = "\n".join(",".join(r) for r in [header, *rows]) + "\n"
    return encoded(text, draw(st.booleans()), draw(st.booleans()))


@st.composite
def bench_file(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        rows = [[k, str(i), *(f"{80 + i + j:.1f}" for j in range(3))] for i, k in enumerate(ARCHS)]
        return clean(["arch_str", "index", *ACC], rows, draw, draw(CELL), 1)
    columns = draw(st.lists(st.sampled_from(["arch_str", "index", *ACC, "junk"]), max_size=5))
    if draw(st.booleans()):
        columns = ["arch_str", "index", *ACC]

    def row() -> list[str]:
        cells = {
            "arch_str": draw(ARCH),
            "index": draw(st.sampled_from(["1", "nan", "1e400", "-2"])),
        }
        return [cells.get(c) or draw(CELL) for c in columns]

    return draw(text_file(columns, row))


@st.composite
def scores_file(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        rows = [[k, "naswot", "default", f"{10.0 * i - 5}", "ok"] for i, k in enumerate(ARCHS)]
        return clean(["arch", "proxy", "variant", "score", "status"], rows, draw, draw(SCORE), 3)
    columns = ["arch", "proxy", "variant", "score", "status"]
    if draw(st.booleans()):
        columns = draw(st.lists(st.sampled_from([*columns, "error"]), max_size=5))

    def row() -> list[str]:
        cells = {
            "arch": draw(ARCH),
            "proxy": draw(st.sampled_from(["naswot", "zico", ""])),
            "variant": "default",
            "score": draw(SCORE),
            "status": draw(st.sampled_from(["ok", "singular", "error", ""])),
        }
        return [cells.get(c, "x") for c in columns]

    return draw(text_file(columns, row))


@st.composite
def archs_file(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return b"\xff\xfe\x00\x01"
    lines = draw(st.lists(st.one_of(ARCH, st.just("# comment")), max_size=4))
    return encoded("\n".join(lines), draw(st.booleans()), draw(st.booleans()))


# --- arguments ----------------------------------------------------------------------------------

OUTS = ["fresh", "fresh", "store", "store-wal", "input", "missing-folder", "folder"]
NUM = st.sampled_from(["1", "2", "3", "2", "3", "0", "-1", str(2**70), "x"])
SMALL = st.sampled_from(["1", "2", "3"] * 3 + ["0", "x"])


def optional(draw: st.DrawFn, flag: str, values: st.SearchStrategy[str]) -> list[str]:
    return [flag, draw(values)] if draw(st.integers(0, 3)) == 0 else []


@st.composite
def scoring_options(draw: st.DrawFn) -> list[str]:
    space = ["nb201", "nb201", "nb201", "same_space:space", "boom_space:space"]
    space += ["missing_space:space", "nb20", "y" * 300]
    return [
        "--batch-size",
        draw(st.sampled_from(["2", "3", "4", "4", "4", "0", "1", "21", "x"])),
        *optional(draw, "--space", st.sampled_from(space)),
        *optional(draw, "--seed", st.sampled_from(["0", "1", "-1", str(2**64), "x"])),
        *optional(draw, "--dataset", st.sampled_from(["cifar10", "noise", "cifar-10"])),
        *optional(draw, "--device", st.sampled_from(["cpu", "cuda", "tpu"])),
        *optional(draw, "--workers", st.sampled_from(["1", "0", "x"])),
        *optional(draw, "--engine", st.sampled_from(["auto", "module", "fast", "fsat"])),
        "--quiet",
    ]


@st.composite
def invocation(draw: st.DrawFn) -> dict[str, Any]:
    """A command line with placeholders (@store, @out, @bench, ...) and the files to create."""
    command = draw(
        st.sampled_from(["score"] * 4 + ["search"] * 2 + ["evaluate", "replay", "evolve"] * 2
                        + ["leaderboard", "plot", "bench", "data"])
    )  # fmt: skip
    files = {
        "@bench": draw(bench_file()),
        "@scores": draw(scores_file()),
        "@archs": draw(archs_file()),
    }
    store = draw(st.sampled_from(["valid"] * 3 + ["none", "garbage", "empty", "missing"]))
    store_args = ["--no-store"] if store == "none" else ["--store", "@store"]
    out = draw(st.sampled_from(OUTS))
    out_args = ["--out", f"@out:{out}"] if draw(st.integers(0, 2)) == 0 else []
    proxy = st.sampled_from(["naswot", "params", "nasowt", "naswot,params", "naswot:official"])
    if command == "score":
        which = draw(st.sampled_from(["arch", "archs", "sample"]))
        select = {
            "arch": ["--arch", draw(ARCH)] if draw(st.booleans()) else ["--arch", A, "--arch", B],
            "archs": ["--archs", "@archs"],
            "sample": ["--sample", draw(NUM)],
        }[which]
        argv = ["score", *select, *draw(scoring_options()), *store_args, *out_args]
        if draw(st.integers(0, 3)) == 0:
            argv += ["--proxy", "naswot,params", "--ensemble"]
            argv += [draw(st.sampled_from(["rank_sum:naswot+params", "x:y", "vote:naswot+zico"]))]
        else:
            argv += optional(draw, "--proxy", proxy)
    elif command == "search":
        argv = ["search", "--n-samples", draw(NUM), *draw(scoring_options()), *store_args]
        argv += [*out_args, *optional(draw, "--n-runs", SMALL)]
        argv += optional(draw, "--benchmark", st.just("@bench"))
    elif command == "evaluate":
        argv = ["evaluate", "--scores", "@scores", "--benchmark", "@bench"]
        argv += optional(draw, "--n-bootstrap", st.sampled_from(["0", "10", "-1", str(2**70)]))
        argv += optional(draw, "--sample", NUM)
        argv += optional(draw, "--column", st.sampled_from([*ACC, "junk"]))
        argv += optional(draw, "--seed", st.sampled_from(["0", "-1"]))
        argv += ["--json"] if draw(st.booleans()) else []
    elif command == "replay":
        argv = ["replay", "--scores", "@scores", "--benchmark", "@bench", "--n-runs", draw(SMALL)]
        argv += optional(draw, "--n-samples", st.sampled_from(["1,2", "0", "x", str(2**70)]))
    elif command == "evolve":
        argv = ["evolve", "--benchmark", "@bench", "--scores", "@scores", "--n-runs", draw(SMALL)]
        argv += ["--budget", draw(SMALL), "--population", draw(SMALL), "--n-scored", draw(SMALL)]
        argv += optional(draw, "--strategy", st.sampled_from(["rea", "area", "reaa"]))
        argv += optional(draw, "--budget-seconds", st.sampled_from(["nan", "inf", "-1", "10"]))
        argv += optional(draw, "--time-column", st.sampled_from(ACC))
    elif command == "leaderboard":
        argv = ["leaderboard", "--benchmark", "@bench", "--n-cells", draw(SMALL), *store_args]
        argv += ["--proxy", draw(proxy), "--n-runs", "2", "--n-search", "2", "--n-bootstrap", "5"]
        argv += ["--batch-size", "4", "--quiet", *out_args]
    elif command == "plot":
        kind = draw(st.sampled_from(["score-vs-accuracy", "replay", "kernels", "histogram"]))
        png = draw(st.sampled_from(["@out:fresh.png", "@out:fresh.txt", "@out:folder", "@bench"]))
        argv = ["plot", kind, "--out", png, "--benchmark", "@bench", "--scores", "@scores"]
        argv += ["--n-runs", "2", "--n-samples", "1,2", "--per-band", "1", "--batch-size", "4"]
    elif command == "bench":
        fmt = draw(st.sampled_from(["nb201", "nats-tss", "nb101"]))
        dst = draw(st.sampled_from(["@out:fresh", "@bench", "@out:folder", "@out:missing-folder"]))
        argv = ["bench", "convert", fmt, draw(st.sampled_from(["@bench", "@missing"])), dst]
        argv += ["--quiet"]
    else:
        data_dir = draw(st.sampled_from(["@bench", "@missing", "@out:folder"]))
        argv = ["data", "download", "cifar10", "--data-dir", data_dir, "--quiet"]
        argv += ["--url", "file:///nonexistent/cifar.tar.gz", "--md5", "0" * 32]
    return {"argv": argv, "files": files, "store": store, "command": command}


# --- running ------------------------------------------------------------------------------------


def count_rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return sum(db.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables)


@pytest.fixture(scope="module")
def valid_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "s.sqlite"
    assert main(["score", "--arch", A, "--arch", B, "--store", str(path), "--batch-size", "4",
                 "--quiet"]) == 0  # fmt: skip
    return path


def materialise(case: dict[str, Any], root: Path, valid_store: Path) -> tuple[list[str], Path]:
    store = root / "s.sqlite"
    if case["store"] == "valid":
        shutil.copy(valid_store, store)
    elif case["store"] == "garbage":
        store.write_bytes(b"not a database at all" * 10)
    elif case["store"] == "empty":
        store.write_bytes(b"")
    paths = {"@store": store, "@missing": root / "missing.file"}
    for name, content in case["files"].items():
        paths[name] = root / f"{name[1:]}.csv"
        paths[name].write_bytes(content)
    (root / "folder").mkdir()
    outs = {
        "fresh": root / "out.csv",
        "fresh.png": root / "out.png",
        "fresh.txt": root / "out.txt",
        "store": store,
        "store-wal": store.with_name(store.name + "-wal"),
        "input": paths["@bench"],
        "missing-folder": root / "nope" / "x.csv",
        "folder": root / "folder",
    }
    argv = []
    for a in case["argv"]:
        if a.startswith("@out:"):
            a = str(outs[a[5:]])
        elif a in paths:
            a = str(paths[a])
        argv.append(a)
    return argv, store


def check(case: dict[str, Any], valid_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        argv, store = materialise(case, root, valid_store)
        before = count_rows(store) if case["store"] == "valid" else None
        capsys.readouterr()
        try:
            code = main(argv)
        except SystemExit as e:  # argparse
            code = int(e.code or 0)
        err = capsys.readouterr().err
        event(f"{case['command']} exit {code}")
        assert code in (0, 1, 2), (argv, code, err)
        assert "Traceback" not in err, (argv, err)
        lines = [ln for ln in err.splitlines() if not ln.startswith("naswot: WARNING")]
        if code == 1:
            errors = [i for i, ln in enumerate(lines) if ln.startswith("naswot: error: ")]
            assert len(errors) == 1, (argv, err)
            # the error line, plus the string and the pointer of an architecture parse error
            assert len(lines) - errors[0] in (1, 3), (argv, err)
            assert len(lines[errors[0]]) < 1000, (argv, err[:400])
        if code == 2:
            assert lines and "error: " in lines[-1] and lines[0].startswith("usage:"), (argv, err)
        if before is not None:
            assert count_rows(store) >= before, (argv, err)


COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@pytest.fixture(autouse=True)
def spaces_and_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # custom spaces importable from the working directory; no user data
    for name, body in SPACES.items():
        (tmp_path / name).write_text(body)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NASWOT_DATA_DIR", str(tmp_path / "no-default-data"))


@settings(max_examples=100, **COMMON)
@given(invocation())
def test_every_command_with_generated_input(
    valid_store: Path, capsys: pytest.CaptureFixture[str], case: dict[str, Any]
) -> None:
    check(case, valid_store, capsys)


@pytest.mark.slow
@settings(max_examples=600, **COMMON)
@given(invocation())
def test_every_command_with_generated_input_long(
    valid_store: Path, capsys: pytest.CaptureFixture[str], case: dict[str, Any]
) -> None:
    check(case, valid_store, capsys)
