"""A benchmark table read from CSV: one row per architecture, numeric metric columns.

The CSV needs an ``arch_str`` column (the space's key) and any number of numeric columns, e.g.
``test_acc_cifar10``; an ``index`` column is kept as the official index. A ``module_hash`` column
(the NAS-Bench-101 identifier, text) is allowed and not read. Keys are canonicalised by the
space's parser, so a table and a score file join on the same strings.

The file may be written by a spreadsheet: UTF-8 with a byte-order mark, CRLF line ends, spaces
around cells. Accuracy columns (names holding ``acc``) are percentages from 0 to 100; a cell may
be written ``93.5%``, but a column mixing ``93.5%`` with fractions such as ``0.93``, and negative
accuracies or accuracies above 100, are refused as ambiguous.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from naswot._io import decode_text, quote, read_csv, shorten
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
    except OSError as e:
        raise BenchmarkError(f"Cannot read the benchmark file {path}: {e.strerror or e}.") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise BenchmarkError(
            f"{path} is not a text CSV file ({type(e).__name__}: {e}); pass a CSV with an "
            f"'{key_column}' column and accuracy columns (convert other formats first)."
        ) from None


def _read_table(path: Path, space: SearchSpace[Any], key_column: str) -> BenchmarkTable:
    fields, lines_in = read_csv(decode_text(path.read_bytes()), path)
    if not fields:
        raise BenchmarkError(f"{path} is empty; pass a CSV with an '{key_column}' column.")
    if key_column not in fields:
        raise BenchmarkError(f"{path} has no '{key_column}' column (columns: {shorten(fields)}).")
    metrics = tuple(c for c in fields if c not in (key_column, "index", *_TEXT_COLUMNS))
    rows: dict[str, dict[str, float]] = {}
    index: dict[str, int] = {}
    lines: dict[str, int] = {}
    columns = {m: _Column(m) for m in metrics}
    for line, row in lines_in:
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
        values = {m: columns[m].read(row[m], path, line) for m in metrics if row.get(m)}
        rows[key] = {m: v for m, v in values.items() if not math.isnan(v)}
        if row.get("index"):
            index[key] = _index(row["index"], path, line)
    if not rows:
        raise BenchmarkError(f"{path} holds no architectures.")
    return BenchmarkTable(path=path, metrics=metrics, rows=rows, index=index)


class _Column:
    """Reads one metric column's cells.

    Refuses accuracies that are negative or above 100, and a column that mixes percentages
    (``93.5%``) with fractions (``0.935``).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.accuracy = "acc" in name.lower()
        self.percent_at: tuple[int, str] | None = None  # first cell written with '%'
        self.fraction_at: tuple[int, str] | None = None  # first plain cell in [0, 1]

    def read(self, text: str, path: Path, line: int) -> float:
        percent = text.endswith("%")
        value = _number(text[:-1].strip() if percent else text, path, line, self.name)
        if not self.accuracy or math.isnan(value):
            return value
        if value < 0 or value > 100:
            raise BenchmarkError(
                f"{path}:{line}: column {self.name!r} holds {quote(text)}, "
                + ("a negative accuracy" if value < 0 else "an accuracy above 100")
                + "; accuracies are percentages from 0 to 100."
            )
        if percent:
            self.percent_at = self.percent_at or (line, text)
        elif value <= 1:
            self.fraction_at = self.fraction_at or (line, text)
        if self.percent_at and self.fraction_at:
            (pl, pt), (fl, ft) = self.percent_at, self.fraction_at
            raise BenchmarkError(
                f"{path}: column {self.name!r} mixes percentages (line {pl}: {quote(pt)}) and "
                f"what reads as fractions (line {fl}: {quote(ft)}); write every accuracy as a "
                "percentage from 0 to 100."
            )
        return value


def _index(text: str, path: Path, line: int) -> int:
    value = _number(text, path, line, "index")
    if not math.isfinite(value) or value < 0 or not value.is_integer():
        raise BenchmarkError(
            f"{path}:{line}: column 'index' holds {quote(text)}; an index is a whole number "
            ">= 0 (or empty)."
        )
    return int(value)


def _number(text: str, path: Path, line: int, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise BenchmarkError(
            f"{path}:{line}: column {quote(column)} holds {quote(text)}, not a number."
        ) from None
