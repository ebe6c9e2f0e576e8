"""Deprecated location of :mod:`naswot.ensembles` (kept so old imports keep working)."""

from __future__ import annotations

from naswot.ensembles import (
    ENSEMBLES,
    NAMED_ENSEMBLES,
    EnsembleSpec,
    NamedEnsemble,
    NanPolicy,
    log_rank,
    majority_vote,
    oriented_ranks,
    rank_sum,
    resolve_ensemble,
)

__all__ = [
    "ENSEMBLES",
    "NAMED_ENSEMBLES",
    "EnsembleSpec",
    "NamedEnsemble",
    "NanPolicy",
    "log_rank",
    "majority_vote",
    "oriented_ranks",
    "rank_sum",
    "resolve_ensemble",
]
