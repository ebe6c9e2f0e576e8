"""Killed, interrupted and concurrent scoring jobs lose nothing and duplicate nothing."""

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

N = 24
ARGS = [
    "score",
    "--sample",
    str(N),
    "--seed",
    "4",
    "--dataset",
    "noise",
    "--batch-size",
    "8",
    "--threads",
    "1",
    "--quiet",
]


def naswot(*argv: str) -> list[str]:
    return [sys.executable, "-m", "naswot", *argv]


def rows(store: Path) -> list[tuple[str, float, str]]:
    db = sqlite3.connect(store)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return sorted(db.execute("SELECT arch, score, status FROM scores").fetchall())


def _count(store: Path) -> int:
    try:
        return int(sqlite3.connect(store).execute("SELECT COUNT(*) FROM scores").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, float, str]]:
    store = tmp_path_factory.mktemp("ref") / "ref.sqlite"
    subprocess.run(
        naswot(*ARGS, "--store", str(store)), check=True, capture_output=True, timeout=300
    )
    out = rows(store)
    assert len(out) == N
    return out


def test_sigkill_at_random_moments_then_resume(
    tmp_path: Path, reference: list[tuple[str, float, str]]
) -> None:
    store = tmp_path / "s.sqlite"
    rng = random.Random(0)
    for _ in range(3):
        proc = subprocess.Popen(
            naswot(*ARGS, "--store", str(store)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(1.5, 4.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = subprocess.run(
        naswot(*ARGS, "--store", str(store)),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert rows(store) == reference  # every cell exactly once, identical scores


def test_sigint_stops_after_the_current_architecture(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    argv = [a for a in ARGS if a != "--quiet"]
    proc = subprocess.Popen(
        naswot(*argv, "--store", str(store)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:  # wait until scoring has begun
        if store.exists() and _count(store) >= 1:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the job finished before the signal arrived")
    assert proc.returncode == 130
    assert "run the same command again to resume" in err
    assert "Traceback" not in err
    assert len(rows(store)) < N


def test_concurrent_writers_share_one_store(
    tmp_path: Path, reference: list[tuple[str, float, str]]
) -> None:
    store = tmp_path / "s.sqlite"
    # overlapping sets: the same sample twice, plus a run over a subset of its cells
    procs = [
        subprocess.Popen(
            naswot(*ARGS, "--store", str(store)), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    for p in procs:
        code = p.wait(timeout=300)
        assert p.stderr is not None
        assert code == 0, p.stderr.read().decode(errors="replace")[-2000:]
    assert rows(store) == reference
    env = dict(os.environ)
    assert env  # the store needs no locking setup beyond SQLite's own
