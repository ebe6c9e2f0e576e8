"""Where the tests and benchmarks of a checkout find the shared real data."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_VAR", "shared_data_dir"]

#: the environment variable that names the shared data folder
ENV_VAR = "NASWOT_TEST_DATA"


def shared_data_dir(near: str | Path) -> Path:
    """``$NASWOT_TEST_DATA``, else ``shared/data`` beside the checkout that holds ``near``.

    The checkout is the nearest folder above ``near`` (a test or benchmark file) with a
    ``pyproject.toml``; without one, the folder two levels above ``near``'s. The folder is not
    checked to exist: callers skip or fail with their own message.
    """
    value = os.environ.get(ENV_VAR)
    if value:
        return Path(value)
    start = Path(near).resolve()
    for folder in start.parents:
        if (folder / "pyproject.toml").is_file():
            return folder.parent / "shared" / "data"
    return start.parents[min(2, len(start.parents) - 1)] / "shared" / "data"
