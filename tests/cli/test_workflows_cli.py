"""export, train, budgets, Pareto, --json and --all-out; the help of every option."""

import argparse
import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from naswot.cli import main
from naswot.cli.main import build_parser
from naswot.search import pareto_front

A = "|nor_conv_1x1~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_budget_redraws_so_that_no_scored_cell_is_over_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cells = tmp_path / "cells.csv"
    code, out, _ = run(
        capsys, "search", "--n-samples", "10", "--max-params", "0.2", "--no-store", "--quiet",
        "--all-out", str(cells),
    )  # fmt: skip
    assert code == 0, out
    rows = list(csv.DictReader(cells.open()))
    assert rows and all(int(r["params"]) <= 200_000 for r in rows)
    assert {"arch", "score", "status", "params", "flops"} <= set(rows[0])
    m = re.search(r"(\d+) of (\d+) draws admitted and scored, (\d+) rejected", out)
    assert m and int(m.group(1)) == 10 and int(m.group(3)) > 0
    assert "wall time" in out and "--no-store" in out


def test_a_budget_that_admits_nothing_fails_clearly(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "search", "--n-samples", "1", "--max-params", "0.001", "--no-store")
    assert code == 1 and "admitted only 0 of 100 draws" in err and "Traceback" not in err


def test_pareto_out_is_the_front_of_the_scored_cells(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cells, front = tmp_path / "cells.csv", tmp_path / "front.csv"
    code, out, _ = run(
        capsys, "search", "--n-samples", "12", "--pareto", "flops", "--pareto-out", str(front),
        "--all-out", str(cells), "--no-store", "--quiet", "--json",
    )  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert doc["runs"][0]["arch"] and doc["store"] is None and doc["n_scores"] == 12
    rows = [r for r in csv.DictReader(cells.open()) if r["status"] == "ok"]
    want = pareto_front([float(r["score"]) for r in rows], [float(r["flops"]) for r in rows])
    got = list(csv.DictReader(front.open()))
    assert [r["arch"] for r in got] == [rows[i]["arch"] for i in want]
    assert {r["pareto_cost"] for r in got} == {"flops"}
    assert len(doc["pareto"]["front"]) == len(got)
    pytest.importorskip("matplotlib")
    fig = tmp_path / "front.png"
    assert (
        main(["plot", "pareto", "--front", str(front), "--cells", str(cells), "--out", str(fig)])
        == 0
    )
    assert fig.stat().st_size > 1000
    # the same front as a spreadsheet saves it: BOM, CRLF
    saved = tmp_path / "saved.csv"
    saved.write_bytes(
        b"\xef\xbb\xbf" + front.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    )
    fig2 = tmp_path / "saved.png"
    assert main(["plot", "pareto", "--front", str(saved), "--out", str(fig2)]) == 0
    assert fig2.stat().st_size > 1000


def test_search_benchmark_explains_the_choice(
    capsys: pytest.CaptureFixture[str], nb201_csv: Path
) -> None:
    code, out, _ = run(
        capsys, "search", "--n-samples", "5", "--no-store", "--quiet", "--benchmark",
        str(nb201_csv),
    )  # fmt: skip
    assert code == 0
    assert re.search(r"CIFAR-10 test accuracy [\d.]+ %: rank [\d,]+ of 15,625 cells", out)
    assert "optimum 94.37 %" in out and "random choice among the same 5 draws" in out
    assert "n_trials" not in out


def test_pareto_out_needs_pareto(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "search", "--pareto-out", str(tmp_path / "f.csv"), "--no-store")
    assert code == 1 and "--pareto" in err


def test_score_and_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "score", "--arch", A, "--no-store", "--quiet", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["records"][0]["arch"] == A and doc["batch_size"] == 20
    code, out, _ = run(capsys, "list", "proxies", "--json")
    items = json.loads(out)
    assert {"name", "description"} <= set(items[0]) and all(i["description"] for i in items)
    code, out, _ = run(capsys, "list", "spaces")
    assert "nb201" in out.splitlines()


def test_export_scores_naswot_without_a_proxy_option() -> None:
    # export has no --ensemble, so its --proxy default is a proxy, not "the ensemble's members"
    args = build_parser().parse_args(["export", "--arch", A, "--out", "model"])
    assert args.proxy == "naswot"


@pytest.mark.slow  # two torch.export traces and a test-split evaluation: ~20-40 s on 2 cores
def test_export_then_train_from_the_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, shared_data: Path
) -> None:
    data = shared_data / "cifar10-jpeg-yoongikim"
    out = tmp_path / "model"
    code, _, err = run(capsys, "export", "--arch", A, "--out", str(out), "--no-store")
    assert code == 0, err
    card = json.loads((out / "card.json").read_text())
    assert card["score"]["proxy"] == "naswot" and card["training"] is None
    code, stdout, err = run(
        capsys, "train", "--from", str(out), "--data-dir", str(data), "--epochs", "1",
        "--limit", "32", "--batch-size", "16", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    assert "final test accuracy" in stdout and "on 1000 test images" in stdout
    card = json.loads((out / "card.json").read_text())
    assert card["weights"] == "trained" and card["training"]["n_train_images"] == 32
    assert card["training"]["final_test_acc"] >= 0
    program = torch.export.load(str(out / "model.pt2")).module()
    assert program(torch.zeros(1, 3, 32, 32)).shape == (1, 10)
    code, _, err = run(
        capsys, "train", "--from", str(out), "--data-dir", str(data), "--epochs", "1",
        "--limit", "32", "--batch-size", "16", "--quiet", "--lr", "0.5", "--resume",
    )  # fmt: skip
    assert code == 1 and "another recipe" in err


def test_output_paths_are_checked_before_any_work(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("x")
    code, _, err = run(capsys, "search", "--export", str(tmp_path / "file"), "--no-store")
    assert code == 1 and "is a file" in err
    code, _, err = run(capsys, "search", "--all-out", str(tmp_path), "--no-store")
    assert code == 1 and "is a folder" in err


def _actions(parser: argparse.ArgumentParser, path: str) -> list[tuple[str, argparse.Action]]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out += _actions(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction | argparse._VersionAction):
            out.append((path, action))
    return out


def test_every_option_has_help_with_its_real_default() -> None:
    """Every option has a help line; a default it states is the real one (None: decided later)."""
    problems = []
    for path, action in _actions(build_parser(), "naswot"):
        name = action.option_strings[0] if action.option_strings else action.dest
        text = action.help or ""
        if not text.strip():
            problems.append(f"{path} {name}: no help")
            continue
        if "%%" in text or "%(" in text:
            problems.append(f"{path} {name}: a literal %")
        default = action.default
        if default is None or isinstance(default, bool) or not action.option_strings:
            continue
        real = ",".join(map(str, default)) if isinstance(default, list) else str(default)
        shown = re.findall(r"default:?\s+([^\s;,)]+(?:,[0-9]+)*)", text)
        shown += re.findall(r"([\w.-]+):? \(default[,):]", text)
        if real not in [s.rstrip(".") for s in shown]:
            problems.append(f"{path} {name}: default {real!r} not stated (help: {text!r})")
    for path, parser in [("naswot", build_parser())]:
        assert "%%" not in parser.format_help(), path
    assert not problems, "\n".join(problems)


def test_descriptions_print_no_literal_percent() -> None:
    for path, action in _actions(build_parser(), "naswot"):
        del path, action
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        assert "%%" not in p.format_help(), name


def test_a_broken_pipe_is_a_quiet_exit(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import naswot.cli._list as listing

    def broken(args: argparse.Namespace) -> int:
        raise BrokenPipeError

    monkeypatch.setattr(listing, "run", broken)
    code, _, err = run(capsys, "list", "spaces")
    assert code == 141 and err == ""


@pytest.mark.slow  # a fresh interpreter importing torch
def test_a_closed_pipe_exits_quietly() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; from naswot.cli import main; "
         "sys.exit(main(['list', 'variants']))"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # the reader goes away before naswot writes (like `| head -0`)
    err = child.stderr.read().decode()
    child.wait(timeout=120)
    assert "Traceback" not in err and "Broken pipe" not in err
    assert child.returncode in (0, 141)


def test_latency_budget_is_measured_once_and_cached_in_the_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import sqlite3

    store = tmp_path / "s.sqlite"
    argv = [
        "search", "--n-samples", "2", "--max-latency-ms", "10000", "--pareto", "latency",
        "--store", str(store), "--quiet",
    ]  # fmt: skip
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "latency <= 10000 ms" in out and "latency_ms" in out
    with sqlite3.connect(store) as db:
        (n,) = db.execute("SELECT COUNT(*) FROM latency_ms").fetchone()
    assert n >= 1
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "2 of 2 scores from it" in out
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT COUNT(*) FROM latency_ms").fetchone() == (n,)
