"""``naswot score``: score architectures of a space into the store and a table."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import sys
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from naswot._io import atomic_write
from naswot.cli import _common
from naswot.cli._commands import command_help
from naswot.evaluation.scores import row_label
from naswot.exceptions import ArchParseError, InvalidParameterError
from naswot.scoring import ScoreRecord, stored_variant
from naswot.spaces import EnumerableSpace, SearchSpace

_MAIN_STATUSES = ("ok", "singular", "error")
COLUMNS = ("arch", "proxy", "variant", "score", "status", "seconds", "n_units", "cached", "error")


def add_parser(commands: Any) -> None:  # Any: argparse's private _SubParsersAction
    """Adds the ``score`` command."""
    p = commands.add_parser(
        "score",
        help=command_help("score"),
        description="Score architectures of a space on one minibatch. Results go through the "
        "store, so a killed job resumes where it stopped.",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--arch", action="append", help="an architecture string (repeatable)")
    which.add_argument("--archs", type=Path, help="a file with one architecture string per line")
    which.add_argument(
        "--sample",
        type=_common.positive_int,
        metavar="K",
        help="K distinct architectures drawn with --seed",
    )
    which.add_argument("--all", action="store_true", help="every architecture of the space")
    _common.add_scoring_options(p)
    _common.add_ensemble_option(p)
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="write a CSV here (plus OUT.meta.json); default: a table on stdout",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print the records as one JSON object (-inf and failures: score null, see status) "
        "(default: a table, or nothing with --out)",
    )
    p.set_defaults(run=run)


def select_keys(args: argparse.Namespace, space: SearchSpace[Any]) -> list[str]:
    """The architecture keys the options ask for, in order."""
    if args.arch:
        return [space.key(space.parse(a)) for a in args.arch]
    if args.archs:
        keys = _common.read_arch_file(args.archs)
        out = []
        for i, k in enumerate(keys):
            try:
                out.append(space.key(space.parse(k)))
            except ArchParseError as e:
                raise InvalidParameterError(f"{args.archs}, architecture {i + 1}: {e}") from None
        return out
    if not isinstance(space, EnumerableSpace):
        if args.all:
            raise InvalidParameterError(f"The space {space.name!r} cannot be enumerated (--all).")
        return _common.distinct_samples(space, args.sample, args.seed)
    if args.all:
        return [space.key(a) for a in space]
    return _common.distinct_samples(space, args.sample, args.seed)


def run(args: argparse.Namespace) -> int:
    """Scores the selected architectures and writes the table."""
    _common.check_outputs(args, args.out, args.archs)
    space, builder = _common.resolve_space(args.space)
    proxies, specs = _common.resolve_scoring(args.proxy, args.variant, args.ensemble)
    device = _common.resolve_device(args.device)
    keys = select_keys(args, space)
    batch = _common.resolve_batch(args, seed=args.seed, proxies=proxies)
    _common.note_batch(args, space, batch)
    jobs = _common.scoring_jobs(args, space, builder, proxies, batch, seed=args.seed, device=device)
    store = _common.open_store(args)
    try:
        pool = _common.score_pool(args, keys, jobs, store, ensembles=specs, progress=not args.quiet)
    finally:
        if store is not None:
            store.close()
    records = [r for done in pool.values() for r in done]
    counts = Counter(r.status for r in records)
    cached = sum(r.cached for r in records)
    others = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()) if s not in _MAIN_STATUSES)
    _common.note(
        args,
        f"scored {len(records)} architectures ({cached} from the store): "
        f"{counts['ok']} ok, {counts['singular']} singular, "
        f"{counts['error']} errors" + (f", {others}" if others else ""),
    )
    if args.out is not None:
        with atomic_write(args.out) as f:
            write_csv(records, f)
        info = {
            "space": space.name,
            "proxy": ",".join(j.proxy.name for j in jobs),
            "variant": ",".join(stored_variant(j.proxy, j.fast) for j in jobs),
            "engine": ",".join(j.engine for j in jobs),
            "seed": args.seed,
            "device": str(device),
            "n_architectures": len(records),
            "status_counts": dict(counts),
            "store": None if store is None else str(store.path),
            **_common.batch_info(batch),
        }
        _common.write_meta(args.out, args, None, info)
        _common.note(args, f"wrote {args.out}")
    if args.json:
        print(json.dumps(_as_json(records, space.name, batch, store), indent=2))
    elif args.out is None:
        print_table(records, sys.stdout)
    if not counts["error"]:
        return 0
    # exit 1 says why in one line, --quiet or not (the results are written all the same)
    first = next(r for r in records if r.status == "error")
    reason = (first.error or "no message")[:300]
    print(
        f"naswot: error: {counts['error']} of {len(records)} scores failed; the first: "
        f"{first.proxy} on {first.arch}: {reason}",
        file=sys.stderr,
    )
    return 1


def _as_json(
    records: list[ScoreRecord], space: str, batch: Any, store: Any
) -> dict[str, Any]:  # Any: Batch, ResultStore | None
    """The records as JSON: ``score`` is null when there is none and for ``-inf`` (see status)."""
    rows = []
    for r in records:
        row = dataclasses.asdict(r)
        if r.score is not None and not math.isfinite(r.score):
            row["score"] = None
        rows.append(row)
    return {
        "space": space,
        "store": None if store is None else str(store.path),
        **_common.batch_info(batch),
        "records": rows,
    }


def write_csv(records: list[ScoreRecord], f: TextIO) -> None:
    """One CSV row per record, in order; ``-inf`` for singular scores, empty when there is none."""
    writer = csv.writer(f)
    writer.writerow(COLUMNS)
    for r in records:
        writer.writerow(
            [
                r.arch,
                r.proxy,
                r.variant,
                "" if r.score is None else repr(r.score),
                r.status,
                "" if r.seconds is None else f"{r.seconds:.4f}",
                "" if r.n_units is None else r.n_units,
                int(r.cached),
                r.error or "",
            ]
        )


def print_table(records: list[ScoreRecord], f: TextIO) -> None:
    """A fixed-width table for the terminal."""
    width = max((len(r.arch) for r in records), default=4)
    labels = [row_label(r.proxy, r.variant) for r in records]
    pw = max((len(label) for label in labels), default=8)
    f.write(f"{'arch':<{width}}  {'proxy':<{pw}} {'score':>12}  {'status':<8} {'seconds':>8}\n")
    for r, label in zip(records, labels, strict=True):
        seconds = "-" if r.seconds is None else f"{r.seconds:.3f}"
        f.write(
            f"{r.arch:<{width}}  {label:<{pw}} {_common.format_score(r.score):>12}  "
            f"{r.status:<8} {seconds:>8}" + (f"  {r.error}" if r.error else "") + "\n"
        )
