"""Kendall tau of NASWOT scores against NAS-Bench-201 test accuracy on random cells.

Scores K random NB201 cells (default 300, seed 1) on 128 real CIFAR-10 training images and prints
Kendall tau and Spearman rho against the benchmark's test accuracies, with -inf ranked lowest
(the official code gives tau 0.601 on such a sample; PAPER.md §8).

    python benchmarks/nb201_kendall_tau.py [--n-cells 300] [--seed 1] [--variant default]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
from scipy import stats

from naswot.benchmarks import load_table
from naswot.data import load_batch
from naswot.networks import build_nb201
from naswot.proxies import Naswot
from naswot.scoring import score_architectures
from naswot.spaces import NasBench201Space
from naswot.testing.shared import shared_data_dir

DATA = shared_data_dir(__file__)
METRICS = ("test_acc_cifar10", "test_acc_cifar100", "test_acc_imagenet16_120")


def kendall_tau_sample(
    n_cells: int = 300, seed: int = 1, variant: str = "default", data: Path = DATA
) -> dict[str, object]:
    """Scores the sample and returns the correlations, counts and timing."""
    space = NasBench201Space()
    table = load_table(data / "nb201-combined" / "nb201_combined.csv", space)
    batch = load_batch(
        "cifar10", data_dir=data / "cifar10-jpeg-yoongikim", batch_size=128, seed=seed
    )
    rng = np.random.default_rng(seed)
    keys: dict[str, None] = {}
    while len(keys) < n_cells:
        keys.setdefault(space.key(space.sample(rng)), None)
    start = time.perf_counter()
    records = score_architectures(
        list(keys),
        space=space,
        builder=build_nb201,
        proxy=Naswot(variant),
        batch=batch,
        seed=seed,
        progress=True,
    )
    seconds = time.perf_counter() - start
    scored = [r for r in records if r.score is not None]
    scores = np.array([r.score for r in scored])
    out: dict[str, object] = {
        "n_cells": len(records),
        "n_singular": sum(s == -math.inf for s in scores),
        "n_errors": len(records) - len(scored),
        "seconds_per_cell": seconds / len(records),
        "batch": batch.source,
    }
    for metric in METRICS:
        acc = np.array([table.lookup(r.arch)[metric] for r in scored])
        out[f"tau_{metric}"] = float(stats.kendalltau(scores, acc).statistic)
        out[f"rho_{metric}"] = float(stats.spearmanr(scores, acc).statistic)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-cells", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--variant", default="default")
    args = parser.parse_args()
    for k, v in kendall_tau_sample(args.n_cells, args.seed, args.variant).items():
        print(f"{k}: {v:.4f}" if isinstance(v, float) else f"{k}: {v}")


if __name__ == "__main__":
    main()
