"""Kendall tau of NASWOT scores against CIFAR-10 accuracy on the DARTS-space sample.

Scores the 500 random DARTS genotypes of ``darts-space-swap-1000/DARTS_archs_CIFAR10.csv``
(SWAP-NAS; a stand-in for NDS-DARTS, whose json is not available here) with the default NASWOT
score on 128 real CIFAR-10 training images (seed 1), and prints Kendall tau and Spearman rho
against the sample's ``valid_acc``, with -inf scores ranked lowest. The paper reports tau 0.467
on NDS-DARTS (PAPER.md), with each network at its NDS width and depth; here every network is
built CPU-small: width 16, depth 8 (``naswot.spaces.nds.DEFAULT_WIDTH`` / ``DEFAULT_DEPTH``),
since the sample does not say which width and depth it was trained at.

    python benchmarks/darts_sample_tau.py [--n 500] [--seed 1] [--width 16] [--depth 8]
        [--out scores.csv]

``--n`` below 500 scores a subset drawn with ``numpy.random.default_rng(seed)``. On a busy
machine run it with ``OMP_NUM_THREADS=1``. Result on 2 shared CPU cores (docs/nds.md): tau 0.413,
rho 0.572 on all 500 (1060 s, 2.1 s per network).
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
from naswot.networks.nds import build_nds_cifar
from naswot.proxies import Naswot
from naswot.scoring import ScoreRecord, score_architectures
from naswot.spaces.nds import DEFAULT_DEPTH, DEFAULT_WIDTH, NdsDartsSpace
from naswot.testing.shared import shared_data_dir

DATA = shared_data_dir(__file__)
CSV = Path("darts-space-swap-1000") / "DARTS_archs_CIFAR10.csv"


def read_sample(path: Path) -> list[tuple[str, float]]:
    """The (genotype, valid_acc) rows of the header-less SWAP-NAS CSV."""
    with path.open(newline="") as f:
        return [(row[0], float(row[1])) for row in csv.reader(f) if row]


def darts_sample_tau(
    n: int = 500, seed: int = 1, width: int = DEFAULT_WIDTH, depth: int = DEFAULT_DEPTH
) -> tuple[dict[str, object], list[ScoreRecord], dict[str, float]]:
    """Scores the sample (or a seeded subset of ``n``).

    Returns the correlations and timing, the score records, and the accuracy of each key.
    """
    rows = read_sample(DATA / CSV)
    if n < len(rows):
        picked = np.random.default_rng(seed).choice(len(rows), n, replace=False)
        rows = [rows[int(i)] for i in sorted(picked)]
    suffix = "" if (width, depth) == (DEFAULT_WIDTH, DEFAULT_DEPTH) else f"@w{width}d{depth}"
    accuracy = {genotype + suffix: acc for genotype, acc in rows}
    batch = load_batch(
        "cifar10", data_dir=DATA / "cifar10-jpeg-yoongikim", batch_size=128, seed=seed
    )
    start = time.perf_counter()
    records = score_architectures(
        list(accuracy),
        space=NdsDartsSpace(),
        builder=build_nds_cifar,
        proxy=Naswot(),
        batch=batch,
        seed=seed,
        progress=True,
    )
    seconds = time.perf_counter() - start
    scored = [r for r in records if r.score is not None]
    scores = np.array([r.score for r in scored])
    acc = np.array([accuracy[r.arch] for r in scored])
    summary: dict[str, object] = {
        "n_archs": len(records),
        "width": width,
        "depth": depth,
        "n_singular": int(sum(s == -math.inf for s in scores)),
        "n_errors": len(records) - len(scored),
        "kendall_tau_valid_acc": float(stats.kendalltau(scores, acc).statistic),
        "spearman_rho_valid_acc": float(stats.spearmanr(scores, acc).statistic),
        "seconds_total": seconds,
        "seconds_per_arch": seconds / len(records),
        "batch": batch.source,
    }
    return summary, records, accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--width", type=int, default=DEFAULT_WIDTH)
    parser.add_argument("--depth", type=int, default=DEFAULT_DEPTH)
    parser.add_argument("--out", type=Path, default=None, help="CSV of arch_str,score,valid_acc")
    args = parser.parse_args()
    summary, records, accuracy = darts_sample_tau(args.n, args.seed, args.width, args.depth)
    for k, v in summary.items():
        print(f"{k}: {v}")
    if args.out is not None:
        with args.out.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["arch_str", "score", "valid_acc"])
            for r in records:
                writer.writerow([r.arch, r.score, accuracy[r.arch]])


if __name__ == "__main__":
    main()
