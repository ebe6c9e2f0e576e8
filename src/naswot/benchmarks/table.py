"""A benchmark table read from CSV: one row per architecture, numeric metric columns.

The CSV needs an ``arch_str`` column (the space's key) and any number of numeric columns, e.g.
``test_acc_cifar10``; an ``index`` column is kept as the official index. A ``module_hash`` column
(the NAS-Bench-101 identifier, text) is allowed and not read. Keys are canonicalised by the
space's parser, so a table and a score file join on the same strings.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from naswot.exceptions import ArchParseError, BenchmarkError
from naswot.spaces import SearchSpace

__all__ = ["BenchmarkTable", "load_table"]

# Text columns that converters write for provenance; they are not metrics.
_TEXT_COLUMNS = ("module_hash",)


@dataclass(frozen=True)
class BenchmarkTable:
    """Metric values per architecture key.

    Attributes:
        path: the file it was read from.
        metrics: the metric column names, in file order.
        rows: key -> {metric: value}; a missing value is absent from the dict.
        index: key -> official index, when the file has an ``index`` column.
    """

    path: Path
    metrics: tuple[str, ...]
    rows: dict[str, dict[str, float]]
    index: dict[str, int]

    def lookup(self, key: str) -> dict[str, float]:
        """The metrics of architecture ``key``.

        Raises:
            BenchmarkError: if the table has no row for ``key``.
        """
        try:
            return self.rows[key]
        except KeyError:
            raise BenchmarkError(f"The benchmark {self.path} has no row for {key}.") from None

    def keys(self) -> Sequence[str]:
        """The architecture keys, in file order."""
        return list(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def load_table(
    path: Path | str, space: SearchSpace[Any], *, key_column: str = "arch_str"
) -> BenchmarkTable:
    """Reads a benchmark CSV (see module docstring).

    Raises:
        BenchmarkError: if the file is missing or not text, has no key column, a malformed or
            duplicated architecture, or a non-numeric value.
    """
    path = Path(path)
    if not path.is_file():
        raise BenchmarkError(
            f"Benchmark file {path} not found. Pass a CSV with an '{key_column}' column and "
            "accuracy columns (e.g. nb201_combined.csv)."
        )
    try:
        return _read_table(path, space, key_column)
    except (UnicodeDecodeError, csv.Error) as e:
        raise BenchmarkError(
            f"{path} is not a text CSV file ({type(e).__name__}: {e}); pass a CSV with an "
            f"'{key_column}' column and accuracy columns (convert other formats first)."
        ) from None


def _read_table(path: Path, space: SearchSpace[Any], key_column: str) -> BenchmarkTable:
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        if key_column not in fields:
            raise BenchmarkError(f"{path} has no '{key_column}' column (columns: {fields}).")
        metrics = tuple(c for c in fields if c not in (key_column, "index", *_TEXT_COLUMNS))
        rows: dict[str, dict[str, float]] = {}
        index: dict[str, int] = {}
        lines: dict[str, int] = {}
        for line, row in enumerate(reader, start=2):
            try:
                key = space.key(space.parse(row[key_column]))
            except ArchParseError as e:
                raise BenchmarkError(f"{path}:{line}: {e}") from None
            if key in rows:
                raise BenchmarkError(
                    f"{path}:{line}: architecture {key} appears twice (first on line "
                    f"{lines[key]}); a benchmark needs one row per architecture."
                )
            lines[key] = line
            rows[key] = {m: _number(row[m], path, line, m) for m in metrics if row.get(m)}
            rows[key] = {m: v for m, v in rows[key].items() if not math.isnan(v)}
            if "index" in fields and row.get("index"):
                index[key] = int(_number(row["index"], path, line, "index"))
    if not rows:
        raise BenchmarkError(f"{path} holds no architectures.")
    return BenchmarkTable(path=path, metrics=metrics, rows=rows, index=index)


def _number(text: str, path: Path, line: int, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise BenchmarkError(
            f"{path}:{line}: column {column!r} holds {text!r}, not a number."
        ) from None
