"""``naswot list``: the registered names."""

from __future__ import annotations

import argparse
import json
from typing import Any

from naswot.data import DATASETS
from naswot.ensembles import NAMED_ENSEMBLES
from naswot.proxies import PROXIES
from naswot.spaces import SPACES


def add_parser(commands: Any) -> None:  # Any: argparse's private _SubParsersAction
    """Adds the ``list`` command."""
    p = commands.add_parser(
        "list",
        help="list registered spaces, proxies, variants, datasets or ensembles",
        description="Print the registered names, one per line.",
    )
    p.add_argument("what", choices=["spaces", "proxies", "variants", "datasets", "ensembles"])
    p.add_argument(
        "--json",
        action="store_true",
        help="print JSON (ensembles: each with its method, members and description)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Prints the names."""
    if args.what == "ensembles":
        if args.json:
            entries = [NAMED_ENSEMBLES.get(n) for n in NAMED_ENSEMBLES.names()]
            print(
                json.dumps(
                    [
                        {
                            "name": e.name,
                            "method": e.method,
                            "members": list(e.members),
                            "spec": e.spec.spec,
                            "doc": e.doc,
                        }
                        for e in entries
                    ],
                    indent=2,
                )
            )
            return 0
        names = NAMED_ENSEMBLES.names()
    elif args.what == "spaces":
        names = SPACES.names()
    elif args.what == "proxies":
        names = PROXIES.names()
    elif args.what == "variants":
        names = [f"{p} {v}" for p in PROXIES.names() for v in PROXIES.get(p).variants]
    else:
        names = list(DATASETS)
    if args.json:
        print(json.dumps(names, indent=2))
        return 0
    print("\n".join(names))
    return 0
