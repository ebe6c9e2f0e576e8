from pathlib import Path

import pytest

from naswot.testing.fixtures import write_toy_benchmark


@pytest.fixture
def toy(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    return write_toy_benchmark(tmp_path)
