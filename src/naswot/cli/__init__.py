"""The ``naswot`` command line: thin over the library; the only place names become objects."""

from __future__ import annotations

from naswot.cli.main import main

__all__ = ["main"]
