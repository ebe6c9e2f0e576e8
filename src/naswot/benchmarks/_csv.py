"""Atomic CSV writing for the benchmark converters."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["write_csv"]


def write_csv(rows: Sequence[Mapping[str, str]], columns: Sequence[str], dst: Path) -> None:
    """Writes ``rows`` to ``dst`` through a temporary file in the same folder, then renames.

    The folder of ``dst`` is created; a failure leaves no partial file behind.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(columns))
            writer.writeheader()
            writer.writerows(rows)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
