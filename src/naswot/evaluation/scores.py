"""Score tables: the CSV that ``naswot score --out`` writes, and the table shipped with naswot."""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from naswot.exceptions import ArchParseError, BenchmarkError, InvalidParameterError
from naswot.spaces import SearchSpace

__all__ = ["SHIPPED_SCORES", "ScoreTable", "load_scores", "shipped_scores_path"]

SHIPPED_SCORES = "nb201_naswot_cifar10_b128_seed1.csv.gz"


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


def shipped_scores_path() -> Path:
    """The NB201 NASWOT score table shipped with naswot (all 15,625 cells)."""
    return Path(str(resources.files("naswot.evaluation") / "_tables" / SHIPPED_SCORES))


def load_scores(path: Path | str | None, space: SearchSpace[Any]) -> ScoreTable:
    """Reads a score CSV (columns ``arch``, ``score``, ``status``; ``.csv.gz`` too).

    Args:
        path: the file; None means the shipped NB201 table.
        space: the space whose keys the ``arch`` column holds (keys are canonicalised).

    Raises:
        BenchmarkError: if the file is missing or malformed, or an architecture appears with
            two different scores.
    """
    path = shipped_scores_path() if path is None else Path(path)
    if not path.is_file():
        raise BenchmarkError(
            f"Score file {path} not found; make one with `naswot score ... --out FILE.csv`."
        )
    raw = path.read_bytes()
    text = gzip.decompress(raw).decode() if path.suffix == ".gz" else raw.decode()
    reader = csv.DictReader(io.StringIO(text))
    fields = reader.fieldnames or []
    for column in ("arch", "score"):
        if column not in fields:
            raise BenchmarkError(f"{path} has no '{column}' column (columns: {fields}).")
    scores: dict[str, float] = {}
    failed: dict[str, str] = {}
    proxies: set[str] = set()
    for line, row in enumerate(reader, start=2):
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
    if len(proxies) > 1:
        raise InvalidParameterError(
            f"{path} mixes several proxies/variants ({', '.join(sorted(proxies))}); "
            "evaluate one at a time."
        )
    meta_path = path.with_name(path.name.removesuffix(".gz") + ".meta.json")
    provenance = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    return ScoreTable(
        path=path,
        scores=scores,
        failed=failed,
        proxy=proxies.pop() if proxies else "naswot/default",
        provenance=provenance,
    )


def _score(text: str, path: Path, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BenchmarkError(f"{path}:{line}: score {text!r} is not a number.") from None
    if math.isnan(value) or value == math.inf:
        raise BenchmarkError(f"{path}:{line}: score {text!r} is not a valid score.")
    return value
