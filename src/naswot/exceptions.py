"""The one exception hierarchy of naswot.

Every error that a user can cause derives from :class:`NaswotError`; the CLI prints its message
as one line and exits with code 1.
"""

from __future__ import annotations

__all__ = [
    "ArchParseError",
    "BenchmarkError",
    "DataError",
    "DatasetNotFoundError",
    "DegenerateNetworkError",
    "Interrupted",
    "InvalidParameterError",
    "MissingDependencyError",
    "NaswotError",
    "ScoringError",
    "StoreError",
    "UnknownNameError",
    "UnsafeFileError",
    "WorkerDied",
]


class NaswotError(Exception):
    """Base class of every error raised on purpose by naswot."""


class UnknownNameError(NaswotError, KeyError):
    """A registry lookup found no entry of that name."""

    def __str__(self) -> str:
        # KeyError.__str__ would quote the message.
        return str(self.args[0]) if self.args else ""


class InvalidParameterError(NaswotError, ValueError):
    """A parameter at a public boundary has an invalid value."""


class ArchParseError(NaswotError, ValueError):
    """An architecture string is malformed; the message names the position and what was expected."""

    def __init__(self, text: str, position: int, expected: str, found: str) -> None:
        self.text = text
        self.position = position
        self.expected = expected
        self.found = found
        from naswot._io import QUOTE_LIMIT, shorten  # lazily: naswot._io imports this module

        start = max(0, min(position - QUOTE_LIMIT // 2, len(text) - QUOTE_LIMIT))
        window = text[start : start + QUOTE_LIMIT]
        cut = ("..." if start else "", "..." if start + QUOTE_LIMIT < len(text) else "")
        pointer = f"{cut[0]}{window}{cut[1]}\n{' ' * (position - start + len(cut[0]))}^"
        super().__init__(
            f"Malformed architecture string at position {position}: expected "
            f"{shorten(expected)}, found {shorten(found)}.\n{pointer}"
        )


class MissingDependencyError(NaswotError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


class DataError(NaswotError, ValueError):
    """A dataset file or directory exists but does not hold what it should."""


class DatasetNotFoundError(NaswotError, FileNotFoundError):
    """A dataset is not on disk; the message says how to get it."""


class UnsafeFileError(NaswotError):
    """A file asked to run code or to build objects a safe loader does not allow."""


class BenchmarkError(NaswotError, ValueError):
    """A benchmark table is missing, malformed, or does not know an architecture."""


class StoreError(NaswotError):
    """The result store cannot be opened, read or written, is damaged, or is not a naswot store.

    The message names the file and says what to do.
    """


class Interrupted(NaswotError):
    """A job was asked to stop (Ctrl-C or SIGTERM); what it finished is kept.

    Attributes:
        done: architectures scored; ``total``: architectures asked for.
        signum: the signal that asked (``signal.SIGINT``, 2, unless told otherwise); the CLI
            exits with ``128 + signum`` (130 for SIGINT, 143 for SIGTERM).
    """

    def __init__(self, done: int, total: int, *, signum: int = 2) -> None:
        self.done = done
        self.total = total
        self.signum = signum
        super().__init__(
            f"Interrupted after {done} of {total} architectures; finished results are in the "
            "store: run the same command again to resume."
        )

    def __reduce__(self) -> tuple[object, ...]:
        # keyword-only ``signum``: the default pickling would call __init__(message) alone
        return (_interrupted, (self.done, self.total, self.signum))


def _interrupted(done: int, total: int, signum: int) -> Interrupted:
    return Interrupted(done, total, signum=signum)


class WorkerDied(NaswotError):
    """A worker process of a parallel job died (killed, out of memory); what finished is kept.

    The message says which worker and how, and how to resume.
    """


class ScoringError(NaswotError, RuntimeError):
    """Scoring a network failed; the message says why."""


class DegenerateNetworkError(ScoringError):
    """The network has no meaningful score for a known, named reason.

    ``status`` is the name recorded for the result (a value of ``naswot.proxies.Status``):
    ``constant`` (the output does not depend on the input), ``no_relu`` (no rectifier to read),
    ``overflow`` (the score is not a finite number) or ``singular`` (a kernel without a finite
    value). Unlike other scoring errors these are properties of the architecture: they are
    stored (not retried) and search skips them by rule.
    """

    STATUSES = ("singular", "constant", "no_relu", "overflow")

    def __init__(self, message: str, *, status: str) -> None:
        if status not in self.STATUSES:
            raise InvalidParameterError(
                f"The 'status' of a DegenerateNetworkError must be one of {self.STATUSES}. "
                f"Got {status!r} instead (raise ScoringError for other failures)."
            )
        super().__init__(message)
        self.status = status

    def __reduce__(self) -> tuple[object, ...]:
        # keyword-only ``status``: the default pickling would call __init__(message) alone
        return (_degenerate, (str(self), self.status))


def _degenerate(message: str, status: str) -> DegenerateNetworkError:
    return DegenerateNetworkError(message, status=status)
