import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from naswot.cli import main
from naswot.testing.fixtures import write_toy_benchmark

HAS_MPL = importlib.util.find_spec("matplotlib") is not None


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    bench, scores, _ = write_toy_benchmark(tmp_path)
    return bench, scores


def test_evaluate_reports_counts_and_intervals(
    capsys: pytest.CaptureFixture[str], files: tuple[Path, Path]
) -> None:
    bench, scores = files
    code, out, _ = run(
        capsys,
        "evaluate",
        "--scores",
        str(scores),
        "--benchmark",
        str(bench),
        "--n-bootstrap",
        "50",
        "--json",
    )
    assert code == 0
    info = json.loads(out)
    assert info["n"] == 199 and info["n_singular"] == 3 and info["n_failed"] == 1
    assert info["kendall_tau"]["low"] < info["kendall_tau"]["value"] < info["kendall_tau"]["high"]
    assert set(info["top_k_precision"]) == {"1%", "5%", "10%"}
    code, out, _ = run(
        capsys,
        "evaluate",
        "--scores",
        str(scores),
        "--benchmark",
        str(bench),
        "--n-bootstrap",
        "20",
        "--dataset",
        "cifar100",
        "--split",
        "val",
        "--sample",
        "50",
    )
    assert code == 0 and "val_acc_cifar100" in out and "50 used" in out


def test_replay_table_and_json(
    capsys: pytest.CaptureFixture[str], files: tuple[Path, Path]
) -> None:
    bench, scores = files
    code, out, _ = run(
        capsys,
        "replay",
        "--scores",
        str(scores),
        "--benchmark",
        str(bench),
        "--n-samples",
        "10,100",
        "--n-runs",
        "50",
    )
    assert code == 0
    assert "| NASWOT (N=10) |" in out and "| Optimal (N=100) |" in out and "| Random |" in out
    code, out, _ = run(
        capsys,
        "replay",
        "--scores",
        str(scores),
        "--benchmark",
        str(bench),
        "--n-samples",
        "10",
        "--n-runs",
        "20",
        "--json",
    )
    rows = json.loads(out)["rows"]
    assert [r["method"] for r in rows] == ["NASWOT", "Optimal", "Random"]
    assert set(rows[0]) == {"method", "n", "cifar10", "cifar100", "imagenet16_120"}
    assert set(rows[0]["cifar10"]["val"]) == {"mean", "std"}


@pytest.mark.parametrize("strategy", ["rea", "area"])
def test_evolve(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    strategy: str,
    nb201_csv: Path,
    files: tuple[Path, Path],
) -> None:
    _, scores = files
    code, out, _ = run(
        capsys,
        "evolve",
        "--strategy",
        strategy,
        "--benchmark",
        str(nb201_csv),
        "--scores",
        str(scores),
        "--n-runs",
        "3",
        "--budget",
        "30",
        "--json",
    )
    assert code == 0
    row = json.loads(out)["rows"][0]
    assert row["method"] == strategy.upper()
    assert 80 < row["cifar10"]["test"]["mean"] < 95


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["evaluate", "--benchmark", "/nope.csv"], "not found"),
        (["evaluate", "--benchmark", "BENCH", "--dataset", "mnist"], "dataset"),
        (["replay", "--benchmark", "BENCH", "--scores", "/nope.csv"], "not found"),
        (
            ["evaluate", "--benchmark", "BENCH", "--scores", "SCORES", "--sample", "5000"],
            "more than",
        ),
    ],
)
def test_errors(
    capsys: pytest.CaptureFixture[str], files: tuple[Path, Path], argv: list[str], message: str
) -> None:
    bench, scores = files
    argv = [str(bench) if a == "BENCH" else str(scores) if a == "SCORES" else a for a in argv]
    code, _, err = run(capsys, *argv)
    assert code == 1 and message in err


@pytest.mark.skipif(not HAS_MPL, reason="matplotlib is not installed")
@pytest.mark.parametrize("kind", ["score-vs-accuracy", "kernels", "histogram", "replay"])
def test_plots(
    capsys: pytest.CaptureFixture[str], files: tuple[Path, Path], tmp_path: Path, kind: str
) -> None:
    bench, scores = files
    out = tmp_path / f"{kind}.png"
    code, _, _ = run(
        capsys,
        "plot",
        kind,
        "--benchmark",
        str(bench),
        "--scores",
        str(scores),
        "--out",
        str(out),
        "--n-runs",
        "20",
        "--n-samples",
        "10,30",
        "--per-band",
        "1",
    )
    assert code == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_matplotlib_is_a_clear_error(
    capsys: pytest.CaptureFixture[str],
    files: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import builtins

    real = builtins.__import__

    def fake(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", fake)
    monkeypatch.setattr("importlib.import_module", lambda name: fake(name))
    bench, _scores = files
    code, _, err = run(
        capsys, "plot", "replay", "--benchmark", str(bench), "--out", str(tmp_path / "x.png")
    )
    assert code == 1 and "naswot[plot]" in err


def replay_n100(
    capsys: pytest.CaptureFixture[str], benchmark: Path, *options: str
) -> list[dict[str, Any]]:
    """The rows of ``naswot replay --n-samples 100 --n-runs 500 --json`` (and ``options``)."""
    code, out, _ = run(
        capsys, "replay", "--benchmark", str(benchmark), "--n-samples", "100", "--n-runs", "500",
        "--json", *options,
    )  # fmt: skip
    assert code == 0
    rows: list[dict[str, Any]] = json.loads(out)["rows"]
    return rows


def test_replay_of_the_shipped_table_reproduces_the_paper(
    capsys: pytest.CaptureFixture[str], nb201_csv: Path
) -> None:
    """The shipped NB201 scores give the paper's NASWOT N=100 row (92.81 on CIFAR-10 test)."""
    rows = {(r["method"], r["n"]): r for r in replay_n100(capsys, nb201_csv)}
    assert abs(rows[("NASWOT", 100)]["cifar10"]["test"]["mean"] - 92.81) < 0.3
    code, out, _ = run(
        capsys, "evaluate", "--benchmark", str(nb201_csv), "--n-bootstrap", "0", "--json"
    )
    assert code == 0
    info = json.loads(out)
    assert info["n"] == 15625 and 0.55 <= info["kendall_tau"]["value"] <= 0.65


def test_the_shipped_recommended_table_replays_ahead_of_naswot(
    capsys: pytest.CaptureFixture[str], nb201_csv: Path
) -> None:
    """``--scores shipped:recommended``: the ensemble over all 15,625 cells (docs/leaderboard.md)."""
    from naswot.evaluation import shipped_scores_path

    path = shipped_scores_path("recommended")
    meta = json.loads(path.with_name(path.name.replace(".csv.gz", ".csv.meta.json")).read_text())
    assert meta["proxy"].startswith("log_rank") and meta["n_cells"] == 15625
    means = {}
    for name in ("recommended", "naswot"):
        rows = replay_n100(capsys, nb201_csv, "--scores", f"shipped:{name}")
        means[name] = next(r for r in rows if r["n"] == 100 and r["method"] != "Optimal")
    assert (
        means["recommended"]["cifar10"]["test"]["mean"] > means["naswot"]["cifar10"]["test"]["mean"]
    )
    # the members of recommended_search ship too: replay --ensemble recombines them
    rows = replay_n100(
        capsys, nb201_csv, "--scores", "shipped:recommended", "--ensemble", "recommended_search"
    )
    search = next(r for r in rows if r["n"] == 100 and r["method"] == "recommended_search")
    assert search["cifar10"]["test"]["mean"] > means["recommended"]["cifar10"]["test"]["mean"]
    assert search["cifar10"]["test"]["mean"] >= 93.6  # Step 9's goal, docs/leaderboard.md
    rows = replay_n100(capsys, nb201_csv, "--scores", "shipped:recommended", "--proxy", "params")
    assert any(r["method"] == "params/default" for r in rows)
    with pytest.raises(SystemExit) as exit_:
        main(["replay", "--scores", "shipped:nope", "--benchmark", "x"])
    assert exit_.value.code == 2
    assert "the shipped tables are naswot, recommended" in capsys.readouterr().err
