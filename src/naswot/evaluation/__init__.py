"""Joins scores with benchmark ground truth: correlations, simulated search, figures.

This is the only layer (with the CLI) that reads both scores and benchmark accuracies; search
strategies never see ground truth.
"""

from __future__ import annotations

from naswot.evaluation.correlation import (
    NDCG_K,
    CorrelationReport,
    Interval,
    correlate,
    ndcg,
    top_k_precision,
)
from naswot.evaluation.replay import ReplayRow, replay
from naswot.evaluation.scores import (
    MissingRowsError,
    ScoreTable,
    ensemble_table,
    load_score_tables,
    load_scores,
    row_label,
    score_labels,
    shipped_scores_path,
)
from naswot.evaluation.targets import DATASET_COLUMNS, accuracy_column

__all__ = [
    "DATASET_COLUMNS",
    "NDCG_K",
    "CorrelationReport",
    "Interval",
    "MissingRowsError",
    "ReplayRow",
    "ScoreTable",
    "accuracy_column",
    "correlate",
    "ensemble_table",
    "load_score_tables",
    "load_scores",
    "ndcg",
    "replay",
    "row_label",
    "score_labels",
    "shipped_scores_path",
    "top_k_precision",
]
