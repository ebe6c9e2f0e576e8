"""Killed, interrupted and concurrent scoring jobs lose nothing and duplicate nothing."""

import importlib.util
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


# The signal tests score more cells than N: the fast scorer does 24 noise cells of batch 8 in
# about 0.2 s, so a signal sent once the first row is seen could arrive after the last one.
SIGNAL_N = 400


def _signal_once_scoring(
    store: Path, signum: int, *extra: str, wait: float = 120
) -> subprocess.CompletedProcess[str]:
    """Runs ``naswot score``, sends ``signum`` once rows are written, returns how it ended."""
    argv = [str(SIGNAL_N) if a == str(N) else a for a in ARGS if a != "--quiet"]
    proc = subprocess.Popen(
        naswot(*argv, *extra, "--store", str(store)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and proc.poll() is None:  # wait until scoring has begun
        if store.exists() and _count(store) >= 1:
            break
        time.sleep(0.2)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=wait)
    if proc.returncode == 0 or _count(store) == SIGNAL_N:
        pytest.skip("the job finished scoring before the signal arrived")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _assert_clean_stop(done: subprocess.CompletedProcess[str], signum: int, store: Path) -> None:
    assert done.returncode == 128 + signum, done.stderr  # 130 for SIGINT, 143 for SIGTERM
    assert "stopping after the current architecture" in done.stderr
    assert "run the same command again to resume" in done.stderr
    assert "Traceback" not in done.stderr
    assert "***" not in done.stderr  # no C-level stack dump (Ray's signal handler)
    assert "leaked" not in done.stderr
    assert len(rows(store)) < SIGNAL_N


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_after_the_current_architecture(tmp_path: Path, signum: int) -> None:
    store = tmp_path / "s.sqlite"
    _assert_clean_stop(_signal_once_scoring(store, signum), signum, store)


@pytest.mark.slow  # ~25 s on 2 busy cores; tests/test_parallel.py stops the pool in-process
def test_sigterm_stops_local_workers_cleanly(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    done = _signal_once_scoring(store, signal.SIGTERM, "--workers", "2")
    _assert_clean_stop(done, signal.SIGTERM, store)  # rows(store) checks integrity_check


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
def test_sigterm_under_ray_stops_cleanly(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    done = _signal_once_scoring(
        store, signal.SIGTERM, "--workers", "2", "--backend", "ray", wait=240
    )
    _assert_clean_stop(done, signal.SIGTERM, store)


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
