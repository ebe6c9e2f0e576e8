"""Search strategies. They see a space and a score callable, never benchmark ground truth."""

from __future__ import annotations

from naswot.search._base import Candidate, ScoreFn, SearchResult, Strategy, run_search
from naswot.search.budget import Budgeted, BudgetError
from naswot.search.evolution import AssistedRegularizedEvolution, RegularizedEvolution
from naswot.search.pareto import pareto_front
from naswot.search.random_sampling import RandomSampling

__all__ = [
    "AssistedRegularizedEvolution",
    "BudgetError",
    "Budgeted",
    "Candidate",
    "RandomSampling",
    "RegularizedEvolution",
    "ScoreFn",
    "SearchResult",
    "Strategy",
    "pareto_front",
    "run_search",
]
