"""Cost budgets: a strategy whose over-budget proposals are redrawn before anything is scored.

A budget is a property of the network (parameters, multiply-adds, measured latency), not ground
truth, so a strategy may use it. :class:`Budgeted` wraps any strategy: ``ask`` keeps asking the
wrapped strategy until a proposal is admitted, so N asks give N admitted architectures, and it
counts the rejected draws. After ``max_draws`` draws in all it raises :class:`BudgetError`
instead of looping for ever on a budget that admits (almost) nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from naswot.exceptions import InvalidParameterError
from naswot.search._base import Strategy

__all__ = ["BudgetError", "Budgeted"]

A = TypeVar("A", bound=Hashable)


class BudgetError(InvalidParameterError):
    """The budget admitted too few of the draws allowed."""


class Budgeted(Generic[A]):
    """``strategy`` restricted to the architectures ``admits`` accepts.

    Args:
        strategy: the strategy to wrap.
        admits: True for an architecture within budget.
        max_draws: the most proposals drawn from ``strategy`` in all (admitted or not).
        describe: the budget in words, for the error message.

    Attributes:
        draws: proposals drawn so far; ``rejected``: those over budget.
    """

    def __init__(
        self,
        strategy: Strategy[A],
        admits: Callable[[A], bool],
        *,
        max_draws: int,
        describe: str = "the budget",
    ) -> None:
        if max_draws < 1:
            raise InvalidParameterError(f"max_draws must be >= 1. Got {max_draws} instead.")
        self.strategy = strategy
        self.admits = admits
        self.max_draws = max_draws
        self.describe = describe
        self.draws = 0
        self.rejected = 0

    def ask(self) -> A:
        """The wrapped strategy's next proposal within budget."""
        while self.draws < self.max_draws:
            arch = self.strategy.ask()
            self.draws += 1
            if self.admits(arch):
                return arch
            self.rejected += 1
        admitted = self.draws - self.rejected
        raise BudgetError(
            f"{self.describe} admitted only {admitted} of {self.draws} draws (the cap); "
            "loosen the budget or sample fewer architectures."
        )

    def tell(self, arch: A, score: float | None) -> None:
        """Passes the score on to the wrapped strategy."""
        self.strategy.tell(arch, score)
