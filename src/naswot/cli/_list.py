"""``naswot list``: the registered names."""

from __future__ import annotations

import argparse
from typing import Any

from naswot.data import DATASETS
from naswot.proxies import PROXIES
from naswot.spaces import SPACES


def add_parser(commands: Any) -> None:  # Any: argparse's private _SubParsersAction
    """Adds the ``list`` command."""
    p = commands.add_parser(
        "list",
        help="list registered spaces, proxies, variants or datasets",
        description="Print the registered names, one per line.",
    )
    p.add_argument("what", choices=["spaces", "proxies", "variants", "datasets"])
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Prints the names."""
    if args.what == "spaces":
        names = SPACES.names()
    elif args.what == "proxies":
        names = PROXIES.names()
    elif args.what == "variants":
        names = [f"{p} {v}" for p in PROXIES.names() for v in PROXIES.get(p).variants]
    else:
        names = list(DATASETS)
    print("\n".join(names))
    return 0
