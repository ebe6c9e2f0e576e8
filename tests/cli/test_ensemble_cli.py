"""Ensembles in score, evaluate and search, and the leaderboard command."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from naswot.cli import main
from naswot.cli._common import distinct_samples
from naswot.evaluation.targets import DATASET_COLUMNS
from naswot.spaces import NasBench201Space

CHEAP = "naswot,flops,synflow,naswot:official"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_benchmark(path: Path, keys: list[str]) -> Path:
    rng = np.random.default_rng(0)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["arch_str", *DATASET_COLUMNS.values()])
        for k in keys:
            w.writerow([k, *rng.uniform(10, 95, len(DATASET_COLUMNS)).round(3)])
    return path


def test_score_writes_ensemble_rows_that_evaluate_reads(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "s.csv"
    code, _, _ = run(
        capsys, "score", "--sample", "6", "--proxy", CHEAP, "--ensemble",
        "log_rank:naswot+flops", "--ensemble", "vote:naswot+synflow+flops",
        "--no-store", "--quiet", "--out", str(out),
    )  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 6 * 6
    vote = [r for r in rows if r["proxy"] == "vote"]
    assert {r["variant"] for r in vote} == {"naswot+synflow+flops"}
    # 6 architectures: the pairwise wins add up to 6 * 5 / 2
    assert sum(float(r["score"]) for r in vote) == pytest.approx(15.0)
    official = [r for r in rows if r["proxy"] == "naswot" and r["variant"] == "official"]
    assert len(official) == 6
    bench = write_benchmark(tmp_path / "b.csv", [r["arch"] for r in rows[:6]])
    base = ["evaluate", "--scores", str(out), "--benchmark", str(bench), "--n-bootstrap", "0"]
    code, _, err = run(capsys, *base)
    assert code == 1 and "mixes several proxies" in err and "log_rank:naswot+flops" in err
    results: dict[tuple[str, ...], dict[str, object]] = {}
    for extra in (
        ["--proxy", "log_rank:naswot+flops"],
        ["--ensemble", "log_rank:naswot+flops"],
        ["--proxy", "naswot:official"],
        ["--proxy", "flops"],
    ):
        code, text, err = run(capsys, *base, *extra, "--json")
        assert code == 0, err
        results[tuple(extra)] = json.loads(text)
    # the ensemble made by score equals the one evaluate makes from the members' rows
    made_by_score = results[("--proxy", "log_rank:naswot+flops")]
    made_by_evaluate = results[("--ensemble", "log_rank:naswot+flops")]
    assert made_by_score["kendall_tau"] == made_by_evaluate["kendall_tau"]
    assert made_by_score["n"] == 6
    code, _, err = run(capsys, *base, "--proxy", "zico")
    assert code == 1 and "no rows of proxy 'zico'" in err
    assert made_by_score["ndcg"]["k"] == 6 and 0 < made_by_score["ndcg"]["value"] <= 1
    code, text, _ = run(capsys, *base, "--proxy", "flops")
    assert code == 0 and "nDCG@6" in text and "top 10% precision" in text
    # a named ensemble whose members the file lacks says which
    code, _, err = run(capsys, *base, "--ensemble", "az_nas")
    assert code == 1 and "az_expressivity, az_progressivity, az_trainability, az_complexity" in err
    assert "lacks" in err
    # replay reads the same rows the same way (one option set, rows_table)
    replay = ["replay", "--scores", str(out), "--benchmark", str(bench), "--n-runs", "20"]
    code, _, err = run(capsys, *replay, "--ensemble", "az_nas")
    assert code == 1 and "lacks" in err
    code, _, err = run(capsys, *replay, "--proxy", "flops", "--ensemble", "az_nas")
    assert code == 1 and "exclude each other" in err
    code, text, _ = run(capsys, *replay, "--n-samples", "3", "--ensemble", "log_rank:naswot+flops")
    assert code == 0 and "log_rank:naswot+flops (N=3)" in text


def test_score_ensemble_adds_its_members_to_the_proxies(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(
        capsys, "score", "--sample", "2", "--proxy", "naswot", "--ensemble",
        "rank_sum:naswot+flops", "--no-store", "--dataset", "noise", "--batch-size", "8",
        "--quiet",
    )  # fmt: skip
    assert code == 0
    rows = out.strip().splitlines()[1:]
    assert len(rows) == 2 * 3  # naswot, flops (added), the ensemble
    assert sum(" flops " in r for r in rows) == 2
    code, _, err = run(capsys, "score", "--sample", "2", "--proxy", "naswot,naswot:default")
    assert code == 1 and "more than once" in err
    code, _, err = run(capsys, "score", "--sample", "2", "--proxy", "naswot:nope", "--no-store")
    assert code == 1 and "Unknown variant 'nope'" in err


def test_search_with_an_ensemble(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "search", "--n-samples", "5", "--proxy", "naswot,flops", "--ensemble",
        "log_rank:naswot+flops", "--no-store", "--quiet",
    )  # fmt: skip
    assert code == 0 and out.startswith("best: |")
    # log-rank of the best-ranked architecture by both members is 0
    assert "score" in out
    code, _, err = run(
        capsys, "search", "--n-samples", "5", "--proxy", "naswot,flops,synflow", "--ensemble",
        "log_rank:naswot+flops", "--no-store",
    )  # fmt: skip
    assert code == 1 and "does not use" in err


def test_leaderboard_resumes_through_the_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    keys = distinct_samples(NasBench201Space(), 6, 1)
    bench = write_benchmark(tmp_path / "b.csv", keys)
    store, out = tmp_path / "s.sqlite", tmp_path / "lb.md"
    argv = [
        "leaderboard", "--benchmark", str(bench), "--n-cells", "6", "--proxy",
        "naswot,params,flops,synflow", "--batch-size", "8", "--store", str(store),
        "--n-bootstrap", "20", "--n-runs", "20", "--n-search", "3", "--quiet",
    ]  # fmt: skip
    code, first, _ = run(capsys, *argv, "--ensemble", "rank_sum:naswot+flops", "--out", str(out))
    assert code == 0
    assert "`rank_sum:naswot+flops`" in first and "`synflow`" in first
    meta = json.loads((tmp_path / "lb.md.meta.json").read_text())
    assert meta["n_cells"] == 6 and meta["proxies"] == ["naswot", "params", "flops", "synflow"]
    assert {r["label"] for r in meta["rows"]} >= {"naswot", "rank_sum:naswot+flops"}
    assert out.read_text() == first
    # the second run scores nothing: every row comes from the store, same table
    code, second, _ = run(capsys, *argv, "--ensemble", "rank_sum:naswot+flops")
    assert code == 0 and second == first
    assert "nDCG@6 C10" in first and "P@10% C10" in first
    assert all(0 <= r["ndcg"]["cifar10"] <= 1 and r["ndcg_k"] == 6 for r in meta["rows"])
    code, third, _ = run(capsys, *argv, "--baseline", "naswot", "--failed", "omit")
    assert code == 0 and "Δρ C10" in third and "`naswot` |" in third
    code, _, err = run(
        capsys, "leaderboard", "--benchmark", str(bench), "--n-cells", "7", "--proxy",
        "naswot", "--batch-size", "8", "--no-store",
    )  # fmt: skip
    assert code == 1 and "not in" in err


def test_leaderboard_skip_takes_the_next_cells_of_the_same_draw(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    keys = distinct_samples(NasBench201Space(), 9, 1)
    bench = write_benchmark(tmp_path / "b.csv", keys[4:])  # the first 4 are not in it
    out = tmp_path / "lb.md"
    code, _, _ = run(
        capsys, "leaderboard", "--benchmark", str(bench), "--n-cells", "5", "--skip", "4",
        "--proxy", "params", "--batch-size", "8", "--no-store", "--n-bootstrap", "5",
        "--n-runs", "5", "--n-search", "2", "--quiet", "--out", str(out),
    )  # fmt: skip
    assert code == 0
    meta = json.loads((tmp_path / "lb.md.meta.json").read_text())
    assert meta["skip"] == 4 and meta["n_cells"] == 5


def test_proxy_all_is_every_proxy_plus_the_naswot_variants() -> None:
    from naswot.cli._common import proxy_label, resolve_proxies
    from naswot.proxies import PROXIES, Naswot

    labels = [proxy_label(p) for p in resolve_proxies("all", "default")]
    assert labels[: len(PROXIES)] == PROXIES.names()
    assert labels[len(PROXIES) :] == [f"naswot:{v}" for v in Naswot.variants[1:]]
    assert [proxy_label(p) for p in resolve_proxies("synflow:float32, naswot", "official")] == [
        "synflow:float32",
        "naswot:official",
    ]


def test_jacob_cov_alone_defaults_to_the_v1_batch_of_256(shared_data: Path) -> None:
    import argparse

    from naswot.cli._common import resolve_batch, resolve_proxies

    data = shared_data / "cifar10-jpeg-yoongikim"
    args = argparse.Namespace(data_dir=data, dataset="cifar10", batch_size=None)
    assert resolve_batch(args, seed=1, proxies=resolve_proxies("jacob_cov", "default")).size == 256
    mixed = resolve_proxies("jacob_cov,naswot", "default")
    assert resolve_batch(args, seed=1, proxies=mixed).size == 128
    args.batch_size = 64
    assert resolve_batch(args, seed=1, proxies=resolve_proxies("jacob_cov", "default")).size == 64


def test_variant_applies_to_every_bare_proxy_that_has_it() -> None:
    from naswot.cli._common import proxy_label, resolve_proxies
    from naswot.exceptions import InvalidParameterError

    def labels(names: str, variant: str) -> list[str]:
        return [proxy_label(p) for p in resolve_proxies(names, variant)]

    assert labels("synflow", "float32") == ["synflow:float32"]
    assert labels("naswot,synflow", "official") == ["naswot:official", "synflow"]
    with pytest.raises(InvalidParameterError, match="Unknown variant 'oficial' of proxy"):
        labels("naswot", "oficial")
    with pytest.raises(InvalidParameterError, match="none of snip, zico has it"):
        labels("snip,zico", "float32")


def test_an_ensemble_of_failures_is_an_error_row() -> None:
    from naswot.cli._common import ensemble_records
    from naswot.ensembles import EnsembleSpec
    from naswot.scoring import ScoreRecord

    def rec(arch: str, score: float | None) -> ScoreRecord:
        status = "ok" if score is not None else "constant"
        return ScoreRecord(arch, "p", "default", score, status, None, 0.1, None)

    by_label = {
        "naswot": [rec("a", 1.0), rec("b", None), rec("c", 2.0)],
        "zico": [rec("a", None), rec("b", None), rec("c", 3.0)],
    }
    rows = ensemble_records(EnsembleSpec.parse("rank_sum:naswot+zico"), by_label)
    assert [r.status for r in rows] == ["ok", "error", "ok"]
    assert rows[1].score is None and rows[1].error
    assert rows[2].score is not None and rows[0].score is not None and rows[2].score > rows[0].score
    # the row of a partly failed architecture says which member failed; a complete one says none
    assert rows[0].error == "zico failed here, ranked below every score"
    assert rows[2].error is None


def test_list_ensembles(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list", "ensembles")
    assert code == 0 and out.split() == ["az_nas", "recommended", "recommended_search", "vkdnw_agg"]
    code, out, _ = run(capsys, "list", "ensembles", "--json")
    entries = {e["name"]: e for e in json.loads(out)}
    assert entries["vkdnw_agg"]["method"] == "log_rank"
    assert "vkdnw:single" in entries["vkdnw_agg"]["members"]


def test_a_named_ensemble_brings_its_members_without_proxy() -> None:
    from naswot.cli._common import proxy_label, resolve_scoring

    proxies, specs = resolve_scoring(None, "default", ["az_nas"])
    assert [proxy_label(p) for p in proxies] == list(specs[0].members)
    proxies, specs = resolve_scoring("naswot,flops", "default", ["vkdnw_agg", "recommended"])
    labels = [proxy_label(p) for p in proxies]
    assert labels[:2] == ["naswot", "flops"] and "vkdnw:single" in labels and "zico" in labels
    assert len(labels) == len(set(labels))
    assert [proxy_label(p) for p in resolve_scoring(None, "default", None)[0]] == ["naswot"]
