"""Atomic CSV writing for the benchmark converters."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

from naswot._io import atomic_write

__all__ = ["write_csv"]


def write_csv(rows: Sequence[Mapping[str, str]], columns: Sequence[str], dst: Path) -> None:
    """Writes ``rows`` to ``dst`` through a temporary file in the same folder, then renames.

    The folder of ``dst`` is created; a failure leaves no partial file behind.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(dst) as f:
        writer = csv.DictWriter(f, fieldnames=list(columns))
        writer.writeheader()
        writer.writerows(rows)
