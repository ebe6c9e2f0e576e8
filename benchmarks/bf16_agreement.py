"""Rank agreement of the bf16 fast mode with the exact mode on seeded NB201 cells.

python benchmarks/bf16_agreement.py [--n-cells 1000]
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import torch
from scipy import stats

from naswot import tune_malloc
from naswot._seeding import derive_seed, torch_seeded
from naswot.data import load_batch
from naswot.fast import FastNB201
from naswot.proxies import log_abs_det
from naswot.spaces import NasBench201Space
from naswot.testing.shared import shared_data_dir

DATA = shared_data_dir(__file__) / "cifar10-jpeg-yoongikim"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-cells", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    tune_malloc()
    space = NasBench201Space()
    x = load_batch("cifar10", data_dir=DATA, batch_size=128, seed=args.seed).inputs
    rng = np.random.default_rng(args.seed)
    exact, fast16 = [], []
    scorers = (FastNB201(precision="fp32"), FastNB201(precision="bf16"))
    for _ in range(args.n_cells):
        cell = space.sample(rng)
        with torch_seeded(derive_seed(args.seed, space.name, space.key(cell))):
            weights = scorers[0].draw_weights(cell)
        with torch.no_grad():
            exact.append(log_abs_det(scorers[0].kernel(cell, x, weights)[0]))
            fast16.append(log_abs_det(scorers[1].kernel(cell, x, weights)[0]))
    a, b = np.array(exact), np.array(fast16)
    both = np.isfinite(a) & np.isfinite(b)
    n_inf = (int((~np.isfinite(a)).sum()), int((~np.isfinite(b)).sum()))
    disagree = int((np.isfinite(a) != np.isfinite(b)).sum())
    print(f"cells {len(a)}; -inf in exact {n_inf[0]}, in bf16 {n_inf[1]}, disagreeing {disagree}")
    rho, tau = stats.spearmanr(a, b).statistic, stats.kendalltau(a, b).statistic
    print(f"Spearman {rho:.5f}  Kendall {tau:.5f}")
    print(
        f"max |diff| {np.abs(a[both] - b[both]).max():.4f}  mean |diff| "
        f"{np.abs(a[both] - b[both]).mean():.4f}"
    )
    assert not any(math.isnan(v) for v in exact + fast16)


if __name__ == "__main__":
    main()
