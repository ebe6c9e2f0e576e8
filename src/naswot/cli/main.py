"""Entry point: parses arguments, runs one command, turns NaswotError into one line and exit 1."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence

from naswot._version import __version__
from naswot.cli import (
    _bench,
    _data,
    _evaluate,
    _evolve,
    _leaderboard,
    _list,
    _plot,
    _replay,
    _score,
    _search,
)
from naswot.exceptions import Interrupted, NaswotError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``naswot`` command."""
    parser = argparse.ArgumentParser(
        prog="naswot",
        description="Neural architecture search without training (NASWOT, Mellor et al. 2021).",
    )
    parser.add_argument("--version", action="version", version=f"naswot {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = (_score, _search, _evaluate, _leaderboard, _replay, _evolve, _plot, _bench, _data)
    for module in (*modules, _list):
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ``naswot``; returns the exit code (0 ok, 1 error, 2 usage, 130 interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="naswot: %(levelname)s: %(message)s")
    try:
        code: int = args.run(args)
        return code
    except Interrupted as e:
        print(f"naswot: {e}", file=sys.stderr)
        return 130
    except NaswotError as e:
        if args.debug:
            traceback.print_exc()
        print(f"naswot: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "naswot: interrupted; finished results are in the store, rerun to resume.",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
