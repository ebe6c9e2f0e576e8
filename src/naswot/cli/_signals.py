"""Ctrl-C handling while scoring: the first SIGINT stops after the current architecture."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def stop_on_sigint(*, quiet: bool) -> Iterator[Callable[[], bool]]:
    """While active, a first Ctrl-C asks scoring to stop after the current architecture.

    Yields the ``stop`` callable for :func:`naswot.scoring.score_architectures`; a second Ctrl-C
    interrupts at once. Outside the main thread it changes nothing.
    """
    requested = [False]
    if threading.current_thread() is not threading.main_thread():
        yield lambda: requested[0]
        return

    def handler(signum: int, frame: object) -> None:
        if requested[0]:
            raise KeyboardInterrupt
        requested[0] = True
        if not quiet:
            print(
                "\nnaswot: stopping after the current architecture (Ctrl-C again to stop now)",
                file=sys.stderr,
            )

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: requested[0]
    finally:
        signal.signal(signal.SIGINT, previous)
