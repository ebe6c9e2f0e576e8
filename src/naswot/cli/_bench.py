"""``naswot bench convert``: turn official NAS-Bench-201 / NATS-Bench files into our CSV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from naswot.benchmarks.convert import CONVERTERS


def add_parser(commands: Any) -> None:  # Any: argparse's private _SubParsersAction
    """Adds the ``bench`` command."""
    p = commands.add_parser(
        "bench",
        help="convert benchmark files",
        description="Work with the official benchmark files (see docs/benchmarks.md).",
    )
    sub = p.add_subparsers(dest="bench_command", metavar="ACTION", required=True)
    c = sub.add_parser(
        "convert",
        help="convert an official benchmark file to a naswot CSV table",
        description=(
            "Read an official benchmark file and write a CSV table (index, arch_str, test and "
            "validation accuracies, 12-epoch validation accuracy and train time) that "
            "`naswot evaluate --benchmark` and naswot.benchmarks.load_table read. Formats: "
            "nb201 (a NAS-Bench-201 .pth, v1_0 or v1_1, loaded weights-only) and nats-tss (the "
            "NATS-Bench topology 'simple' archive: the unpacked folder or the .tar, read with "
            "a plain-data unpickler)."
        ),
    )
    c.add_argument("format", choices=sorted(CONVERTERS), help="the format of SRC")
    c.add_argument("src", type=Path, metavar="SRC", help="the official file or folder")
    c.add_argument("dst", type=Path, metavar="DST.csv", help="the CSV to write (replaced)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Converts one benchmark file."""
    rows = CONVERTERS[args.format](args.src, args.dst, progress=not args.quiet)
    print(f"wrote {rows} architectures to {args.dst}", file=sys.stderr)
    return 0
