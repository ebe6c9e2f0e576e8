"""Score tables: the CSV that ``naswot score --out`` writes, and the table shipped with naswot."""

from __future__ import annotations

import csv
import gzip
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from naswot._io import decode_text, quote, read_csv, shorten
from naswot.ensembles import EnsembleSpec
from naswot.exceptions import ArchParseError, BenchmarkError, InvalidParameterError
from naswot.spaces import SearchSpace

__all__ = [
    "SHIPPED_SCORES",
    "SHIPPED_TABLES",
    "MissingRowsError",
    "ScoreTable",
    "ensemble_table",
    "load_score_tables",
    "load_scores",
    "read_score_rows",
    "row_label",
    "score_labels",
    "scores_location",
    "shipped_scores_path",
]

SHIPPED_SCORES = "nb201_naswot_cifar10_b128_seed1.csv.gz"
SHIPPED_TABLES: dict[str, str] = {  # name -> file: score tables of all 15,625 NB201 cells
    "naswot": SHIPPED_SCORES,
    "recommended": "nb201_recommended_cifar10_b64_seed11.csv.gz",
}
"""The shipped tables by name (``--scores shipped:NAME``); each has a ``.meta.json`` sidecar."""
SHIPPED_PREFIX = "shipped:"


@dataclass(frozen=True)
class ScoreTable:
    """Scores per architecture key.

    Attributes:
        path: where the table was read from.
        scores: key -> score (``-inf`` for singular); failed cells are not here but in ``failed``.
        failed: keys whose scoring failed (status ``error``), with their messages.
        proxy: the proxy (and variant) named in the file, e.g. ``naswot/default``.
        provenance: the contents of the table's ``.meta.json`` sidecar, when there is one.
    """

    path: Path
    scores: dict[str, float]
    failed: dict[str, str] = field(default_factory=dict)
    proxy: str = "naswot/default"
    provenance: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.scores) + len(self.failed)


def shipped_scores_path(name: str = "naswot") -> Path:
    """A score table of all 15,625 NB201 cells shipped with naswot (:data:`SHIPPED_TABLES`).

    ``naswot``: NASWOT (the paper's score); ``recommended``: the ``recommended`` ensemble.

    Raises:
        InvalidParameterError: for another name.
    """
    if name not in SHIPPED_TABLES:
        raise InvalidParameterError(
            f"No shipped score table {quote(name)}; the shipped tables are "
            f"{', '.join(SHIPPED_TABLES)}."
        )
    return Path(str(resources.files("naswot.evaluation") / "_tables" / SHIPPED_TABLES[name]))


def scores_location(value: str) -> Path:
    """The path a ``--scores`` value names: a file, or ``shipped:NAME`` for a shipped table."""
    if value.startswith(SHIPPED_PREFIX):
        return shipped_scores_path(value[len(SHIPPED_PREFIX) :])
    return Path(value)


def row_label(proxy: str | None, variant: str | None) -> str:
    """The label of a score row: ``proxy``, or ``proxy:variant`` unless the variant is default.

    Ensemble rows (``proxy`` = method, ``variant`` = ``a+b+c``) read ``METHOD:a+b+c``.
    """
    proxy = proxy or "naswot"
    return proxy if variant in (None, "", "default") else f"{proxy}:{variant}"


def score_labels(path: Path | str | None) -> set[str]:
    """The labels of the proxies (and ensembles) whose rows a score CSV holds (:func:`row_label`).

    Raises:
        BenchmarkError: if the file is missing or not (gzipped) text.
    """
    path = shipped_scores_path() if path is None else Path(path)
    _, rows = read_score_rows(path)
    return {row_label(row.get("proxy"), row.get("variant")) for _, row in rows}


def read_score_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and the ``(line, row)`` pairs of a score CSV (gzipped too; BOM, CRLF).

    Raises:
        BenchmarkError: if the file is missing, empty, or not (gzipped) text CSV.
    """
    if not path.is_file():
        raise BenchmarkError(
            f"Score file {path} not found; make one with `naswot score ... --out FILE.csv`."
        )
    try:
        raw = path.read_bytes()
        text = decode_text(gzip.decompress(raw) if path.suffix == ".gz" else raw)
        fields, rows = read_csv(text, path)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as e:  # gzip: BadGzipFile, truncated
        raise BenchmarkError(
            f"{path} is not a text score CSV{' (gzip)' if path.suffix == '.gz' else ''} "
            f"({type(e).__name__}: {e}); make one with `naswot score ... --out FILE.csv`."
        ) from None
    if not fields:
        raise BenchmarkError(f"{path} is empty; make one with `naswot score ... --out FILE.csv`.")
    return fields, rows


class MissingRowsError(InvalidParameterError):
    """A score file has no rows of some requested proxies.

    Attributes:
        missing: the requested labels without rows, in the order asked.
        held: the labels the file has, sorted.
    """

    def __init__(self, message: str, *, missing: Sequence[str], held: Sequence[str]) -> None:
        super().__init__(message)
        self.missing = list(missing)
        self.held = list(held)


def load_scores(
    path: Path | str | None, space: SearchSpace[Any], *, proxy: str | None = None
) -> ScoreTable:
    """Reads a score CSV (columns ``arch``, ``score``, ``status``; ``.csv.gz`` too).

    Args:
        path: the file; None means the shipped NB201 table.
        space: the space whose keys the ``arch`` column holds (keys are canonicalised).
        proxy: the rows to read, by label (``zico``, ``naswot:official``,
            ``log_rank:naswot+zico+flops``; see :func:`row_label`); needed when the file holds
            several proxies, unless its ``.meta.json`` names the rows to read by default
            (``default_rows``: the shipped ``recommended`` table reads the ensemble's).

    Raises:
        BenchmarkError: if the file is missing, not (gzipped) text or malformed, or an
            architecture appears with two different scores.
    """
    path, by_label, provenance = _read_by_label(path)
    labels = set(by_label)
    if proxy is None and len(labels) > 1 and provenance.get("default_rows") in labels:
        proxy = str(provenance["default_rows"])
    if proxy is None and len(labels) > 1:
        raise InvalidParameterError(
            f"{path} mixes several proxies ({shorten(', '.join(sorted(labels)))}); choose one with "
            "--proxy, or combine them with --ensemble."
        )
    if proxy is None:
        return _table(path, next(iter(by_label.values()), []), provenance, space)
    return _tables(path, by_label, provenance, space, [proxy])[proxy]


def load_score_tables(
    path: Path | str | None, space: SearchSpace[Any], proxies: Sequence[str]
) -> dict[str, ScoreTable]:
    """Several proxies' tables (by label, as :func:`load_scores` takes one) from one read.

    Raises:
        BenchmarkError: as :func:`load_scores`.
        MissingRowsError: labels with no rows in the file (an InvalidParameterError).
    """
    path, by_label, provenance = _read_by_label(path)
    return _tables(path, by_label, provenance, space, proxies)


def _read_by_label(
    path: Path | str | None,
) -> tuple[Path, dict[str, list[tuple[int, dict[str, str]]]], dict[str, Any]]:
    """The file's ``(line, row)`` pairs grouped by proxy label, and its provenance."""
    path = shipped_scores_path() if path is None else Path(path)
    fields, rows = read_score_rows(path)
    for column in ("arch", "score"):
        if column not in fields:
            raise BenchmarkError(f"{path} has no '{column}' column (columns: {shorten(fields)}).")
    by_label: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for line, row in rows:
        by_label.setdefault(row_label(row.get("proxy"), row.get("variant")), []).append((line, row))
    return path, by_label, _provenance(path)


def _tables(
    path: Path,
    by_label: Mapping[str, list[tuple[int, dict[str, str]]]],
    provenance: dict[str, Any],
    space: SearchSpace[Any],
    proxies: Sequence[str],
) -> dict[str, ScoreTable]:
    absent = [p for p in proxies if p not in by_label]
    if absent:
        raise MissingRowsError(
            f"{path} has no rows of proxy {', '.join(quote(p) for p in absent)} (it has: "
            f"{shorten(', '.join(sorted(by_label)))}).",
            missing=absent,
            held=sorted(by_label),
        )
    return {p: _table(path, by_label.get(p, []), provenance, space) for p in proxies}


def _table(
    path: Path,
    rows: list[tuple[int, dict[str, str]]],
    provenance: dict[str, Any],
    space: SearchSpace[Any],
) -> ScoreTable:
    scores: dict[str, float] = {}
    failed: dict[str, str] = {}
    proxies: set[str] = set()
    for line, row in rows:
        try:
            key = space.key(space.parse(row["arch"]))
        except ArchParseError as e:
            raise BenchmarkError(f"{path}:{line}: {e}") from None
        status = row.get("status") or "ok"
        proxies.add(f"{row.get('proxy') or 'naswot'}/{row.get('variant') or 'default'}")
        if status == "error" or row["score"] in ("", None):
            failed[key] = row.get("error") or "no score"
            continue
        value = _score(row["score"], path, line)
        if key in scores and scores[key] != value:
            raise BenchmarkError(f"{path}:{line}: {key} has two different scores.")
        scores[key] = value
    return ScoreTable(
        path=path,
        scores=scores,
        failed=failed,
        proxy=proxies.pop() if proxies else "naswot/default",
        provenance=provenance,
    )


def ensemble_table(tables: Mapping[str, ScoreTable], spec: EnsembleSpec) -> ScoreTable:
    """The ensemble ``spec`` of the members' score tables, over the cells every member scored.

    A member's failed cell ranks below all its scores (``nan_policy="worst"``); cells that some
    member lacks are left out. The scores are ranks within those cells.
    """
    members = [tables[m] for m in spec.members]
    keys = [
        k
        for k in [*members[0].scores, *members[0].failed]
        if all(k in t.scores or k in t.failed for t in members)
    ]
    if not keys:
        raise InvalidParameterError(f"The members of {spec.label!r} share no scored cell.")
    by_member = dict(zip(spec.members, members, strict=True))
    combined = spec.combine(
        {m: [t.scores.get(k, math.nan) for k in keys] for m, t in by_member.items()}
    )
    return ScoreTable(
        path=members[0].path,
        scores=dict(zip(keys, (float(v) for v in combined), strict=True)),
        proxy=spec.label,
        provenance=members[0].provenance,
    )


def _provenance(path: Path) -> dict[str, Any]:
    """The contents of ``path``'s ``.meta.json`` sidecar; empty when there is none."""
    meta_path = path.with_name(path.name.removesuffix(".gz") + ".meta.json")
    provenance: dict[str, Any] = {}
    if meta_path.is_file():
        try:
            provenance = json.loads(decode_text(meta_path.read_bytes()))
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise BenchmarkError(
                f"{meta_path} (the provenance of {path.name}) is not readable JSON "
                f"({type(e).__name__}: {shorten(e)}); fix or remove it."
            ) from None
        if not isinstance(provenance, dict):
            raise BenchmarkError(f"{meta_path} holds no JSON object; fix or remove it.")
    return provenance


_EXPECTED = " (expected a finite number, -inf for a singular kernel, or empty for a failed cell)"


def _score(text: str, path: Path, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BenchmarkError(
            f"{path}:{line}: score {quote(text)} is not a number{_EXPECTED}."
        ) from None
    if math.isnan(value) or value == math.inf:
        raise BenchmarkError(f"{path}:{line}: score {quote(text)} is not a valid score{_EXPECTED}.")
    return value
