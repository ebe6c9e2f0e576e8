"""benchmarks/gpu_check.sh: its CPU dry run works end to end, and its checks can fail."""

import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu_check.sh"
SECTIONS = (
    "## Environment",
    "## gpu-marked tests",
    "## CUDA against CPU",
    "## Search, N=3",
    "## Throughput, 3 cells",
    "## Concurrent cells",
    "## Proxy suite",
)


def driver() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_check", REPO / "benchmarks" / "gpu_check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(
    shutil.which("bash") is None or shutil.which("timeout") is None, reason="needs bash, timeout"
)
def test_dry_run_writes_the_report(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path), "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)  # the script sets it: naswot comes from src/, not installed
    done = subprocess.run(
        ["bash", str(SCRIPT), "--dry-run"],
        capture_output=True,
        text=True,
        env=env,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = (tmp_path / "gpu_check.md").read_text()
    assert report.splitlines()[0].startswith("# GPU check (DRY RUN")
    for section in SECTIONS:
        assert section in report
    assert "FAILED" not in report
    assert "all checks passed" in report
    assert done.stdout.strip() == report.strip()  # the report also goes to stdout
    figures = json.loads((tmp_path / "gpu_check.json").read_text())
    assert figures["failures"] == []
    assert figures["environment"]["device"] == "cpu"
    assert figures["throughput"]["cells"] == 3
    assert figures["search"]["fast"]["exit"] == 0
    assert figures["search"]["module"]["exit"] == 0
    assert figures["streams"]["threads_2"]["same_inf"] is True
    assert figures["streams"]["threads_2"]["max_abs_diff"] == 0.0  # same weights, same sums
    proxies = figures["proxies"]
    assert "naswot" in proxies
    assert all(p["errors"] == 0 and p["cells"] == 2 for p in proxies.values())


def test_comparison_catches_disagreement() -> None:
    gpu_check = driver()
    keys = [f"k{i}" for i in range(5)]
    cpu = gpu_check.Scored(
        keys, [1.0, 2.0, 3.0, -math.inf, 5.0], ["ok"] * 3 + ["singular", "ok"], 1
    )
    same = gpu_check.compare(cpu, cpu)
    assert same["spearman"] == pytest.approx(1.0)
    assert same["same_inf"] and same["max_abs_diff"] == 0.0
    flipped = gpu_check.Scored(keys, [3.0, 2.0, 1.0, 4.0, -math.inf], ["ok"] * 4 + ["singular"], 1)
    worse = gpu_check.compare(cpu, flipped)
    assert not worse["same_inf"]
    assert worse["spearman"] < gpu_check.MIN_SPEARMAN
    report = gpu_check.Report(None)
    gpu_check.check_agreement(report, "test", worse, dry=False)
    assert len(report.failures) == 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message where CUDA is absent")
def test_real_run_without_cuda_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OUT", raising=False)
    assert driver().main([]) == 1
    assert "CUDA is not available here (use --dry-run" in capsys.readouterr().out


def test_stages_stop_at_their_budget_after_one_cell() -> None:
    gpu_check = driver()
    from naswot.data import load_batch

    batch = load_batch("noise", batch_size=4, seed=1)
    keys = gpu_check.cells(3)
    cpu = torch.device("cpu")
    assert len(gpu_check.score(keys, batch, cpu, budget=0.0).keys) == 1
    assert len(gpu_check.score_concurrently(keys, batch, cpu, 2, budget=0.0).keys) == 1
    full = gpu_check.score(keys, batch, cpu)
    assert full.keys == keys
    both = gpu_check.compare(full, gpu_check.score_concurrently(keys, batch, cpu, 2))
    assert both["max_abs_diff"] == 0.0 and both["same_inf"]
