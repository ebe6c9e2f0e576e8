import os
from pathlib import Path

import pytest
import torch
from hypothesis import settings

from naswot.testing.shared import shared_data_dir

# CI (.ci/run sets NASWOT_CI=1; CI=true works too) replays the same generated examples every
# run, so that its verdict is a property of the code; other runs draw new examples each time and
# keep finding new cases.
settings.register_profile("ci", derandomize=True)
if any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("NASWOT_CI", "CI")):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir(__file__)
    if not path.is_dir():
        pytest.skip(f"shared benchmark data not found at {path} (set NASWOT_TEST_DATA)")
    return path


@pytest.fixture(scope="session")
def nb201_csv(shared_data: Path) -> Path:
    path = shared_data / "nb201-combined" / "nb201_combined.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture(autouse=True)
def _isolate_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests never touch the user's cache: store and data default to a temporary folder."""
    home = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.delenv("NASWOT_STORE", raising=False)
    monkeypatch.delenv("NASWOT_DATA_DIR", raising=False)


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> None:
    """One intra-op thread: 2-core CI machines oversubscribe (and spin) when tests spawn workers.

    Threads do not change which code runs, only timing; tests that need a thread count set it.
    """
    torch.set_num_threads(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="CUDA is not available")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
