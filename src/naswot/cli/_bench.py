"""``naswot bench convert``: turn official NAS-Bench-101/201 / NATS-Bench files into our CSV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from naswot._io import check_output
from naswot.benchmarks.convert import CONVERTERS
from naswot.benchmarks.nb101 import DEFAULT_EPOCHS
from naswot.cli import _common
from naswot.cli._commands import command_help
from naswot.exceptions import InvalidParameterError


def add_parser(commands: Any) -> None:  # Any: argparse's private _SubParsersAction
    """Adds the ``bench`` command."""
    p = commands.add_parser(
        "bench",
        help=command_help("bench"),
        description="Work with the official benchmark files (see docs/benchmarks.md).",
    )
    sub = p.add_subparsers(dest="bench_command", metavar="ACTION", required=True)
    c = sub.add_parser(
        "convert",
        help="convert an official benchmark file to a naswot CSV table",
        description=(
            "Read an official benchmark file and write a CSV table (arch_str, accuracies and "
            "more; see docs/benchmarks.md) that `naswot evaluate --benchmark` and "
            "naswot.benchmarks.load_table read. Formats: nb201 (a NAS-Bench-201 .pth, v1_0 or "
            "v1_1, loaded weights-only), nats-tss (the NATS-Bench topology 'simple' archive: "
            "the unpacked folder or the .tar, read with a plain-data unpickler) and nb101 (the "
            "NAS-Bench-101 nasbench_only108.tfrecord or nasbench_full.tfrecord, read without "
            "TensorFlow; one row per cell, keyed for --space nb101)."
        ),
    )
    c.add_argument("format", choices=sorted(CONVERTERS), help="the format of SRC")
    c.add_argument("src", type=Path, metavar="SRC", help="the official file or folder")
    c.add_argument("dst", type=Path, metavar="DST.csv", help="the CSV to write (replaced)")
    c.add_argument(
        "--epochs",
        type=_common.positive_int,
        default=None,
        help=f"nb101 only: the training budget to read (default {DEFAULT_EPOCHS}; 4, 12 and 36 "
        "are in nasbench_full.tfrecord)",
    )
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Converts one benchmark file."""
    if args.dst.parent.is_dir():  # a missing folder is created
        check_output(args.dst, "DST", inputs=[args.src])
    elif args.dst.parent.exists():
        raise InvalidParameterError(f"DST {args.dst}: {args.dst.parent} is not a folder.")
    if args.format == "nb101":
        epochs = DEFAULT_EPOCHS if args.epochs is None else args.epochs
        rows = CONVERTERS["nb101"](args.src, args.dst, epochs=epochs, progress=not args.quiet)
        print(f"wrote {rows} cells ({epochs} epochs) to {args.dst}", file=sys.stderr)
        return 0
    if args.epochs is not None:
        raise InvalidParameterError(f"--epochs applies to nb101 only, not to {args.format}.")
    rows = CONVERTERS[args.format](args.src, args.dst, progress=not args.quiet)
    print(f"wrote {rows} architectures to {args.dst}", file=sys.stderr)
    return 0
