"""Kendall tau of NASWOT scores against NAS-Bench-101 validation accuracy on the 500-cell subset.

Reads the NASLib subset (``nb101-naslib-zc-subset/nb101_subset.csv``: raw specs and 108-epoch
validation accuracy), prunes every spec, merges isomorphic cells by the benchmark's graph hash
(averaging the accuracies of duplicates), scores each distinct cell with NASWOT (stem 16, as the
official code; 128 real CIFAR-10 training images, seed 1) and prints Kendall tau and Spearman rho
against validation accuracy, with -inf scores ranked lowest. The paper reports tau 0.285 on NB101
(test accuracy, official code).

    python benchmarks/nb101_subset_tau.py [--seed 1] [--variant default] [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from pathlib import Path

import numpy as np
from scipy import stats

from naswot.data import load_batch
from naswot.networks.nasbench101 import build_nb101
from naswot.proxies import Naswot
from naswot.scoring import score_architectures
from naswot.spaces.nasbench101 import NasBench101Space, graph_hash, spec_from_json
from naswot.testing.shared import shared_data_dir

DATA = shared_data_dir(__file__)


def distinct_cells(path: Path) -> dict[str, tuple[str, list[float]]]:
    """Graph hash -> (canonical key, validation accuracies of its rows)."""
    space = NasBench101Space()
    cells: dict[str, tuple[str, list[float]]] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            spec = spec_from_json(row["matrix"], row["ops"])
            h = graph_hash(spec)
            cells.setdefault(h, (space.key(spec), []))[1].append(float(row["val_accuracy"]))
    return cells


def subset_tau(
    seed: int = 1, variant: str = "default", limit: int | None = None, data: Path = DATA
) -> dict[str, object]:
    """Scores the distinct cells and returns the correlations, counts and timing."""
    path = data / "nb101-naslib-zc-subset" / "nb101_subset.csv"
    cells = distinct_cells(path)
    items = list(cells.values())[:limit]
    keys = [key for key, _ in items]
    accs = np.array([float(np.mean(a)) for _, a in items])
    batch = load_batch(
        "cifar10", data_dir=data / "cifar10-jpeg-yoongikim", batch_size=128, seed=seed
    )
    start = time.perf_counter()
    records = score_architectures(
        keys,
        space=NasBench101Space(),
        builder=build_nb101,
        proxy=Naswot(variant),
        batch=batch,
        seed=seed,
        progress=True,
    )
    seconds = time.perf_counter() - start
    ok = [i for i, r in enumerate(records) if r.score is not None]
    scores = np.array([records[i].score for i in ok], dtype=float)
    return {
        "n_rows": sum(len(a) for _, a in cells.values()),
        "n_distinct_cells": len(cells),
        "n_scored": len(records),
        "n_singular": int(np.sum(scores == -math.inf)),
        "n_errors": len(records) - len(ok),
        "kendall_tau_val_acc": float(stats.kendalltau(scores, accs[ok]).statistic),
        "spearman_rho_val_acc": float(stats.spearmanr(scores, accs[ok]).statistic),
        "seconds": seconds,
        "seconds_per_cell": seconds / max(1, len(records)),
        "batch": batch.source,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--variant", default="default")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N cells")
    args = parser.parse_args()
    for k, v in subset_tau(args.seed, args.variant, args.limit).items():
        print(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}")


if __name__ == "__main__":
    main()
