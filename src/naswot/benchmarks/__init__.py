"""Benchmark ground truth: trained accuracies keyed by architecture string."""

from __future__ import annotations

from naswot.benchmarks.table import BenchmarkTable, load_table

__all__ = ["BenchmarkTable", "load_table"]
