"""``naswot list``: the registered names (one per line), or with ``--json`` with descriptions."""

from __future__ import annotations

import argparse
import inspect
import json
from typing import Any

from naswot.cli._commands import command_help
from naswot.ensembles import NAMED_ENSEMBLES
from naswot.spaces import SPACES

DATASET_DESCRIPTIONS = {
    "cifar10": "CIFAR-10: 10 classes, 32x32 (20 test images bundled; official files with "
    "--data-dir)",
    "cifar100": "CIFAR-100: 100 fine classes, 32x32 (official files with --data-dir)",
    "imagenet16-120": "ImageNet16-120: the first 120 classes of ImageNet downsampled to 16x16",
    "imagenette": "Imagenette: 10 ImageNet classes, 224x224 JPEGs (naswot[images])",
    "noise": "N(0, 1) inputs of shape 3x32x32, no labels",
}


def add_parser(commands: Any) -> None:  # Any: argparse's private _SubParsersAction
    """Adds the ``list`` command."""
    p = commands.add_parser(
        "list",
        help=command_help("list"),
        description="Print the registered names, one per line (--json: with one-line "
        "descriptions; ensembles also with their method and members).",
    )
    p.add_argument(
        "what",
        choices=["spaces", "proxies", "variants", "datasets", "ensembles"],
        help="what to list",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list of {name, description} objects (ensembles: with method, "
        "members and spec) (default: names, one per line)",
    )
    p.set_defaults(run=run)


def _summary(obj: object) -> str:
    """The first line of an object's docstring (its class's, for instances)."""
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def entries(what: str) -> list[dict[str, Any]]:
    """The names of ``what`` with one-line descriptions (proxies and datasets import torch)."""
    if what == "spaces":
        return [{"name": n, "description": _summary(SPACES.get(n))} for n in SPACES.names()]
    if what == "ensembles":
        return [
            {
                "name": e.name,
                "description": e.doc,
                "method": e.method,
                "members": list(e.members),
                "spec": e.spec.spec,
            }
            for e in (NAMED_ENSEMBLES.get(n) for n in NAMED_ENSEMBLES.names())
        ]
    from naswot.proxies import PROXIES

    if what == "proxies":
        return [{"name": n, "description": _summary(PROXIES.get(n))} for n in PROXIES.names()]
    if what == "variants":
        return [
            {"name": f"{p} {v}", "proxy": p, "variant": v, "description": _summary(PROXIES.get(p))}
            for p in PROXIES.names()
            for v in PROXIES.get(p).variants
        ]
    from naswot.data import DATASETS

    return [{"name": d, "description": DATASET_DESCRIPTIONS.get(d, "")} for d in DATASETS]


def run(args: argparse.Namespace) -> int:
    """Prints the names."""
    items = entries(args.what)
    if args.json:
        print(json.dumps(items, indent=2))
    else:
        print("\n".join(item["name"] for item in items))
    return 0
