"""SIGINT (Ctrl-C) and SIGTERM while scoring: the first one stops after the current architecture.

Both signals mean the same: stop cleanly, keep what finished, say how to resume. The exit code
tells them apart (``128 + signum``: 130 for SIGINT, 143 for SIGTERM).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["StopRequest", "Terminated", "sigterm_as_interrupt", "stop_on_signals"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """Stop at once: a second signal while stopping, or SIGTERM outside a scoring loop."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StopRequest:
    """The ``stop`` callable of the scoring functions: True once a signal asked to stop."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __call__(self) -> bool:
        return self.signum is not None


@contextmanager
def stop_on_signals(*, quiet: bool) -> Iterator[StopRequest]:
    """While active, a first SIGINT or SIGTERM asks scoring to stop after the current architecture.

    Yields the ``stop`` callable for :meth:`naswot.scoring.ScoringJob.run` and
    :func:`naswot.parallel.score_parallel` (its ``signum`` is the signal received); a second
    signal interrupts at once (:class:`Terminated`). Outside the main thread it changes nothing.
    """
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handler(signum: int, frame: object) -> None:
        if request.signum is not None:
            raise Terminated(signum)
        request.signum = signum
        if not quiet:
            name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
            print(
                f"\nnaswot: {name}: stopping after the current architecture (Ctrl-C again to "
                "stop now)",
                file=sys.stderr,
            )

    previous = {s: signal.signal(s, handler) for s in _SIGNALS}
    try:
        yield request
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While active, SIGTERM interrupts as Ctrl-C does (raises :class:`Terminated`)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise Terminated(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
