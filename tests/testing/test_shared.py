"""naswot.testing.shared: where a checkout's tests and benchmarks find the shared data."""

from __future__ import annotations

from pathlib import Path

import pytest

from naswot.testing.shared import ENV_VAR, shared_data_dir


def test_the_environment_variable_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "elsewhere"))
    assert shared_data_dir(__file__) == tmp_path / "elsewhere"


def test_default_is_beside_the_checkout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    checkout = tmp_path / "work" / "repo"
    (checkout / "benchmarks" / "oracles").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text("[project]\n")
    near = checkout / "benchmarks" / "oracles" / "oracle.py"
    assert shared_data_dir(near) == tmp_path / "work" / "shared" / "data"
    monkeypatch.setenv(ENV_VAR, "")  # empty: as if unset
    assert shared_data_dir(checkout / "tests" / "x.py") == tmp_path / "work" / "shared" / "data"


def test_without_a_checkout_two_levels_up(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    near = tmp_path / "a" / "b" / "c.py"
    assert shared_data_dir(near) == tmp_path / "shared" / "data"
