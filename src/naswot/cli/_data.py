"""``naswot data download``: fetch and check the official dataset archives."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from naswot.cli._commands import command_help
from naswot.data import default_data_dir, download_dataset
from naswot.exceptions import InvalidParameterError


def add_parser(commands: Any) -> None:  # Any: argparse's private _SubParsersAction
    """Adds the ``data`` command."""
    p = commands.add_parser(
        "data", help=command_help("data"), description="Manage datasets on disk."
    )
    sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    d = sub.add_parser(
        "download",
        help="download and verify a dataset archive",
        description="Download the official archive, check its MD5 checksum and unpack it.",
    )
    d.add_argument("dataset", choices=["cifar10", "cifar100"], help="the dataset to download")
    d.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where to unpack (default: $NASWOT_DATA_DIR or ~/.cache/naswot/data)",
    )
    d.add_argument("--url", default=None, help="a mirror of the official archive")
    d.add_argument("--md5", default=None, help="expected MD5 of the archive at --url")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    d.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Downloads one dataset."""
    data_dir = args.data_dir or default_data_dir()
    if data_dir.exists() and not data_dir.is_dir():
        raise InvalidParameterError(f"--data-dir {data_dir} is a file; give a folder.")
    folder = download_dataset(
        args.dataset, data_dir, url=args.url, md5=args.md5, progress=not args.quiet
    )
    print(f"{args.dataset} is in {folder}", file=sys.stderr)
    return 0
