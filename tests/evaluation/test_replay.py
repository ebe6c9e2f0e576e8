from pathlib import Path

import numpy as np
import pytest

from naswot.benchmarks import load_table
from naswot.evaluation import load_scores, replay
from naswot.exceptions import BenchmarkError, InvalidParameterError
from naswot.spaces import NasBench201Space

SPACE = NasBench201Space()
C10 = ("cifar10", "test")


def test_replay_rows_and_ordering(toy: tuple[Path, Path, list[str]]) -> None:
    bench, scores_path, _ = toy
    scores, table = load_scores(scores_path, SPACE), load_table(bench, SPACE)
    assert len(scores.failed) == 1 and len(scores.scores) == 199
    rows = replay(scores, table, n_samples=[10, 50], n_runs=200, seed=3)
    assert [(r.method, r.n) for r in rows] == [
        ("NASWOT", 10),
        ("Optimal", 10),
        ("NASWOT", 50),
        ("Optimal", 50),
        ("Random", None),
    ]
    naswot10, opt10, naswot50, opt50, random = rows
    assert random.mean[C10] < naswot10.mean[C10] < opt10.mean[C10]
    assert naswot10.mean[C10] < naswot50.mean[C10] <= opt50.mean[C10]
    assert replay(scores, table, n_samples=[10, 50], n_runs=200, seed=3) == rows


def test_replay_matches_a_plain_loop(toy: tuple[Path, Path, list[str]]) -> None:
    bench, scores_path, _ = toy
    scores, table = load_scores(scores_path, SPACE), load_table(bench, SPACE)
    rows = replay(scores, table, n_samples=[7], n_runs=50, seed=0)
    keys = [k for k in [*scores.scores, *scores.failed] if k in table.rows]
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(keys), size=(50, 7))
    picked = []
    for run in idx:
        best = None
        for i in run:  # first maximum; -inf and failures never beat a finite score
            k = keys[i]
            value = scores.scores.get(k)
            key = (
                0 if value is None else 1 if value == -np.inf else 2,
                value if value is not None and np.isfinite(value) else 0.0,
            )
            if best is None or key > best[0]:
                best = (key, k)
        assert best is not None
        picked.append(table.rows[best[1]]["test_acc_cifar10"])
    assert rows[0].mean[C10] == pytest.approx(np.mean(picked))
    assert rows[0].std[C10] == pytest.approx(np.std(picked))


def test_json_layout(toy: tuple[Path, Path, list[str]]) -> None:
    bench, scores_path, _ = toy
    rows = replay(
        load_scores(scores_path, SPACE), load_table(bench, SPACE), n_samples=[5], n_runs=10
    )
    out = rows[0].as_json()
    assert out["method"] == "NASWOT" and out["n"] == 5
    assert set(out["cifar10"]) == {"val", "test"}  # type: ignore[arg-type]
    assert set(out["imagenet16_120"]["test"]) == {"mean", "std"}  # type: ignore[index]


def test_bad_input(toy: tuple[Path, Path, list[str]], tmp_path: Path) -> None:
    bench, scores_path, _ = toy
    scores, table = load_scores(scores_path, SPACE), load_table(bench, SPACE)
    with pytest.raises(InvalidParameterError, match="n_runs"):
        replay(scores, table, n_runs=1)
    with pytest.raises(BenchmarkError, match="not found"):
        load_scores(tmp_path / "nope.csv", SPACE)
    bad = tmp_path / "bad.csv"
    bad.write_text("arch,score\n|x|,1\n")
    with pytest.raises(BenchmarkError, match="position"):
        load_scores(bad, SPACE)
