"""Entry point: parses arguments, runs one command, turns NaswotError into one line and exit 1."""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from importlib import import_module
from typing import Any

from naswot._io import quote
from naswot._version import __version__
from naswot.cli._commands import COMMANDS
from naswot.cli._signals import sigterm_as_interrupt
from naswot.exceptions import Interrupted, NaswotError

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose invalid-choice errors also name the closest choice.

    Python 3.14's ``suggest_on_error=True`` does this; naswot supports Python 3.11. Subcommand
    parsers inherit the class, so every ``choices`` option (and the command name) gets it.
    """

    def _check_value(self, action: argparse.Action, value: Any) -> None:  # Any: as argparse
        if action.choices is None or value in action.choices:
            return
        names = [str(c) for c in action.choices]
        close = difflib.get_close_matches(str(value), names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise argparse.ArgumentError(
            action, f"invalid choice: {quote(value)} (choose from {', '.join(names)}){hint}"
        )


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of the ``naswot`` command.

    Args:
        command: build only this command's options and list the others (their modules, and
            torch with the scoring ones, are not imported); None builds every command.
    """
    parser = _Parser(
        prog="naswot",
        description="Neural architecture search without training (NASWOT, Mellor et al. 2021).",
    )
    parser.add_argument("--version", action="version", version=f"naswot {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, text) in COMMANDS.items():
        if command is None or name == command:
            import_module(module).add_parser(commands)
        else:
            commands.add_parser(name, help=text)  # listed in --help, never parsed
    return parser


def _command(argv: Sequence[str]) -> str:
    """The command ``argv`` names (its first word; the top-level options take no value)."""
    first = next((a for a in argv if not a.startswith("-")), "")
    return first if first in COMMANDS else ""


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ``naswot``; returns the exit code (0 ok, 1 error, 2 usage, 130/143 SIGINT/SIGTERM)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command(argv))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="naswot: %(levelname)s: %(message)s")
    try:
        with sigterm_as_interrupt():
            code: int = args.run(args)
            sys.stdout.flush()  # a closed pipe fails here, inside the handler, not at exit
        return code
    except Interrupted as e:
        print(f"naswot: {e}", file=sys.stderr)
        return 128 + e.signum
    except NaswotError as e:
        if args.debug:
            traceback.print_exc()
        print(f"naswot: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        print(
            "naswot: interrupted; finished results are in the store, rerun to resume.",
            file=sys.stderr,
        )
        return 128 + int(getattr(e, "signum", 2))
    except BrokenPipeError:
        return _quiet_broken_pipe()


def _quiet_broken_pipe() -> int:
    """The reader of stdout went away (``naswot ... | head``): exit quietly, as POSIX tools do.

    stdout is pointed at /dev/null so that Python's flush at exit does not raise again.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured in tests)
        pass
    return 141  # 128 + SIGPIPE, what a shell reports for a killed writer


if __name__ == "__main__":
    sys.exit(main())
