import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from naswot.cli import main
from naswot.fast._native import native_kernels

A = "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
B = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_score_arch_prints_a_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(
        capsys,
        "score",
        "--space",
        "nb201",
        "--arch",
        A,
        "--arch",
        B,
        "--store",
        str(tmp_path / "s.sqlite"),
        "--quiet",
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["arch", "proxy", "score", "status", "seconds"]
    assert lines[1].startswith(A) and " ok " in lines[1]
    assert lines[2].startswith(B) and "-inf" in lines[2] and "singular" in lines[2]
    assert err == ""


def test_score_archs_file_to_csv_with_meta(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    archs = tmp_path / "archs.txt"
    archs.write_text(f"# two cells\n{A}\n\n{B}\n{A}\n")
    out = tmp_path / "scores.csv"
    store = tmp_path / "s.sqlite"
    args = [
        "score",
        "--archs",
        str(archs),
        "--out",
        str(out),
        "--store",
        str(store),
        "--dataset",
        "noise",
        "--batch-size",
        "8",
        "--seed",
        "3",
    ]
    code, _, err = run(capsys, *args)
    assert code == 0
    assert "scored 3 architectures (1 from the store)" in err
    rows = list(csv.DictReader(out.open()))
    assert [r["arch"] for r in rows] == [A, B, A]
    assert {"arch", "proxy", "score", "status", "seconds"} <= set(rows[0])
    assert rows[1]["score"] == "-inf" and rows[1]["status"] == "singular"
    meta = json.loads((tmp_path / "scores.csv.meta.json").read_text())
    assert meta["variant"] == "default" and meta["dataset"] == "noise"
    assert meta["batch_size"] == 8 and meta["seed"] == 3 and meta["batch_fingerprint"]
    # a rerun is served from the store with identical scores
    code, _, err = run(capsys, *args)
    assert "(3 from the store)" in err
    assert [r["score"] for r in csv.DictReader(out.open())] == [r["score"] for r in rows]


def test_score_sample_is_distinct_and_seeded(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    outs = []
    for name in ("a.csv", "b.csv"):
        run(
            capsys,
            "score",
            "--sample",
            "4",
            "--seed",
            "7",
            "--dataset",
            "noise",
            "--batch-size",
            "4",
            "--no-store",
            "--quiet",
            "--out",
            str(tmp_path / name),
        )
        outs.append([r["arch"] for r in csv.DictReader((tmp_path / name).open())])
    assert outs[0] == outs[1] and len(set(outs[0])) == 4


def test_search_prints_the_chosen_architecture(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(
        capsys,
        "search",
        "--n-samples",
        "5",
        "--n-runs",
        "2",
        "--store",
        str(tmp_path / "s.sqlite"),
        "--out",
        str(tmp_path / "r.csv"),
    )
    assert code == 0
    lines = [ln for ln in out.splitlines() if ln.startswith("run ")]
    assert len(lines) == 2 and "score" in lines[0] and "|" in lines[0]
    assert "bundled CIFAR-10" in err
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert [r["seed"] for r in rows] == ["1", "2"]


def test_search_with_benchmark_prints_accuracies(
    capsys: pytest.CaptureFixture[str], nb201_csv: Path
) -> None:
    code, out, _ = run(
        capsys,
        "search",
        "--n-samples",
        "3",
        "--n-runs",
        "2",
        "--no-store",
        "--benchmark",
        str(nb201_csv),
        "--quiet",
    )
    assert code == 0
    assert "test_acc_cifar10" in out and "mean ± std" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["score", "--arch", "|nor_conv_3x3~0|+|oops"], "position"),
        (["score", "--space", "nb210", "--arch", A], "Did you mean 'nb201'"),
        (["score", "--proxy", "naswat", "--arch", A], "Did you mean 'naswot'"),
        (["score", "--variant", "paper", "--arch", A], "official"),
        (["score", "--dataset", "cifar11", "--arch", A], "cifar10"),
        (["score", "--arch", A, "--batch-size", "1"], "batch_size"),
        (["score", "--arch", A, "--batch-size", "64"], "20"),
        (["score", "--arch", A, "--data-dir", "/nonexistent/dir"], "nonexistent"),
        (["score", "--arch", A, "--dataset", "cifar100"], "download"),
        (["score", "--archs", "/nonexistent/archs.txt"], "Cannot read"),
        (["score", "--arch", A, "--device", "cuda:7"], "CUDA"),
        (["search", "--benchmark", "/nonexistent.csv"], "not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    code, _, err = run(capsys, *argv, "--store", str(tmp_path / "s.sqlite"))
    assert code == 1
    lines = [ln for ln in err.splitlines() if ln.startswith("naswot: error:")]
    assert len(lines) == 1 and message in err
    assert "Traceback" not in err


def test_store_that_is_not_a_store(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_text("not sqlite" * 20)
    code, _, err = run(capsys, "score", "--arch", A, "--store", str(bad))
    assert code == 1 and "not a naswot store" in err


def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--debug", "score", "--arch", "|bad", "--no-store")
    assert code == 1 and "Traceback" in err


def test_failed_scores_exit_1_with_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    # zico needs 4 inputs: every zico score fails; the table is still written, and the exit
    # status says so in one line even with --quiet (found by the slow fuzz test)
    code, out, err = run(
        capsys, "score", "--arch", A, "--batch-size", "2", "--no-store", "--quiet",
        "--proxy", "naswot", "--ensemble", "vote:naswot+zico",
    )  # fmt: skip
    assert code == 1
    errors = [ln for ln in err.splitlines() if ln.startswith("naswot: error: ")]
    assert len(errors) == 1 and "zico" in errors[0] and "at least 4 inputs" in errors[0]
    assert "1 of 3 scores failed" in errors[0]
    assert A in out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["score"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["search", "--n-samples", "0"])
    assert info.value.code == 2


@pytest.mark.parametrize(
    "command", [[], ["score"], ["search"], ["data"], ["data", "download"], ["list"]]
)
def test_help_everywhere(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    assert "usage: naswot" in capsys.readouterr().out


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    spaces = run(capsys, "list", "spaces")[1].split()
    assert {"nb201", "nb101", "nats-sss"} <= set(spaces) and spaces == sorted(spaces)
    proxies = run(capsys, "list", "proxies")[1].split()
    assert "naswot" in proxies and "synflow" in proxies and proxies == sorted(proxies)
    assert "naswot official" in run(capsys, "list", "variants")[1]
    assert run(capsys, "list", "datasets")[1].split() == [
        "cifar10",
        "cifar100",
        "imagenet16-120",
        "imagenette",
        "noise",
    ]


def test_installed_entry_point_runs(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("naswot")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "naswot"]
    done = subprocess.run(
        [*cmd, "score", "--arch", A, "--no-store", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert A in done.stdout


def test_engines_agree_and_bf16_is_its_own_variant(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store = str(tmp_path / "s.sqlite")
    scores = {}
    for engine in ("module", "fast"):
        out = tmp_path / f"{engine}.csv"
        code, _, _ = run(
            capsys,
            "score",
            "--sample",
            "5",
            "--engine",
            engine,
            "--store",
            store,
            "--quiet",
            "--out",
            str(out),
            "--dataset",
            "noise",
            "--batch-size",
            "16",
        )
        assert code == 0
        rows = list(csv.DictReader(out.open()))
        scores[engine] = [float(r["score"]) for r in rows]
        # the engine is part of the store key: the fast engine never gets the module's rows
        assert all(r["cached"] == "0" for r in rows)
    # equal to rounding only (the fast engine sums in another order)
    assert scores["module"] == pytest.approx(scores["fast"], abs=1e-3)
    out = tmp_path / "bf16.csv"
    run(
        capsys,
        "score",
        "--sample",
        "5",
        "--precision",
        "bf16",
        "--store",
        store,
        "--quiet",
        "--out",
        str(out),
        "--dataset",
        "noise",
        "--batch-size",
        "16",
    )
    rows = list(csv.DictReader(out.open()))
    assert {r["variant"] for r in rows} == {"default+bf16"}
    assert all(r["cached"] == "0" for r in rows)
    meta = json.loads((tmp_path / "bf16.csv.meta.json").read_text())
    fused = native_kernels().kernels is not None  # the C kernels where they compile here
    assert meta["engine"] == ("fast-bf16-fused" if fused else "fast-bf16")


def test_module_and_fast_engines_match_without_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    got = {}
    for engine in ("module", "fast"):
        out = tmp_path / f"{engine}.csv"
        run(
            capsys,
            "score",
            "--sample",
            "4",
            "--engine",
            engine,
            "--no-store",
            "--quiet",
            "--out",
            str(out),
        )
        got[engine] = [float(r["score"]) for r in csv.DictReader(out.open())]
    assert got["module"] == pytest.approx(got["fast"], abs=1e-3)


def test_precision_needs_the_fast_engine(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "score", "--arch", A, "--engine", "module", "--precision", "bf16", "--no-store"
    )
    assert code == 1 and "fast engine" in err


def test_kernels_need_the_fast_engine(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "score", "--arch", A, "--engine", "module", "--kernels", "eager", "--no-store"
    )
    assert code == 1 and "--kernels eager needs the fast engine" in err


def test_eager_kernels_are_recorded_in_the_engine(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "eager.csv"
    code, _, _ = run(
        capsys,
        "score",
        "--arch",
        A,
        "--kernels",
        "eager",
        "--no-store",
        "--out",
        str(out),
        "--dataset",
        "noise",
        "--batch-size",
        "8",
        "--quiet",
    )
    assert code == 0
    meta = json.loads((tmp_path / "eager.csv.meta.json").read_text())
    assert meta["engine"] == "fast"


def test_workers_give_the_serial_scores(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}.csv"
        code, _, _ = run(
            capsys,
            "score",
            "--sample",
            "6",
            "--workers",
            workers,
            "--threads",
            "1",
            "--store",
            str(tmp_path / f"w{workers}.sqlite"),
            "--quiet",
            "--out",
            str(out),
            "--dataset",
            "noise",
            "--batch-size",
            "8",
        )
        assert code == 0
        outs.append([(r["arch"], r["score"]) for r in csv.DictReader(out.open())])
    assert outs[0] == outs[1]


def test_several_proxies_give_one_row_each(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "multi.csv"
    code, _, _ = run(
        capsys,
        "score",
        "--arch",
        A,
        "--arch",
        B,
        "--proxy",
        "naswot,params",
        "--no-store",
        "--quiet",
        "--out",
        str(out),
        "--dataset",
        "noise",
        "--batch-size",
        "4",
    )
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    assert [(r["arch"], r["proxy"]) for r in rows] == [
        (A, "naswot"),
        (B, "naswot"),
        (A, "params"),
        (B, "params"),
    ]
    assert float(rows[2]["score"]) > float(rows[3]["score"])  # B has no conv: fewer parameters
    code, _, err = run(capsys, "search", "--proxy", "naswot,params", "--no-store")
    assert code == 1 and "one proxy" in err


def test_missing_fused_kernels_are_noted(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from naswot.fast._native import NativeStatus

    def missing() -> NativeStatus:
        return NativeStatus(None, "no C compiler found ($CC, cc or gcc)")

    monkeypatch.setattr("naswot.fast._common.native_kernels", missing)
    monkeypatch.setattr("naswot.cli._common.native_kernels", missing)
    code, _, err = run(
        capsys, "score", "--arch", A, "--no-store", "--dataset", "noise", "--batch-size", "8"
    )
    assert code == 0
    assert "fused kernels not available (no C compiler found" in err


def test_layout_channels_last_scores_module_proxies_under_their_own_engine(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    scores = {}
    for layout in ("nchw", "channels_last"):
        out = tmp_path / f"{layout}.csv"
        code = run(
            capsys,
            "score",
            "--arch",
            A,
            "--proxy",
            "jacob_cov,naswot",
            "--layout",
            layout,
            "--store",
            str(tmp_path / "s.sqlite"),
            "--out",
            str(out),
            "--dataset",
            "noise",
            "--batch-size",
            "8",
            "--quiet",
        )[0]
        assert code == 0
        rows = {r["proxy"]: r for r in csv.DictReader(out.open())}
        assert rows["jacob_cov"]["cached"] == "0"  # not the other layout's row
        assert rows["naswot"]["cached"] == ("0" if layout == "nchw" else "1")  # the fast scorer
        scores[layout] = {p: float(r["score"]) for p, r in rows.items()}
        meta = json.loads((tmp_path / f"{layout}.csv.meta.json").read_text())
        module = "module" if layout == "nchw" else "module-channels_last"
        assert meta["engine"].split(",")[0] == module  # jacob_cov; naswot keeps its fast scorer
    assert scores["nchw"]["jacob_cov"] == pytest.approx(
        scores["channels_last"]["jacob_cov"], rel=1e-4
    )
    assert scores["nchw"]["naswot"] == scores["channels_last"]["naswot"]
    out = tmp_path / "auto.csv"  # the default, auto: channels_last on the CPU, its stored rows
    args = ["--store", str(tmp_path / "s.sqlite"), "--out", str(out), "--dataset", "noise"]
    code = run(capsys, "score", "--arch", A, "--proxy", "jacob_cov", "--batch-size", "8", *args)[0]
    assert code == 0 and next(csv.DictReader(out.open()))["cached"] == "1"
    assert json.loads((tmp_path / "auto.csv.meta.json").read_text())["engine"] == (
        "module-channels_last"
    )
    with pytest.raises(SystemExit) as e:
        run(capsys, "score", "--arch", A, "--layout", "nhwc", "--no-store")
    assert e.value.code == 2 and "invalid choice: 'nhwc'" in capsys.readouterr().err


def test_an_imagenet_space_on_small_images_gets_a_note(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--sample", "1", "--proxy", "params", "--dataset", "noise", "--no-store"]
    code, _, err = run(capsys, "score", "--space", "nds-darts-in", *args)
    assert code == 0 and "nds-darts-in builds ImageNet networks" in err
    assert "32x32 images leave 1x1 maps" in err and "use nds-darts for" in err
    code, _, err = run(capsys, "score", "--space", "nds-darts", *args)
    assert code == 0 and "ImageNet networks" not in err
